/*
 * How a peer answers proposals (project 2B): only the leader proposes, every
 * callback is called exactly once, and an answer says clearly whether the
 * command applied (OK), did not (NotLeader), or may have (StaleCommand).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project2-raft/raftstore/pb_util.h"
#include "tests/harness/expect.h"
#include "tests/harness/kv_cluster.h"

typedef struct {
    int calls;
    int ok, not_leader, stale;
    uint64_t leader_store;   /* NotLeader's hint */
    uint64_t missing_region; /* RegionNotFound's region (0: not that error) */
} answer_t;

static void on_answer(void *arg, RaftCmdpb__RaftCmdResponse *resp, eng_snap_t *snap)
{
    answer_t *a = arg;
    a->calls++;
    const Errorpb__Error *e = resp->header ? resp->header->error : NULL;
    if (e == NULL)
        a->ok++;
    else if (e->not_leader) {
        a->not_leader++;
        if (e->not_leader->leader)
            a->leader_store = e->not_leader->leader->store_id;
    } else if (e->stale_command)
        a->stale++;
    else if (e->region_not_found)
        a->missing_region = e->region_not_found->region_id;
    if (snap != NULL)
        eng_snapshot_free(snap);
    pb_free(resp);
}

/* "2 answers: 1 OK, 1 NotLeader, 0 StaleCommand" (static buffer). */
static const char *answers(const answer_t *a)
{
    static char buf[96];
    snprintf(buf, sizeof(buf), "%d answers: %d OK, %d NotLeader, %d StaleCommand", a->calls, a->ok,
             a->not_leader, a->stale);
    return buf;
}

static void propose_put(sim_cluster_t *c, int node, const char *key, const char *val, answer_t *a)
{
    RaftCmdpb__RaftRequestHeader hdr = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    hdr.region_id = 1;
    RaftCmdpb__PutRequest put = RAFT_CMDPB__PUT_REQUEST__INIT;
    put.key.data = (uint8_t *)key;
    put.key.len = strlen(key);
    put.value.data = (uint8_t *)val;
    put.value.len = strlen(val);
    RaftCmdpb__Request r = RAFT_CMDPB__REQUEST__INIT;
    r.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_PUT;
    r.put = &put;
    RaftCmdpb__Request *rs[1] = { &r };
    RaftCmdpb__RaftCmdRequest cmd = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    cmd.header = &hdr;
    cmd.requests = rs;
    cmd.n_requests = 1;
    peer_cb_t cb = { on_answer, a };
    store_propose(sim_store_of(c, node), &cmd, cb);
}

typedef struct {
    int calls, ok;
    char *error;     /* the first error message, malloc'd */
    tkv_buf_t value; /* the first Get response's value */
} cmd_answer_t;

static void on_cmd_answer(void *arg, RaftCmdpb__RaftCmdResponse *resp, eng_snap_t *snap)
{
    cmd_answer_t *a = arg;
    a->calls++;
    const Errorpb__Error *e = resp->header ? resp->header->error : NULL;
    if (e == NULL)
        a->ok++;
    else if (a->error == NULL)
        a->error = strdup(e->message);
    for (size_t i = 0; i < resp->n_responses; i++)
        if (resp->responses[i]->get != NULL)
            buf_set(&a->value, resp->responses[i]->get->value.data,
                    resp->responses[i]->get->value.len);
    if (snap != NULL)
        eng_snapshot_free(snap);
    pb_free(resp);
}

static int cmd_unanswered(void *arg)
{
    return ((cmd_answer_t *)arg)->calls == 0;
}

/* Proposes one command of up to three requests on `node` and waits for it. */
static void run_cmd(sim_cluster_t *c, int node, RaftCmdpb__Request **rs, size_t n, cmd_answer_t *a)
{
    RaftCmdpb__RaftRequestHeader hdr = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    hdr.region_id = 1;
    RaftCmdpb__RaftCmdRequest cmd = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    cmd.header = &hdr;
    cmd.requests = rs;
    cmd.n_requests = n;
    peer_cb_t cb = { on_cmd_answer, a };
    store_propose(sim_store_of(c, node), &cmd, cb);
    sim_t *sim = sim_cluster_sim(c);
    if (!sim_run_while(sim, cmd_unanswered, a, sim_now(sim) + 2000))
        fail_msg("a command on store %d got no answer in 2 s", node);
}

