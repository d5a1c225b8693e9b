/*
 * Project 2C: faults in the middle of a snapshot. A store cut off while the
 * others write, delete and compact their log can only catch up through a
 * snapshot; while it does, a fail point (common/failpoint.h) crashes the
 * store making or installing it, or makes the install fail as a disk
 * would:
 *
 *   snapshot.generate          the leader, as it makes the snapshot;
 *   snapshot.apply             the lagging store, before the install writes;
 *   snapshot.apply.kv_written  the lagging store, after the install's kv
 *                              write and before the Ready's raft DB write;
 *   engine.write               the lagging store's N-th engine write from
 *                              the moment a snapshot is sent to it (N = 1
 *                              or 2, then the next at each later snapshot):
 *                              inside the install, for an install that
 *                              writes more than once.
 *
 * Each seed picks one of five faults (seed % 5), so the default seeds try
 * every one.
 *
 * A crashed store comes back 20 ms later; a peer whose install failed
 * stops, and the test restarts its store at once. Whatever happens,
 * no acknowledged write may be lost or altered (client views,
 * linearizability, with shared keys that are overwritten and deleted while
 * the store lags), and once quiet every store holds exactly the same data:
 * a half-installed snapshot must be finished or undone, never mixed with
 * the data it replaces.
 */
#include <string.h>

#include "common/failpoint.h"
#include "tests/harness/sim_raftmsg.h"
#include "tests/harness/kv_cluster.h"

#define MAX_LOG 10

typedef struct {
    const char *point;
    failpoint_action_t action;
    int any_store;      /* armed in any context (whoever leads makes the snapshot) */
    uint64_t first_nth; /* engine.write: the write that fails first (1..3) */
} snap_fault_t;

/* Arms `engine.write` on the lagging store when a snapshot is sent to it
 * (at most `left` times). */
typedef struct {
    int *nodes;
    int lagging;
    failpoint_action_t action;
    int left;
    uint64_t next_nth; /* 1..3, one more each time (from the seed) */
} arm_on_snapshot_t;

static int arm_on_snapshot(void *ctx, int from, int to, const uint8_t *bytes, size_t len)
{
    arm_on_snapshot_t *a = ctx;
    if (a->left == 0 || to != a->lagging ||
        sim_classify_raft(a->nodes, from, to, bytes, len) != ERAFTPB__MESSAGE_TYPE__MSG_SNAPSHOT)
        return 0;
    if (failpoint_armed() == 0 &&
        failpoint_arm("engine.write", a->lagging, a->next_nth, a->action) == 0) {
        a->left--;
        a->next_nth = a->next_nth % 3 + 1;
    }
    return 0;
}

static int not_fired(void *arg)
{
    (void)arg;
    return failpoint_fired() == 0;
}

static uint64_t truncated_of(sim_cluster_t *c, int node)
{
    store_t *s = sim_store_of(c, node);
    peer_t *p = s != NULL ? store_peer(s, 1) : NULL;
    return p != NULL ? peer_storage(p)->truncated_index : 0;
}

/* One run with the fault the seed picks from the table `arg` (5 entries):
 * the default 5 seeds try each once, and a replayed seed the same one. */
