/*
 * Project 3C, balance-region: the scheduler moves a replica from the
 * suitable store with the most region bytes to the suitable store with the
 * fewest that lacks the region, only when the gap is at least twice the
 * region's size; and the move reaches the region's leader, step by step, in
 * heartbeat responses.
 *
 * Store sizes are made of real regions: "filler" regions of size 10 with a
 * single peer, so a store with k fillers holds 10k bytes more. With
 * max_replicas above 1 the fillers are never moved (they are short of
 * replicas), which leaves the test regions as the only candidates.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "project3-multiraft/scheduler/balance_region.h"
#include "project3-multiraft/scheduler/service.h"
#include "tests/harness/expect.h"
#include "tests/harness/expect_pb.h"
#include "tests/harness/test.h"
#include "tests/scheduler/sched_fixture.h"

/* Store `id` with `fillers` one-peer regions of size 10 (TinyKV's
 * AddRegionStore(id, count), with the count made of real regions). */
static void add_region_store(sfix_t *f, uint64_t id, int fillers)
{
    if (cluster_get_store(f->c, id) == NULL)
        sfix_add_store(f, id);
    uint64_t stores[1] = { id };
    for (int i = 0; i < fillers; i++) {
        char start[32], end[32];
        uint64_t rid = f->next_region_id++;
        snprintf(start, sizeof(start), "f%06llu", (unsigned long long)rid);
        snprintf(end, sizeof(end), "f%06llu~", (unsigned long long)rid);
        sched_region_t *r = mk_region(rid, start, end, 1, 1, stores, 1, 0, 10);
        expect_err(cluster_process_region_heartbeat(f->c, r), TKV_OK,
                   "cluster_process_region_heartbeat(f->c, r)");
        region_free(r);
    }
}

/* Region `id` (size 10) led by `leader`, with followers on the other stores
 * given (0-terminated): TinyKV's AddLeaderRegion. Calling it again for the
 * same id moves the region (a membership change, so conf_ver goes up). */
static void add_leader_region(sfix_t *f, uint64_t id, uint64_t leader, ...)
{
    uint64_t stores[SFIX_MAX_STORES];
    size_t n = 0;
    stores[n++] = leader;
    va_list ap;
    va_start(ap, leader);
    for (uint64_t s; (s = va_arg(ap, uint64_t)) != 0;)
        stores[n++] = s;
    va_end(ap);
    char start[16], end[16];
    snprintf(start, sizeof(start), "r%04llu", (unsigned long long)id);
    snprintf(end, sizeof(end), "r%04llu~", (unsigned long long)id);
    const sched_region_t *old = cluster_get_region(f->c, id);
    uint64_t conf_ver = old ? region_conf_ver(old) + 1 : 1;
    sched_region_t *r = mk_region(id, start, end, conf_ver, 1, stores, n, 0, 10);
    expect_err(cluster_process_region_heartbeat(f->c, r), TKV_OK,
               "cluster_process_region_heartbeat(f->c, r)");
    region_free(r);
}

/* Runs the scheduler once; the operator or NULL (caller frees). */
static sched_operator_t *schedule(sfix_t *f)
{
    sched_operator_t *op = NULL;
    tkv_err_t e = balance_region_schedule(f->c, f->ids, &op);
    if (e != TKV_OK)
        fail_msg("balance_region_schedule: %s", tkv_last_error());
    return op;
}

/* Asserts that the scheduler moves a replica from store `from` to `to`
 * (and, if region_id is not 0, of that region), with steps a leader can
 * follow: add a new peer on `to` first, remove the one on `from` last. */