static int has_key(sim_cluster_t *c, int node, const char *key)
{
    tkv_buf_t v = TKV_BUF_INIT;
    tkv_err_t err = eng_get(store_kv_db(sim_store_of(c, node)), CF_DEFAULT, slice_of_str(key), &v);
    buf_free(&v);
    return err == TKV_OK;
}

static int unanswered(void *arg)
{
    return ((answer_t *)arg)->calls == 0;
}

static sim_cluster_t *three_nodes(sim_store_opts_t *so, int *leader)
{
    sim_cluster_t *c = cluster_new(3, 0, 401, 0, so);
    *leader = cluster_leader(c, 5000);
    if (*leader == 0)
        fail_msg("no leader after 5 s");
    return c;
}

static void test_leader_answers_after_apply(void **state)
{
    (void)state;
    sim_store_opts_t so;
    int leader = 0;
    sim_cluster_t *c = three_nodes(&so, &leader);
    answer_t a = { 0 };
    propose_put(c, leader, "k", "v", &a);
    /* A 3-store region needs a follower's acknowledgement: not yet answered. */
    expect_u64(a.calls, 0,
               "answers to a proposal on the leader before any follower acknowledged it (%s; a "
               "3-store region needs a follower's ack first)",
               answers(&a));
    expect_true(
        sim_run_while(sim_cluster_sim(c), unanswered, &a, 1000 + sim_now(sim_cluster_sim(c))),
        "a proposal on leader %d must be answered within 1 s; it was not", leader);
    expect_u64(a.calls, 1, "answers to the proposal on the leader (%s)", answers(&a));
    expect_u64(a.ok, 1, "OK answers to the proposal on the leader (%s)", answers(&a));
    expect_true(has_key(c, leader, "k"),
                "leader %d must hold k when it answers OK (answer after applying)", leader);
    sim_run_for(sim_cluster_sim(c), 500);
    expect_u64(a.calls, 1,
               "answers to one proposal 500 ms later (%s; every callback is called exactly once)",
               answers(&a));
    for (int i = 1; i <= 3; i++)
        expect_true(has_key(c, i, "k"), "store %d must hold k 500 ms after the put was answered",
                    i);
    sim_cluster_free(c);
}

static void test_follower_answers_not_leader_with_hint(void **state)
{
    (void)state;
    sim_store_opts_t so;
    int leader = 0;
    sim_cluster_t *c = three_nodes(&so, &leader);
    sim_run_for(sim_cluster_sim(c), 200); /* followers hear of the leader */
    int follower = leader % 3 + 1;
    answer_t a = { 0 };
    propose_put(c, follower, "k", "v", &a);
    expect_u64(
        a.calls, 1,
        "answers, at once, to a proposal on follower %d (%s; a follower refuses without proposing)",
        follower, answers(&a));
    expect_u64(a.not_leader, 1, "NotLeader answers to a proposal on follower %d (%s)", follower,
               answers(&a));
    expect_u64(a.leader_store, (uint64_t)leader,
               "the leader store NotLeader names (the follower knows the leader)");
    sim_run_for(sim_cluster_sim(c), 500);
    for (int i = 1; i <= 3; i++)
        expect_false(has_key(c, i, "k"),
                     "store %d holds k, refused by a follower and never proposed", i);
    sim_cluster_free(c);
}

