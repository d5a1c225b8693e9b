/*
 * Waiting for another thread in the runtime's frame tests: poll a condition
 * with a bound, never sleep a fixed amount and hope.
 */
#ifndef TKV_TESTS_RUNTIME_RT_WAIT_H
#define TKV_TESTS_RUNTIME_RT_WAIT_H

/* Calls cond(arg) until it returns non-zero or `limit_ms` pass, pausing a
 * millisecond between tries. Returns the last value of cond(arg). */
int rt_wait_until(int (*cond)(void *arg), void *arg, int limit_ms);

/* How long a test waits for something that should take milliseconds. Large,
 * because a sanitized build on a shared 2-core machine can be slow. */
#define RT_WAIT_MS 20000

#endif
