/*
 * Project 3B at apply time: the store's apply_entry hook (store_ext.h).
 *
 * Every committed entry passes here before project 2's apply sees it:
 *
 *   conf change      ChangePeer: the region's peers and conf_ver change in
 *                    the same kv batch as the apply state; then the Raft
 *                    core's membership; a peer that removed itself is
 *                    destroyed (peer_life.c).
 *   Split            both regions' states (version + 1 each) in one batch
 *                    with the apply state; then the new region's peer on
 *                    this store starts, unless one already holds data.
 *   data command     checked again against the region as it is now (a
 *                    split or conf change may have committed since it was
 *                    proposed); if it fails, it applies as a no-op with its
 *                    error answer, on every replica alike. Otherwise 2B's.
 *
 * After a crash, a store holds either everything an entry did or nothing:
 * the region states and the apply state are one write.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "project2-raft/raft/raft_pb.h"
#include "project2-raft/raftstore/keys.h"
#include "project3-multiraft/raftstore/mr_internal.h"

int mr_take_proposal(peer_t *p, const raft_entry_t *e, peer_cb_t *out)
{
    while (p->n_proposals > 0) {
        peer_proposal_t pr = p->proposals[0];
        if (pr.index > e->index)
            return 0;
        p->n_proposals--;
        memmove(p->proposals, p->proposals + 1, p->n_proposals * sizeof(pr));
        if (pr.index == e->index && pr.term == e->term) {
            *out = pr.cb;
            return 1;
        }
        peer_answer(pr.cb, cmd_resp_stale(peer_term(p), "stale command: its log slot went to "
                                                        "another leader's entry"));
    }
    return 0;
}

tkv_err_t mr_write_applied(peer_t *p, const raft_entry_t *e, eng_batch_t *wb)
{
    uint64_t old = p->ps->applied_index;
    p->ps->applied_index = e->index;
    peer_storage_put_apply_state(p->ps, wb);
    tkv_err_t err = eng_write(p->ps->kv_db, wb, p->ps->sync);
    if (err != TKV_OK)
        p->ps->applied_index = old;
    return err;
}

void mr_set_region(peer_t *p, const Metapb__Region *region)
{
    Metapb__Region *copy = pb_region_dup(region);
    pb_free(p->ps->region);
    p->ps->region = copy;
}

/* A region state for `region` in kv batch wb. */
static void put_region_state(const Metapb__Region *region, RaftServerpb__PeerState state,
                             eng_batch_t *wb)
{
    RaftServerpb__RegionLocalState st = RAFT_SERVERPB__REGION_LOCAL_STATE__INIT;
    st.state = state;
    st.region = (Metapb__Region *)region;
    tkv_buf_t key = TKV_BUF_INIT;
    keys_region_state_key(&key, region->id);
    eng_batch_put_msg(wb, buf_slice(&key), &st.base);
    buf_free(&key);
}

/* A new region's apply state: nothing applied past the initial log point. */
static void put_initial_apply_state(uint64_t region_id, eng_batch_t *wb)
{
    RaftServerpb__RaftTruncatedState ts = RAFT_SERVERPB__RAFT_TRUNCATED_STATE__INIT;
    ts.index = RAFT_INIT_LOG_INDEX;
    ts.term = RAFT_INIT_LOG_TERM;
    RaftServerpb__RaftApplyState st = RAFT_SERVERPB__RAFT_APPLY_STATE__INIT;
    st.applied_index = RAFT_INIT_LOG_INDEX;
    st.truncated_state = &ts;
    tkv_buf_t key = TKV_BUF_INIT;
    keys_apply_state_key(&key, region_id);
    eng_batch_put_msg(wb, buf_slice(&key), &st.base);
    buf_free(&key);
}

/* The entry applies as a no-op: only the apply state moves, and the
 * proposer (if any) gets `resp`. */
static tkv_err_t apply_refused(peer_t *p, const raft_entry_t *e, int have, peer_cb_t cb,
                               RaftCmdpb__RaftCmdResponse *resp)
{
    eng_batch_t *wb = eng_batch_new();
    tkv_err_t err = mr_write_applied(p, e, wb);
    eng_batch_free(wb);
    if (have)
        peer_answer(cb, resp);
    else
        pb_free(resp);
    return err;
}

