/*
 * The trace viewer page, tested as a student meets it: a run of the toy
 * store with a deliberate bug fails a checker, its trace is written to a
 * file, and the page built from that file must show the run's nodes and
 * clients, its messages and crashes, every client operation with its
 * outcome, and exactly the operations the checker named; and a 100 000-event
 * trace must make a page too.
 *
 * The page's script is checked by CI, which renders pages in headless
 * Chromium (.ci/run); with TKV_PAGE_KEEP=dir this test leaves its page
 * there for that.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/harness/client_check.h"
#include "proto/eraftpb.pb-c.h"
#include "tests/harness/expect.h"
#include "tests/harness/linearizability.h"
#include "tests/harness/sim_raftmsg.h"
#include "tests/harness/test.h"
#include "tests/harness/trace_page.h"
#include "tests/harness/trace_synth.h"
#include "tests/sim/toy.h"

/* The whole file, NUL-terminated; the caller frees it. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    tkv_buf_t b = TKV_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    buf_append_byte(&b, 0);
    *len = b.len - 1;
    return (char *)buf_take(&b);
}

static void keep_page(const char *page, const char *name)
{
    const char *dir = getenv("TKV_PAGE_KEEP");
    if (dir == NULL || *dir == '\0')
        return;
    size_t len = 0;
    char *html = slurp(page, &len);
    char path[600];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        fail_msg("TKV_PAGE_KEEP: cannot write %s", path);
    fwrite(html, 1, len, f);
    fclose(f);
    free(html);
}

/* Every #id named in `text`, marked in `named` (size n). */
static void mark_ids(const char *text, char *named, size_t n)
{
    for (const char *s = strchr(text, '#'); s != NULL; s = strchr(s + 1, '#')) {
        char *end = NULL;
        unsigned long id = strtoul(s + 1, &end, 10);
        if (end != s + 1 && id < n)
            named[id] = 1;
    }
}

typedef struct {
    int bugs;
    toy_workload_t workload;
    int chaos;
} recording_t;

static void crash_primary_now_and_then(sim_t *sim, void *arg);

static void restart_primary(sim_t *sim, void *arg)
{
    sim_cluster_t *c = arg;
    expect_err(sim_cluster_start(c, 1), TKV_OK, "sim_cluster_start(c, 1)");
    sim_schedule(sim, prng_between(sim_prng(sim), 100, 300), crash_primary_now_and_then, c, NULL);
}

/* The primary goes down for a while: what is in flight to it is lost. */
static void crash_primary_now_and_then(sim_t *sim, void *arg)
{
    sim_cluster_t *c = arg;
    sim_cluster_crash(c, 1);
    sim_schedule(sim, prng_between(sim_prng(sim), 20, 100), restart_primary, c, NULL);
}

/* Runs the toy with `bugs` on, judges it with the checker the workload
 * calls for (which must fail), and checks the page of the recorded trace
 * against the history. */
