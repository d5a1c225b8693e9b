/*
 * A peer (peer.h): creating it, feeding it input, and handling the Ready
 * that every input may produce. Applying committed entries lives in
 * peer_apply.c. Where project 3B changes what a peer does (checks at
 * propose time, admin commands), the calls go out through the store's
 * extension (store_ext.h), if it has one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/failpoint.h"
#include "common/log.h"
#include "project2-raft/raft/raft_pb.h"
#include "project2-raft/raftstore/cmd_resp.h"
#include "project2-raft/raftstore/pb_util.h"
#include "project2-raft/raftstore/store_ext.h"

peer_config_t peer_config_default(void)
{
    peer_config_t c;
    memset(&c, 0, sizeof(c));
    c.election_tick = 10;
    c.heartbeat_tick = 2;
    c.raft_log_gc_tick = 10;
    c.raft_log_gc_count_limit = 100;
    c.max_size_per_msg = 1 << 20;
    c.sync = 1;
    return c;
}

static void who(const peer_t *p, char *buf, size_t n)
{
    snprintf(buf, n, "store %llu peer %llu", (unsigned long long)p->store_id,
             (unsigned long long)p->peer_id);
}

/* The peer around an opened storage: its Raft node starts from what the
 * storage holds (the region's peers are the voters). Takes `ps`. */
static tkv_err_t make_peer(const peer_config_t *cfg, uint64_t store_id, peer_storage_t *ps,
                           uint64_t peer_id, peer_transport_t transport, tkv_prng_t *prng,
                           peer_t **out)
{
    peer_t *p = xcalloc(1, sizeof(*p));
    p->store_id = store_id;
    p->peer_id = peer_id;
    p->region_id = ps->region_id;
    p->cfg = *cfg;
    p->transport = transport;
    p->ps = ps;
    raft_config_t rc;
    memset(&rc, 0, sizeof(rc));
    rc.id = p->peer_id;
    rc.election_tick = cfg->election_tick;
    rc.heartbeat_tick = cfg->heartbeat_tick;
    rc.storage = peer_storage_as_raft_storage(ps);
    rc.applied = ps->applied_index;
    rc.max_size_per_msg = cfg->max_size_per_msg;
    rc.prng = prng;
    /* The lease needs check quorum: a leader that lost its quorum steps down. */
    rc.check_quorum = rc.read_lease = cfg->read_mode == PEER_READ_LEASE;
    tkv_err_t err = rawnode_new(&rc, &p->rn);
    if (err != TKV_OK) {
        peer_storage_free(ps);
        free(p);
        return err;
    }
    *out = p;
    return TKV_OK;
}

tkv_err_t peer_create(const peer_config_t *cfg, uint64_t store_id, eng_t *raft_db, eng_t *kv_db,
                      uint64_t region_id, peer_transport_t transport, tkv_prng_t *prng,
                      peer_t **out)
{
    *out = NULL;
    peer_storage_t *ps = NULL;
    tkv_err_t err = peer_storage_open(raft_db, kv_db, region_id, cfg->sync, &ps);
    if (err != TKV_OK)
        return err;
    const Metapb__Peer *me = pb_region_peer_on_store(ps->region, store_id);
    if (me == NULL) {
        peer_storage_free(ps);
        return tkv_errorf(TKV_ERR_NOT_FOUND, "region %llu has no peer on store %llu",
                          (unsigned long long)region_id, (unsigned long long)store_id);
    }
    return make_peer(cfg, store_id, ps, me->id, transport, prng, out);
}

tkv_err_t peer_create_uninitialized(const peer_config_t *cfg, uint64_t store_id, eng_t *raft_db,
                                    eng_t *kv_db, uint64_t region_id, uint64_t peer_id,
                                    peer_transport_t transport, tkv_prng_t *prng, peer_t **out)
{
    *out = NULL;
    peer_storage_t *ps = NULL;
    tkv_err_t err = peer_storage_open_uninitialized(raft_db, kv_db, region_id, cfg->sync, &ps);
    if (err != TKV_OK)
        return err;
    return make_peer(cfg, store_id, ps, peer_id, transport, prng, out);
}