/* LAB 3B BEGIN */
static Metapb__Peer *new_peer(uint64_t id, uint64_t store_id)
{
    Metapb__Peer *pe = xmalloc(sizeof(*pe));
    metapb__peer__init(pe);
    pe->id = id;
    pe->store_id = store_id;
    return pe;
}

/* Adds or removes the peer in `r` (a copy we own); 1 if it changed. */
static int change_members(Metapb__Region *r, const raft_conf_change_t *cc, uint64_t store_id)
{
    size_t at = r->n_peers;
    for (size_t i = 0; i < r->n_peers; i++)
        if (r->peers[i]->id == cc->node_id)
            at = i;
    if (cc->type == RAFT_CONF_ADD_NODE) {
        if (at < r->n_peers || store_id == 0)
            return 0;
        r->peers = xrealloc(r->peers, (r->n_peers + 1) * sizeof(Metapb__Peer *));
        r->peers[r->n_peers++] = new_peer(cc->node_id, store_id);
    } else {
        if (at == r->n_peers)
            return 0;
        pb_free(r->peers[at]);
        memmove(r->peers + at, r->peers + at + 1, (r->n_peers - at - 1) * sizeof(Metapb__Peer *));
        r->n_peers--;
    }
    r->region_epoch->conf_ver++;
    return 1;
}
/* LAB 3B END */

static tkv_err_t apply_conf_change(peer_t *p, const raft_entry_t *e)
{
    raft_conf_change_t cc;
    memset(&cc, 0, sizeof(cc));
    peer_cb_t cb = { NULL, NULL };
    if (raft_pb_decode_conf_change(e->data, e->len, &cc) != TKV_OK) {
        int have = mr_take_proposal(p, e, &cb);
        return apply_refused(p, e, have, cb,
                             cmd_resp_error(peer_term(p), "conf change did not decode"));
    }
    RaftCmdpb__RaftCmdRequest *req =
        cc.context_len ? raft_cmdpb__raft_cmd_request__unpack(NULL, cc.context_len, cc.context)
                       : NULL;
    /* LAB 3B BEGIN */
    int have = mr_take_proposal(p, e, &cb);
    tkv_err_t err = TKV_OK;
    RaftCmdpb__RaftCmdResponse *refused = NULL;
    const RaftCmdpb__ChangePeerRequest *c =
        req && req->admin_request ? req->admin_request->change_peer : NULL;
    if (c == NULL || c->peer == NULL)
        refused = cmd_resp_error(peer_term(p), "conf change without its ChangePeer command");
    else
        refused = mr_check_epoch(p, peer_region(p), req);
    if (refused != NULL) {
        err = apply_refused(p, e, have, cb, refused);
        raft_conf_change_free(&cc);
        pb_free(req);
        return err;
    }
    Metapb__Region *next = pb_region_dup(peer_region(p));
    int changed = change_members(next, &cc, c->peer->store_id);
    int removed_self = changed && cc.type == RAFT_CONF_REMOVE_NODE && cc.node_id == peer_id(p);
    /* A peer that removed itself writes its tombstone instead, in one write
     * (mr_destroy_peer, below): a crash before it re-applies the removal. */
    if (!removed_self) {
        eng_batch_t *wb = eng_batch_new();
        put_region_state(next, RAFT_SERVERPB__PEER_STATE__PEER_NORMAL, wb);
        err = mr_write_applied(p, e, wb);
        eng_batch_free(wb);
    }
    if (err == TKV_OK) {
        mr_set_region(p, next);
        if (changed)
            err = rawnode_apply_conf_change(p->rn, &cc, NULL);
        mr_report_soon(p);
        tkv_logf(TKV_LOG_INFO, "multiraft", "region %llu: %s peer %llu at %llu, conf_ver %llu",
                 (unsigned long long)peer_region_id(p),
                 cc.type == RAFT_CONF_ADD_NODE ? "added" : "removed",
                 (unsigned long long)cc.node_id, (unsigned long long)e->index,
                 (unsigned long long)next->region_epoch->conf_ver);
    }
    if (have) {
        RaftCmdpb__RaftCmdResponse *resp =
            err == TKV_OK
                ? mr_resp_admin(peer_term(p), RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_CHANGE_PEER)
                : cmd_resp_error(peer_term(p), "conf change failed to apply");
        if (err == TKV_OK) {
            resp->admin_response->change_peer = xmalloc(sizeof(RaftCmdpb__ChangePeerResponse));
            raft_cmdpb__change_peer_response__init(resp->admin_response->change_peer);
            resp->admin_response->change_peer->region = pb_region_dup(next);
        }
        peer_answer(cb, resp);
    }
    pb_free(next);
    if (err == TKV_OK && removed_self)
        err = mr_destroy_peer(p, "removed from its region");
    /* LAB 3B STUB
    // Take the waiting proposal (mr_take_proposal). Check the command's epoch
    // again (mr_check_epoch): a stale one applies as a no-op (apply_refused).
    // Otherwise, on a copy of the region: add or remove the peer (an added one
    // with the store named in the command; nothing changes if it is already
    // there, or already gone) and bump conf_ver if something changed. Write the
    // new region state (put_region_state) with the apply state in ONE batch
    // (mr_write_applied); only then change memory (mr_set_region) and the Raft
    // core (rawnode_apply_conf_change), and report the region (mr_report_soon).
    // Answer the proposal with the new region. A peer that removed itself
    // writes nothing here: it is destroyed last (mr_destroy_peer), whose one
    // write leaves the tombstone, so a crash in between re-applies the removal.
    (void)put_region_state;
    int have = mr_take_proposal(p, e, &cb);
    RaftCmdpb__RaftCmdResponse *todo = cmd_resp_error(peer_term(p), "not implemented");
    tkv_err_t err = apply_refused(p, e, have, cb, todo);
    LAB 3B END */
    raft_conf_change_free(&cc);
    pb_free(req);
    return err;
}

