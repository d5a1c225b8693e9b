/*
 * The event loop: events run in (time, scheduling order), the clock jumps to
 * each event, cancelled events never run, and the run helpers stop where
 * they say.
 */
#include <stdlib.h>

#include "tests/harness/sim.h"
#include "tests/harness/test.h"

typedef struct {
    int log[64];
    uint64_t at[64];
    int n;
} record_t;

typedef struct {
    record_t *r;
    int tag;
} mark_t;

static void mark(sim_t *sim, void *arg)
{
    mark_t *m = arg;
    m->r->at[m->r->n] = sim_now(sim);
    m->r->log[m->r->n++] = m->tag;
}

static void test_events_run_in_time_then_schedule_order(void **state)
{
    (void)state;
    sim_t *sim = sim_loop_new(1);
    record_t r = { 0 };
    /* Times 30, 10, 20, 10, 30, 0 scheduled in this order. */
    uint64_t delays[] = { 30, 10, 20, 10, 30, 0 };
    mark_t m[6];
    for (int i = 0; i < 6; i++) {
        m[i] = (mark_t){ &r, i };
        sim_schedule(sim, delays[i], mark, &m[i], NULL);
    }
    assert_int_equal(sim_pending(sim), 6);
    while (sim_step(sim))
        ;
    int want[] = { 5, 1, 3, 2, 0, 4 };
    uint64_t want_at[] = { 0, 10, 10, 20, 30, 30 };
    assert_int_equal(r.n, 6);
    for (int i = 0; i < 6; i++) {
        assert_int_equal(r.log[i], want[i]);
        assert_int_equal(r.at[i], want_at[i]);
    }
    assert_int_equal(sim_now(sim), 30);
    assert_int_equal(clock_now_ms(sim_clock(sim)), 30);
    sim_loop_free(sim);
}

static int freed;

static void count_free(void *arg)
{
    (void)arg;
    freed++;
}

static void test_cancelled_events_never_run(void **state)
{
    (void)state;
    sim_t *sim = sim_loop_new(1);
    record_t r = { 0 };
    mark_t m[40];
    uint64_t ids[40];
    freed = 0;
    /* Enough events that the heap reshuffles: cancel every third, by the id
     * sim_schedule returned. */
    for (int i = 0; i < 40; i++) {
        m[i] = (mark_t){ &r, i };
        ids[i] = sim_schedule(sim, (uint64_t)((i * 7) % 13), mark, &m[i], count_free);
    }
    for (int i = 0; i < 40; i += 3)
        assert_int_equal(sim_cancel(sim, ids[i]), 1);
    assert_int_equal(sim_cancel(sim, ids[0]), 0); /* already gone */
    sim_run_until(sim, 100);
    assert_int_equal(r.n, 40 - 14);
    for (int i = 0; i < r.n; i++)
        assert_true(r.log[i] % 3 != 0);
    assert_int_equal(freed, 40); /* cancelled or run: each argument freed once */
    sim_loop_free(sim);
}

static void test_sim_free_releases_queued_events(void **state)
{
    (void)state;
    sim_t *sim = sim_loop_new(1);
    freed = 0;
    for (int i = 0; i < 5; i++)
        sim_schedule(sim, 10, mark, NULL, count_free);
    sim_loop_free(sim);
    assert_int_equal(freed, 5);
}

static void test_run_until_stops_at_its_time(void **state)
{
    (void)state;
    sim_t *sim = sim_loop_new(1);
    record_t r = { 0 };
    mark_t m[3] = { { &r, 0 }, { &r, 1 }, { &r, 2 } };
    sim_schedule(sim, 50, mark, &m[0], NULL);
    sim_schedule(sim, 100, mark, &m[1], NULL);
    sim_schedule(sim, 101, mark, &m[2], NULL);
    sim_run_until(sim, 100);
    assert_int_equal(r.n, 2); /* due at or before 100 */
    assert_int_equal(sim_now(sim), 100);
    sim_run_for(sim, 500);
    assert_int_equal(r.n, 3);
    assert_int_equal(sim_now(sim), 600); /* the clock moves even with nothing to run */
    assert_int_equal(sim_events_run(sim), 3);
    sim_loop_free(sim);
}

static void rearm(sim_t *sim, void *arg)
{
    int *count = arg;
    (*count)++;
    sim_schedule(sim, 10, rearm, arg, NULL);
}

static int below_five(void *arg)
{
    return *(int *)arg < 5;
}

static void test_run_while_stops_on_predicate_or_time(void **state)
{
    (void)state;
    sim_t *sim = sim_loop_new(1);
    int count = 0;
    sim_schedule(sim, 10, rearm, &count, NULL);
    assert_int_equal(sim_run_while(sim, below_five, &count, 1000), 1);
    assert_int_equal(count, 5);
    assert_int_equal(sim_now(sim), 50);
    count = -100; /* never reaches five in time */
    assert_int_equal(sim_run_while(sim, below_five, &count, 200), 0);
    assert_int_equal(sim_now(sim), 200);
    assert_int_equal(count, -100 + 15);
    sim_loop_free(sim);
}

static void test_prng_is_the_seeds(void **state)
{
    (void)state;
    sim_t *a = sim_loop_new(5), *b = sim_loop_new(5), *c = sim_loop_new(6);
    int differs = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = prng_next(sim_prng(a));
        assert_int_equal(x, prng_next(sim_prng(b)));
        differs |= x != prng_next(sim_prng(c));
    }
    assert_true(differs);
    sim_loop_free(a);
    sim_loop_free(b);
    sim_loop_free(c);
}

const tkv_test_t sim_tests[] = {
    { "frame", "sim_events_in_time_order", 0,
      "events run by time, ties in scheduling order, with the clock at each event's time",
      test_events_run_in_time_then_schedule_order },
    { "frame", "sim_cancel", 0, "a cancelled event never runs and its argument is freed once",
      test_cancelled_events_never_run },
    { "frame", "sim_free_releases_events", 0, "freeing the loop frees queued events' arguments",
      test_sim_free_releases_queued_events },
    { "frame", "sim_run_until", 0, "run_until runs what is due by then and sets the clock",
      test_run_until_stops_at_its_time },
    { "frame", "sim_run_while", 0, "run_while stops when the predicate fails or time runs out",
      test_run_while_stops_on_predicate_or_time },
    { "frame", "sim_prng_from_seed", 0, "the loop's PRNG is fixed by the seed",
      test_prng_is_the_seeds },
    { 0 },
};