static void test_deposed_leader_answers_stale(void **state)
{
    (void)state;
    sim_store_opts_t so;
    int leader = 0;
    sim_cluster_t *c = three_nodes(&so, &leader);
    sim_t *sim = sim_cluster_sim(c);
    sim_net_isolate(sim_cluster_net(c), leader);
    answer_t a = { 0 };
    propose_put(c, leader, "lost", "v", &a);
    sim_run_for(sim, 2000); /* the others elect a new leader */
    expect_u64(a.calls, 0,
               "answers to a proposal on isolated leader %d after 2 s (%s; it cannot commit and "
               "must not pretend to)",
               leader, answers(&a));
    sim_net_heal(sim_cluster_net(c));
    expect_true(
        sim_run_while(sim, unanswered, &a, sim_now(sim) + 2000),
        "the deposed leader's waiting proposal must be answered within 2 s of healing; it was not");
    expect_u64(
        a.stale, 1,
        "StaleCommand answers to the deposed leader's proposal (%s; its entry was overwritten)",
        answers(&a));
    sim_run_for(sim, 500);
    expect_u64(a.calls, 1, "answers to the deposed leader's proposal (%s; exactly once)",
               answers(&a));
    for (int i = 1; i <= 3; i++)
        expect_false(has_key(c, i, "lost"),
                     "store %d holds \"lost\", proposed by a deposed leader and never committed",
                     i);
    sim_cluster_free(c);
}

static void test_crash_answers_waiting_proposals(void **state)
{
    (void)state;
    sim_store_opts_t so;
    int leader = 0;
    sim_cluster_t *c = three_nodes(&so, &leader);
    sim_net_isolate(sim_cluster_net(c), leader);
    answer_t a = { 0 };
    propose_put(c, leader, "k", "v", &a);
    sim_run_for(sim_cluster_sim(c), 100);
    expect_u64(a.calls, 0, "answers to a proposal on isolated leader %d after 100 ms (%s)", leader,
               answers(&a));
    sim_cluster_crash(c, leader);
    expect_u64(a.calls, 1,
               "answers to the waiting proposal once store %d stopped (%s; stopping answers every "
               "waiting proposal)",
               leader, answers(&a));
    expect_u64(a.stale, 1, "StaleCommand answers to the proposal waiting on a stopped store (%s)",
               answers(&a));
    sim_cluster_free(c);
}

/* Frame code (store_propose, peer_propose's header check): no leader needed. */
static void test_unknown_region_is_reported(void **state)
{
    (void)state;
    sim_store_opts_t so;
    sim_cluster_t *c = cluster_new(3, 0, 401, 0, &so);
    RaftCmdpb__RaftRequestHeader hdr = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    hdr.region_id = 99;
    RaftCmdpb__RaftCmdRequest cmd = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    cmd.header = &hdr;
    answer_t a = { 0 };
    peer_cb_t cb = { on_answer, &a };
    store_propose(sim_store_of(c, 1), &cmd, cb);
    if (a.calls != 1 || a.missing_region != 99)
        fail_msg("a command for region 99, which store 1 does not hold, got %d answers "
                 "(RegionNotFound naming region %llu); want one RegionNotFound for region 99",
                 a.calls, (unsigned long long)a.missing_region);
    /* Garbage from the network is refused without harm. */
    const uint8_t junk[] = { 0xff, 0x01, 0x02 };
    expect_true(store_step(sim_store_of(c, 1), junk, sizeof(junk)) != TKV_OK,
                "store_step of 3 bytes of garbage must fail, it returned TKV_OK");
    sim_cluster_free(c);
}

static int value_is(sim_cluster_t *c, int node, const char *key, const char *want)
{
    tkv_buf_t v = TKV_BUF_INIT;
    tkv_err_t err = eng_get(store_kv_db(sim_store_of(c, node)), CF_DEFAULT, slice_of_str(key), &v);
    int ok = err == TKV_OK && v.len == strlen(want) && memcmp(v.data, want, v.len) == 0;
    buf_free(&v);
    return ok;
}

/* The leader of the majority side among nodes[0..n), or 0. */
static int leader_among(sim_cluster_t *c, const int *nodes, int n)
{
    for (int i = 0; i < n; i++) {
        peer_t *p = store_peer(sim_store_of(c, nodes[i]), 1);
        if (peer_is_leader(p))
            return nodes[i];
    }
    return 0;
}

/* TinyKV's TestOnePartition2B: the leader and one follower cut off from the
 * other three. The minority cannot commit; the majority elects a leader and
 * goes on; after healing, everyone has the majority's value and the old
 * leader's proposal is answered StaleCommand, never OK. */