static void check_move(sfix_t *f, uint64_t region, uint64_t from, uint64_t to)
{
    sched_operator_t *op = schedule(f);
    if (op == NULL)
        fail_msg("no operator; expected a move from store %llu to store %llu",
                 (unsigned long long)from, (unsigned long long)to);
    if (op->from_store != from || op->to_store != to)
        fail_msg("moved region %llu from store %llu to store %llu; expected %llu -> %llu",
                 (unsigned long long)op->region_id, (unsigned long long)op->from_store,
                 (unsigned long long)op->to_store, (unsigned long long)from,
                 (unsigned long long)to);
    if (region != 0)
        expect_u64(op->region_id, region, "the region the balance operator moves");
    const sched_region_t *r = cluster_get_region(f->c, op->region_id);
    expect_present(r, "region %llu of the operator in the cluster",
                   (unsigned long long)op->region_id);
    expect_present(region_store_peer(r, from),
                   "region %llu's peer on the source store %llu (a move takes a replica from a "
                   "store that holds one)",
                   (unsigned long long)op->region_id, (unsigned long long)from);
    expect_absent(
        region_store_peer(r, to),
        "region %llu's peer on the target store %llu (a move goes to a store without one)",
        (unsigned long long)op->region_id, (unsigned long long)to);
    expect_true(
        op->nsteps >= 2,
        "a move needs at least two steps (add on the target, remove from the source); it has %zu",
        (size_t)op->nsteps);
    expect_named(op->steps[0].kind, OP_STEP_ADD_PEER, sfix_step_name,
                 "the first step of the move (add the new peer before removing one)");
    expect_u64(op->steps[0].store_id, to, "the store of the move's AddPeer step");
    expect_true(op->steps[0].peer_id != 0,
                "the AddPeer step must carry a newly allocated peer id, not 0");
    expect_named(op->steps[op->nsteps - 1].kind, OP_STEP_REMOVE_PEER, sfix_step_name,
                 "the last step of the move (remove the old peer last)");
    expect_u64(op->steps[op->nsteps - 1].store_id, from, "the store of the move's RemovePeer step");
    free(op);
}

static void check_no_move(sfix_t *f)
{
    sched_operator_t *op = schedule(f);
    if (op != NULL) {
        uint64_t rid = op->region_id, from = op->from_store, to = op->to_store;
        free(op);
        fail_msg("expected no move, got region %llu from store %llu to store %llu",
                 (unsigned long long)rid, (unsigned long long)from, (unsigned long long)to);
    }
}

static void test_balance_replicas1(void **state)
{
    sfix_t *f = *state;
    cluster_set_max_replicas(f->c, 1);
    add_region_store(f, 1, 6);
    add_region_store(f, 2, 7);
    add_region_store(f, 3, 8);
    add_region_store(f, 4, 16);
    add_leader_region(f, 1, 4, 0);
    check_move(f, 0, 4, 1);
    /* An offline store takes nothing: store 2 is now the smallest. */
    sfix_set_store_state(f, 1, METAPB__STORE_STATE__STORE_OFFLINE);
    check_move(f, 0, 4, 2);
    /* With 3 replicas wanted, one-replica regions are not balanced. */
    cluster_set_max_replicas(f->c, 3);
    check_no_move(f);
    cluster_set_max_replicas(f->c, 1);
    check_move(f, 0, 4, 2);
}

static void test_balance_replicas3(void **state)
{
    sfix_t *f = *state;
    /* Store 1 is the biggest, but every store already holds region 1. */
    add_region_store(f, 1, 15);
    add_region_store(f, 2, 14);
    add_region_store(f, 3, 13);
    add_leader_region(f, 1, 1, 2, 3, 0);
    check_no_move(f);
    add_region_store(f, 4, 2);
    check_move(f, 1, 1, 4);
    add_region_store(f, 5, 1);
    check_move(f, 1, 1, 5);
    add_region_store(f, 6, 0);
    check_move(f, 1, 1, 6);
    /* A down store takes nothing. */
    sfix_set_store_down(f, 6);
    check_move(f, 1, 1, 5);
    sfix_set_store_down(f, 4);
    sfix_set_store_down(f, 5);
    /* The only store left to take region 1 is bigger than every source. */
    add_region_store(f, 7, 20);
    check_no_move(f);
}

static void test_balance_replicas5(void **state)
{
    sfix_t *f = *state;
    cluster_set_max_replicas(f->c, 5);
    add_region_store(f, 1, 3);
    add_region_store(f, 2, 4);
    add_region_store(f, 3, 5);
    add_region_store(f, 4, 6);
    add_region_store(f, 5, 27);
    add_leader_region(f, 1, 1, 2, 3, 4, 5, 0);
    add_region_store(f, 6, 1);
    check_move(f, 1, 5, 6);
    add_region_store(f, 7, 5);
    check_move(f, 1, 5, 6);
    /* Region 1 moved off store 1, which is now the smallest without it. */
    add_leader_region(f, 1, 2, 3, 4, 5, 6, 0);
    check_move(f, 1, 5, 1);
    add_region_store(f, 11, 29);
    add_region_store(f, 12, 8);
    add_region_store(f, 13, 7);
    add_leader_region(f, 1, 2, 3, 11, 12, 13, 0);
    check_move(f, 1, 11, 6);
}