void peer_fail_proposals(peer_t *p, const char *why)
{
    /* Detach the list first: a callback may propose again. */
    peer_proposal_t *list = p->proposals;
    size_t n = p->n_proposals;
    p->proposals = NULL;
    p->n_proposals = p->cap_proposals = 0;
    uint64_t term = p->rn ? p->rn->raft->term : 0;
    for (size_t i = 0; i < n; i++)
        if (list[i].cb.fn != NULL)
            list[i].cb.fn(list[i].cb.arg, cmd_resp_stale(term, why), NULL);
    free(list);
    peer_read_fail_all(p, why); /* reads waiting for ReadIndex too */
}

void peer_free(peer_t *p)
{
    if (p == NULL)
        return;
    peer_fail_proposals(p, "stale command: the peer shut down before the command applied");
    if (p->ext != NULL && p->ext->peer_free != NULL)
        p->ext->peer_free(p);
    rawnode_free(p->rn);
    peer_storage_free(p->ps);
    free(p->proposals);
    free(p);
}

int peer_is_leader(const peer_t *p)
{
    return p->rn->raft->role == RAFT_LEADER;
}

const Metapb__Peer *peer_leader(const peer_t *p)
{
    return pb_region_find_peer(p->ps->region, p->rn->raft->lead);
}

const Metapb__Region *peer_region(const peer_t *p)
{
    return p->ps->region;
}

uint64_t peer_id(const peer_t *p)
{
    return p->peer_id;
}

uint64_t peer_region_id(const peer_t *p)
{
    return p->region_id;
}

uint64_t peer_store_id(const peer_t *p)
{
    return p->store_id;
}

uint64_t peer_term(const peer_t *p)
{
    return p->rn->raft->term;
}

const peer_storage_t *peer_storage(const peer_t *p)
{
    return p->ps;
}

const raft_t *peer_raft(const peer_t *p)
{
    return p->rn->raft;
}

uint64_t peer_n_compact_proposed(const peer_t *p)
{
    return p->n_compact_proposed;
}

int peer_is_initialized(const peer_t *p)
{
    return p->ps->region->n_peers > 0;
}

int peer_is_destroyed(const peer_t *p)
{
    return p->destroyed;
}

int peer_is_broken(const peer_t *p)
{
    return p->broken;
}

tkv_err_t peer_campaign(peer_t *p)
{
    if (p->destroyed)
        return tkv_errorf(TKV_ERR_CLOSED, "peer %llu was destroyed",
                          (unsigned long long)p->peer_id);
    if (p->broken)
        return tkv_errorf(TKV_ERR_CLOSED, "peer %llu is broken", (unsigned long long)p->peer_id);
    tkv_err_t err = rawnode_campaign(p->rn);
    if (err != TKV_OK)
        return err;
    return peer_handle_ready(p);
}

static void remember_sender(peer_t *p, const Metapb__Peer *from)
{
    size_t n = sizeof(p->heard) / sizeof(p->heard[0]);
    for (size_t i = 0; i < p->n_heard; i++)
        if (p->heard[i].id == from->id)
            return;
    size_t at = p->n_heard < n ? p->n_heard++ : (size_t)(from->id % n);
    p->heard[at].id = from->id;
    p->heard[at].store_id = from->store_id;
}

tkv_err_t peer_step(peer_t *p, const RaftServerpb__RaftMessage *msg)
{
    if (p->destroyed)
        return tkv_errorf(TKV_ERR_CLOSED, "peer %llu was destroyed",
                          (unsigned long long)p->peer_id);
    if (p->broken)
        return tkv_errorf(TKV_ERR_CLOSED, "peer %llu is broken", (unsigned long long)p->peer_id);
    if (msg->message == NULL || msg->to_peer == NULL || msg->to_peer->id != p->peer_id)
        return tkv_errorf(TKV_ERR_INVALID, "message for region %llu is not for peer %llu",
                          (unsigned long long)msg->region_id, (unsigned long long)p->peer_id);
    if (msg->from_peer != NULL)
        remember_sender(p, msg->from_peer);
    raft_message_t m;
    raft_pb_message_from_pb(msg->message, &m);
    /* Snapshot data is opaque to the Raft core: checked here, or a bad one
     * would be accepted there and break the peer when it is installed. */
    tkv_err_t err = TKV_OK;
    if (m.type == RAFT_MSG_SNAPSHOT && !raft_snapshot_is_empty(&m.snapshot))
        err = peer_storage_check_snapshot(p->region_id, &m.snapshot);
    if (err == TKV_OK)
        err = rawnode_step(p->rn, &m);
    raft_message_free(&m);
    if (err != TKV_OK)
        return err;
    peer_read_collect(p); /* ReadIndex: before the Ready carries the read states off */
    err = peer_handle_ready(p);
    peer_read_serve(p);
    return err;
}

