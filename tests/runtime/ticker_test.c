/*
 * The tick source (runtime/ticker.h): one timer ticks every FSM of a batch
 * system, no tick is lost when FSMs are busy (they arrive as a count), and a
 * stopped ticker calls nobody.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "runtime/batch_system.h"
#include "runtime/ticker.h"
#include "tests/harness/test.h"
#include "tests/runtime/rt_wait.h"

typedef struct {
    uint64_t ticks; /* touched by one poller at a time, read after the join */
} tick_fsm_t;

static atomic_uint_fast64_t control_ticks;

static void tk_handle(void *pctx, void *fsm, uint64_t id, void **msgs, size_t n, uint32_t ticks)
{
    (void)pctx;
    (void)id;
    for (size_t i = 0; i < n; i++)
        free(msgs[i]);
    ((tick_fsm_t *)fsm)->ticks += ticks;
}

static void tk_handle_control(void *pctx, void *control, void **msgs, size_t n, uint32_t ticks)
{
    (void)pctx;
    (void)control;
    for (size_t i = 0; i < n; i++)
        free(msgs[i]);
    atomic_fetch_add(&control_ticks, ticks);
}

static void tk_end(void *pctx, const bs_batch_t *b)
{
    (void)pctx;
    (void)b;
}

static const bs_ops_t tick_ops = {
    NULL, NULL, tk_handle, tk_handle_control, tk_end, free, free,
};

static int control_ticked(void *arg)
{
    return atomic_load(&control_ticks) >= *(uint64_t *)arg;
}

static int ticker_fired_five(void *arg)
{
    return ticker_count(arg) >= 5;
}

/* 2000 FSMs, one ticker: each FSM gets exactly as many ticks as the ticker
 * fired, however the pollers were busy. */
static void test_ticker_ticks_every_fsm(void **state)
{
    (void)state;
    enum { N = 2000 };
    atomic_store(&control_ticks, 0);
    bs_config_t cfg;
    bs_config_default(&cfg);
    static int control;
    bs_system_t *s = NULL;
    assert_int_equal(bs_system_new(&cfg, &tick_ops, NULL, &control, &s), TKV_OK);
    tick_fsm_t *fsms[N];
    for (int i = 0; i < N; i++) {
        fsms[i] = xcalloc(1, sizeof(tick_fsm_t));
        assert_int_equal(bs_register(s, (uint64_t)i + 1, fsms[i]), TKV_OK);
    }
    /* Ticks before the pollers start pile up in mailboxes that are queued
     * already: they must arrive as a count, not be dropped. */
    ticker_t *t = NULL;
    assert_int_equal(ticker_start(2, ticker_tick_batch_system, s, &t), TKV_OK);
    assert_true(rt_wait_until(ticker_fired_five, t, RT_WAIT_MS));
    assert_int_equal(bs_system_start(s), TKV_OK);
    uint64_t want = ticker_count(t) + 3;
    if (!rt_wait_until(control_ticked, &want, RT_WAIT_MS))
        fail_msg("the control FSM got %llu ticks, expected at least %llu",
                 (unsigned long long)atomic_load(&control_ticks), (unsigned long long)want);
    ticker_stop(t);
    uint64_t fired = ticker_count(t);
    bs_system_shutdown(s); /* serves every tick already counted */
    for (int i = 0; i < N; i++) {
        if (fsms[i]->ticks != fired)
            fail_msg("fsm %d got %llu ticks, the ticker fired %llu times", i + 1,
                     (unsigned long long)fsms[i]->ticks, (unsigned long long)fired);
    }
    assert_int_equal(atomic_load(&control_ticks), fired);
    bs_stats_t st;
    bs_stats(s, &st);
    assert_int_equal(st.ticks, fired * (N + 1));
    ticker_free(t);
    bs_system_free(s);
}

static atomic_int calls;

static void count_call(void *arg)
{
    (void)arg;
    atomic_fetch_add(&calls, 1);
}

static int called_thrice(void *arg)
{
    (void)arg;
    return atomic_load(&calls) >= 3;
}

/* ticker_stop() returns with the thread joined: the count is final. */
static void test_ticker_stop_is_final(void **state)
{
    (void)state;
    atomic_store(&calls, 0);
    ticker_t *t = NULL;
    assert_int_equal(ticker_start(1, count_call, NULL, &t), TKV_OK);
    assert_true(rt_wait_until(called_thrice, NULL, RT_WAIT_MS));
    ticker_stop(t);
    int n = atomic_load(&calls);
    assert_int_equal(ticker_count(t), (uint64_t)n);
    ticker_stop(t);
    assert_int_equal(atomic_load(&calls), n);
    ticker_free(t);
    ticker_free(NULL);
}

static void test_ticker_bad_interval_is_refused(void **state)
{
    (void)state;
    ticker_t *t = NULL;
    assert_int_equal(ticker_start(0, count_call, NULL, &t), TKV_ERR_INVALID);
    assert_null(t);
    assert_non_null(strstr(tkv_last_error(), "0 ms"));
    assert_int_equal(ticker_start(60001, count_call, NULL, &t), TKV_ERR_INVALID);
}

const tkv_test_t ticker_tests[] = {
    { "frame", "ticker_ticks_every_fsm", 0,
      "one ticker gives each of 2000 FSMs exactly one tick per fire, none lost",
      test_ticker_ticks_every_fsm, 120 },
    { "frame", "ticker_stop_is_final", 0, "after ticker_stop() returns, fn is never called again",
      test_ticker_stop_is_final },
    { "frame", "ticker_bad_interval_is_refused", 0,
      "a base tick of 0 ms or over a minute is refused with a reason",
      test_ticker_bad_interval_is_refused },
    { 0 },
};
