/*
 * The client's settings and its retry budget.
 *
 * A request that meets a region error or a dead store is retried, but never
 * forever: each request carries a backoff_t that counts its attempts and the
 * time it waited. Waits double from backoff_base_ms up to backoff_max_ms;
 * there is no random jitter, so a test that scripts three errors sees the
 * same three waits every run. The wait itself goes through cfg.sleep, so
 * tests pass a function that only records the time it was asked to wait
 * (no real sleep), and programs leave it NULL for nanosleep().
 *
 * Ownership: a backoff_t is a plain value on the caller's stack; it borrows
 * its config, which must outlive it.
 */
#ifndef TKV_CLIENT_BACKOFF_H
#define TKV_CLIENT_BACKOFF_H

#include <stdint.h>

#include "common/err.h"

typedef void (*client_sleep_fn)(void *arg, uint64_t ms);

typedef struct {
    int timeout_ms;           /* connect and each RPC; <= 0 waits forever */
    int max_attempts;         /* tries of one request, all retries included */
    uint64_t backoff_base_ms; /* the first wait */
    uint64_t backoff_max_ms;  /* waits double up to this */
    client_sleep_fn sleep;    /* NULL: really sleep */
    void *sleep_arg;
    uint64_t lock_ttl_ms;  /* TTL of the locks a transaction's prewrite takes */
    int lock_wait_retries; /* times a read or prewrite waits for a live lock */
} client_config_t;

/* timeout 5000 ms, 13 attempts (about 5 s of waits: a dead leader's region
 * elects another within 2 election timeouts, 1-2 s each with the server's
 * defaults), waits 4 ms doubling to 1000 ms, real sleep, lock TTL 3000 ms,
 * 10 waits for a live lock. */
client_config_t client_config_default(void);

typedef struct {
    const client_config_t *cfg;
    int attempts;          /* tries made so far */
    uint64_t next_wait_ms; /* the next wait (0 before the first) */
    uint64_t waited_ms;    /* total asked of cfg->sleep */
} backoff_t;

void backoff_init(backoff_t *bo, const client_config_t *cfg);

/* Returns `code` with the message "<fmt ...>: <the last error's message>":
 * context added in front of an error from below (tkv_errorf() cannot take
 * tkv_last_error() as an argument: it writes over it). */
tkv_err_t client_wrap_error(tkv_err_t code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Counts one more try. TKV_ERR_TIMEOUT when the budget is spent: the
 * message says the request was tried N times and ends with `why` (what
 * failed last), so the caller can report it as is. */
tkv_err_t backoff_retry(backoff_t *bo, const char *why);

/* backoff_retry(), then waits the next interval (base, 2*base, ... max). */
tkv_err_t backoff_wait(backoff_t *bo, const char *why);

/* Waits `ms` now (a server's hint), counting it like backoff_wait(). */
tkv_err_t backoff_wait_ms(backoff_t *bo, uint64_t ms, const char *why);

#endif
