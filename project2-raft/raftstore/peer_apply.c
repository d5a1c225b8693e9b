/*
 * Applying committed entries (peer.h, step 3 of a Ready).
 *
 * Each entry is one RaftCmdRequest (or an empty entry a new leader commits
 * to learn what is committed). Applying it is one kv DB write holding its
 * changes and the new apply state together: after a crash the state
 * machine is exactly "everything up to applied_index", never half an entry.
 * Every replica applies the same entries in the same order and reaches the
 * same state; only the leader that proposed an entry has a callback for it.
 *
 * With project 3B's extension (store_ext.h), each entry is offered to its
 * apply_entry hook first: admin commands other than CompactLog, conf
 * changes, and data commands that no longer fit the region are its
 * business; everything else comes here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "project2-raft/raftstore/cmd_resp.h"
#include "project2-raft/raftstore/pb_util.h"
#include "project2-raft/raftstore/store_ext.h"

/* LAB 2B BEGIN */
static const char *cf_or_default(const char *cf)
{
    return (cf == NULL || *cf == '\0') ? CF_DEFAULT : cf;
}

/* The waiting proposal for entry `e`, removed from the list, or NULL.
 * Proposals before it never got their slot (a new leader overwrote them):
 * they are answered StaleCommand on the way. */
static int take_proposal(peer_t *p, const raft_entry_t *e, peer_proposal_t *out)
{
    while (p->n_proposals > 0) {
        peer_proposal_t pr = p->proposals[0];
        if (pr.index > e->index)
            return 0;
        p->n_proposals--;
        memmove(p->proposals, p->proposals + 1, p->n_proposals * sizeof(pr));
        if (pr.index == e->index && pr.term == e->term) {
            *out = pr;
            return 1;
        }
        if (pr.cb.fn != NULL)
            pr.cb.fn(pr.cb.arg,
                     cmd_resp_stale(p->rn->raft->term,
                                    "stale command: its log slot went to another leader's entry"),
                     NULL);
    }
    return 0;
}

/* Adds a command's writes to `wb`; a bad column family fails the whole
 * command, on every replica alike, before anything is written. */
static const char *stage_writes(const RaftCmdpb__RaftCmdRequest *req, eng_batch_t *wb)
{
    for (size_t i = 0; i < req->n_requests; i++) {
        const RaftCmdpb__Request *r = req->requests[i];
        const char *cf = NULL;
        if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_PUT && r->put != NULL)
            cf = cf_or_default(r->put->cf);
        else if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_DELETE && r->delete_ != NULL)
            cf = cf_or_default(r->delete_->cf);
        else if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_GET && r->get != NULL)
            cf = cf_or_default(r->get->cf);
        else if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_SNAP)
            continue;
        else
            return "malformed request in command";
        if (!eng_cf_valid(cf))
            return "unknown column family";
    }
    for (size_t i = 0; i < req->n_requests; i++) {
        const RaftCmdpb__Request *r = req->requests[i];
        if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_PUT)
            eng_batch_put(wb, cf_or_default(r->put->cf),
                          slice_of(r->put->key.data, r->put->key.len),
                          slice_of(r->put->value.data, r->put->value.len));
        else if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_DELETE)
            eng_batch_delete(wb, cf_or_default(r->delete_->cf),
                             slice_of(r->delete_->key.data, r->delete_->key.len));
    }
    return NULL;
}

/* The answer to a data command, after its writes reached the kv DB: reads
 * see the state as of this entry. */
