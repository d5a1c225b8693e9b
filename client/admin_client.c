/*
 * Cluster views and admin commands (admin_client.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/admin_client.h"
#include "client/region_send.h"
#include "common/pb.h"

void adminc_regions_free(adminc_region_t *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pb_free(r[i].region);
        pb_free(r[i].leader);
    }
    free(r);
}

tkv_err_t adminc_regions(rcache_t *c, size_t max, adminc_region_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    backoff_t bo;
    backoff_init(&bo, rcache_config(c));
    adminc_region_t *list = NULL;
    size_t len = 0, cap = 0;
    tkv_buf_t key = TKV_BUF_INIT;
    tkv_err_t e = TKV_OK;
    while (len < max) {
        Schedulerpb__GetRegionRequest req = SCHEDULERPB__GET_REGION_REQUEST__INIT;
        req.region_key.data = key.data;
        req.region_key.len = key.len;
        Schedulerpb__GetRegionResponse *resp = NULL;
        e = rcache_sched_call(c, &bo, "GetRegion", &req.base, (ProtobufCMessage **)&resp);
        if (e != TKV_OK)
            break;
        if (resp->region == NULL) {
            pb_free(resp);
            if (len == 0) {
                e = tkv_errorf(TKV_ERR_NOT_FOUND, "the scheduler knows no region yet");
                break;
            }
            /* A gap: a region split off is not reported yet (its leader's
             * first heartbeat is due within a tick or two). Ask again. */
            char why[160];
            snprintf(why, sizeof(why),
                     "the scheduler knows no region after the %zu listed (a split not yet "
                     "reported?)",
                     len);
            e = backoff_wait(&bo, why);
            if (e != TKV_OK) {
                e = TKV_ERR_NOT_FOUND;
                break;
            }
            continue;
        }
        if (len == cap) {
            cap = cap ? 2 * cap : 16;
            list = xrealloc(list, cap * sizeof(*list));
        }
        list[len].region = resp->region;
        list[len].leader = resp->leader;
        resp->region = NULL;
        resp->leader = NULL;
        pb_free(resp);
        const Metapb__Region *r = list[len++].region;
        if (r->end_key.len == 0)
            break;
        if (slice_compare(slice_of(r->end_key.data, r->end_key.len), buf_slice(&key)) <= 0) {
            e = tkv_errorf(TKV_ERR_CORRUPT, "region %llu ends before the key it was asked for",
                           (unsigned long long)r->id);
            break;
        }
        buf_set(&key, r->end_key.data, r->end_key.len);
    }
    buf_free(&key);
    if (e != TKV_OK) {
        adminc_regions_free(list, len);
        return e;
    }
    *out = list;
    *n = len;
    return TKV_OK;
}

tkv_err_t adminc_stores(rcache_t *c, Schedulerpb__GetAllStoresResponse **out)
{
    backoff_t bo;
    backoff_init(&bo, rcache_config(c));
    Schedulerpb__GetAllStoresRequest req = SCHEDULERPB__GET_ALL_STORES_REQUEST__INIT;
    req.exclude_tombstone_stores = 1;
    return rcache_sched_call(c, &bo, "GetAllStores", &req.base, (ProtobufCMessage **)out);
}

/* Sends an admin command to loc's region, following its leader. */
static tkv_err_t send_admin(rcache_t *c, backoff_t *bo, rcache_loc_t *loc,
                            RaftCmdpb__AdminRequest *admin, RaftCmdpb__RaftCmdResponse **resp)
{
    RaftCmdpb__RaftCmdRequest req = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    RaftCmdpb__RaftRequestHeader hdr = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    req.header = &hdr; /* filled by the sender from loc */
    req.admin_request = admin;
    tkv_err_t e = rcache_send(c, bo, loc, "RaftCmd", &req.base, (ProtobufCMessage **)resp);
    if (e == TKV_ERR_INVALID)
        return client_wrap_error(e, "RaftCmd (admin commands) refused: does this tinykv-server "
                                    "serve them?");
    return e;
}