static void check_page_of_failing_run(const recording_t *r, uint64_t seed, const char *keep_as)
{
    toy_config_t cfg = { r->bugs };
    sim_cluster_opts_t o = {
        .nodes = 3, .clients = 4, .ops = &toy_node_ops, .user = &cfg, .seed = seed
    };
    sim_cluster_t *c;
    expect_err(sim_cluster_new(&o, &c), TKV_OK, "sim_cluster_new(&o, &c)");
    sim_t *sim = sim_cluster_sim(c);
    sim_net_t *net = sim_cluster_net(c);
    sim_net_set_classifier(net, toy_classify, NULL);
    trace_class_name(sim_cluster_trace(c), TOY_MSG_REPLICATE, "replicate");
    sim_net_opts_t no = sim_net_opts_unreliable();
    sim_net_set_opts(net, &no);
    history_t *h = history_new();
    history_set_trace(h, sim_cluster_trace(c), sim_cluster_client_ep(c, 0));
    toy_clients_t *tc = toy_clients_new(c, 4, 60, r->workload, h);
    if (r->chaos)
        sim_schedule(sim, 150, crash_primary_now_and_then, c, NULL);
    assert_true(sim_run_while(sim, toy_clients_busy, tc, 600000));

    /* The checker's verdict goes into the trace, naming operations. */
    size_t n = history_len(h);
    char *named = calloc(n + 1, 1);
    lin_report_t rep;
    tkv_buf_t why = TKV_BUF_INIT;
    if (r->workload == TOY_OWN_APPENDS) {
        int ok = 1;
        for (int i = 0; i < 4 && ok; i++) {
            char key[16];
            snprintf(key, sizeof(key), "%d", i);
            ok = client_check(h, i, key, strlen(key), &why);
        }
        if (ok)
            fail_msg("the toy with bug %d passed the client-view check: no failure to draw",
                     r->bugs);
        buf_append_byte(&why, 0);
        mark_ids((char *)why.data, named, n);
        memset(&rep, 0, sizeof(rep));
    } else {
        if (lin_check_report(h, NULL, &rep, NULL) != LIN_ILLEGAL)
            fail_msg("the toy with bug %d was linearizable: no failure to draw", r->bugs);
        for (size_t i = 0; i < rep.n_stuck; i++)
            named[rep.stuck[i]] = 1;
    }
    buf_free(&why);

    /* The recorded run: the trace file, then the page from it. */
    char dir[256], trace[320], page[320];
    tkv_tmpdir(dir, sizeof(dir));
    snprintf(trace, sizeof(trace), "%s/run.trace", dir);
    snprintf(page, sizeof(page), "%s/run.html", dir);
    expect_err(trace_write(sim_cluster_trace(c), trace), TKV_OK,
               "trace_write(sim_cluster_trace(c), trace)");
    trace_page_info_t info = { "toy with a bug", "make frame TEST=x SEED=1" };
    trace_page_stats_t st;
    expect_err(trace_page_write(trace, page, &info, &st), TKV_OK,
               "trace_page_write(trace, page, &info, &st)");
    keep_page(page, keep_as);

    trace_model_t *m = NULL;
    expect_err(trace_model_load(trace, &m), TKV_OK, "trace_model_load(trace, &m)");
    /* Nodes and clients, each a column. */
    assert_int_equal(m->nodes, 3);
    assert_int_equal(m->clients, 4);
    assert_int_equal(m->first_client, sim_cluster_client_ep(c, 0));
    /* Messages: every send the network counted is an arrow, and the lost
     * ones carry their reason. */
    sim_net_stats_t ns = sim_net_stats(net);
    size_t lost = 0, unexplained = 0;
    for (size_t i = 0; i < m->n_msgs; i++) {
        if (m->msgs[i].fate != TM_MSG_DELIVERED) {
            lost++;
            unexplained += m->msgs[i].reason == NULL || m->msgs[i].reason[0] == '\0';
        }
    }
    if (m->n_msgs != ns.sent + ns.duplicated)
        fail_msg("the page has %zu messages; the network sent %llu and duplicated %llu", m->n_msgs,
                 (unsigned long long)ns.sent, (unsigned long long)ns.duplicated);
    uint64_t net_lost = ns.dropped_random + ns.dropped_partition + ns.dropped_down +
                        ns.dropped_filter + ns.dropped_class;
    if (lost != net_lost)
        fail_msg("the page marks %zu messages lost; the network lost %llu", lost,
                 (unsigned long long)net_lost);
    assert_int_equal(unexplained, 0);
    /* Named classes keep their names; the others have none. */
    assert_non_null(m->class_names[TOY_MSG_REPLICATE]);
    assert_string_equal(m->class_names[TOY_MSG_REPLICATE], "replicate");
    assert_null(m->class_names[TOY_MSG_REQUEST]);
    if (r->chaos) {
        /* Crashes are bands, and messages in flight to a crashed node are
         * lost there, not at send. */
        size_t in_flight = 0;
        for (size_t i = 0; i < m->n_msgs; i++)
            in_flight += m->msgs[i].fate == TM_MSG_LOST;
        assert_true(in_flight > 0);
        assert_true(m->n_crashes > 0 && m->crashes[0].node == 1 &&
                    m->crashes[0].up > m->crashes[0].down);
    }
    /* Every operation, with its interval and outcome. */
    assert_int_equal(m->n_ops, n);
    size_t marked = 0, want_marked = 0;
    for (size_t i = 0; i < n; i++) {
        const hist_op_t *op = history_op(h, i);
        const tm_op_t *t = &m->ops[i];
        assert_true(t->present);
        assert_int_equal(t->client, op->client);
        assert_int_equal(t->ep, sim_cluster_client_ep(c, op->client));
        assert_string_equal(t->kind, hist_kind_name(op->kind));
        assert_int_equal(t->call, op->call);
        assert_int_equal(t->ret, op->ret == HIST_NEVER ? TM_NEVER : op->ret);
        assert_int_equal(t->status, op->status == HIST_OK       ? TM_OP_OK
                                    : op->status == HIST_FAILED ? TM_OP_FAILED
                                                                : TM_OP_PENDING);
        /* Highlighted: exactly the ones the checker named. */
        if (t->failed_check != named[i])
            fail_msg("op #%zu is %shighlighted on the page but %snamed by the checker", i,
                     t->failed_check ? "" : "not ", named[i] ? "" : "not ");
        marked += t->failed_check != 0;
        want_marked += named[i];
    }
    assert_true(marked > 0 && marked == want_marked);
    assert_int_equal(st.failed_ops, marked);
    /* The longest linearizable prefix, numbered in its order. */
    for (size_t i = 0; i < rep.n_prefix; i++)
        assert_int_equal(m->ops[rep.prefix[i]].prefix_pos, i + 1);
    assert_true(m->n_checks > 0);

    /* The page: the same data, self-contained. */
    size_t len = 0;
    char *html = slurp(page, &len);
    char want[64];
    snprintf(want, sizeof(want), "nodes:3,clients:4,firstClient:%d", m->first_client);
    assert_non_null(strstr(html, want));
    assert_non_null(strstr(html, "make frame TEST=x SEED=1"));
    assert_null(strstr(html, "<script src"));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, "http://"));
    assert_null(strstr(html, "https://"));
    free(html);

    trace_model_free(m);
    lin_report_free(&rep);
    free(named);
    tkv_rmdir(dir);
    sim_cluster_free(c);
    toy_clients_free(tc);
    history_free(h);
}

