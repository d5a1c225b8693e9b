/*
 * Operators and their controller (operator.h).
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "project3-multiraft/scheduler/operator.h"

sched_operator_t *operator_move_peer(const char *desc, const sched_region_t *r, uint64_t from_store,
                                     uint64_t to_store, uint64_t new_peer_id, uint64_t now_ms)
{
    sched_operator_t *op = xcalloc(1, sizeof(*op));
    op->desc = desc;
    op->region_id = region_id(r);
    op->from_store = from_store;
    op->to_store = to_store;
    op->created_ms = now_ms;
    op->steps[op->nsteps++] = (op_step_t){ OP_STEP_ADD_PEER, to_store, new_peer_id };
    /* A leader cannot remove itself cleanly: hand leadership to the new
     * peer first (it has caught up once the add step is done). */
    if (region_leader_store(r) == from_store)
        op->steps[op->nsteps++] = (op_step_t){ OP_STEP_TRANSFER_LEADER, to_store, new_peer_id };
    op->steps[op->nsteps++] = (op_step_t){ OP_STEP_REMOVE_PEER, from_store, 0 };
    return op;
}

sched_operator_t *operator_add_peer(const char *desc, const sched_region_t *r, uint64_t to_store,
                                    uint64_t new_peer_id, uint64_t now_ms)
{
    sched_operator_t *op = xcalloc(1, sizeof(*op));
    op->desc = desc;
    op->region_id = region_id(r);
    op->to_store = to_store;
    op->created_ms = now_ms;
    op->steps[op->nsteps++] = (op_step_t){ OP_STEP_ADD_PEER, to_store, new_peer_id };
    return op;
}

static int avoided(uint64_t store_id, const uint64_t *avoid, size_t navoid)
{
    for (size_t i = 0; i < navoid; i++) {
        if (avoid[i] == store_id)
            return 1;
    }
    return 0;
}

sched_operator_t *operator_remove_peer(const char *desc, const sched_region_t *r,
                                       uint64_t from_store, const uint64_t *avoid, size_t navoid,
                                       uint64_t now_ms)
{
    sched_operator_t *op = xcalloc(1, sizeof(*op));
    op->desc = desc;
    op->region_id = region_id(r);
    op->from_store = from_store;
    op->created_ms = now_ms;
    if (region_leader_store(r) == from_store) {
        /* The new leader: the first other peer on a store not to avoid,
         * else the first other peer at all. */
        const Metapb__Peer *to = NULL;
        for (size_t i = 0; i < r->region->n_peers; i++) {
            const Metapb__Peer *p = r->region->peers[i];
            if (p->store_id == from_store || region_peer_is_pending(r, p->id))
                continue;
            if (to == NULL ||
                (avoided(to->store_id, avoid, navoid) && !avoided(p->store_id, avoid, navoid)))
                to = p;
        }
        if (to != NULL)
            op->steps[op->nsteps++] = (op_step_t){ OP_STEP_TRANSFER_LEADER, to->store_id, to->id };
    }
    op->steps[op->nsteps++] = (op_step_t){ OP_STEP_REMOVE_PEER, from_store, 0 };
    return op;
}

int op_step_done(const op_step_t *step, const sched_region_t *r)
{
    const Metapb__Peer *p = region_store_peer(r, step->store_id);
    switch (step->kind) {
    case OP_STEP_ADD_PEER:
        return p != NULL && p->id == step->peer_id && !region_peer_is_pending(r, p->id);
    case OP_STEP_TRANSFER_LEADER:
        return region_leader_store(r) == step->store_id;
    case OP_STEP_REMOVE_PEER:
        return p == NULL;
    }
    return 0;
}

struct sched_opctl {
    uint64_t timeout_ms;
    sched_operator_t **ops; /* unordered; a cluster has few operators in flight */
    size_t n, cap;
};

sched_opctl_t *opctl_new(uint64_t timeout_ms)
{
    sched_opctl_t *ctl = xcalloc(1, sizeof(*ctl));
    ctl->timeout_ms = timeout_ms ? timeout_ms : 10ULL * 60 * 1000;
    return ctl;
}

void opctl_free(sched_opctl_t *ctl)
{
    if (ctl == NULL)
        return;
    for (size_t i = 0; i < ctl->n; i++)
        free(ctl->ops[i]);
    free(ctl->ops);
    free(ctl);
}

static size_t find(const sched_opctl_t *ctl, uint64_t region_id)
{
    for (size_t i = 0; i < ctl->n; i++) {
        if (ctl->ops[i]->region_id == region_id)
            return i;
    }
    return ctl->n;
}