void peer_tick(peer_t *p)
{
    if (p->broken || p->destroyed)
        return;
    rawnode_tick(p->rn);
    if (p->cfg.raft_log_gc_tick > 0 && ++p->gc_elapsed >= p->cfg.raft_log_gc_tick) {
        p->gc_elapsed = 0;
        peer_maybe_compact_log(p);
    }
    peer_handle_ready(p);
    peer_read_tick(p);
}

/* ---- proposals ------------------------------------------------------------------- */

void peer_answer(peer_cb_t cb, RaftCmdpb__RaftCmdResponse *resp)
{
    if (cb.fn != NULL)
        cb.fn(cb.arg, resp, NULL);
    else
        pb_free(resp);
}

void peer_track_proposal(peer_t *p, peer_cb_t cb)
{
    if (p->n_proposals == p->cap_proposals) {
        p->cap_proposals = p->cap_proposals ? 2 * p->cap_proposals : 8;
        p->proposals = xrealloc(p->proposals, p->cap_proposals * sizeof(peer_proposal_t));
    }
    peer_proposal_t *pr = &p->proposals[p->n_proposals++];
    pr->index = rlog_last_index(&p->rn->raft->log);
    pr->term = p->rn->raft->term;
    pr->cb = cb;
}

void peer_propose(peer_t *p, const RaftCmdpb__RaftCmdRequest *req, peer_cb_t cb)
{
    if (p->broken) {
        peer_answer(cb, cmd_resp_error(0, "peer is broken: its storage failed"));
        return;
    }
    uint64_t term = p->rn->raft->term;
    if (p->destroyed || req->header == NULL || req->header->region_id != p->region_id) {
        peer_answer(cb, cmd_resp_region_not_found(req->header ? req->header->region_id : 0));
        return;
    }
    if (p->ext != NULL && p->ext->check_proposal != NULL) {
        RaftCmdpb__RaftCmdResponse *refused = p->ext->check_proposal(p, req);
        if (refused != NULL) {
            peer_answer(cb, refused);
            return;
        }
    }
    if (peer_read_propose(p, req, cb)) /* Get/Snap through ReadIndex (peer_read.c) */
        return;
    if (req->admin_request != NULL &&
        req->admin_request->cmd_type != RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_COMPACT_LOG) {
        if (p->ext == NULL || p->ext->propose_admin == NULL) {
            peer_answer(cb, cmd_resp_error(term, "admin command not supported before project 3"));
            return;
        }
        p->ext->propose_admin(p, req, cb);
        peer_handle_ready(p);
        return;
    }
    /* LAB 2B BEGIN */
    if (!peer_is_leader(p)) {
        peer_answer(cb, cmd_resp_not_leader(p->region_id, peer_leader(p), term));
        return;
    }
    tkv_buf_t data = TKV_BUF_INIT;
    pb_pack(&req->base, &data);
    tkv_err_t err = rawnode_propose(p->rn, data.data, data.len);
    buf_free(&data);
    if (err != TKV_OK) {
        /* Refused (e.g. a leader transfer is under way): nothing was appended. */
        peer_answer(cb, cmd_resp_not_leader(p->region_id, peer_leader(p), term));
        return;
    }
    /* The entry just appended is the last one of the leader's log. */
    peer_track_proposal(p, cb);
    peer_handle_ready(p);
    /* LAB 2B STUB
    // Only a leader proposes: otherwise answer NotLeader (cmd_resp_not_leader,
    // peer_leader() as the hint). Pack the request (pb_pack), rawnode_propose it,
    // and remember {index, term, cb} with peer_track_proposal(): the new entry is
    // the last of the leader's log. Then handle the Ready it produced.
    (void)term;
    peer_answer(cb, cmd_resp_error(term, "peer_propose: not implemented"));
    LAB 2B END */
}

/* ---- Ready ------------------------------------------------------------------------ */

