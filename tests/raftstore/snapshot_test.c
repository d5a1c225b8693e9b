/*
 * Project 2C on whole clusters: the log is compacted (CompactLog, log GC),
 * a store that falls too far behind gets a snapshot instead of the log, and
 * all of it survives crashes, restarts, partitions and an unreliable
 * network (TinyKV's 2C tests, plus checks that the log really shrinks and
 * that the lagging store really went through a snapshot).
 */
#include <string.h>

#include "tests/harness/expect.h"
#include "tests/harness/sim_raftmsg.h"
#include "tests/harness/kv_cluster.h"

#define ROUND   5000
#define MAX_LOG 10

static void run(const generic_opts_t *g, uint64_t seed)
{
    tkv_for_each_seed(seed, generic_run, (void *)g);
}

static peer_t *peer_of(sim_cluster_t *c, int node)
{
    store_t *s = sim_store_of(c, node);
    peer_t *p = s ? store_peer(s, 1) : NULL;
    if (p == NULL)
        fail_msg("store %d has no peer of region 1", node);
    return p;
}

/* Every key under client 0's prefix, values concatenated, as store `node`
 * holds them now. */
static void store_view(sim_cluster_t *c, int node, tkv_buf_t *out)
{
    buf_clear(out);
    eng_iter_t *it = eng_iter_new(store_kv_db(sim_store_of(c, node)), NULL, CF_DEFAULT);
    for (eng_iter_seek(it, slice_of_str("0/")); eng_iter_valid(it); eng_iter_next(it)) {
        tkv_slice_t k = eng_iter_key(it), v = eng_iter_value(it);
        if (k.len < 2 || memcmp(k.data, "0/", 2) != 0)
            break;
        buf_append(out, v.data, v.len);
    }
    eng_iter_free(it);
}

typedef struct {
    sim_cluster_t *c;
    int lagging, leader;
} catchup_t;

static int behind(void *arg)
{
    catchup_t *cu = arg;
    return peer_storage(peer_of(cu->c, cu->lagging))->applied_index <
           peer_storage(peer_of(cu->c, cu->leader))->applied_index;
}

/* Loses the first two snapshot messages for sure (the random half-loss
 * may lose none at some seeds). */
typedef struct {
    int *nodes;
    int seen, dropped;
} lose_t;

static int lose_first_snapshots(void *ctx, int from, int to, const uint8_t *bytes, size_t len)
{
    lose_t *l = ctx;
    if (sim_classify_raft(l->nodes, from, to, bytes, len) != ERAFTPB__MESSAGE_TYPE__MSG_SNAPSHOT)
        return 0;
    if (++l->seen > 2)
        return 0;
    l->dropped++;
    return 1;
}

/* TinyKV's TestOneSnapshot2C and more: a store cut off while the others
 * write, delete and compact their log can only catch up through a
 * snapshot, which must replace what it held (in every column family). */
typedef struct {
    int restart_after;  /* restart the lagging store right after it caught up */
    int drop_snapshots; /* lose half of the MsgSnapshot messages */
} one_snapshot_opts_t;

static void one_snapshot(uint64_t seed, void *arg)
{
    const one_snapshot_opts_t *o = arg;
    sim_store_opts_t so;
    sim_cluster_t *c = cluster_new(3, 1, seed, MAX_LOG, &so);
    sim_t *sim = sim_cluster_sim(c);
    static int nodes = 3;
    if (o->drop_snapshots) {
        sim_net_set_classifier(sim_cluster_net(c), sim_classify_raft, &nodes);
        sim_net_drop_class(sim_cluster_net(c), ERAFTPB__MESSAGE_TYPE__MSG_SNAPSHOT, 1, 2);
    }
    lose_t lose = { &nodes, 0, 0 };
    if (o->drop_snapshots)
        sim_net_add_filter(sim_cluster_net(c), lose_first_snapshots, &lose);
    int leader = cluster_leader(c, 5000);
    if (leader == 0)
        fail_msg("no leader after 5 s");
    /* Data every store holds before one is cut off, in every column family:
     * the snapshot must replace it, not add to it. */
    static const char *const cfs[] = { CF_DEFAULT, CF_LOCK, CF_WRITE };
    for (int f = 0; f < 3; f++) {
        if (!cluster_write(c, leader, cfs[f], "stale", "before", 2000) ||
            !cluster_write(c, leader, cfs[f], "kept", "before", 2000))
            fail_msg("a put on the leader (store %d) got no OK answer in 2 s", leader);
    }
    sim_run_for(sim, 300); /* every store applies them */
    int lagging = leader % 3 + 1;
    sim_net_isolate(sim_cluster_net(c), lagging);
    uint64_t lag_last = peer_storage(peer_of(c, lagging))->last_index;

    history_t *h = history_new();
    kv_clients_opts_t ko = { 1, 0, 0, NULL };
    kv_clients_t *k = kv_clients_start(c, h, &ko);
    sim_run_for(sim, 2000);
    kv_clients_stop(k);
    leader = cluster_leader(c, 2000);
    for (int f = 0; f < 3 && leader != 0; f++) {
        if (!cluster_write(c, leader, cfs[f], "stale", NULL, 2000) ||
            !cluster_write(c, leader, cfs[f], "kept", "after", 2000))
            fail_msg("a write on the leader (store %d) got no OK answer in 2 s", leader);
    }
    sim_run_for(sim, 300); /* let the last CompactLog apply */
    leader = cluster_leader(c, 2000);
    peer_t *lp = peer_of(c, leader);
    if (peer_storage(lp)->truncated_index <= lag_last)
        fail_msg("the leader's log was not compacted past the isolated store's last entry "
                 "(truncated %llu, lagging store's last %llu)",
                 (unsigned long long)peer_storage(lp)->truncated_index,
                 (unsigned long long)lag_last);
    uint64_t lowest = 0, n = cluster_count_log_entries(sim_store_of(c, leader), &lowest);
    if (n > 0 && lowest <= peer_storage(lp)->truncated_index)
        fail_msg("the leader's raft DB still holds entry %llu, truncated at %llu",
                 (unsigned long long)lowest, (unsigned long long)peer_storage(lp)->truncated_index);

    sim_net_heal(sim_cluster_net(c));
    catchup_t cu = { c, lagging, leader };
    if (!sim_run_while(sim, behind, &cu, sim_now(sim) + 5000))
        fail_msg("store %d did not catch up with the leader in 5 s (applied %llu of %llu)", lagging,
                 (unsigned long long)peer_storage(peer_of(c, lagging))->applied_index,
                 (unsigned long long)peer_storage(peer_of(c, leader))->applied_index);
    if (peer_storage(peer_of(c, lagging))->snapshots_applied == 0)
        fail_msg("store %d caught up without installing a snapshot", lagging);
    /* The lagging store's higher term may have forced an election since:
     * any store but the lagging one may have made the snapshot. */
    uint64_t generated = 0;
    for (int i = 1; i <= 3; i++)
        if (i != lagging)
            generated += peer_storage(peer_of(c, i))->snapshots_generated;
    if (generated == 0)
        fail_msg("no leader ever generated a snapshot");
    if (o->drop_snapshots && lose.dropped < 2)
        fail_msg("only %d snapshot messages were sent and lost: the leader must send the "
                 "snapshot again when it does not land",
                 lose.dropped);
    if (o->restart_after) {
        expect_err(sim_cluster_restart(c, lagging), TKV_OK, "sim_cluster_restart(c, lagging)");
        sim_run_for(sim, 500);
    }
    tkv_buf_t want = TKV_BUF_INIT, got = TKV_BUF_INIT;
    store_view(c, leader, &want);
    store_view(c, lagging, &got);
    if (want.len == 0 || !slice_equal(buf_slice(&want), buf_slice(&got)))
        fail_msg("store %d's data differs from the leader's after the snapshot "
                 "(%zu bytes against %zu)",
                 lagging, got.len, want.len);
    /* Nothing from before the snapshot lingers, in any column family. */
    cluster_check_replicas_agree(c, 2000);
    kv_clients_stop(k);
    cluster_check_history(h, 1);
    buf_free(&want);
    buf_free(&got);
    sim_cluster_free(c);
    kv_clients_free(k);
    history_free(h);
}

