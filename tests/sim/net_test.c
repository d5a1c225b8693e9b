/*
 * The simulated network does what it is told, at the rates it is told:
 * loss, delay bounds, reordering, duplicates, loss by class, filters,
 * partitions (also of messages in flight), down endpoints; and it copies
 * the bytes it carries.
 */
#include <string.h>

#include "tests/harness/expect.h"
#include "tests/harness/sim_net.h"
#include "tests/harness/test.h"

typedef struct {
    sim_t *sim;
    uint64_t count;
    uint64_t per_to[8];
    uint64_t min_delay, max_delay;
    uint64_t inversions; /* a message arrived after one sent later */
    uint64_t last_seq;
    uint64_t per_class[4];
    uint8_t last_bytes[16];
} sink_t;

/* Every test message is [class][seq u64 little-endian][send time u64]. */
static void send_one(sim_net_t *net, sim_t *sim, int from, int to, uint8_t cls, uint64_t seq)
{
    uint8_t m[17];
    m[0] = cls;
    uint64_t now = sim_now(sim);
    memcpy(m + 1, &seq, 8);
    memcpy(m + 9, &now, 8);
    expect_err(sim_net_send(net, from, to, m, sizeof(m)), TKV_OK,
               "sim_net_send(net, from, to, m, sizeof(m))");
}

static void sink(void *ctx, int from, int to, const uint8_t *bytes, size_t len)
{
    (void)from;
    sink_t *s = ctx;
    assert_int_equal(len, 17);
    uint64_t seq, sent;
    memcpy(&seq, bytes + 1, 8);
    memcpy(&sent, bytes + 9, 8);
    uint64_t d = sim_now(s->sim) - sent;
    if (s->count == 0 || d < s->min_delay)
        s->min_delay = d;
    if (d > s->max_delay)
        s->max_delay = d;
    if (seq < s->last_seq)
        s->inversions++;
    s->last_seq = seq;
    s->count++;
    s->per_to[to]++;
    s->per_class[bytes[0] & 3]++;
}

static int classify(void *ctx, int from, int to, const uint8_t *bytes, size_t len)
{
    (void)ctx;
    (void)from;
    (void)to;
    return len > 0 ? bytes[0] : 0;
}

typedef struct {
    sim_t *sim;
    sim_net_t *net;
    sink_t sink;
} fixture_t;

static void setup(fixture_t *f, uint64_t seed)
{
    memset(f, 0, sizeof(*f));
    f->sim = sim_loop_new(seed);
    f->sink.sim = f->sim;
    f->net = sim_net_new(f->sim, 4, sink, &f->sink);
}

static void teardown(fixture_t *f)
{
    sim_loop_free(f->sim);
    sim_net_free(f->net);
}

/* Sends n messages 1 -> 2, one per ms, and lets them all land. */
static void stream(fixture_t *f, int n, uint8_t cls)
{
    for (int i = 0; i < n; i++) {
        send_one(f->net, f->sim, 1, 2, cls, (uint64_t)i + 1);
        sim_run_for(f->sim, 1);
    }
    sim_run_for(f->sim, 1000);
}

static void test_reliable_network_delivers_everything_in_bounds(void **state)
{
    (void)state;
    fixture_t f;
    setup(&f, 1);
    stream(&f, 2000, 0);
    sim_net_stats_t st = sim_net_stats(f.net);
    assert_int_equal(st.sent, 2000);
    assert_int_equal(st.delivered, 2000);
    assert_int_equal(f.sink.count, 2000);
    assert_in_range(f.sink.min_delay, 1, 5);
    assert_in_range(f.sink.max_delay, 1, 5);
    teardown(&f);
}

static void test_random_loss_matches_its_rate(void **state)
{
    (void)state;
    fixture_t f;
    setup(&f, 2);
    sim_net_opts_t o = sim_net_opts_reliable();
    o.drop_num = 1;
    o.drop_den = 4;
    sim_net_set_opts(f.net, &o);
    stream(&f, 8000, 0);
    sim_net_stats_t st = sim_net_stats(f.net);
    assert_in_range(st.dropped_random, 1800, 2200);
    assert_int_equal(st.delivered, 8000 - st.dropped_random);
    assert_int_equal(f.sink.count, st.delivered);
    teardown(&f);
}