static void snap_fault_run(uint64_t seed, void *arg)
{
    const snap_fault_t *f = (const snap_fault_t *)arg + seed % 5;
    failpoint_reset();
    sim_store_opts_t so;
    sim_cluster_t *c = cluster_new(3, 2, seed, MAX_LOG, &so);
    so.failpoint_restart_ms = 20;
    sim_t *sim = sim_cluster_sim(c);
    sim_net_t *net = sim_cluster_net(c);
    static int nodes = 3;
    sim_net_set_classifier(net, sim_classify_raft, &nodes);
    history_t *h = history_new();
    kv_clients_opts_t ko = { 2, 0, 3, NULL };
    kv_clients_t *k = kv_clients_start(c, h, &ko);
    int leader = cluster_leader(c, 5000);
    if (leader == 0)
        fail_msg("no leader after 5 s");
    sim_run_for(sim, 300);
    int lagging = leader % 3 + 1;
    store_t *ls = sim_store_of(c, lagging);
    uint64_t lag_last = ls != NULL ? peer_storage(store_peer(ls, 1))->last_index : 0;
    sim_net_isolate(net, lagging);
    sim_run_for(sim, 1500); /* the others compact past the lagging store's log */
    arm_on_snapshot_t on_snap = { &nodes, lagging, f->action, 0, f->first_nth };
    if (strcmp(f->point, "engine.write") == 0) {
        on_snap.left = 3;
        sim_net_add_filter(net, arm_on_snapshot, &on_snap);
    } else {
        if (failpoint_arm(f->point, f->any_store ? 0 : lagging, 1, f->action) != 0)
            fail_msg("arming fail point %s failed", f->point);
    }
    trace_event(sim_cluster_trace(c), lagging, "failpoint", "armed: %s at %s",
                f->action == FAILPOINT_CRASH ? "crash" : "I/O error", f->point);
    sim_net_heal(net);
    sim_run_while(sim, not_fired, NULL, sim_now(sim) + 1500);
    uint64_t fired = failpoint_fired();
    /* A peer stopped by a failed install stays stopped until its store
     * restarts: at once, before the leader's log moves on, so that the
     * store must go on from what its disk says (a later restart would
     * get a fresh snapshot that hides a half-done install). A crashed
     * store comes back 20 ms later by itself. */
    failpoint_reset();
    on_snap.left = 0;
    if (f->action == FAILPOINT_ERROR && fired > 0) {
        tkv_err_t err = sim_cluster_restart(c, lagging);
        if (err != TKV_OK)
            fail_msg("restarting store %d after the failed install: %s: %s", lagging,
                     tkv_strerror(err), tkv_last_error());
    }
    sim_run_for(sim, 1500);
    for (int i = 1; i <= 3; i++)
        if (!sim_cluster_is_up(c, i)) {
            tkv_err_t err = sim_cluster_start(c, i);
            if (err != TKV_OK)
                fail_msg("restarting store %d: %s: %s", i, tkv_strerror(err), tkv_last_error());
        }
    sim_run_for(sim, 1000);
    kv_clients_stop(k);
    if (fired == 0)
        fail_msg("fail point %s never fired (store %d lagging): the run tested nothing", f->point,
                 lagging);
    if (kv_clients_done(k) < 20)
        fail_msg("only %llu operations completed (want at least 20): no progress",
                 (unsigned long long)kv_clients_done(k));
    cluster_check_history(h, 2);
    cluster_check_replicas_agree(c, 5000);
    if (truncated_of(c, lagging) <= lag_last)
        fail_msg("store %d's log is truncated at %llu, not past its last entry %llu from before "
                 "it was cut off: it did not catch up through a snapshot",
                 lagging, (unsigned long long)truncated_of(c, lagging),
                 (unsigned long long)lag_last);
    sim_cluster_free(c);
    kv_clients_free(k);
    history_free(h);
}

/* The faults of each test, one per seed (seed % 5): the named points, then
 * an engine write inside the install twice, from its first and its second
 * write on (an I/O error stops the peer: one try per run). */
static void test_snapshot_crash_at_fail_points(void **state)
{
    (void)state;
    static const snap_fault_t faults[5] = {
        { "snapshot.generate", FAILPOINT_CRASH, 1, 0 },
        { "snapshot.apply", FAILPOINT_CRASH, 0, 0 },
        { "snapshot.apply.kv_written", FAILPOINT_CRASH, 0, 0 },
        { "engine.write", FAILPOINT_CRASH, 0, 1 },
        { "engine.write", FAILPOINT_CRASH, 0, 2 },
    };
    tkv_for_each_seed(330, snap_fault_run, (void *)faults);
}

static void test_snapshot_io_error_does_not_lie(void **state)
{
    (void)state;
    static const snap_fault_t faults[5] = {
        { "snapshot.generate", FAILPOINT_ERROR, 1, 0 },
        { "snapshot.apply", FAILPOINT_ERROR, 0, 0 },
        { "snapshot.apply.kv_written", FAILPOINT_ERROR, 0, 0 },
        { "engine.write", FAILPOINT_ERROR, 0, 1 },
        { "engine.write", FAILPOINT_ERROR, 0, 2 },
    };
    tkv_for_each_seed(370, snap_fault_run, (void *)faults);
}

const tkv_test_t snapshot_fault_tests[] = {
    { "project2c", "snapshot_crash_at_fail_points", 4,
      "a store crashing while it makes or installs a snapshot loses no acknowledged write, and "
      "every store ends with the same data",
      test_snapshot_crash_at_fail_points, 120 },
    { "project2c", "snapshot_io_error_does_not_lie", 4,
      "a snapshot install that fails on disk stops the peer; after a restart nothing acknowledged "
      "is lost or altered",
      test_snapshot_io_error_does_not_lie, 120 },
    { 0 },
};