static tkv_err_t apply_split(peer_t *p, const raft_entry_t *e, const RaftCmdpb__RaftCmdRequest *req)
{
    peer_cb_t cb = { NULL, NULL };
    int have = mr_take_proposal(p, e, &cb);
    /* LAB 3B BEGIN */
    const Metapb__Region *cur = peer_region(p);
    const RaftCmdpb__SplitRequest *sp = req->admin_request->split;
    RaftCmdpb__RaftCmdResponse *refused = mr_check_epoch(p, cur, req);
    if (refused == NULL && (sp == NULL || sp->n_new_peer_ids != cur->n_peers))
        refused = cmd_resp_error(peer_term(p), "split: needs one new peer id per peer");
    if (refused == NULL && (!mr_key_in_region(cur, sp->split_key.data, sp->split_key.len) ||
                            slice_compare(slice_of(sp->split_key.data, sp->split_key.len),
                                          slice_of(cur->start_key.data, cur->start_key.len)) == 0))
        refused =
            mr_resp_key_not_in_region(peer_term(p), sp->split_key.data, sp->split_key.len, cur);
    if (refused != NULL)
        return apply_refused(p, e, have, cb, refused);
    Metapb__Region *left = pb_region_dup(cur), *right = pb_region_dup(cur);
    free(left->end_key.data);
    left->end_key.data = bytes_dup(sp->split_key.data, sp->split_key.len);
    left->end_key.len = sp->split_key.len;
    free(right->start_key.data);
    right->start_key.data = bytes_dup(sp->split_key.data, sp->split_key.len);
    right->start_key.len = sp->split_key.len;
    right->id = sp->new_region_id;
    for (size_t i = 0; i < right->n_peers; i++)
        right->peers[i]->id = sp->new_peer_ids[i];
    left->region_epoch->version++;
    right->region_epoch->version++;
    store_t *s = peer_store(p);
    /* A state for the new region here already means its peer got a snapshot
     * (it holds newer data than this split would give it) or was created and
     * then removed (a tombstone): either way, leave it alone. */
    RaftServerpb__RegionLocalState *known = mr_load_region_state(s, right->id);
    int create = known == NULL;
    pb_free(known);
    eng_batch_t *wb = eng_batch_new();
    put_region_state(left, RAFT_SERVERPB__PEER_STATE__PEER_NORMAL, wb);
    if (create) {
        put_region_state(right, RAFT_SERVERPB__PEER_STATE__PEER_NORMAL, wb);
        put_initial_apply_state(right->id, wb);
    }
    tkv_err_t err = mr_write_applied(p, e, wb);
    eng_batch_free(wb);
    if (err == TKV_OK) {
        mr_set_region(p, left);
        mr_store(s)->stats.splits_applied++;
        mr_report_soon(p);
        tkv_logf(TKV_LOG_INFO, "multiraft", "region %llu split at %llu: new region %llu%s",
                 (unsigned long long)peer_region_id(p), (unsigned long long)e->index,
                 (unsigned long long)right->id, create ? "" : " (already here)");
    }
    if (err == TKV_OK && create) {
        peer_t *np = NULL;
        err = store_open_peer(s, right->id, &np);
        if (err == TKV_OK) {
            mr_report_soon(np);
            /* The old leader's store leads the new region too, soonest. */
            if (peer_is_leader(p))
                err = peer_campaign(np);
        }
    }
    if (have) {
        RaftCmdpb__RaftCmdResponse *resp =
            err == TKV_OK ? mr_resp_admin(peer_term(p), RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_SPLIT)
                          : cmd_resp_error(peer_term(p), "split failed to apply");
        if (err == TKV_OK) {
            RaftCmdpb__SplitResponse *sr = xmalloc(sizeof(*sr));
            raft_cmdpb__split_response__init(sr);
            sr->regions = xmalloc(2 * sizeof(Metapb__Region *));
            sr->regions[0] = pb_region_dup(left);
            sr->regions[1] = pb_region_dup(right);
            sr->n_regions = 2;
            resp->admin_response->split = sr;
        }
        peer_answer(cb, resp);
    }
    pb_free(left);
    pb_free(right);
    return err;
    /* LAB 3B STUB
    // Check the epoch again (mr_check_epoch: a split changes the version) and
    // that the key still cuts the region in two, with one new peer id per peer;
    // a failed check applies as a no-op (apply_refused). Otherwise build the two
    // halves: the old region keeps [start, key), the new one takes [key, end)
    // with the new id and peer ids (same stores, same order); both versions + 1.
    // In ONE batch with the apply state (mr_write_applied): the old region's
    // state, and, unless the kv DB already has a state for the new region
    // (mr_load_region_state), the new one's (put_region_state) and its initial
    // apply state (put_initial_apply_state). Then mr_set_region, and start the
    // new region's peer here (store_open_peer), campaigning at once if this
    // peer leads. Answer with both regions.
    (void)put_initial_apply_state;
    (void)req;
    return apply_refused(p, e, have, cb, cmd_resp_error(peer_term(p), "split: not implemented"));
    LAB 3B END */
}