static RaftCmdpb__RaftCmdResponse *build_response(peer_t *p, const RaftCmdpb__RaftCmdRequest *req,
                                                  eng_snap_t **snap)
{
    RaftCmdpb__RaftCmdResponse *resp = cmd_resp_new(p->rn->raft->term);
    for (size_t i = 0; i < req->n_requests; i++) {
        const RaftCmdpb__Request *r = req->requests[i];
        RaftCmdpb__Response *out = cmd_resp_add(resp, r->cmd_type);
        if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_GET) {
            tkv_buf_t v = TKV_BUF_INIT;
            tkv_err_t err = eng_get(p->ps->kv_db, cf_or_default(r->get->cf),
                                    slice_of(r->get->key.data, r->get->key.len), &v);
            if (err == TKV_OK) {
                out->get->value.len = v.len;
                out->get->value.data = v.len ? buf_take(&v) : NULL;
            }
            buf_free(&v);
            if (err != TKV_OK && err != TKV_ERR_NOT_FOUND) {
                /* A read that failed is not an absent key: an empty value
                 * here would be a wrong answer the client cannot tell. */
                char why[300];
                snprintf(why, sizeof(why), "Get failed in the kv DB: %s: %s", tkv_strerror(err),
                         tkv_last_error());
                pb_free(resp);
                if (*snap != NULL)
                    eng_snapshot_free(*snap);
                *snap = NULL;
                return cmd_resp_error(p->rn->raft->term, why);
            }
        } else if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_SNAP) {
            out->snap->region = pb_region_dup(p->ps->region);
            if (*snap == NULL)
                *snap = eng_snapshot(p->ps->kv_db);
        }
    }
    return resp;
}
/* LAB 2B END */

/* CompactLog: the log up to compact_index is in the state machine, so
 * Raft may forget it. Only the apply state changes here (in the entry's
 * batch); the entries are deleted from the raft DB after the write. Returns
 * the index to GC up to, or 0. */
static uint64_t apply_compact_log(peer_t *p, const RaftCmdpb__AdminRequest *admin,
                                  uint64_t entry_index)
{
    /* LAB 2C BEGIN */
    const RaftCmdpb__CompactLogRequest *c = admin->compact_log;
    if (c == NULL || c->compact_index <= p->ps->truncated_index || c->compact_index >= entry_index)
        return 0; /* already truncated further, or nonsense: a no-op on every replica */
    p->ps->truncated_index = c->compact_index;
    p->ps->truncated_term = c->compact_term;
    return c->compact_index;
    /* LAB 2C STUB
    // Move the truncated state to (compact_index, compact_term) when it is newer;
    // return the index so the caller deletes the log up to it after the write.
    (void)p;
    (void)admin;
    (void)entry_index;
    return 0;
    LAB 2C END */
}

static RaftCmdpb__RaftCmdResponse *admin_response(uint64_t term, RaftCmdpb__AdminCmdType type)
{
    RaftCmdpb__RaftCmdResponse *resp = cmd_resp_new(term);
    resp->admin_response = xmalloc(sizeof(*resp->admin_response));
    raft_cmdpb__admin_response__init(resp->admin_response);
    resp->admin_response->cmd_type = type;
    return resp;
}