/* Wraps one Raft message in the envelope other stores route by. */
void peer_send_raft_message(peer_t *p, const raft_message_t *m)
{
    const Metapb__Region *region = p->ps->region;
    const Metapb__Peer *to = pb_region_find_peer(region, m->to);
    Metapb__Peer heard = METAPB__PEER__INIT;
    for (size_t i = 0; to == NULL && i < p->n_heard; i++)
        if (p->heard[i].id == m->to) {
            heard.id = p->heard[i].id;
            heard.store_id = p->heard[i].store_id;
            to = &heard;
        }
    if (to == NULL) {
        char w[64];
        who(p, w, sizeof(w));
        tkv_logf(TKV_LOG_WARN, w, "dropping %s to peer %llu: not in region %llu",
                 raft_msg_type_name(m->type), (unsigned long long)m->to,
                 (unsigned long long)p->region_id);
        return;
    }
    Metapb__Peer from = METAPB__PEER__INIT, dst = METAPB__PEER__INIT;
    from.id = p->peer_id;
    from.store_id = p->store_id;
    dst.id = to->id;
    dst.store_id = to->store_id;
    RaftServerpb__RaftMessage env = RAFT_SERVERPB__RAFT_MESSAGE__INIT;
    env.region_id = p->region_id;
    env.from_peer = &from;
    env.to_peer = &dst;
    env.message = raft_pb_message_to_pb(m);
    env.region_epoch = region->region_epoch;
    env.start_key = region->start_key;
    env.end_key = region->end_key;
    tkv_buf_t bytes = TKV_BUF_INIT;
    pb_pack(&env.base, &bytes);
    eraftpb__message__free_unpacked(env.message, NULL);
    /* Tests crash a store before its N-th send (common/failpoint.h): in the
     * middle of a Ready, after some of its messages left and before it applied. */
    if (FAILPOINT("peer.send") == FAILPOINT_CRASH) {
        buf_free(&bytes);
        return;
    }
    if (p->transport.send != NULL)
        p->transport.send(p->transport.arg, to->store_id, bytes.data, bytes.len);
    buf_free(&bytes);
}

static void mark_broken(peer_t *p, tkv_err_t err)
{
    char w[64];
    who(p, w, sizeof(w));
    tkv_logf(TKV_LOG_ERROR, w, "storage failed, peer stops: %s: %s", tkv_strerror(err),
             tkv_last_error());
    p->broken = 1;
    peer_fail_proposals(p, "stale command: the peer's storage failed");
}

tkv_err_t peer_handle_ready(peer_t *p)
{
    /* Re-entered from a callback: the loop below picks up the new work. */
    if (p->in_ready)
        return TKV_OK;
    /* In the runtime's rounds, the store calls back once the round's input is in. */
    if (store_defer_ready(p->store, p))
        return TKV_OK;
    p->n_ready_calls++;
    /* LAB 2B BEGIN */
    p->in_ready = 1;
    tkv_err_t err = TKV_OK;
    while (err == TKV_OK && !p->broken && !p->destroyed && rawnode_has_ready(p->rn)) {
        raft_ready_t rd;
        err = rawnode_ready(p->rn, &rd);
        if (err != TKV_OK)
            break;
        int snap_applied = 0;
        err = peer_storage_save_ready(p->ps, &rd, &snap_applied);
        if (err == TKV_OK) {
            /* Durable now: safe to promise it to others. */
            for (size_t i = 0; i < rd.n_messages; i++)
                peer_send_raft_message(p, &rd.messages[i]);
            err = peer_apply_entries(p, rd.committed_entries, rd.n_committed_entries);
        }
        if (err == TKV_OK && p->destroyed) {
            raft_ready_free(&rd); /* removed from the region: nothing more to do */
            break;
        }
        if (err != TKV_OK) {
            raft_ready_free(&rd);
            mark_broken(p, err);
            break;
        }
        rawnode_advance(p->rn, &rd);
        raft_ready_free(&rd);
        int leader = peer_is_leader(p);
        if (p->was_leader && !leader)
            peer_fail_proposals(p, "stale command: the peer lost leadership before the "
                                   "command applied; it may still apply");
        p->was_leader = leader;
    }
    p->in_ready = 0;
    return err;
    /* LAB 2B STUB
    // While the core has a Ready: save it (peer_storage_save_ready), then send its
    // messages (peer_send_raft_message), then apply its committed entries
    // (peer_apply_entries), then rawnode_advance. A peer destroyed while applying
    // (3B: removed from its region) stops at once: its data is gone. A storage error: mark_broken.
    // A leader that stepped down answers its waiting proposals (peer_fail_proposals).
    (void)peer_send_raft_message;
    (void)mark_broken;
    return tkv_not_implemented("peer_handle_ready");
    LAB 2B END */
}