static void one_partition(uint64_t seed, void *arg)
{
    (void)arg;
    sim_store_opts_t so;
    sim_cluster_t *c = cluster_new(5, 0, seed, 0, &so);
    sim_t *sim = sim_cluster_sim(c);
    int leader = cluster_leader(c, 5000);
    expect_true(leader != 0, "the 5 stores must elect a leader within 5 s (seed %llu)",
                (unsigned long long)seed);
    answer_t first = { 0 };
    propose_put(c, leader, "k", "v0", &first);
    expect_true(sim_run_while(sim, unanswered, &first, sim_now(sim) + 2000),
                "the first put on leader %d must be answered within 2 s", leader);
    expect_u64(first.ok, 1, "OK answers to the first put (%s)", answers(&first));

    int minority[2] = { leader, leader % 5 + 1 }, majority[3], nm = 0;
    for (int i = 1; i <= 5; i++)
        if (i != minority[0] && i != minority[1])
            majority[nm++] = i;
    sim_net_partition2(sim_cluster_net(c), minority, 2, majority, 3);
    answer_t old = { 0 };
    propose_put(c, leader, "k", "minority", &old);
    sim_run_for(sim, 2000);
    expect_u64(old.ok, 0,
               "OK answers to a put on leader %d in the minority (2 of 5) (%s; it cannot commit)",
               leader, answers(&old));
    int new_leader = leader_among(c, majority, 3);
    if (new_leader == 0)
        fail_msg("the majority side elected no leader in 2 s");
    answer_t maj = { 0 };
    propose_put(c, new_leader, "k", "majority", &maj);
    expect_true(sim_run_while(sim, unanswered, &maj, sim_now(sim) + 2000),
                "the put on the majority's leader %d must be answered within 2 s", new_leader);
    expect_u64(maj.ok, 1, "OK answers to the put on the majority's leader %d (%s)", new_leader,
               answers(&maj));
    for (int i = 0; i < 2; i++)
        expect_true(value_is(c, minority[i], "k", "v0"),
                    "store %d in the minority must still hold k=v0 (it cannot have seen the "
                    "majority's write)",
                    minority[i]);

    sim_net_heal(sim_cluster_net(c));
    sim_run_for(sim, 2000);
    expect_u64(old.calls, 1, "answers to the minority leader's put after healing (%s)",
               answers(&old));
    expect_u64(old.stale, 1,
               "StaleCommand answers to the minority leader's put after healing (%s; never OK)",
               answers(&old));
    for (int i = 1; i <= 5; i++)
        if (!value_is(c, i, "k", "majority"))
            fail_msg("store %d does not hold the majority's value after healing", i);
    sim_cluster_free(c);
}

static void test_one_partition(void **state)
{
    (void)state;
    tkv_for_each_seed(402, one_partition, NULL);
}

