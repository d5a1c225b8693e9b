/*
 * The replica checker (replica_check.h), frame code: a region short of
 * replicas gets peers on the stores with the fewest regions, one per store;
 * a peer on a down or replaced store is rebuilt elsewhere, the new peer
 * added before the old one goes; a region with too many peers loses one.
 *
 * The tests play the region's part: each operator the checker makes is
 * carried out step by step on the region the cluster holds (with
 * cluster_put_region(), no student code), and every intermediate region is
 * checked for the rules a repair must keep: never two peers of a region on
 * one store, never fewer peers than the region had when the repair began
 * (or max_replicas, when it had more).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "project3-multiraft/scheduler/replica_check.h"
#include "tests/harness/expect.h"
#include "tests/harness/test.h"
#include "tests/scheduler/sched_fixture.h"

/* Store `id` holding `fillers` one-peer regions of its own, so stores can
 * be told apart by region count. */
static void add_store_with(sfix_t *f, uint64_t id, int fillers)
{
    sfix_add_store(f, id);
    uint64_t stores[1] = { id };
    for (int i = 0; i < fillers; i++) {
        char start[32], end[32];
        uint64_t rid = f->next_region_id++;
        snprintf(start, sizeof(start), "f%06llu", (unsigned long long)rid);
        snprintf(end, sizeof(end), "f%06llu~", (unsigned long long)rid);
        sched_region_t *r = mk_region(rid, start, end, 1, 1, stores, 1, 0, 10);
        assert_int_equal(cluster_put_region(f->c, r), TKV_OK);
        region_free(r);
    }
}

/* Region 1 over [a, b) with one peer per store in stores[0..n), the first
 * leading. */
static void put_region(sfix_t *f, const uint64_t *stores, size_t n)
{
    sched_region_t *r = mk_region(1, "a", "b", 1, 1, stores, n, 0, 10);
    assert_int_equal(cluster_put_region(f->c, r), TKV_OK);
    region_free(r);
}

static Metapb__Peer *new_peer(uint64_t id, uint64_t store_id)
{
    Metapb__Peer *p = malloc(sizeof(*p));
    metapb__peer__init(p);
    p->id = id;
    p->store_id = store_id;
    return p;
}

/* Carries out one step on the region the cluster holds, as its leader
 * would, and records the result (conf_ver up for membership changes). */
static void apply_step(sfix_t *f, uint64_t rid, const op_step_t *s)
{
    sched_region_t *r = region_copy(cluster_get_region(f->c, rid));
    Metapb__Region *reg = r->region;
    if (s->kind == OP_STEP_ADD_PEER) {
        expect_true(region_store_peer(r, s->store_id) == NULL,
                    "region %llu already has a peer on store %llu: a second one there would be "
                    "one failure away from losing two replicas",
                    (unsigned long long)rid, (unsigned long long)s->store_id);
        reg->peers = realloc(reg->peers, (reg->n_peers + 1) * sizeof(*reg->peers));
        reg->peers[reg->n_peers++] = new_peer(s->peer_id, s->store_id);
        reg->region_epoch->conf_ver++;
    } else if (s->kind == OP_STEP_REMOVE_PEER) {
        expect_true(region_leader_store(r) != s->store_id,
                    "region %llu: the peer on store %llu is removed while it leads",
                    (unsigned long long)rid, (unsigned long long)s->store_id);
        size_t j = 0;
        for (size_t i = 0; i < reg->n_peers; i++) {
            if (reg->peers[i]->store_id == s->store_id)
                metapb__peer__free_unpacked(reg->peers[i], NULL);
            else
                reg->peers[j++] = reg->peers[i];
        }
        reg->n_peers = j;
        reg->region_epoch->conf_ver++;
    } else {
        const Metapb__Peer *to = region_store_peer(r, s->store_id);
        expect_true(to != NULL, "region %llu: leadership goes to store %llu, which has no peer",
                    (unsigned long long)rid, (unsigned long long)s->store_id);
        if (r->leader == NULL)
            r->leader = new_peer(0, 0);
        r->leader->id = to->id;
        r->leader->store_id = to->store_id;
    }
    assert_int_equal(cluster_put_region(f->c, r), TKV_OK);
    region_free(r);
}