static void test_balance_smallest_target(void **state)
{
    sfix_t *f = *state;
    add_region_store(f, 1, 9);
    add_region_store(f, 2, 7);
    add_region_store(f, 3, 4);
    add_region_store(f, 4, 5);
    add_region_store(f, 5, 2);
    add_leader_region(f, 1, 1, 2, 3, 0);
    add_leader_region(f, 2, 1, 2, 3, 0);
    check_move(f, 0, 1, 5);
}

static void test_balance_pending_region_first(void **state)
{
    sfix_t *f = *state;
    add_region_store(f, 1, 13);
    add_region_store(f, 2, 4);
    add_region_store(f, 3, 12);
    add_region_store(f, 4, 10);
    add_leader_region(f, 1, 1, 2, 3, 0);
    add_leader_region(f, 2, 1, 2, 3, 0);
    add_leader_region(f, 3, 2, 1, 3, 0);
    /* Store 1's peer of region 3 is behind: that region goes first. */
    sched_region_t *r = region_copy(cluster_get_region(f->c, 3));
    region_set_pending(r, 1);
    expect_err(cluster_process_region_heartbeat(f->c, r), TKV_OK,
               "cluster_process_region_heartbeat(f->c, r)");
    region_free(r);
    check_move(f, 3, 1, 4);
}

static void test_balance_follower_before_leader(void **state)
{
    sfix_t *f = *state;
    add_region_store(f, 1, 10);
    add_region_store(f, 2, 0);
    add_region_store(f, 3, 0);
    add_region_store(f, 4, 0);
    add_leader_region(f, 1, 1, 2, 3, 0); /* store 1 leads region 1 */
    add_leader_region(f, 2, 2, 1, 3, 0); /* and follows in region 2 */
    check_move(f, 2, 1, 4);
}

static void test_balance_needs_twice_region_size(void **state)
{
    sfix_t *f = *state;
    /* Sizes 30, 20, 20, 10 with regions of 10: the gap from store 1 to store
     * 4 is 20 = 2 x 10, just worth it. */
    add_region_store(f, 1, 2);
    add_region_store(f, 2, 1);
    add_region_store(f, 3, 1);
    add_region_store(f, 4, 1);
    add_leader_region(f, 1, 1, 2, 3, 0);
    check_move(f, 1, 1, 4);
    /* One byte more on store 4: 30 - 11 < 20, not worth it. */
    uint64_t four[1] = { 4 };
    sched_region_t *tiny = mk_region(900, "t", "t~", 1, 1, four, 1, 0, 1);
    expect_err(cluster_process_region_heartbeat(f->c, tiny), TKV_OK,
               "cluster_process_region_heartbeat(f->c, tiny)");
    region_free(tiny);
    check_no_move(f);
}

/* ---- the move, end to end through the service ---------------------------- */

typedef struct {
    sfix_t *f;
    sched_server_t *srv;
} efix_t;

/* Heartbeats `r` through the service; the response (caller frees). */
static Schedulerpb__RegionHeartbeatResponse *service_heartbeat(sched_server_t *srv,
                                                               const sched_region_t *r)
{
    Schedulerpb__RegionHeartbeatResponse *resp = malloc(sizeof(*resp));
    schedulerpb__region_heartbeat_response__init(resp);
    expect_err(sched_server_call(srv, "RegionHeartbeat", &r->base, &resp->base), TKV_OK,
               "sched_server_call(srv, \"RegionHeartbeat\", &r->base, &resp->base)");
    expect_present(resp->header, "the header of the RegionHeartbeat response");
    if (resp->header->error != NULL)
        fail_msg("heartbeat refused: %s", resp->header->error->message);
    return resp;
}

