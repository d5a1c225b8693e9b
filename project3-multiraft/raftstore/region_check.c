/*
 * Region epochs and key ranges: is this command still meant for this
 * region as it is now?
 *
 * A region's epoch is two counters. conf_ver grows with every membership
 * change (ChangePeer), version with every change of the key range (Split).
 * A client names the epoch it believes in; when that is not the region's,
 * the client's view is out of date and the command is refused with
 * EpochNotMatch (carrying the region as this store knows it, so the client
 * can refresh). Which counter matters depends on the command: data commands
 * care about the range (version), ChangePeer about the members (conf_ver),
 * Split about the range, TransferLeader about both, CompactLog about none.
 *
 * The check runs twice: when the command is proposed (cheap refusal) and
 * again when it is applied, because entries proposed before a split or a
 * conf change may commit after it, and then they must fail on every
 * replica alike.
 */
#include <stdlib.h>
#include <string.h>

#include "project3-multiraft/raftstore/mr_internal.h"

int mr_key_in_region(const Metapb__Region *r, const uint8_t *key, size_t len)
{
    tkv_slice_t k = slice_of(key, len);
    if (slice_compare(k, slice_of(r->start_key.data, r->start_key.len)) < 0)
        return 0;
    return r->end_key.len == 0 || slice_compare(k, slice_of(r->end_key.data, r->end_key.len)) < 0;
}

static Errorpb__Error *new_error(RaftCmdpb__RaftCmdResponse *resp, const char *msg)
{
    Errorpb__Error *e = xmalloc(sizeof(*e));
    errorpb__error__init(e);
    e->message = strdup(msg);
    resp->header->error = e;
    return e;
}

RaftCmdpb__RaftCmdResponse *mr_resp_epoch_not_match(uint64_t term, const char *why,
                                                    const Metapb__Region *const *regions, size_t n)
{
    RaftCmdpb__RaftCmdResponse *resp = cmd_resp_new(term);
    Errorpb__Error *e = new_error(resp, why);
    e->epoch_not_match = xmalloc(sizeof(*e->epoch_not_match));
    errorpb__epoch_not_match__init(e->epoch_not_match);
    e->epoch_not_match->current_regions = n ? xmalloc(n * sizeof(Metapb__Region *)) : NULL;
    for (size_t i = 0; i < n; i++)
        e->epoch_not_match->current_regions[i] = pb_region_dup(regions[i]);
    e->epoch_not_match->n_current_regions = n;
    return resp;
}

RaftCmdpb__RaftCmdResponse *mr_resp_key_not_in_region(uint64_t term, const uint8_t *key, size_t len,
                                                      const Metapb__Region *region)
{
    RaftCmdpb__RaftCmdResponse *resp = cmd_resp_new(term);
    Errorpb__Error *e = new_error(resp, "key not in region");
    Errorpb__KeyNotInRegion *k = xmalloc(sizeof(*k));
    errorpb__key_not_in_region__init(k);
    k->key.data = len ? bytes_dup(key, len) : NULL;
    k->key.len = len;
    k->region_id = region->id;
    k->start_key.len = region->start_key.len;
    k->start_key.data =
        region->start_key.len ? bytes_dup(region->start_key.data, region->start_key.len) : NULL;
    k->end_key.len = region->end_key.len;
    k->end_key.data =
        region->end_key.len ? bytes_dup(region->end_key.data, region->end_key.len) : NULL;
    e->key_not_in_region = k;
    return resp;
}

RaftCmdpb__RaftCmdResponse *mr_resp_admin(uint64_t term, RaftCmdpb__AdminCmdType type)
{
    RaftCmdpb__RaftCmdResponse *resp = cmd_resp_new(term);
    resp->admin_response = xmalloc(sizeof(*resp->admin_response));
    raft_cmdpb__admin_response__init(resp->admin_response);
    resp->admin_response->cmd_type = type;
    return resp;
}

RaftCmdpb__RaftCmdResponse *mr_check_epoch(peer_t *p, const Metapb__Region *region,
                                           const RaftCmdpb__RaftCmdRequest *req)
{
    /* LAB 3B BEGIN */
    int conf = 0, ver = 1;
    if (req->admin_request != NULL) {
        switch (req->admin_request->cmd_type) {
        case RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_COMPACT_LOG:
            ver = 0;
            break;
        case RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_CHANGE_PEER:
            conf = 1;
            ver = 0;
            break;
        case RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_TRANSFER_LEADER:
            conf = 1;
            break;
        default: /* Split */
            break;
        }
    }
    if (!conf && !ver)
        return NULL;
    const Metapb__RegionEpoch *from = req->header ? req->header->region_epoch : NULL;
    const Metapb__RegionEpoch *cur = region->region_epoch;
    uint64_t cur_conf = cur ? cur->conf_ver : 0, cur_ver = cur ? cur->version : 0;
    if (from == NULL || (conf && from->conf_ver != cur_conf) || (ver && from->version != cur_ver))
        return mr_resp_epoch_not_match(peer_term(p),
                                       from == NULL ? "epoch not match: the command names no epoch"
                                                    : "epoch not match: the region has changed",
                                       &region, 1);
    return NULL;
    /* LAB 3B STUB
    // Which counters the command must match: data commands the version; admin
    // commands by type (ChangePeer conf_ver, Split version, TransferLeader both,
    // CompactLog none). A missing or different epoch: mr_resp_epoch_not_match
    // with the region as it is here. NULL when the command may go on.
    (void)p;
    (void)region;
    (void)req;
    return NULL;
    LAB 3B END */
}

RaftCmdpb__RaftCmdResponse *mr_check_keys(peer_t *p, const Metapb__Region *region,
                                          const RaftCmdpb__RaftCmdRequest *req)
{
    /* LAB 3B BEGIN */
    for (size_t i = 0; i < req->n_requests; i++) {
        const RaftCmdpb__Request *r = req->requests[i];
        const ProtobufCBinaryData *key = NULL;
        if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_GET && r->get != NULL)
            key = &r->get->key;
        else if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_PUT && r->put != NULL)
            key = &r->put->key;
        else if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_DELETE && r->delete_ != NULL)
            key = &r->delete_->key;
        if (key != NULL && !mr_key_in_region(region, key->data, key->len))
            return mr_resp_key_not_in_region(peer_term(p), key->data, key->len, region);
    }
    return NULL;
    /* LAB 3B STUB
    // Every Get, Put and Delete key must be in [start_key, end_key) of the region
    // (mr_key_in_region; an empty end has no bound): otherwise answer
    // mr_resp_key_not_in_region naming the key and the region.
    (void)p;
    (void)region;
    (void)req;
    return NULL;
    LAB 3B END */
}

RaftCmdpb__RaftCmdResponse *mr_check_proposal(peer_t *p, const RaftCmdpb__RaftCmdRequest *req)
{
    const RaftCmdpb__RaftRequestHeader *h = req->header;
    if (h->peer != NULL && h->peer->id != 0 && h->peer->id != peer_id(p))
        return cmd_resp_error(peer_term(p), "the command names another peer of the region");
    /* A command from a term long past was meant for a leader long gone. */
    if (h->term != 0 && h->term + 1 < peer_term(p))
        return cmd_resp_stale(peer_term(p), "stale command: its term is long past");
    if (!peer_is_initialized(p))
        return cmd_resp_region_not_found(peer_region_id(p));
    RaftCmdpb__RaftCmdResponse *resp = mr_check_epoch(p, peer_region(p), req);
    if (resp == NULL)
        resp = mr_check_keys(p, peer_region(p), req);
    return resp;
}