static void test_delay_and_reordering(void **state)
{
    (void)state;
    fixture_t f;
    setup(&f, 3);
    /* A fixed delay keeps order... */
    sim_net_opts_t o = sim_net_opts_reliable();
    o.delay_min_ms = o.delay_max_ms = 7;
    sim_net_set_opts(f.net, &o);
    stream(&f, 500, 0);
    assert_int_equal(f.sink.inversions, 0);
    assert_int_equal(f.sink.min_delay, 7);
    assert_int_equal(f.sink.max_delay, 7);
    /* ...and a share of slow messages gets overtaken. */
    memset(&f.sink, 0, sizeof(f.sink));
    f.sink.sim = f.sim;
    o.slow_num = 1;
    o.slow_den = 5;
    o.slow_max_ms = 40;
    sim_net_set_opts(f.net, &o);
    stream(&f, 5000, 0);
    sim_net_stats_t st = sim_net_stats(f.net);
    assert_in_range(st.slowed, 800, 1200);
    assert_true(f.sink.inversions > 100);
    assert_int_equal(f.sink.max_delay <= 47, 1);
    assert_true(f.sink.max_delay > 30);
    teardown(&f);
}

static void test_duplicates_match_their_rate(void **state)
{
    (void)state;
    fixture_t f;
    setup(&f, 4);
    sim_net_opts_t o = sim_net_opts_reliable();
    o.dup_num = 1;
    o.dup_den = 10;
    sim_net_set_opts(f.net, &o);
    stream(&f, 5000, 0);
    sim_net_stats_t st = sim_net_stats(f.net);
    assert_in_range(st.duplicated, 400, 600);
    assert_int_equal(f.sink.count, 5000 + st.duplicated);
    teardown(&f);
}

static void test_loss_by_class(void **state)
{
    (void)state;
    fixture_t f;
    setup(&f, 5);
    sim_net_set_classifier(f.net, classify, NULL);
    sim_net_drop_class(f.net, 2, 1, 1); /* every class-2 message */
    sim_net_drop_class(f.net, 3, 1, 2); /* half of class 3 */
    for (int i = 0; i < 3000; i++) {
        send_one(f.net, f.sim, 1, 2, (uint8_t)(1 + i % 3), (uint64_t)i);
        sim_run_for(f.sim, 1);
    }
    sim_run_for(f.sim, 100);
    assert_int_equal(f.sink.per_class[1], 1000);
    assert_int_equal(f.sink.per_class[2], 0);
    assert_in_range(f.sink.per_class[3], 430, 570);
    assert_int_equal(sim_net_class_sent(f.net, 2), 1000);
    sim_net_stats_t st = sim_net_stats(f.net);
    assert_int_equal(st.dropped_class, 1000 + (1000 - f.sink.per_class[3]));
    teardown(&f);
}

static int to_node_3(void *ctx, int from, int to, const uint8_t *bytes, size_t len)
{
    (void)from;
    (void)bytes;
    (void)len;
    (*(int *)ctx)++;
    return to == 3;
}

static void test_filters_see_every_message_and_drop_some(void **state)
{
    (void)state;
    fixture_t f;
    setup(&f, 6);
    int seen = 0;
    int slot = sim_net_add_filter(f.net, to_node_3, &seen);
    assert_true(slot >= 0);
    for (int i = 0; i < 10; i++) {
        send_one(f.net, f.sim, 1, 2, 0, 1);
        send_one(f.net, f.sim, 1, 3, 0, 1);
    }
    sim_run_for(f.sim, 100);
    assert_int_equal(seen, 20);
    assert_int_equal(f.sink.per_to[2], 10);
    assert_int_equal(f.sink.per_to[3], 0);
    assert_int_equal(sim_net_stats(f.net).dropped_filter, 10);
    sim_net_remove_filter(f.net, slot);
    send_one(f.net, f.sim, 1, 3, 0, 1);
    sim_run_for(f.sim, 100);
    assert_int_equal(f.sink.per_to[3], 1);
    teardown(&f);
}