/* Carries out `op` (freed here), checking the rules above after each step.
 * Returns the operator's description. */
static const char *apply_op(sfix_t *f, sched_operator_t *op)
{
    uint64_t rid = op->region_id;
    size_t start = cluster_get_region(f->c, rid)->region->n_peers;
    size_t floor =
        start < cluster_config(f->c)->max_replicas ? start : cluster_config(f->c)->max_replicas;
    for (size_t i = 0; i < op->nsteps; i++) {
        apply_step(f, rid, &op->steps[i]);
        size_t now = cluster_get_region(f->c, rid)->region->n_peers;
        expect_true(now >= floor,
                    "%s on region %llu: after step %zu the region has %zu peers, fewer than "
                    "the %zu it started with (new peers must come before old ones go)",
                    op->desc, (unsigned long long)rid, i, now, floor);
    }
    const sched_region_t *r = cluster_get_region(f->c, rid);
    for (size_t i = 0; i < op->nsteps; i++)
        expect_true(op_step_done(&op->steps[i], r),
                    "%s on region %llu: step %zu not done after "
                    "carrying it out",
                    op->desc, (unsigned long long)rid, i);
    const char *desc = op->desc;
    free(op);
    return desc;
}

/* Runs the checker on region 1 and carries out what it asks until it asks
 * nothing (at most `bound` operators). Returns how many it made. */
static int repair(sfix_t *f, int bound)
{
    int n = 0;
    for (;;) {
        sched_operator_t *op = NULL;
        assert_int_equal(replica_check(f->c, f->ids, cluster_get_region(f->c, 1), &op), TKV_OK);
        if (op == NULL)
            return n;
        expect_true(n < bound, "the replica checker keeps making operators (%s) after %d", op->desc,
                    n);
        apply_op(f, op);
        n++;
    }
}

/* Asserts region 1 has exactly one peer on each of stores[0..n). */
static void check_stores(sfix_t *f, const uint64_t *stores, size_t n)
{
    const sched_region_t *r = cluster_get_region(f->c, 1);
    char got[256] = "";
    for (size_t i = 0; i < r->region->n_peers; i++) {
        size_t len = strlen(got);
        snprintf(got + len, sizeof(got) - len, " %llu",
                 (unsigned long long)r->region->peers[i]->store_id);
    }
    expect_true(r->region->n_peers == n, "region 1 should have %zu peers, has them on stores%s", n,
                got);
    for (size_t i = 0; i < n; i++)
        expect_true(region_store_peer(r, stores[i]) != NULL,
                    "region 1 should have a peer on store %llu; its peers are on stores%s",
                    (unsigned long long)stores[i], got);
}

static void test_adds_to_fewest_regions(void **state)
{
    sfix_t *f = *state;
    /* Store 1 holds the region; store 2 is the busiest of the rest, so
     * stores 3 and 4 (tied, lowest id first) get the new replicas. */
    add_store_with(f, 1, 0);
    add_store_with(f, 2, 3);
    add_store_with(f, 3, 1);
    add_store_with(f, 4, 1);
    add_store_with(f, 5, 2);
    uint64_t one[1] = { 1 };
    put_region(f, one, 1);
    sched_operator_t *op = NULL;
    assert_int_equal(replica_check(f->c, f->ids, cluster_get_region(f->c, 1), &op), TKV_OK);
    expect_true(op != NULL, "a one-peer region with max_replicas 3 needs a new peer");
    expect_true(op->nsteps == 1 && op->steps[0].kind == OP_STEP_ADD_PEER,
                "a region short of peers gets one add-peer step");
    expect_u64(op->steps[0].store_id, 3, "the store of the first new peer (fewest regions)");
    expect_true(op->steps[0].peer_id != 0, "the new peer has an id");
    apply_op(f, op);
    /* Store 3 now holds 2 regions, store 4 still 1. */
    expect_u64((uint64_t)repair(f, 4), 1, "operators until region 1 has 3 peers");
    uint64_t want[3] = { 1, 3, 4 };
    check_stores(f, want, 3);
}

