/*
 * Frame: operators step through what the region reports. The controller
 * hands out the first unfinished step, skips finished ones, drops a
 * finished or timed-out operator, and keeps one operator per region.
 */
#include <stdlib.h>

#include "project3-multiraft/scheduler/operator.h"
#include "tests/harness/expect.h"
#include "tests/harness/test.h"
#include "tests/scheduler/sched_fixture.h"

/* Dispatches for r and returns the response (caller frees). */
static Schedulerpb__RegionHeartbeatResponse *dispatch(sched_opctl_t *ctl, const sched_region_t *r,
                                                      uint64_t now)
{
    Schedulerpb__RegionHeartbeatResponse *resp = malloc(sizeof(*resp));
    schedulerpb__region_heartbeat_response__init(resp);
    opctl_dispatch(ctl, r, now, resp);
    return resp;
}

static void done(Schedulerpb__RegionHeartbeatResponse *resp)
{
    schedulerpb__region_heartbeat_response__free_unpacked(resp, NULL);
}

static void test_steps_follow_the_region(void **state)
{
    (void)state;
    sched_opctl_t *ctl = opctl_new(1000);
    /* Region 7 on stores 1, 2, 3, led by 2: moving 1 -> 4 needs no leader
     * transfer. */
    uint64_t s123[3] = { 2, 1, 3 };
    sched_region_t *r = mk_region(7, "a", "b", 1, 1, s123, 3, 0, 10);
    sched_operator_t *op = operator_move_peer("test", r, 1, 4, 55, 100);
    assert_int_equal(op->nsteps, 2);
    expect_err(opctl_add(ctl, op), TKV_OK, "opctl_add(ctl, op)");
    expect_err(opctl_add(ctl, operator_move_peer("again", r, 3, 4, 56, 100)), TKV_ERR_BUSY,
               "opctl_add(ctl, operator_move_peer(\"again\", r, 3, 4, 56, 100))");
    assert_int_equal(opctl_count(ctl), 1);

    Schedulerpb__RegionHeartbeatResponse *resp = dispatch(ctl, r, 200);
    assert_non_null(resp->change_peer);
    assert_int_equal(resp->change_peer->change_type, ERAFTPB__CONF_CHANGE_TYPE__ADD_NODE);
    assert_int_equal(resp->change_peer->peer->id, 55);
    assert_int_equal(resp->change_peer->peer->store_id, 4);
    assert_int_equal(resp->region_id, 7);
    assert_int_equal(resp->target_peer->store_id, 2);
    done(resp);

    /* The new peer is there but still pending: the add is not done. */
    uint64_t s1234[4] = { 2, 1, 3, 4 };
    sched_region_t *r2 = mk_region(7, "a", "b", 2, 1, s1234, 4, 0, 10);
    r2->region->peers[3]->id = 55;
    region_set_pending(r2, 4);
    resp = dispatch(ctl, r2, 300);
    assert_int_equal(resp->change_peer->change_type, ERAFTPB__CONF_CHANGE_TYPE__ADD_NODE);
    done(resp);
    /* Caught up: remove the peer on store 1, naming its id. */
    region_set_pending(r2, 0);
    resp = dispatch(ctl, r2, 400);
    assert_int_equal(resp->change_peer->change_type, ERAFTPB__CONF_CHANGE_TYPE__REMOVE_NODE);
    assert_int_equal(resp->change_peer->peer->id, 701);
    assert_int_equal(resp->change_peer->peer->store_id, 1);
    assert_int_equal(resp->region_epoch->conf_ver, 2);
    done(resp);
    /* Removed: finished, nothing more to say. */
    uint64_t s234[3] = { 2, 3, 4 };
    sched_region_t *r3 = mk_region(7, "a", "b", 3, 1, s234, 3, 0, 10);
    resp = dispatch(ctl, r3, 500);
    assert_null(resp->change_peer);
    assert_null(resp->transfer_leader);
    done(resp);
    assert_int_equal(opctl_count(ctl), 0);
    region_free(r);
    region_free(r2);
    region_free(r3);
    opctl_free(ctl);
}