static void test_commands_apply_whole_and_reads_see_writes(void **state)
{
    (void)state;
    sim_store_opts_t so;
    int leader = 0;
    sim_cluster_t *c = three_nodes(&so, &leader);
    RaftCmdpb__PutRequest p1 = RAFT_CMDPB__PUT_REQUEST__INIT, p2 = RAFT_CMDPB__PUT_REQUEST__INIT;
    p1.key.data = (uint8_t *)"x";
    p1.key.len = 1;
    p1.value.data = (uint8_t *)"1";
    p1.value.len = 1;
    p2 = p1;
    p2.cf = "no_such_cf";
    RaftCmdpb__Request put_ok = RAFT_CMDPB__REQUEST__INIT, put_bad = RAFT_CMDPB__REQUEST__INIT;
    put_ok.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_PUT;
    put_ok.put = &p1;
    put_bad.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_PUT;
    put_bad.put = &p2;
    /* A command with a bad request fails whole, on every store alike. */
    RaftCmdpb__Request *bad[2] = { &put_ok, &put_bad };
    cmd_answer_t a = { 0 };
    run_cmd(c, leader, bad, 2, &a);
    expect_u64(
        a.ok, 0,
        "OK answers to a command with a put to an unknown column family (it must fail whole)");
    expect_present(a.error, "the error of a command with a put to an unknown column family");
    expect_true(
        strstr(a.error, "column family") != NULL,
        "the error of a put to an unknown column family must say \"column family\"; it says \"%s\"",
        a.error);
    free(a.error);
    sim_run_for(sim_cluster_sim(c), 300);
    for (int i = 1; i <= 3; i++)
        expect_false(has_key(c, i, "x"),
                     "store %d holds x, from a command that failed whole (the good put of a failed "
                     "command must not apply)",
                     i);

    /* Put then Get in one command: the Get sees the Put. */
    RaftCmdpb__GetRequest g = RAFT_CMDPB__GET_REQUEST__INIT;
    g.key.data = (uint8_t *)"x";
    g.key.len = 1;
    RaftCmdpb__Request get = RAFT_CMDPB__REQUEST__INIT;
    get.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_GET;
    get.get = &g;
    RaftCmdpb__Request *put_get[2] = { &put_ok, &get };
    cmd_answer_t b = { 0 };
    run_cmd(c, leader, put_get, 2, &b);
    expect_u64(b.ok, 1, "OK answers to a command Put x=1 then Get x%s%s", b.error ? ": " : "",
               b.error ? b.error : "");
    if (b.value.len != 1 || memcmp(b.value.data, "1", 1) != 0)
        fail_msg("a command Put x=1 then Get x answered the Get with \"%.*s\" (want \"1\"): "
                 "a command's reads must see its own writes before them",
                 (int)b.value.len, (char *)b.value.data);
    buf_free(&b.value);

    /* Delete, then a Get in the next command finds nothing. */
    RaftCmdpb__DeleteRequest d = RAFT_CMDPB__DELETE_REQUEST__INIT;
    d.key.data = (uint8_t *)"x";
    d.key.len = 1;
    RaftCmdpb__Request del = RAFT_CMDPB__REQUEST__INIT;
    del.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_DELETE;
    del.delete_ = &d;
    RaftCmdpb__Request *dels[1] = { &del }, *gets[1] = { &get };
    cmd_answer_t e = { 0 }, f = { 0 };
    run_cmd(c, leader, dels, 1, &e);
    expect_u64(e.ok, 1, "OK answers to a Delete of x%s%s", e.error ? ": " : "",
               e.error ? e.error : "");
    run_cmd(c, leader, gets, 1, &f);
    expect_u64(f.ok, 1, "OK answers to a Get of x after its delete%s%s", f.error ? ": " : "",
               f.error ? f.error : "");
    expect_u64(f.value.len, 0, "the length of the value a Get of x returns after x was deleted");
    sim_run_for(sim_cluster_sim(c), 300);
    for (int i = 1; i <= 3; i++)
        expect_false(has_key(c, i, "x"), "store %d still holds x after it was deleted", i);
    sim_cluster_free(c);
}

/* Proposes a Get of `key` on `node` without waiting. */
static void propose_get(sim_cluster_t *c, int node, const char *key, cmd_answer_t *a)
{
    RaftCmdpb__GetRequest g = RAFT_CMDPB__GET_REQUEST__INIT;
    g.key.data = (uint8_t *)key;
    g.key.len = strlen(key);
    RaftCmdpb__Request r = RAFT_CMDPB__REQUEST__INIT;
    r.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_GET;
    r.get = &g;
    RaftCmdpb__Request *rs[1] = { &r };
    RaftCmdpb__RaftRequestHeader hdr = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    hdr.region_id = 1;
    RaftCmdpb__RaftCmdRequest cmd = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    cmd.header = &hdr;
    cmd.requests = rs;
    cmd.n_requests = 1;
    peer_cb_t cb = { on_cmd_answer, a };
    store_propose(sim_store_of(c, node), &cmd, cb);
}

/* A read must go through Raft too: a leader cut off from the others does
 * not know it was deposed, and its kv DB misses what the new leader
 * committed since. Answering a Get from it (a "local read" without a
 * lease) returns the old value after the new one was acknowledged. */
