/*
 * Operators: what the scheduler wants a region to do, step by step, and the
 * controller that hands the steps out.
 *
 * The scheduler cannot act on a region itself: it can only answer the
 * region leader's heartbeat with the next thing to do (a ChangePeer or a
 * TransferLeader in RegionHeartbeatResponse). So an operator is a short list
 * of steps; each heartbeat shows how far the region got, finished steps are
 * skipped, and the first unfinished one is sent back. Moving a region from
 * store A to store B is
 *
 *     add peer on B  ->  (transfer leader to B, if A leads)  ->  remove peer on A
 *
 * adding first so the region never has fewer replicas than before. A
 * region's leader may be slow, lose a message or be replaced, so steps are
 * re-sent on every heartbeat until done, and an operator that has not
 * finished within its timeout is dropped (the balancer will look again).
 *
 * Ownership: operators are malloc'd by operator_move_peer() and freed with
 * free(); opctl_add() takes ownership. Not thread-safe (the service locks).
 */
#ifndef TKV_SCHED_OPERATOR_H
#define TKV_SCHED_OPERATOR_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "project3-multiraft/scheduler/region_tree.h"
#include "proto/schedulerpb.pb-c.h"

typedef enum {
    OP_STEP_ADD_PEER, /* add peer `peer_id` on `store_id`; done when it is there, not pending */
    OP_STEP_TRANSFER_LEADER, /* done when the leader is on `store_id` */
    OP_STEP_REMOVE_PEER,     /* done when no peer is on `store_id` */
} op_step_kind_t;

typedef struct {
    op_step_kind_t kind;
    uint64_t store_id;
    uint64_t peer_id; /* ADD_PEER: the new peer's id */
} op_step_t;

#define OP_MAX_STEPS 3

typedef struct {
    const char *desc; /* static string, e.g. "balance-region" */
    uint64_t region_id;
    uint64_t from_store, to_store; /* for a move: where the replica leaves and goes */
    op_step_t steps[OP_MAX_STEPS];
    size_t nsteps;
    size_t cur; /* the first step not known to be done */
    uint64_t created_ms;
} sched_operator_t;

/* The operator moving region r's replica from `from_store` to `to_store`,
 * where the new peer gets id `new_peer_id`. */
sched_operator_t *operator_move_peer(const char *desc, const sched_region_t *r, uint64_t from_store,
                                     uint64_t to_store, uint64_t new_peer_id, uint64_t now_ms);
/* The operator adding one peer of region r on `to_store` with id
 * `new_peer_id` (a region short of replicas). */
sched_operator_t *operator_add_peer(const char *desc, const sched_region_t *r, uint64_t to_store,
                                    uint64_t new_peer_id, uint64_t now_ms);
/* The operator removing region r's peer on `from_store` (a region with too
 * many replicas). If that peer leads, leadership first goes to another
 * peer, one not on a store in avoid[0..navoid) when there is one. */
sched_operator_t *operator_remove_peer(const char *desc, const sched_region_t *r,
                                       uint64_t from_store, const uint64_t *avoid, size_t navoid,
                                       uint64_t now_ms);
/* True when region r shows that `step` has happened. */
int op_step_done(const op_step_t *step, const sched_region_t *r);

typedef struct sched_opctl sched_opctl_t;

/* Operators older than `timeout_ms` are dropped (0: 10 minutes). */
sched_opctl_t *opctl_new(uint64_t timeout_ms);
void opctl_free(sched_opctl_t *ctl);
/* Takes ownership of `op` in every case. TKV_ERR_BUSY (and `op` freed) when
 * its region already has an operator: one plan per region at a time. */
tkv_err_t opctl_add(sched_opctl_t *ctl, sched_operator_t *op);
/* The region's operator, or NULL. Borrowed until the next opctl call. */
const sched_operator_t *opctl_get(const sched_opctl_t *ctl, uint64_t region_id);
size_t opctl_count(const sched_opctl_t *ctl);
/* Called with every accepted region heartbeat: advances the region's
 * operator past finished steps, drops it when finished or timed out, and
 * otherwise writes its next step into `resp` (every field set is malloc'd,
 * freed with the response by protobuf_c_message_free_unpacked()). */
void opctl_dispatch(sched_opctl_t *ctl, const sched_region_t *r, uint64_t now_ms,
                    Schedulerpb__RegionHeartbeatResponse *resp);

#endif