static void test_move_reaches_leader(void **state)
{
    sfix_t *f = *state;
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/server", f->dir);
    sched_server_config_t cfg = sched_server_config_default();
    cfg.balance_interval_ms = 0;
    cfg.operator_timeout_ms = 60000;
    cfg.replica_checker_off = 1; /* one-peer regions here are fillers, not to be repaired */
    sched_server_t *srv = NULL;
    expect_err(sched_server_open(dir, &f->vc.clock, &cfg, &srv), TKV_OK,
               "sched_server_open(dir, &f->vc.clock, &cfg, &srv)");

    /* Stores 1..4; region 1 on 1, 2, 3 led by 1; store 1 is heavy (a big
     * one-peer region), store 4 empty. */
    Metapb__Store st = METAPB__STORE__INIT;
    char addr[32];
    Metapb__RegionEpoch ep = METAPB__REGION_EPOCH__INIT;
    Metapb__Region boot_region = METAPB__REGION__INIT;
    boot_region.id = 500;
    boot_region.start_key.data = (uint8_t *)"z";
    boot_region.start_key.len = 1;
    boot_region.region_epoch = &ep;
    for (uint64_t id = 1; id <= 4; id++) {
        st.id = id;
        snprintf(addr, sizeof(addr), "127.0.0.1:%llu", (unsigned long long)(20000 + id));
        st.address = addr;
        if (id == 1) {
            Schedulerpb__BootstrapRequest b = SCHEDULERPB__BOOTSTRAP_REQUEST__INIT;
            b.store = &st;
            b.region = &boot_region;
            Schedulerpb__BootstrapResponse br = SCHEDULERPB__BOOTSTRAP_RESPONSE__INIT;
            expect_err(sched_server_call(srv, "Bootstrap", &b.base, &br.base), TKV_OK,
                       "sched_server_call(srv, \"Bootstrap\", &b.base, &br.base)");
            expect_absent(br.header->error, "the error in the Bootstrap response");
            schedulerpb__response_header__free_unpacked(br.header, NULL);
        } else {
            Schedulerpb__PutStoreRequest p = SCHEDULERPB__PUT_STORE_REQUEST__INIT;
            p.store = &st;
            Schedulerpb__PutStoreResponse pr = SCHEDULERPB__PUT_STORE_RESPONSE__INIT;
            expect_err(sched_server_call(srv, "PutStore", &p.base, &pr.base), TKV_OK,
                       "sched_server_call(srv, \"PutStore\", &p.base, &pr.base)");
            expect_absent(pr.header->error, "the error in the PutStore response for store %llu",
                          (unsigned long long)id);
            schedulerpb__response_header__free_unpacked(pr.header, NULL);
        }
    }
    uint64_t one[1] = { 1 };
    sched_region_t *big = mk_region(2, "a", "b", 1, 1, one, 1, 0, 100);
    Schedulerpb__RegionHeartbeatResponse *resp = service_heartbeat(srv, big);
    expect_absent(resp->change_peer, "a ChangePeer in the response to a one-replica region's "
                                     "heartbeat (short of replicas: not balanced)");
    schedulerpb__region_heartbeat_response__free_unpacked(resp, NULL);
    region_free(big);

    uint64_t s123[3] = { 1, 2, 3 };
    sched_region_t *r = mk_region(1, "m", "n", 1, 1, s123, 3, 0, 10);
    /* Step 1: add a peer on store 4. */
    resp = service_heartbeat(srv, r);
    expect_present(resp->change_peer,
                   "a ChangePeer (add a peer on store 4) in the response to region 1's heartbeat");
    expect_pb_enum(resp->change_peer->change_type, ERAFTPB__CONF_CHANGE_TYPE__ADD_NODE,
                   &eraftpb__conf_change_type__descriptor,
                   "the first step of the move sent to the leader");
    expect_u64(resp->change_peer->peer->store_id, 4,
               "the store of the peer the first step adds (the smallest)");
    uint64_t new_peer = resp->change_peer->peer->id;
    expect_u64(resp->region_id, 1, "the region id in the heartbeat response");
    expect_u64(resp->region_epoch->conf_ver, 1,
               "the conf_ver of the epoch in the heartbeat response (the region's)");
    expect_u64(resp->target_peer->id, r->leader->id,
               "the target peer of the heartbeat response (the leader)");
    schedulerpb__region_heartbeat_response__free_unpacked(resp, NULL);
    /* Until the leader acts, the same step comes back. */
    resp = service_heartbeat(srv, r);
    expect_present(resp->change_peer,
                   "the same AddPeer step in the response to a heartbeat before the leader acted");
    expect_u64(resp->change_peer->peer->id, new_peer,
               "the peer id of the repeated AddPeer step (the same operator, not a new one)");
    schedulerpb__region_heartbeat_response__free_unpacked(resp, NULL);

    /* The leader added the peer (conf_ver 2); it has caught up. Store 1
     * leads, so leadership moves to the new peer before store 1 leaves. */
    region_free(r);
    uint64_t s1234[4] = { 1, 2, 3, 4 };
    r = mk_region(1, "m", "n", 2, 1, s1234, 4, 0, 10);
    r->region->peers[3]->id = new_peer;
    resp = service_heartbeat(srv, r);
    expect_absent(resp->change_peer,
                  "a ChangePeer once the new peer is in and caught up (leadership moves first)");
    expect_present(resp->transfer_leader,
                   "a TransferLeader away from store 1 before its peer is removed");
    expect_u64(resp->transfer_leader->peer->store_id, 4,
               "the store the leadership is transferred to");
    schedulerpb__region_heartbeat_response__free_unpacked(resp, NULL);

    /* Store 4 leads: remove the peer on store 1. */
    region_set_leader(r, 3);
    resp = service_heartbeat(srv, r);
    expect_present(resp->change_peer,
                   "a ChangePeer removing the peer on store 1 once store 4 leads");
    expect_pb_enum(resp->change_peer->change_type, ERAFTPB__CONF_CHANGE_TYPE__REMOVE_NODE,
                   &eraftpb__conf_change_type__descriptor, "the last step of the move");
    expect_u64(resp->change_peer->peer->store_id, 1, "the store of the peer the last step removes");
    expect_u64(resp->change_peer->peer->id, 101,
               "the id of the peer the last step removes (region 1's peer on store 1)");
    schedulerpb__region_heartbeat_response__free_unpacked(resp, NULL);

    /* Done: the region is on 2, 3, 4 and the operator is gone. */
    region_free(r);
    uint64_t s234[3] = { 4, 2, 3 };
    r = mk_region(1, "m", "n", 3, 1, s234, 3, 0, 10);
    r->region->peers[0]->id = new_peer;
    r->leader->id = new_peer;
    resp = service_heartbeat(srv, r);
    expect_absent(resp->change_peer, "a ChangePeer once the move is done");
    expect_absent(resp->transfer_leader, "a TransferLeader once the move is done");
    schedulerpb__region_heartbeat_response__free_unpacked(resp, NULL);
    expect_absent(opctl_get(sched_server_operators(srv), 1),
                  "an operator for region 1 once its move is done");
    region_free(r);
    sched_server_close(srv);
}