static void test_page_of_a_linearizability_failure(void **state)
{
    (void)state;
    /* Writes kept in memory only vanish when the primary crashes. */
    recording_t r = { TOY_BUG_VOLATILE, TOY_RANDOM, 1 };
    check_page_of_failing_run(&r, 400, "lin-failure.html");
}

static void test_page_of_a_client_view_failure(void **state)
{
    (void)state;
    /* Without deduplication a retried append shows twice. */
    recording_t r = { TOY_BUG_NO_DEDUP, TOY_OWN_APPENDS, 0 };
    check_page_of_failing_run(&r, 300, "client-view-failure.html");
}

static void test_page_of_a_large_trace(void **state)
{
    (void)state;
    char dir[256], trace[320], page[320];
    tkv_tmpdir(dir, sizeof(dir));
    snprintf(trace, sizeof(trace), "%s/big.trace", dir);
    snprintf(page, sizeof(page), "%s/big.html", dir);
    expect_err(trace_synth_write(trace, 100000, 7), TKV_OK, "trace_synth_write(trace, 100000, 7)");
    trace_page_stats_t st;
    expect_err(trace_page_write(trace, page, NULL, &st), TKV_OK,
               "trace_page_write(trace, page, NULL, &st)");
    keep_page(page, "synthetic-100000.html");
    assert_int_equal(st.events, 100000);
    assert_true(st.messages > 20000 && st.states > 10000 && st.ops > 1000);
    assert_int_equal(st.failed_ops, 2);
    /* Flat arrays keep it small: about a hundred bytes an event. */
    struct stat sb;
    assert_int_equal(stat(page, &sb), 0);
    if (sb.st_size > 120 * 100000)
        fail_msg("a 100000-event page takes %lld bytes; want at most 12 MB", (long long)sb.st_size);
    tkv_rmdir(dir);
}

static void test_raft_classes_are_named(void **state)
{
    (void)state;
    tkv_vclock_t vc;
    vclock_init(&vc, 0);
    trace_t *tr = trace_new(&vc.clock, 0);
    sim_raftmsg_trace_names(tr);
    trace_event(tr, 1, "net-send", "to n2 class %d, 40 bytes, arrives in 2 ms",
                ERAFTPB__MESSAGE_TYPE__MSG_APPEND);
    char dir[256], path[320];
    tkv_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/t.trace", dir);
    expect_err(trace_write(tr, path), TKV_OK, "trace_write(tr, path)");
    trace_model_t *m = NULL;
    expect_err(trace_model_load(path, &m), TKV_OK, "trace_model_load(path, &m)");
    assert_string_equal(m->class_names[ERAFTPB__MESSAGE_TYPE__MSG_APPEND], "MsgAppend");
    assert_string_equal(m->class_names[ERAFTPB__MESSAGE_TYPE__MSG_HEARTBEAT_RESPONSE],
                        "MsgHeartbeatResponse");
    assert_string_equal(m->class_names[SIM_CLASS_CLIENT], "client");
    assert_null(m->class_names[10]); /* no message type 10 */
    assert_int_equal(m->n_msgs, 1);
    trace_model_free(m);
    trace_free(tr);
    tkv_rmdir(dir);
}

static void test_bad_trace_is_a_clear_error(void **state)
{
    (void)state;
    char dir[256], path[320];
    tkv_tmpdir(dir, sizeof(dir));
    snprintf(path, sizeof(path), "%s/not-a-trace.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("hello\nthis is no trace\n", f);
    fclose(f);
    trace_model_t *m = NULL;
    expect_err(trace_model_load(path, &m), TKV_ERR_INVALID, "trace_model_load(path, &m)");
    assert_non_null(strstr(tkv_last_error(), "no trace events"));
    snprintf(path, sizeof(path), "%s/missing.trace", dir);
    expect_err(trace_model_load(path, &m), TKV_ERR_IO, "trace_model_load(path, &m)");
    tkv_rmdir(dir);
}

const tkv_test_t trace_page_tests[] = {
    { "frame", "trace_page_shows_a_linearizability_failure", 0,
      "the page of a recorded non-linearizable run has its nodes, messages, ops and the named ops",
      test_page_of_a_linearizability_failure },
    { "frame", "trace_page_shows_a_client_view_failure", 0,
      "the page of a recorded client-view failure highlights the read and the append",
      test_page_of_a_client_view_failure },
    { "frame", "trace_page_of_100000_events", 0,
      "a 100 000-event trace makes a page of bounded size with everything in it",
      test_page_of_a_large_trace },
    { "frame", "trace_page_names_raft_message_classes", 0,
      "with sim_raftmsg_trace_names() the page calls class 3 MsgAppend",
      test_raft_classes_are_named },
    { "frame", "trace_page_rejects_what_is_not_a_trace", 0,
      "a file without trace lines, or no file, is a clear error", test_bad_trace_is_a_clear_error },
    { 0 },
};
