/*
 * The bounded poll of rt_wait.h. The runtime's frame tests drive real
 * threads, sockets and timers (no virtual clock there), so they wait for a
 * condition, never for a time: the 1 ms pause is only the poll interval,
 * the limit is a bound on a hang, and no test asserts how long a wait took.
 */
#include <time.h>

#include "common/clock.h"
#include "tests/runtime/rt_wait.h"

int rt_wait_until(int (*cond)(void *arg), void *arg, int limit_ms)
{
    uint64_t deadline = clock_now_ms(clock_real()) + (uint64_t)limit_ms;
    for (;;) {
        int v = cond(arg);
        if (v || clock_now_ms(clock_real()) >= deadline)
            return v;
        struct timespec ts = { 0, 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
}