static void test_no_target_no_operator(void **state)
{
    sfix_t *f = *state;
    sfix_add_store(f, 1);
    uint64_t one[1] = { 1 };
    put_region(f, one, 1);
    /* A store that is down or offline takes nothing. */
    sfix_add_store(f, 2);
    sfix_add_store(f, 3);
    sfix_set_store_down(f, 2);
    sfix_set_store_state(f, 3, METAPB__STORE_STATE__STORE_OFFLINE);
    expect_u64((uint64_t)repair(f, 0), 0, "operators with no store to add a replica to");
    /* Store 4 comes: one replica there, and still one short. */
    sfix_add_store(f, 4);
    expect_u64((uint64_t)repair(f, 2), 1, "operators with one suitable store");
    uint64_t want[2] = { 1, 4 };
    check_stores(f, want, 2);
}

static void test_replaces_down_store(void **state)
{
    sfix_t *f = *state;
    for (uint64_t id = 1; id <= 4; id++)
        sfix_add_store(f, id);
    uint64_t three[3] = { 1, 2, 3 };
    put_region(f, three, 3);
    expect_u64((uint64_t)repair(f, 0), 0, "operators for a whole region");
    sfix_set_store_down(f, 3);
    sched_operator_t *op = NULL;
    assert_int_equal(replica_check(f->c, f->ids, cluster_get_region(f->c, 1), &op), TKV_OK);
    expect_true(op != NULL, "the peer on down store 3 needs replacing");
    expect_u64(op->from_store, 3, "the store the replica leaves");
    expect_u64(op->to_store, 4, "the store the replica goes to");
    expect_true(op->steps[0].kind == OP_STEP_ADD_PEER && op->steps[0].store_id == 4,
                "the new peer on store 4 is added first");
    apply_op(f, op);
    expect_u64((uint64_t)repair(f, 0), 0, "operators once the replica is rebuilt");
    uint64_t want[3] = { 1, 2, 4 };
    check_stores(f, want, 3);
}

static void test_replaces_down_leader(void **state)
{
    sfix_t *f = *state;
    for (uint64_t id = 1; id <= 4; id++)
        sfix_add_store(f, id);
    /* The last report said store 1 leads; it went silent since. */
    uint64_t three[3] = { 1, 2, 3 };
    put_region(f, three, 3);
    sfix_set_store_down(f, 1);
    expect_u64((uint64_t)repair(f, 1), 1, "operators to replace the down leader's replica");
    uint64_t want[3] = { 2, 3, 4 };
    check_stores(f, want, 3);
}

