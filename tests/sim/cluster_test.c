/*
 * The cluster hosts nodes as the node interface promises: a crash throws
 * away memory and keeps the data directory, ticks stop while a node is down
 * and resume at the normal rate after a restart, and messages to a down
 * node are lost.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/harness/expect.h"
#include "tests/harness/history.h"
#include "tests/harness/test.h"
#include "tests/sim/toy.h"
#include "tests/sim/toy_wire.h"

typedef struct {
    int replies;
    int found;
    char value[64];
} reply_t;

static void on_reply(void *ctx, int from, const uint8_t *bytes, size_t len)
{
    (void)from;
    reply_t *r = ctx;
    toy_msg_t m;
    expect_err(toy_msg_decode(bytes, len, &m), TKV_OK, "toy_msg_decode(bytes, len, &m)");
    r->replies++;
    r->found = m.kind_or_flag;
    snprintf(r->value, sizeof(r->value), "%.*s", (int)m.value.len,
             m.value.data ? (const char *)m.value.data : "");
}

static void request(sim_cluster_t *c, uint32_t seq, hist_kind_t kind, const char *key,
                    const char *val)
{
    toy_msg_t m = { TOY_MSG_REQUEST, 0, seq, (uint8_t)kind, slice_of_str(key), slice_of_str(val) };
    tkv_buf_t b = TKV_BUF_INIT;
    toy_msg_encode(&m, &b);
    expect_err(sim_cluster_client_send(c, 0, 1, b.data, b.len), TKV_OK,
               "sim_cluster_client_send(c, 0, 1, b.data, b.len)");
    buf_free(&b);
    sim_run_for(sim_cluster_sim(c), 50);
}

static void test_crash_loses_memory_and_keeps_disk(void **state)
{
    (void)state;
    sim_cluster_opts_t o = { .nodes = 2, .clients = 1, .ops = &toy_node_ops, .seed = 1 };
    sim_cluster_t *c;
    expect_err(sim_cluster_new(&o, &c), TKV_OK, "sim_cluster_new(&o, &c)");
    reply_t r = { 0 };
    sim_cluster_on_client(c, 0, on_reply, &r);
    request(c, 1, HIST_PUT, "k", "v1");
    request(c, 2, HIST_APPEND, "k", "+2");
    assert_int_equal(r.replies, 2);
    assert_int_equal(toy_peek(sim_cluster_node_state(c, 1)).served, 2);
    /* The node's file is in its own directory, which a crash leaves alone. */
    char path[512];
    snprintf(path, sizeof(path), "%s/toy.state", sim_cluster_node_dir(c, 1));
    struct stat st;
    assert_int_equal(stat(path, &st), 0);

    sim_cluster_crash(c, 1);
    assert_false(sim_cluster_is_up(c, 1));
    assert_null(sim_cluster_node_state(c, 1));
    request(c, 3, HIST_GET, "k", "");
    assert_int_equal(r.replies, 2); /* nobody home */
    assert_int_equal(stat(path, &st), 0);

    expect_err(sim_cluster_start(c, 1), TKV_OK, "sim_cluster_start(c, 1)");
    toy_peek_t p = toy_peek(sim_cluster_node_state(c, 1));
    assert_int_equal(p.served, 0); /* memory is gone... */
    assert_int_equal(p.keys, 1);   /* ...the data is not */
    request(c, 4, HIST_GET, "k", "");
    assert_int_equal(r.replies, 3);
    assert_true(r.found);
    assert_string_equal(r.value, "v1+2");
    /* The backup got the writes too, and keeps them over its own restart. */
    expect_err(sim_cluster_restart(c, 2), TKV_OK, "sim_cluster_restart(c, 2)");
    assert_int_equal(toy_peek(sim_cluster_node_state(c, 2)).keys, 1);
    assert_int_equal(trace_count_kind(sim_cluster_trace(c), 1, "crash"), 1);
    assert_int_equal(trace_count_kind(sim_cluster_trace(c), 2, "crash"), 1);
    sim_cluster_free(c);
}

static void test_ticks_follow_the_node_life(void **state)
{
    (void)state;
    sim_cluster_opts_t o = { .nodes = 3, .ops = &toy_node_ops, .seed = 2, .tick_ms = 10 };
    sim_cluster_t *c;
    expect_err(sim_cluster_new(&o, &c), TKV_OK, "sim_cluster_new(&o, &c)");
    sim_t *sim = sim_cluster_sim(c);
    sim_run_until(sim, 1000);
    for (int i = 1; i <= 3; i++)
        assert_in_range(toy_peek(sim_cluster_node_state(c, i)).ticks, 99, 100);
    /* Down for 500 ms: no ticks; after a restart, one per 10 ms again, not
     * two (the old tick chain must have ended). Restart twice in a row too. */
    sim_cluster_crash(c, 2);
    sim_run_for(sim, 500);
    expect_err(sim_cluster_restart(c, 2), TKV_OK, "sim_cluster_restart(c, 2)");
    expect_err(sim_cluster_restart(c, 2), TKV_OK, "sim_cluster_restart(c, 2)");
    sim_run_for(sim, 1000);
    assert_in_range(toy_peek(sim_cluster_node_state(c, 2)).ticks, 99, 100);
    assert_in_range(toy_peek(sim_cluster_node_state(c, 1)).ticks, 249, 250);
    sim_cluster_free(c);
}

static tkv_err_t failing_start(const sim_node_env_t *env, void **state)
{
    (void)state;
    return tkv_errorf(TKV_ERR_IO, "node %d cannot open %s", env->id, env->dir);
}

static void test_start_errors_are_reported(void **state)
{
    (void)state;
    sim_node_ops_t ops = toy_node_ops;
    ops.start = failing_start;
    sim_cluster_opts_t o = { .nodes = 2, .ops = &ops, .seed = 3 };
    sim_cluster_t *c = NULL;
    expect_err(sim_cluster_new(&o, &c), TKV_ERR_IO, "sim_cluster_new(&o, &c)");
    assert_null(c);
    o.start_stopped = 1;
    expect_err(sim_cluster_new(&o, &c), TKV_OK, "sim_cluster_new(&o, &c)");
    assert_false(sim_cluster_is_up(c, 1));
    expect_err(sim_cluster_start(c, 1), TKV_ERR_IO, "sim_cluster_start(c, 1)");
    expect_err(sim_cluster_start(c, 7), TKV_ERR_INVALID, "sim_cluster_start(c, 7)");
    sim_cluster_free(c);
    o.nodes = 0;
    expect_err(sim_cluster_new(&o, &c), TKV_ERR_INVALID, "sim_cluster_new(&o, &c)");
}

const tkv_test_t cluster_tests[] = {
    { "frame", "sim_cluster_crash_keeps_disk", 0,
      "a crash loses the node's memory but keeps its data directory",
      test_crash_loses_memory_and_keeps_disk },
    { "frame", "sim_cluster_ticks_follow_node_life", 0,
      "ticks stop while a node is down and resume at the normal rate after restart",
      test_ticks_follow_the_node_life },
    { "frame", "sim_cluster_start_errors", 0,
      "a node that cannot start is reported, not crashed on", test_start_errors_are_reported },
    { 0 },
};