static void test_partitions_isolation_and_heal(void **state)
{
    (void)state;
    fixture_t f;
    setup(&f, 7);
    int a[] = { 1, 2 }, b[] = { 3 };
    sim_net_partition2(f.net, a, 2, b, 1);
    assert_true(sim_net_connected(f.net, 1, 2));
    assert_false(sim_net_connected(f.net, 1, 3));
    send_one(f.net, f.sim, 1, 2, 0, 1);
    send_one(f.net, f.sim, 1, 3, 0, 1);
    send_one(f.net, f.sim, 3, 2, 0, 1);
    sim_run_for(f.sim, 100);
    assert_int_equal(f.sink.per_to[2], 1);
    assert_int_equal(f.sink.per_to[3], 0);
    assert_int_equal(sim_net_stats(f.net).dropped_partition, 2);
    /* An external endpoint (a client) reaches both sides. */
    sim_net_set_external(f.net, 4, 1);
    send_one(f.net, f.sim, 4, 3, 0, 1);
    send_one(f.net, f.sim, 4, 1, 0, 1);
    sim_run_for(f.sim, 100);
    assert_int_equal(f.sink.per_to[3], 1);
    /* A partition cuts messages already in flight. */
    sim_net_heal(f.net);
    send_one(f.net, f.sim, 1, 3, 0, 1);
    sim_net_isolate(f.net, 3);
    sim_run_for(f.sim, 100);
    assert_int_equal(f.sink.per_to[3], 1);
    assert_false(sim_net_connected(f.net, 2, 3));
    assert_true(sim_net_connected(f.net, 1, 2));
    sim_net_heal(f.net);
    send_one(f.net, f.sim, 1, 3, 0, 1);
    sim_run_for(f.sim, 100);
    assert_int_equal(f.sink.per_to[3], 2);
    teardown(&f);
}

static void test_down_endpoints_neither_send_nor_receive(void **state)
{
    (void)state;
    fixture_t f;
    setup(&f, 8);
    sim_net_set_up(f.net, 3, 0);
    send_one(f.net, f.sim, 1, 3, 0, 1);
    send_one(f.net, f.sim, 3, 2, 0, 1);
    sim_run_for(f.sim, 100);
    assert_int_equal(f.sink.count, 0);
    /* Going down while a message is on its way loses it too. */
    sim_net_set_up(f.net, 3, 1);
    send_one(f.net, f.sim, 1, 3, 0, 1);
    sim_net_set_up(f.net, 3, 0);
    sim_run_for(f.sim, 100);
    assert_int_equal(f.sink.count, 0);
    assert_int_equal(sim_net_stats(f.net).dropped_down, 3);
    expect_err(sim_net_send(f.net, 1, 9, "x", 1), TKV_ERR_INVALID,
               "sim_net_send(f.net, 1, 9, \"x\", 1)");
    teardown(&f);
}

static void copy_sink(void *ctx, int from, int to, const uint8_t *bytes, size_t len)
{
    (void)from;
    (void)to;
    memcpy(ctx, bytes, len < 16 ? len : 16);
}

static void test_bytes_are_copied(void **state)
{
    (void)state;
    sim_t *sim = sim_loop_new(9);
    char got[16] = { 0 };
    sim_net_t *net = sim_net_new(sim, 2, copy_sink, got);
    char msg[16] = "original";
    sim_net_send(net, 1, 2, msg, 9);
    strcpy(msg, "scribble");
    sim_run_for(sim, 100);
    assert_string_equal(got, "original");
    sim_loop_free(sim);
    sim_net_free(net);
}

const tkv_test_t net_tests[] = {
    { "frame", "sim_net_reliable_delivers_all", 0,
      "a reliable network delivers every message within its delay bounds",
      test_reliable_network_delivers_everything_in_bounds },
    { "frame", "sim_net_loss_rate", 0, "random loss drops about the configured share",
      test_random_loss_matches_its_rate },
    { "frame", "sim_net_delay_reorders", 0,
      "a fixed delay keeps order; slow messages are overtaken at the configured rate",
      test_delay_and_reordering },
    { "frame", "sim_net_duplicate_rate", 0, "duplicates appear at about the configured rate",
      test_duplicates_match_their_rate },
    { "frame", "sim_net_loss_by_class", 0, "a classifier's classes lose their configured share",
      test_loss_by_class },
    { "frame", "sim_net_filters", 0, "filters see every message and drop what they reject",
      test_filters_see_every_message_and_drop_some },
    { "frame", "sim_net_partitions", 0,
      "partitions cut across groups (in flight too), spare external endpoints, heal",
      test_partitions_isolation_and_heal },
    { "frame", "sim_net_down_endpoints", 0, "a down endpoint neither sends nor receives",
      test_down_endpoints_neither_send_nor_receive },
    { "frame", "sim_net_copies_bytes", 0, "the receiver never sees the sender's buffer",
      test_bytes_are_copied },
    { 0 },
};