int mr_apply_entry(peer_t *p, const raft_entry_t *e, tkv_err_t *err)
{
    *err = TKV_OK;
    if (e->type == RAFT_ENTRY_CONF_CHANGE) {
        *err = apply_conf_change(p, e);
        return 1;
    }
    if (e->len == 0)
        return 0;
    RaftCmdpb__RaftCmdRequest *req = raft_cmdpb__raft_cmd_request__unpack(NULL, e->len, e->data);
    if (req == NULL)
        return 0; /* 2B reports it */
    int handled = 1;
    if (req->admin_request != NULL) {
        switch (req->admin_request->cmd_type) {
        case RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_COMPACT_LOG:
            handled = 0;
            break;
        case RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_SPLIT:
            *err = apply_split(p, e, req);
            break;
        default: {
            /* TransferLeader is never replicated; anything else is unknown. */
            peer_cb_t cb;
            int have = mr_take_proposal(p, e, &cb);
            *err = apply_refused(p, e, have, cb,
                                 cmd_resp_error(peer_term(p), "admin command cannot be applied"));
        }
        }
    } else {
        RaftCmdpb__RaftCmdResponse *resp = NULL;
        if (req->header != NULL)
            resp = mr_check_epoch(p, peer_region(p), req);
        if (resp == NULL)
            resp = mr_check_keys(p, peer_region(p), req);
        if (resp != NULL) {
            peer_cb_t cb;
            int have = mr_take_proposal(p, e, &cb);
            *err = apply_refused(p, e, have, cb, resp);
        } else {
            handled = 0;
        }
    }
    pb_free(req);
    return handled;
}