tkv_err_t opctl_add(sched_opctl_t *ctl, sched_operator_t *op)
{
    if (find(ctl, op->region_id) < ctl->n) {
        uint64_t id = op->region_id;
        free(op);
        return tkv_errorf(TKV_ERR_BUSY, "region %llu already has an operator",
                          (unsigned long long)id);
    }
    if (ctl->n == ctl->cap) {
        ctl->cap = ctl->cap ? ctl->cap * 2 : 8;
        ctl->ops = xrealloc(ctl->ops, ctl->cap * sizeof(*ctl->ops));
    }
    ctl->ops[ctl->n++] = op;
    return TKV_OK;
}

const sched_operator_t *opctl_get(const sched_opctl_t *ctl, uint64_t region_id)
{
    size_t i = find(ctl, region_id);
    return i < ctl->n ? ctl->ops[i] : NULL;
}

size_t opctl_count(const sched_opctl_t *ctl)
{
    return ctl->n;
}

static void drop(sched_opctl_t *ctl, size_t i)
{
    free(ctl->ops[i]);
    ctl->ops[i] = ctl->ops[--ctl->n];
}

static Metapb__Peer *peer_new(uint64_t id, uint64_t store_id)
{
    Metapb__Peer *p = xmalloc(sizeof(*p));
    metapb__peer__init(p);
    p->id = id;
    p->store_id = store_id;
    return p;
}

void opctl_dispatch(sched_opctl_t *ctl, const sched_region_t *r, uint64_t now_ms,
                    Schedulerpb__RegionHeartbeatResponse *resp)
{
    size_t i = find(ctl, region_id(r));
    if (i == ctl->n)
        return;
    sched_operator_t *op = ctl->ops[i];
    while (op->cur < op->nsteps && op_step_done(&op->steps[op->cur], r))
        op->cur++;
    if (op->cur == op->nsteps) {
        tkv_logf(TKV_LOG_INFO, "scheduler", "%s on region %llu finished", op->desc,
                 (unsigned long long)op->region_id);
        drop(ctl, i);
        return;
    }
    /* A clock that stepped back must not make an operator look ancient. */
    if (now_ms > op->created_ms && now_ms - op->created_ms >= ctl->timeout_ms) {
        tkv_logf(TKV_LOG_WARN, "scheduler", "%s on region %llu timed out at step %zu", op->desc,
                 (unsigned long long)op->region_id, op->cur);
        drop(ctl, i);
        return;
    }
    const op_step_t *s = &op->steps[op->cur];
    /* Someone else (an operator by hand, a lost-and-redone plan) put a
     * different peer on the target store: adding ours would make two
     * peers of the region on one store. The plan is stale; drop it. */
    const Metapb__Peer *there = region_store_peer(r, s->store_id);
    if (s->kind == OP_STEP_ADD_PEER && there != NULL && there->id != s->peer_id) {
        tkv_logf(TKV_LOG_WARN, "scheduler",
                 "%s on region %llu dropped: store %llu already has peer %llu", op->desc,
                 (unsigned long long)op->region_id, (unsigned long long)s->store_id,
                 (unsigned long long)there->id);
        drop(ctl, i);
        return;
    }
    if (s->kind == OP_STEP_TRANSFER_LEADER) {
        const Metapb__Peer *to = region_store_peer(r, s->store_id);
        resp->transfer_leader = xmalloc(sizeof(*resp->transfer_leader));
        schedulerpb__transfer_leader__init(resp->transfer_leader);
        resp->transfer_leader->peer = peer_new(to ? to->id : s->peer_id, s->store_id);
    } else {
        const Metapb__Peer *old = region_store_peer(r, s->store_id);
        resp->change_peer = xmalloc(sizeof(*resp->change_peer));
        schedulerpb__change_peer__init(resp->change_peer);
        if (s->kind == OP_STEP_ADD_PEER) {
            resp->change_peer->change_type = ERAFTPB__CONF_CHANGE_TYPE__ADD_NODE;
            resp->change_peer->peer = peer_new(s->peer_id, s->store_id);
        } else {
            resp->change_peer->change_type = ERAFTPB__CONF_CHANGE_TYPE__REMOVE_NODE;
            resp->change_peer->peer = peer_new(old ? old->id : 0, s->store_id);
        }
    }
    resp->region_id = region_id(r);
    if (r->region->region_epoch != NULL) {
        resp->region_epoch = xmalloc(sizeof(*resp->region_epoch));
        metapb__region_epoch__init(resp->region_epoch);
        resp->region_epoch->conf_ver = r->region->region_epoch->conf_ver;
        resp->region_epoch->version = r->region->region_epoch->version;
    }
    if (r->leader != NULL)
        resp->target_peer = peer_new(r->leader->id, r->leader->store_id);
}