static tkv_err_t apply_one(peer_t *p, const raft_entry_t *e)
{
    /* LAB 2B BEGIN */
    RaftCmdpb__RaftCmdRequest *req = NULL;
    if (e->type == RAFT_ENTRY_NORMAL && e->len > 0) {
        req = raft_cmdpb__raft_cmd_request__unpack(NULL, e->len, e->data);
        if (req == NULL)
            tkv_logf(TKV_LOG_WARN, "apply", "region %llu: entry %llu does not decode; skipped",
                     (unsigned long long)p->region_id, (unsigned long long)e->index);
    }
    peer_proposal_t pr;
    int have_pr = take_proposal(p, e, &pr);
    eng_batch_t *wb = eng_batch_new();
    const char *bad = NULL;
    uint64_t gc_to = 0;
    /* What the kv DB holds, put back if the write fails: memory never runs
     * ahead of the disk (CompactLog moves the truncated state below). */
    uint64_t old_applied = p->ps->applied_index;
    uint64_t old_truncated = p->ps->truncated_index, old_truncated_term = p->ps->truncated_term;
    int is_admin = req != NULL && req->admin_request != NULL;
    if (is_admin) {
        if (req->admin_request->cmd_type == RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_COMPACT_LOG)
            gc_to = apply_compact_log(p, req->admin_request, e->index);
        else
            bad = "admin command not supported before project 3";
    } else if (req != NULL) {
        bad = stage_writes(req, wb);
        if (bad != NULL)
            eng_batch_clear(wb); /* nothing of a failed command applies */
    }
    p->ps->applied_index = e->index;
    peer_storage_put_apply_state(p->ps, wb);
    tkv_err_t err = eng_write(p->ps->kv_db, wb, p->ps->sync);
    eng_batch_free(wb);
    if (err != TKV_OK) {
        p->ps->applied_index = old_applied;
        p->ps->truncated_index = old_truncated;
        p->ps->truncated_term = old_truncated_term;
        if (have_pr && pr.cb.fn != NULL)
            pr.cb.fn(pr.cb.arg, cmd_resp_error(0, "apply failed: the kv DB write failed"), NULL);
        pb_free(req);
        return err;
    }
    if (gc_to > 0)
        err = peer_storage_gc_log(p->ps, gc_to);
    if (have_pr && pr.cb.fn != NULL) {
        uint64_t term = p->rn->raft->term;
        eng_snap_t *snap = NULL;
        RaftCmdpb__RaftCmdResponse *resp;
        if (req == NULL)
            resp = cmd_resp_error(term, "command did not decode");
        else if (bad != NULL)
            resp = cmd_resp_error(term, bad);
        else if (is_admin)
            resp = admin_response(term, req->admin_request->cmd_type);
        else
            resp = build_response(p, req, &snap);
        pr.cb.fn(pr.cb.arg, resp, snap);
    }
    pb_free(req);
    return err;
    /* LAB 2B STUB
    // Decode the entry (an empty one is a new leader's no-op), stage its writes
    // in a kv batch with the new apply state (peer_storage_put_apply_state), write
    // it, then answer the proposal waiting for this index: the result if its term
    // matches the entry's, StaleCommand otherwise; earlier proposals that never
    // got their slot are stale too. Reads (Get, Snap) read after the write.
    (void)p;
    (void)e;
    (void)admin_response;
    (void)apply_compact_log;
    return tkv_not_implemented("apply_one");
    LAB 2B END */
}

tkv_err_t peer_apply_entries(peer_t *p, const raft_entry_t *ents, size_t n)
{
    for (size_t i = 0; i < n && !p->destroyed; i++) {
        if (ents[i].index <= p->ps->applied_index)
            continue; /* in the state machine already (a snapshot covered it) */
        tkv_err_t err = TKV_OK;
        if (p->ext != NULL && p->ext->apply_entry != NULL &&
            p->ext->apply_entry(p, &ents[i], &err)) {
            if (err != TKV_OK)
                return err;
            continue;
        }
        err = apply_one(p, &ents[i]);
        if (err != TKV_OK)
            return err;
    }
    return TKV_OK;
}

void peer_maybe_compact_log(peer_t *p)
{
    /* LAB 2C BEGIN */
    if (!peer_is_leader(p) || p->cfg.raft_log_gc_count_limit == 0)
        return;
    uint64_t applied = p->ps->applied_index;
    if (applied <= p->ps->truncated_index + p->cfg.raft_log_gc_count_limit)
        return;
    uint64_t term = 0;
    if (peer_storage_term(p->ps, applied, &term) != TKV_OK)
        return;
    RaftCmdpb__CompactLogRequest c = RAFT_CMDPB__COMPACT_LOG_REQUEST__INIT;
    c.compact_index = applied;
    c.compact_term = term;
    RaftCmdpb__AdminRequest admin = RAFT_CMDPB__ADMIN_REQUEST__INIT;
    admin.cmd_type = RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_COMPACT_LOG;
    admin.compact_log = &c;
    RaftCmdpb__RaftRequestHeader h = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    h.region_id = p->region_id;
    RaftCmdpb__RaftCmdRequest req = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    req.header = &h;
    req.admin_request = &admin;
    peer_cb_t none = { NULL, NULL };
    p->n_compact_proposed++;
    peer_propose(p, &req, none);
    /* LAB 2C STUB
    // On the leader, once applied_index - truncated_index exceeds
    // cfg.raft_log_gc_count_limit, propose an admin CompactLog request at the
    // applied index and its term (no callback needed).
    (void)p;
    LAB 2C END */
}
