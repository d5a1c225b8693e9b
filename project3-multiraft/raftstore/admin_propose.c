/*
 * The admin commands of project 3B, at propose time (on the leader):
 *
 *   TransferLeader  answered here and never replicated: the Raft core is
 *                   asked to hand leadership to the named peer (3A) and the
 *                   client is told at once; whether it worked shows later.
 *   ChangePeer      proposed as a conf-change entry whose context is the
 *                   whole command, so every replica can check its epoch
 *                   and learn the peer's store when it applies.
 *   Split           proposed as a normal entry holding the command.
 *
 * A ChangePeer that would remove the leader itself is not proposed: the
 * leader first hands leadership to another peer and answers NotLeader, so
 * the scheduler retries with the new leader, which can remove the old one
 * safely (a leader that commits its own removal may leave the others
 * unaware of the commit).
 */
#include <stdlib.h>
#include <string.h>

#include "project2-raft/raft/raft_pb.h"
#include "project3-multiraft/raftstore/mr_internal.h"

/* LAB 3B BEGIN */
static void propose_transfer_leader(peer_t *p, const RaftCmdpb__RaftCmdRequest *req, peer_cb_t cb)
{
    const RaftCmdpb__TransferLeaderRequest *t = req->admin_request->transfer_leader;
    if (t == NULL || t->peer == NULL || pb_region_find_peer(peer_region(p), t->peer->id) == NULL) {
        peer_answer(cb,
                    cmd_resp_error(peer_term(p), "transfer leader: no such peer in the region"));
        return;
    }
    rawnode_transfer_leader(p->rn, t->peer->id);
    peer_answer(cb, mr_resp_admin(peer_term(p), RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_TRANSFER_LEADER));
}

/* Another peer of the region to hand leadership to (the first that is not us). */
static uint64_t other_peer(const peer_t *p)
{
    const Metapb__Region *r = peer_region(p);
    for (size_t i = 0; i < r->n_peers; i++)
        if (r->peers[i]->id != peer_id(p))
            return r->peers[i]->id;
    return 0;
}

static void propose_change_peer(peer_t *p, const RaftCmdpb__RaftCmdRequest *req, peer_cb_t cb)
{
    const RaftCmdpb__ChangePeerRequest *c = req->admin_request->change_peer;
    uint64_t term = peer_term(p);
    if (c == NULL || c->peer == NULL || c->peer->id == 0 || c->peer->store_id == 0) {
        peer_answer(cb, cmd_resp_error(term, "change peer: the command names no peer"));
        return;
    }
    if (p->rn->raft->pending_conf_index > peer_storage(p)->applied_index) {
        peer_answer(cb, cmd_resp_error(term, "change peer: another conf change is still pending"));
        return;
    }
    int remove = c->change_type == ERAFTPB__CONF_CHANGE_TYPE__REMOVE_NODE;
    if (remove && c->peer->id == peer_id(p)) {
        uint64_t to = other_peer(p);
        if (to != 0)
            rawnode_transfer_leader(p->rn, to);
        peer_answer(cb, cmd_resp_not_leader(peer_region_id(p),
                                            pb_region_find_peer(peer_region(p), to), term));
        return;
    }
    raft_conf_change_t cc;
    memset(&cc, 0, sizeof(cc));
    cc.type = remove ? RAFT_CONF_REMOVE_NODE : RAFT_CONF_ADD_NODE;
    cc.node_id = c->peer->id;
    tkv_buf_t ctx = TKV_BUF_INIT;
    pb_pack(&req->base, &ctx);
    cc.context = ctx.data;
    cc.context_len = ctx.len;
    tkv_err_t err = rawnode_propose_conf_change(p->rn, &cc);
    buf_free(&ctx);
    if (err != TKV_OK) {
        peer_answer(cb, cmd_resp_not_leader(peer_region_id(p), peer_leader(p), term));
        return;
    }
    peer_track_proposal(p, cb);
}

static void propose_split(peer_t *p, const RaftCmdpb__RaftCmdRequest *req, peer_cb_t cb)
{
    const RaftCmdpb__SplitRequest *sp = req->admin_request->split;
    const Metapb__Region *r = peer_region(p);
    uint64_t term = peer_term(p);
    if (sp == NULL || sp->new_region_id == 0 || sp->n_new_peer_ids != r->n_peers) {
        peer_answer(cb,
                    cmd_resp_error(term, "split: needs a new region id and one peer id per peer"));
        return;
    }
    /* The key must cut the range in two non-empty halves. */
    if (!mr_key_in_region(r, sp->split_key.data, sp->split_key.len) ||
        slice_compare(slice_of(sp->split_key.data, sp->split_key.len),
                      slice_of(r->start_key.data, r->start_key.len)) == 0) {
        peer_answer(cb, mr_resp_key_not_in_region(term, sp->split_key.data, sp->split_key.len, r));
        return;
    }
    tkv_buf_t data = TKV_BUF_INIT;
    pb_pack(&req->base, &data);
    tkv_err_t err = rawnode_propose(p->rn, data.data, data.len);
    buf_free(&data);
    if (err != TKV_OK) {
        peer_answer(cb, cmd_resp_not_leader(peer_region_id(p), peer_leader(p), term));
        return;
    }
    peer_track_proposal(p, cb);
}
/* LAB 3B END */

void mr_propose_admin(peer_t *p, const RaftCmdpb__RaftCmdRequest *req, peer_cb_t cb)
{
    if (!peer_is_leader(p)) {
        peer_answer(cb, cmd_resp_not_leader(peer_region_id(p), peer_leader(p), peer_term(p)));
        return;
    }
    /* LAB 3B BEGIN */
    switch (req->admin_request->cmd_type) {
    case RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_TRANSFER_LEADER:
        propose_transfer_leader(p, req, cb);
        return;
    case RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_CHANGE_PEER:
        propose_change_peer(p, req, cb);
        return;
    case RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_SPLIT:
        propose_split(p, req, cb);
        return;
    default:
        break;
    }
    /* LAB 3B STUB
    // TransferLeader: ask the core to transfer (rawnode_transfer_leader) and
    // answer at once (mr_resp_admin); it is never replicated.
    // ChangePeer: refuse while a conf change is pending (raft's
    // pending_conf_index > applied index); removing yourself, hand leadership to
    // another peer first and answer NotLeader; otherwise propose a conf change
    // (rawnode_propose_conf_change) whose context is the packed command (pb_pack)
    // and remember it (peer_track_proposal).
    // Split: check the new ids (one per peer) and that the key cuts the region in
    // two non-empty halves (mr_resp_key_not_in_region otherwise), then propose the
    // packed command as a normal entry and remember it.
    (void)req;
    LAB 3B END */
    peer_answer(cb,
                cmd_resp_error(peer_term(p),
                               "admin command not supported here (unknown, or not implemented)"));
}