static void test_move_times_out(void **state)
{
    sfix_t *f = *state;
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/server", f->dir);
    sched_server_config_t cfg = sched_server_config_default();
    cfg.balance_interval_ms = 1000000000; /* balance once, on the first heartbeat */
    cfg.operator_timeout_ms = 5000;
    cfg.replica_checker_off = 1; /* one-peer regions here are fillers, not to be repaired */
    sched_server_t *srv = NULL;
    expect_err(sched_server_open(dir, &f->vc.clock, &cfg, &srv), TKV_OK,
               "sched_server_open(dir, &f->vc.clock, &cfg, &srv)");
    Metapb__Store st = METAPB__STORE__INIT;
    Metapb__Region boot_region = METAPB__REGION__INIT;
    Metapb__RegionEpoch ep = METAPB__REGION_EPOCH__INIT;
    boot_region.id = 500;
    boot_region.start_key.data = (uint8_t *)"z";
    boot_region.start_key.len = 1;
    boot_region.region_epoch = &ep;
    for (uint64_t id = 1; id <= 4; id++) {
        char addr[32];
        st.id = id;
        snprintf(addr, sizeof(addr), "127.0.0.1:%llu", (unsigned long long)(20000 + id));
        st.address = addr;
        if (id == 1) {
            Schedulerpb__BootstrapRequest b = SCHEDULERPB__BOOTSTRAP_REQUEST__INIT;
            b.store = &st;
            b.region = &boot_region;
            Schedulerpb__BootstrapResponse br = SCHEDULERPB__BOOTSTRAP_RESPONSE__INIT;
            expect_err(sched_server_call(srv, "Bootstrap", &b.base, &br.base), TKV_OK,
                       "sched_server_call(srv, \"Bootstrap\", &b.base, &br.base)");
            schedulerpb__response_header__free_unpacked(br.header, NULL);
        } else {
            Schedulerpb__PutStoreRequest p = SCHEDULERPB__PUT_STORE_REQUEST__INIT;
            p.store = &st;
            Schedulerpb__PutStoreResponse pr = SCHEDULERPB__PUT_STORE_RESPONSE__INIT;
            expect_err(sched_server_call(srv, "PutStore", &p.base, &pr.base), TKV_OK,
                       "sched_server_call(srv, \"PutStore\", &p.base, &pr.base)");
            schedulerpb__response_header__free_unpacked(pr.header, NULL);
        }
    }
    /* Store 1 holds a big region alone, region 1 sits on 1, 2, 3. */
    uint64_t one[1] = { 1 }, s123[3] = { 2, 1, 3 };
    sched_region_t *big = mk_region(2, "a", "b", 1, 1, one, 1, 0, 100);
    sched_region_t *r = mk_region(1, "m", "n", 1, 1, s123, 3, 0, 10);
    /* The first heartbeat balances before region 1 is known: nothing. */
    Schedulerpb__RegionHeartbeatResponse *resp = service_heartbeat(srv, r);
    schedulerpb__region_heartbeat_response__free_unpacked(resp, NULL);
    resp = service_heartbeat(srv, big);
    schedulerpb__region_heartbeat_response__free_unpacked(resp, NULL);
    /* Put an operator in by hand: the leader never acts on it. */
    sched_cluster_t *c = sched_server_cluster(srv);
    sched_operator_t *op =
        operator_move_peer("test", cluster_get_region(c, 1), 1, 4, 777, cluster_now_ms(c));
    expect_err(opctl_add(sched_server_operators(srv), op), TKV_OK,
               "opctl_add(sched_server_operators(srv), op)");
    resp = service_heartbeat(srv, r);
    expect_present(resp->change_peer, "the ChangePeer of the operator put in by hand");
    schedulerpb__region_heartbeat_response__free_unpacked(resp, NULL);
    vclock_advance(&f->vc, 5000);
    resp = service_heartbeat(srv, r);
    expect_absent(
        resp->change_peer,
        "a ChangePeer after the operator's 5000 ms timeout (a timed-out operator is dropped)");
    schedulerpb__region_heartbeat_response__free_unpacked(resp, NULL);
    expect_absent(opctl_get(sched_server_operators(srv), 1),
                  "an operator for region 1 after its timeout");
    region_free(big);
    region_free(r);
    sched_server_close(srv);
}

