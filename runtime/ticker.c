/*
 * The tick source of ticker.h: a libuv loop on its own thread with one
 * repeating timer, and an async handle to stop it from another thread.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <uv.h>

#include "common/buf.h"
#include "runtime/batch_system.h"
#include "runtime/ticker.h"

struct ticker {
    uv_loop_t loop;
    uv_timer_t timer;
    uv_async_t stop;
    pthread_t thread;
    ticker_fn fn;
    void *arg;
    uint32_t base_ms;
    atomic_uint_fast64_t count;
    int joined;
};

static void on_timer(uv_timer_t *h)
{
    ticker_t *t = h->data;
    t->fn(t->arg);
    atomic_fetch_add(&t->count, 1);
}

static void on_stop(uv_async_t *h)
{
    ticker_t *t = h->data;
    uv_timer_stop(&t->timer);
    uv_close((uv_handle_t *)&t->timer, NULL);
    uv_close((uv_handle_t *)&t->stop, NULL);
}

static void *ticker_main(void *arg)
{
    ticker_t *t = arg;
    uv_run(&t->loop, UV_RUN_DEFAULT);
    return NULL;
}

tkv_err_t ticker_start(uint32_t base_ms, ticker_fn fn, void *arg, ticker_t **out)
{
    *out = NULL;
    if (base_ms < 1 || base_ms > 60000 || fn == NULL)
        return tkv_errorf(TKV_ERR_INVALID, "ticker: a base tick of %u ms (want 1..60000)",
                          (unsigned)base_ms);
    ticker_t *t = xcalloc(1, sizeof(*t));
    t->fn = fn;
    t->arg = arg;
    t->base_ms = base_ms;
    int rc = uv_loop_init(&t->loop);
    if (rc != 0) {
        free(t);
        return tkv_errorf(TKV_ERR_IO, "ticker: cannot make an event loop: %s", uv_strerror(rc));
    }
    uv_timer_init(&t->loop, &t->timer);
    t->timer.data = t;
    uv_async_init(&t->loop, &t->stop, on_stop);
    t->stop.data = t;
    uv_timer_start(&t->timer, on_timer, base_ms, base_ms);
    if (pthread_create(&t->thread, NULL, ticker_main, t) != 0) {
        uv_close((uv_handle_t *)&t->timer, NULL);
        uv_close((uv_handle_t *)&t->stop, NULL);
        uv_run(&t->loop, UV_RUN_DEFAULT);
        uv_loop_close(&t->loop);
        free(t);
        return tkv_errorf(TKV_ERR_NOMEM, "ticker: cannot start its thread");
    }
    *out = t;
    return TKV_OK;
}

uint64_t ticker_count(ticker_t *t)
{
    return atomic_load(&t->count);
}

void ticker_stop(ticker_t *t)
{
    if (t->joined)
        return;
    t->joined = 1;
    uv_async_send(&t->stop);
    pthread_join(t->thread, NULL);
    uv_loop_close(&t->loop);
}

void ticker_free(ticker_t *t)
{
    if (t == NULL)
        return;
    ticker_stop(t);
    free(t);
}

void ticker_tick_batch_system(void *bs_system)
{
    /* TKV_ERR_CLOSED during shutdown: nothing to tick any more. */
    (void)bs_tick_all(bs_system);
}
