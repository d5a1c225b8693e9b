/*
 * The real and the virtual clock behind tkv_clock_t.
 */
#include <time.h>

#include "common/clock.h"

uint64_t clock_now_ms(const tkv_clock_t *clock)
{
    return clock->now_ms(clock);
}

static uint64_t real_now_ms(const tkv_clock_t *clock)
{
    (void)clock;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

const tkv_clock_t *clock_real(void)
{
    static const tkv_clock_t real = { real_now_ms };
    return &real;
}

uint64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t wall_now_ms(const tkv_clock_t *clock)
{
    (void)clock;
    return clock_wall_ms();
}

const tkv_clock_t *clock_wall(void)
{
    static const tkv_clock_t wall = { wall_now_ms };
    return &wall;
}

static uint64_t virtual_now_ms(const tkv_clock_t *clock)
{
    /* `clock` is the first member of tkv_vclock_t, so the cast is exact. */
    return ((const tkv_vclock_t *)clock)->now;
}

void vclock_init(tkv_vclock_t *vc, uint64_t start_ms)
{
    vc->clock.now_ms = virtual_now_ms;
    vc->now = start_ms;
}

void vclock_advance(tkv_vclock_t *vc, uint64_t ms)
{
    vc->now += ms;
}

void vclock_set(tkv_vclock_t *vc, uint64_t ms)
{
    if (ms > vc->now)
        vc->now = ms;
}