tkv_err_t adminc_transfer_leader(rcache_t *c, uint64_t region_id, uint64_t store_id)
{
    backoff_t bo;
    backoff_init(&bo, rcache_config(c));
    for (;;) {
        rcache_loc_t loc;
        tkv_err_t e = rcache_locate_id(c, region_id, &bo, &loc);
        if (e != TKV_OK)
            return e;
        Metapb__Peer *target = NULL;
        for (size_t i = 0; i < loc.region->n_peers; i++) {
            if (loc.region->peers[i]->store_id == store_id)
                target = loc.region->peers[i];
        }
        if (target == NULL) {
            rcache_loc_free(&loc);
            return tkv_errorf(TKV_ERR_INVALID, "region %llu has no peer on store %llu",
                              (unsigned long long)region_id, (unsigned long long)store_id);
        }
        RaftCmdpb__TransferLeaderRequest tl = RAFT_CMDPB__TRANSFER_LEADER_REQUEST__INIT;
        tl.peer = target;
        RaftCmdpb__AdminRequest admin = RAFT_CMDPB__ADMIN_REQUEST__INIT;
        admin.cmd_type = RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_TRANSFER_LEADER;
        admin.transfer_leader = &tl;
        RaftCmdpb__RaftCmdResponse *resp = NULL;
        e = send_admin(c, &bo, &loc, &admin, &resp);
        rcache_loc_free(&loc);
        pb_free(resp);
        if (e != TKV_ERR_STALE)
            return e;
    }
}

tkv_err_t adminc_split(rcache_t *c, tkv_slice_t key, Metapb__Region **left, Metapb__Region **right)
{
    if (left != NULL)
        *left = NULL;
    if (right != NULL)
        *right = NULL;
    if (key.len == 0)
        return tkv_errorf(TKV_ERR_INVALID, "cannot split at the empty key: every region "
                                           "starts after it");
    backoff_t bo;
    backoff_init(&bo, rcache_config(c));
    for (;;) {
        rcache_loc_t loc;
        tkv_err_t e = rcache_locate(c, key, &bo, &loc);
        if (e != TKV_OK)
            return e;
        if (slice_equal(slice_of(loc.region->start_key.data, loc.region->start_key.len), key)) {
            uint64_t id = loc.region->id;
            rcache_loc_free(&loc);
            return tkv_errorf(TKV_ERR_INVALID, "region %llu already starts at that key",
                              (unsigned long long)id);
        }
        Schedulerpb__AskSplitRequest ask = SCHEDULERPB__ASK_SPLIT_REQUEST__INIT;
        ask.region = loc.region;
        Schedulerpb__AskSplitResponse *ids = NULL;
        e = rcache_sched_call(c, &bo, "AskSplit", &ask.base, (ProtobufCMessage **)&ids);
        if (e != TKV_OK) {
            rcache_loc_free(&loc);
            return e;
        }
        RaftCmdpb__SplitRequest sp = RAFT_CMDPB__SPLIT_REQUEST__INIT;
        sp.split_key.data = (uint8_t *)key.data;
        sp.split_key.len = key.len;
        sp.new_region_id = ids->new_region_id;
        sp.n_new_peer_ids = ids->n_new_peer_ids;
        sp.new_peer_ids = ids->new_peer_ids;
        RaftCmdpb__AdminRequest admin = RAFT_CMDPB__ADMIN_REQUEST__INIT;
        admin.cmd_type = RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_SPLIT;
        admin.split = &sp;
        RaftCmdpb__RaftCmdResponse *resp = NULL;
        e = send_admin(c, &bo, &loc, &admin, &resp);
        pb_free(ids);
        uint64_t old_id = loc.region->id;
        rcache_loc_free(&loc);
        if (e == TKV_ERR_STALE)
            continue; /* the region changed: split what holds the key now */
        if (e != TKV_OK)
            return e;
        /* The cache's entry is the region before the split. */
        rcache_invalidate(c, old_id);
        const RaftCmdpb__SplitResponse *sr =
            resp->admin_response ? resp->admin_response->split : NULL;
        if (sr != NULL && sr->n_regions == 2) {
            if (left != NULL)
                *left = (Metapb__Region *)pb_dup(&sr->regions[0]->base);
            if (right != NULL)
                *right = (Metapb__Region *)pb_dup(&sr->regions[1]->base);
        }
        pb_free(resp);
        return TKV_OK;
    }
}