static void deposed_leader_read(uint64_t seed, void *arg)
{
    (void)arg;
    sim_store_opts_t so;
    sim_cluster_t *c = cluster_new(3, 0, seed, 0, &so);
    sim_t *sim = sim_cluster_sim(c);
    int leader = cluster_leader(c, 5000);
    if (leader == 0)
        fail_msg("no leader after 5 s");
    answer_t first = { 0 };
    propose_put(c, leader, "k", "old", &first);
    expect_true(sim_run_while(sim, unanswered, &first, sim_now(sim) + 2000),
                "the first put on leader %d must be answered within 2 s", leader);
    expect_u64(first.ok, 1, "OK answers to the first put (%s)", answers(&first));
    sim_run_for(sim, 200); /* every store applies "old" */

    sim_net_isolate(sim_cluster_net(c), leader);
    sim_run_for(sim, 2000);
    int others[2] = { leader % 3 + 1, (leader + 1) % 3 + 1 };
    int new_leader = leader_among(c, others, 2);
    if (new_leader == 0)
        fail_msg("the two connected stores elected no leader in 2 s");
    answer_t second = { 0 };
    propose_put(c, new_leader, "k", "new", &second);
    expect_true(sim_run_while(sim, unanswered, &second, sim_now(sim) + 2000),
                "the put on new leader %d must be answered within 2 s", new_leader);
    expect_u64(second.ok, 1, "OK answers to the put on new leader %d (%s)", new_leader,
               answers(&second));

    cmd_answer_t got = { 0 };
    propose_get(c, leader, "k", &got);
    sim_run_for(sim, 500);
    if (got.ok > 0 && !(got.value.len == 3 && memcmp(got.value.data, "new", 3) == 0))
        fail_msg("store %d, cut off and deposed, answered a Get of k with \"%.*s\" after \"new\" "
                 "was acknowledged by the new leader: reads must go through the Raft log",
                 leader, (int)got.value.len, (char *)got.value.data);
    sim_net_heal(sim_cluster_net(c));
    sim_run_for(sim, 2000);
    if (got.ok > 0 && !(got.value.len == 3 && memcmp(got.value.data, "new", 3) == 0))
        fail_msg("store %d's read of k, proposed while it was deposed, was answered \"%.*s\" "
                 "after \"new\" was acknowledged: a stale read",
                 leader, (int)got.value.len, (char *)got.value.data);
    if (got.calls != 1)
        fail_msg("the read proposed on the deposed leader got %d answers (want exactly 1)",
                 got.calls);
    buf_free(&got.value);
    free(got.error);
    sim_cluster_free(c);
}

static void test_deposed_leader_reads_nothing_stale(void **state)
{
    (void)state;
    tkv_for_each_seed(403, deposed_leader_read, NULL);
}

#define T(name, pts, desc)                                                                         \
    {                                                                                              \
        "project2b", #name, pts, desc, test_##name, 60                                             \
    }

const tkv_test_t proposal_tests[] = {
    T(leader_answers_after_apply, 3,
      "a proposal is answered once, after its entry is committed and applied"),
    T(commands_apply_whole_and_reads_see_writes, 3,
      "a command applies whole or not at all on every store; a Get sees the writes before it"),
    T(follower_answers_not_leader_with_hint, 2,
      "a follower refuses a proposal at once with NotLeader naming the leader"),
    T(deposed_leader_answers_stale, 3,
      "a leader cut off and deposed answers its waiting proposal StaleCommand"),
    T(deposed_leader_reads_nothing_stale, 3,
      "a leader cut off and deposed does not answer a read from its own stale data"),
    T(one_partition, 4,
      "a leader in a minority partition commits nothing; the majority goes on without it"),
    T(crash_answers_waiting_proposals, 2, "stopping a store answers every waiting proposal"),
    { "frame", "unknown_region_is_reported", 0,
      "a command for a region the store does not hold gets RegionNotFound naming it",
      test_unknown_region_is_reported, 60 },
    { 0 },
};