static void test_replaces_wiped_store(void **state)
{
    sfix_t *f = *state;
    for (uint64_t id = 1; id <= 3; id++)
        sfix_add_store(f, id);
    uint64_t three[3] = { 1, 2, 3 };
    put_region(f, three, 3);
    /* Store 3 restarts with its data: same id, same address, no change. */
    Metapb__Store same = *cluster_get_store(f->c, 3)->meta;
    assert_int_equal(cluster_put_store(f->c, &same), TKV_OK);
    expect_u64((uint64_t)repair(f, 0), 0, "operators after a store restarted with its data");
    /* Store 3 restarts wiped: it asks for a new id (7) at its old address,
     * long before its old id would count as down. */
    Metapb__Store fresh = METAPB__STORE__INIT;
    fresh.id = 7;
    fresh.address = cluster_get_store(f->c, 3)->meta->address;
    char addr[64];
    snprintf(addr, sizeof(addr), "%s", fresh.address);
    fresh.address = addr;
    assert_int_equal(cluster_put_store(f->c, &fresh), TKV_OK);
    expect_true(cluster_get_store(f->c, 3)->meta->state == METAPB__STORE_STATE__STORE_OFFLINE,
                "store 3, whose address store 7 now serves, must be offline");
    expect_true(replica_store_is_bad(f->c, 3), "a replaced store's peers are to be rebuilt");
    Schedulerpb__StoreStats st = SCHEDULERPB__STORE_STATS__INIT;
    st.store_id = 7;
    assert_int_equal(cluster_store_heartbeat(f->c, &st), TKV_OK);
    expect_u64((uint64_t)repair(f, 1), 1, "operators to move the replica to the new store");
    uint64_t want[3] = { 1, 2, 7 };
    check_stores(f, want, 3);
    /* The replacement survives a scheduler restart. */
    sfix_reopen(f);
    expect_true(cluster_get_store(f->c, 3)->meta->state == METAPB__STORE_STATE__STORE_OFFLINE,
                "store 3 must still be offline after a restart");
}

static void test_refuses_a_taken_address_under_a_known_id(void **state)
{
    sfix_t *f = *state;
    for (uint64_t id = 1; id <= 3; id++)
        sfix_add_store(f, id);
    uint64_t three[3] = { 1, 2, 3 };
    put_region(f, three, 3);
    char addr1[64], addr2[64];
    snprintf(addr1, sizeof(addr1), "%s", cluster_get_store(f->c, 1)->meta->address);
    snprintf(addr2, sizeof(addr2), "%s", cluster_get_store(f->c, 2)->meta->address);
    /* Store 1's id claimed from store 2's address: refused, nothing moves. */
    Metapb__Store claim = *cluster_get_store(f->c, 1)->meta;
    claim.address = addr2;
    expect_err(cluster_put_store(f->c, &claim), TKV_ERR_INVALID,
               "PutStore of store 1's id at store 2's address");
    expect_true(strstr(tkv_last_error(), "store 2's") != NULL,
                "the refusal should name the store at that address");
    expect_true(strcmp(cluster_get_store(f->c, 1)->meta->address, addr1) == 0,
                "store 1 must keep its address");
    expect_true(cluster_get_store(f->c, 2)->meta->state == METAPB__STORE_STATE__STORE_UP,
                "store 2 must stay up");
    expect_u64((uint64_t)repair(f, 0), 0, "operators after a refused claim");
    /* A restart of store 1 on a fresh port is still taken. */
    claim.address = "127.0.0.1:65001";
    expect_err(cluster_put_store(f->c, &claim), TKV_OK, "PutStore of store 1 at a fresh address");
}

static void test_needs_repair_says_what_the_checker_would_do(void **state)
{
    sfix_t *f = *state;
    for (uint64_t id = 1; id <= 4; id++)
        sfix_add_store(f, id);
    uint64_t two[2] = { 1, 2 }, three[3] = { 1, 2, 3 }, four[4] = { 1, 2, 3, 4 };
    put_region(f, three, 3);
    expect_true(!replica_needs_repair(f->c, cluster_get_region(f->c, 1)),
                "3 peers on up stores need no repair");
    put_region(f, two, 2);
    expect_true(replica_needs_repair(f->c, cluster_get_region(f->c, 1)),
                "2 peers of 3 need a repair");
    put_region(f, four, 4);
    expect_true(replica_needs_repair(f->c, cluster_get_region(f->c, 1)),
                "4 peers of 3 need a repair");
    put_region(f, three, 3);
    sfix_set_store_down(f, 3);
    expect_true(replica_needs_repair(f->c, cluster_get_region(f->c, 1)),
                "a peer on a down store needs a repair");
}