#define B(name, pts, desc, fn)                                                                     \
    {                                                                                              \
        "project3c", name, pts, desc, fn, 0, sfix_setup, sfix_teardown                             \
    }

const tkv_test_t balance_tests[] = {
    B("balance_replicas1", 4,
      "one replica: move from the biggest store to the smallest up store; offline stores and "
      "short regions are left alone",
      test_balance_replicas1),
    B("balance_replicas3", 4,
      "three replicas: the target is the smallest store without the region; down stores take "
      "nothing; no move onto a bigger store",
      test_balance_replicas3),
    B("balance_replicas5", 4, "five replicas: source and target follow the stores' region sizes",
      test_balance_replicas5),
    B("balance_smallest_target", 3, "the target is the smallest store, not just a smaller one",
      test_balance_smallest_target),
    B("balance_pending_region_first", 3,
      "on the source, a region whose peer there is pending is moved first",
      test_balance_pending_region_first),
    B("balance_follower_before_leader", 2,
      "on the source, a region it follows is moved before one it leads",
      test_balance_follower_before_leader),
    B("balance_needs_twice_region_size", 3,
      "a move happens only if the size gap is at least twice the region's size",
      test_balance_needs_twice_region_size),
    B("move_reaches_leader", 4,
      "the move goes to the region's leader in heartbeat responses: add, transfer leader, remove",
      test_move_reaches_leader),
    B("move_times_out", 1, "an operator its region never follows is dropped after its timeout",
      test_move_times_out),
    { 0 },
};