static void test_leader_moves_before_it_is_removed(void **state)
{
    (void)state;
    uint64_t s123[3] = { 1, 2, 3 };
    sched_region_t *r = mk_region(7, "a", "b", 1, 1, s123, 3, 0, 10);
    sched_operator_t *op = operator_move_peer("test", r, 1, 4, 55, 0);
    assert_int_equal(op->nsteps, 3);
    assert_int_equal(op->steps[0].kind, OP_STEP_ADD_PEER);
    assert_int_equal(op->steps[1].kind, OP_STEP_TRANSFER_LEADER);
    assert_int_equal(op->steps[1].store_id, 4);
    assert_int_equal(op->steps[2].kind, OP_STEP_REMOVE_PEER);
    assert_false(op_step_done(&op->steps[1], r));
    region_free(r);
    free(op);
}

static void test_timeout_drops_operator(void **state)
{
    (void)state;
    sched_opctl_t *ctl = opctl_new(1000);
    uint64_t s123[3] = { 2, 1, 3 };
    sched_region_t *r = mk_region(7, "a", "b", 1, 1, s123, 3, 0, 10);
    expect_err(opctl_add(ctl, operator_move_peer("test", r, 1, 4, 55, 5000)), TKV_OK,
               "opctl_add(ctl, operator_move_peer(\"test\", r, 1, 4, 55, 5000))");
    /* A clock behind the operator's birth does not time it out. */
    Schedulerpb__RegionHeartbeatResponse *resp = dispatch(ctl, r, 10);
    assert_non_null(resp->change_peer);
    done(resp);
    resp = dispatch(ctl, r, 5999);
    assert_non_null(resp->change_peer);
    done(resp);
    resp = dispatch(ctl, r, 6000);
    assert_null(resp->change_peer);
    done(resp);
    assert_null(opctl_get(ctl, 7));
    region_free(r);
    opctl_free(ctl);
}

static void test_add_onto_taken_store_is_dropped(void **state)
{
    (void)state;
    sched_opctl_t *ctl = opctl_new(100000);
    uint64_t s12[2] = { 1, 2 };
    sched_region_t *r = mk_region(7, "a", "b", 1, 1, s12, 2, 0, 10);
    expect_err(opctl_add(ctl, operator_add_peer("test", r, 3, 55, 100)), TKV_OK,
               "opctl_add(add peer 55 on store 3)");
    /* Meanwhile a peer with another id (an operator by hand) joined store 3. */
    uint64_t s123[3] = { 1, 2, 3 };
    sched_region_t *r2 = mk_region(7, "a", "b", 2, 1, s123, 3, 0, 10);
    Schedulerpb__RegionHeartbeatResponse *resp = dispatch(ctl, r2, 200);
    expect_true(resp->change_peer == NULL,
                "adding peer 55 on store 3, which already has peer %llu of the region, would "
                "put two peers on one store; the operator must be dropped instead",
                (unsigned long long)region_store_peer(r2, 3)->id);
    expect_true(opctl_get(ctl, 7) == NULL, "the stale operator is gone");
    done(resp);
    region_free(r);
    region_free(r2);
    opctl_free(ctl);
}

const tkv_test_t operator_tests[] = {
    { "frame", "operator_add_onto_taken_store_dropped", 0,
      "an add-peer step whose store already has another peer of the region is dropped, not sent",
      test_add_onto_taken_store_is_dropped },
    { "frame", "operator_steps_follow_the_region", 0,
      "an operator hands out its first unfinished step and finishes when the region shows all",
      test_steps_follow_the_region },
    { "frame", "operator_leader_moves_before_removal", 0,
      "moving a replica off the leader's store transfers leadership first",
      test_leader_moves_before_it_is_removed },
    { "frame", "operator_timeout", 0, "an operator not finished within its timeout is dropped",
      test_timeout_drops_operator },
    { 0 },
};