static void test_removes_extra_replica(void **state)
{
    sfix_t *f = *state;
    for (uint64_t id = 1; id <= 4; id++)
        sfix_add_store(f, id);
    /* Four peers (a move that timed out between add and remove). */
    uint64_t four[4] = { 1, 2, 3, 4 };
    put_region(f, four, 4);
    sfix_set_store_down(f, 2);
    expect_u64((uint64_t)repair(f, 1), 1, "operators to drop the extra replica");
    uint64_t want[3] = { 1, 3, 4 };
    check_stores(f, want, 3);
    /* Four healthy peers, leader on 1: a follower goes, never the leader. */
    uint64_t again[4] = { 1, 2, 3, 4 };
    sched_region_t *r = mk_region(1, "a", "b", 100, 1, again, 4, 0, 10);
    assert_int_equal(cluster_put_region(f->c, r), TKV_OK);
    region_free(r);
    f->down[2] = 0;
    sfix_heartbeat_stores(f);
    expect_u64((uint64_t)repair(f, 1), 1, "operators to drop one healthy extra replica");
    expect_true(region_store_peer(cluster_get_region(f->c, 1), 1) != NULL,
                "the leader's replica on store 1 stays");
}

static void test_leader_moves_before_removal(void **state)
{
    sfix_t *f = *state;
    for (uint64_t id = 1; id <= 4; id++)
        sfix_add_store(f, id);
    uint64_t four[4] = { 1, 2, 3, 4 };
    put_region(f, four, 4);
    /* Store 1 leads and is offline: leadership must leave it first. */
    sfix_set_store_state(f, 1, METAPB__STORE_STATE__STORE_OFFLINE);
    sched_operator_t *op = NULL;
    assert_int_equal(replica_check(f->c, f->ids, cluster_get_region(f->c, 1), &op), TKV_OK);
    expect_true(op != NULL && op->nsteps == 2 && op->steps[0].kind == OP_STEP_TRANSFER_LEADER &&
                    op->steps[1].kind == OP_STEP_REMOVE_PEER && op->steps[1].store_id == 1,
                "removing the leader's replica: transfer leadership, then remove");
    apply_op(f, op);
    uint64_t want[3] = { 2, 3, 4 };
    check_stores(f, want, 3);
}

#define R(name, desc, fn)                                                                          \
    {                                                                                              \
        "frame", name, 0, desc, fn, 0, sfix_setup, sfix_teardown                                   \
    }

const tkv_test_t replica_tests[] = {
    R("replica_adds_to_fewest_regions",
      "a region short of replicas gets new peers on the stores with the fewest regions, one each",
      test_adds_to_fewest_regions),
    R("replica_no_target_no_operator",
      "no replica goes to a down or offline store; with no store to use the checker waits",
      test_no_target_no_operator),
    R("replica_replaces_down_store",
      "a peer on a down store is rebuilt on another store, the new peer added first",
      test_replaces_down_store),
    R("replica_replaces_down_leader", "a down store that led the region is replaced too",
      test_replaces_down_leader),
    R("replica_replaces_wiped_store",
      "a new store id at a store's address takes it offline, and its replicas move there",
      test_replaces_wiped_store),
    R("replica_refuses_taken_address",
      "a known store id at another up store's address is refused with both named; a fresh "
      "address is a restart",
      test_refuses_a_taken_address_under_a_known_id),
    R("replica_needs_repair",
      "replica_needs_repair() is true for a short, long or bad-store region, the ones the "
      "balancer leaves alone",
      test_needs_repair_says_what_the_checker_would_do),
    R("replica_removes_extra_replica",
      "a region with too many peers loses one: a bad store's first, never the leader's",
      test_removes_extra_replica),
    R("replica_leader_moves_before_removal",
      "removing the leader's replica transfers leadership to a healthy peer first",
      test_leader_moves_before_removal),
    { 0 },
};