static void test_one_snapshot(void **state)
{
    (void)state;
    one_snapshot_opts_t o = { 0, 0 };
    tkv_for_each_seed(301, one_snapshot, &o);
}

static void test_snapshot_survives_restart(void **state)
{
    (void)state;
    one_snapshot_opts_t o = { 1, 0 };
    tkv_for_each_seed(302, one_snapshot, &o);
}

static void test_lost_snapshot_is_sent_again(void **state)
{
    (void)state;
    one_snapshot_opts_t o = { 0, 1 };
    tkv_for_each_seed(309, one_snapshot, &o);
}

static void test_raft_log_is_truncated(void **state)
{
    (void)state;
    generic_opts_t g = { 3, 3, 0, 0, 0, 3, ROUND, MAX_LOG, 750 };
    run(&g, 303);
}

static void test_snapshot_recover(void **state)
{
    (void)state;
    generic_opts_t g = { 5, 1, 0, 1, 0, 3, ROUND, MAX_LOG, 130 };
    run(&g, 304);
}

static void test_snapshot_recover_many_clients(void **state)
{
    (void)state;
    generic_opts_t g = { 5, 10, 0, 1, 0, 3, ROUND, MAX_LOG, 1250 };
    run(&g, 305);
}

static void test_snapshot_unreliable(void **state)
{
    (void)state;
    generic_opts_t g = { 5, 5, 1, 0, 0, 3, ROUND, MAX_LOG, 230 };
    run(&g, 306);
}

static void test_snapshot_unreliable_recover(void **state)
{
    (void)state;
    generic_opts_t g = { 5, 5, 1, 1, 0, 3, ROUND, MAX_LOG, 175 };
    run(&g, 307);
}

static void test_snapshot_unreliable_recover_concurrent_partition(void **state)
{
    (void)state;
    generic_opts_t g = { 5, 5, 1, 1, 1, 3, ROUND, MAX_LOG, 75 };
    run(&g, 308);
}

#define T(name, pts, desc)                                                                         \
    {                                                                                              \
        "project2c", #name, pts, desc, test_##name, 120                                            \
    }

const tkv_test_t snapshot_tests[] = {
    T(one_snapshot, 6,
      "a store cut off while the log is compacted catches up through a snapshot, not the log"),
    T(snapshot_survives_restart, 4, "a store restarted right after installing a snapshot keeps it"),
    T(lost_snapshot_is_sent_again, 3,
      "when the first snapshot messages are lost, the leader sends again until one lands"),
    T(raft_log_is_truncated, 5,
      "CompactLog and log GC keep every store's log short, in memory and on disk"),
    T(snapshot_recover, 5, "compaction and snapshots with every store crashing each round"),
    T(snapshot_recover_many_clients, 5, "the same under ten clients"),
    T(snapshot_unreliable, 5, "compaction and snapshots on an unreliable network"),
    T(snapshot_unreliable_recover, 5, "unreliable network, compaction and crashes together"),
    T(snapshot_unreliable_recover_concurrent_partition, 5,
      "unreliable network, compaction, crashes and partitions together"),
    { 0 },
};
