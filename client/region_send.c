/*
 * One request to one region with every region error handled
 * (region_send.h).
 */
#include <stdio.h>
#include <string.h>

#include "client/region_send.h"
#include "common/pb.h"
#include "proto/errorpb.pb-c.h"
#include "proto/kvrpcpb.pb-c.h"
#include "proto/raft_cmdpb.pb-c.h"
#include "proto/tinykvpb.pb-c.h"

/* The address of message field `name` of m (a pointer to a pointer), or NULL. */
static void **field_ptr(const ProtobufCMessage *m, const char *name,
                        const ProtobufCMessageDescriptor *type)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
    if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE || f->descriptor != type)
        return NULL;
    return (void **)((char *)m + f->offset);
}

/* The region error of a response: `region_error`, or header.error. */
static const Errorpb__Error *region_error_of(const ProtobufCMessage *resp)
{
    void **f = field_ptr(resp, "region_error", &errorpb__error__descriptor);
    if (f != NULL)
        return *f;
    f = field_ptr(resp, "header", &raft_cmdpb__raft_response_header__descriptor);
    if (f != NULL && *f != NULL)
        return ((const RaftCmdpb__RaftResponseHeader *)*f)->error;
    return NULL;
}

/* Where the request says which region it is for. */
typedef struct {
    void **slot; /* the request's context or header field */
    void *saved; /* what it held before */
    Kvrpcpb__Context ctx;
    RaftCmdpb__RaftRequestHeader hdr;
    Metapb__Peer peer;
} route_fields_t;

static void set_route(route_fields_t *rf, ProtobufCMessage *req, const rcache_loc_t *loc)
{
    metapb__peer__init(&rf->peer);
    rf->peer.id = loc->peer_id;
    rf->peer.store_id = loc->store_id;
    Metapb__RegionEpoch *epoch = loc->region->region_epoch;
    rf->slot = field_ptr(req, "context", &kvrpcpb__context__descriptor);
    if (rf->slot != NULL) {
        kvrpcpb__context__init(&rf->ctx);
        rf->ctx.region_id = loc->region->id;
        rf->ctx.region_epoch = epoch;
        rf->ctx.peer = &rf->peer;
        rf->saved = *rf->slot;
        *rf->slot = &rf->ctx;
        return;
    }
    rf->slot = field_ptr(req, "header", &raft_cmdpb__raft_request_header__descriptor);
    if (rf->slot != NULL) {
        raft_cmdpb__raft_request_header__init(&rf->hdr);
        rf->hdr.region_id = loc->region->id;
        rf->hdr.region_epoch = epoch;
        rf->hdr.peer = &rf->peer;
        rf->saved = *rf->slot;
        *rf->slot = &rf->hdr;
    }
}

static void unset_route(route_fields_t *rf)
{
    if (rf->slot != NULL)
        *rf->slot = rf->saved;
}

/* The next peer of the region after loc's, on a store not down if any. */
static void next_peer(const rcache_t *c, rcache_loc_t *loc)
{
    const Metapb__Region *r = loc->region;
    size_t n = r->n_peers, at = 0;
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (r->peers[i]->id == loc->peer_id)
            at = i;
    }
    for (size_t k = 1; k <= n; k++) {
        const Metapb__Peer *p = r->peers[(at + k) % n];
        if (k == n || !rcache_store_is_down(c, p->store_id)) {
            loc->peer_id = p->id;
            loc->store_id = p->store_id;
            return;
        }
    }
}

static int has_peer(const Metapb__Region *r, const Metapb__Peer *p)
{
    for (size_t i = 0; i < r->n_peers; i++) {
        if (r->peers[i]->id == p->id && r->peers[i]->store_id == p->store_id)
            return 1;
    }
    return 0;
}

/* The cache's leader of region rid becomes loc's peer. */
static void remember_peer(rcache_t *c, uint64_t rid, const rcache_loc_t *loc)
{
    Metapb__Peer p = METAPB__PEER__INIT;
    p.id = loc->peer_id;
    p.store_id = loc->store_id;
    rcache_set_leader(c, rid, &p);
}

static int same_range(const Metapb__Region *a, const Metapb__Region *b)
{
    return slice_compare(slice_of(a->start_key.data, a->start_key.len),
                         slice_of(b->start_key.data, b->start_key.len)) == 0 &&
           slice_compare(slice_of(a->end_key.data, a->end_key.len),
                         slice_of(b->end_key.data, b->end_key.len)) == 0;
}

static const Metapb__Peer *peer_on_store(const Metapb__Region *r, uint64_t store_id)
{
    for (size_t i = 0; i < r->n_peers; i++) {
        if (r->peers[i]->store_id == store_id)
            return r->peers[i];
    }
    return NULL;
}

/* What one region error means for the next try: 0 try again (loc may have
 * changed), TKV_ERR_STALE route again, other codes give up. */
static tkv_err_t on_region_error(rcache_t *c, backoff_t *bo, rcache_loc_t *loc,
                                 const Errorpb__Error *re)
{
    char why[600];
    uint64_t rid = loc->region->id;
    if (re->not_leader != NULL) {
        const Metapb__Peer *hint = re->not_leader->leader;
        if (hint != NULL && hint->id != 0) {
            snprintf(why, sizeof(why), "region %llu: not leader, leader is peer %llu on store %llu",
                     (unsigned long long)rid, (unsigned long long)hint->id,
                     (unsigned long long)hint->store_id);
            if (!has_peer(loc->region, hint)) {
                /* The leader is a peer we have never heard of: the
                 * membership changed under us. */
                rcache_invalidate(c, rid);
                tkv_err_t e = backoff_retry(bo, why);
                return e != TKV_OK ? e : TKV_ERR_STALE;
            }
            loc->peer_id = hint->id;
            loc->store_id = hint->store_id;
            rcache_set_leader(c, rid, hint);
            /* A hint at a store we just found dead is the peers' memory of
             * a leader that is gone: until they elect another, going there
             * at once only spends the budget. Wait for the election. */
            if (rcache_store_is_down(c, hint->store_id))
                return backoff_wait(bo, why);
            return backoff_retry(bo, why);
        }
        snprintf(why, sizeof(why), "region %llu: no leader (peer %llu on store %llu asked)",
                 (unsigned long long)rid, (unsigned long long)loc->peer_id,
                 (unsigned long long)loc->store_id);
        next_peer(c, loc);
        remember_peer(c, rid, loc);
        return backoff_wait(bo, why);
    }
    if (re->server_is_busy != NULL) {
        snprintf(why, sizeof(why), "store %llu is busy: %s", (unsigned long long)loc->store_id,
                 re->server_is_busy->reason);
        if (re->server_is_busy->backoff_ms > 0)
            return backoff_wait_ms(bo, re->server_is_busy->backoff_ms, why);
        return backoff_wait(bo, why);
    }
    if (re->stale_command != NULL) {
        snprintf(why, sizeof(why), "region %llu: stale command", (unsigned long long)rid);
        return backoff_wait(bo, why);
    }
    if (re->epoch_not_match != NULL) {
        snprintf(why, sizeof(why), "region %llu: epoch does not match", (unsigned long long)rid);
        /* Our own region first (a split keeps its id for the left part),
         * so its known leader is kept; the regions split off it are most
         * likely led from the same store, as a split leaves leaders where
         * they were. */
        const Errorpb__EpochNotMatch *enm = re->epoch_not_match;
        int found = 0, shrank = 0;
        for (int pass = 0; pass < 2; pass++) {
            for (size_t i = 0; i < enm->n_current_regions; i++) {
                const Metapb__Region *r = enm->current_regions[i];
                if (r == NULL || r->region_epoch == NULL || (r->id == rid) != (pass == 0))
                    continue;
                found |= r->id == rid;
                if (r->id == rid)
                    shrank = !same_range(r, loc->region);
                rcache_insert(c, r, pass == 0 ? NULL : peer_on_store(r, loc->store_id));
            }
        }
        if (!found)
            rcache_invalidate(c, rid);
        /* Our region split and the store named only its own part: a key
         * past it is routed by the scheduler, which may not have heard of
         * the split yet and would send us back with the old epoch. A pause
         * first, or every try is spent in a few milliseconds. */
        tkv_err_t e =
            shrank && enm->n_current_regions == 1 ? backoff_wait(bo, why) : backoff_retry(bo, why);
        return e != TKV_OK ? e : TKV_ERR_STALE;
    }
    if (re->key_not_in_region != NULL || re->region_not_found != NULL ||
        re->store_not_match != NULL) {
        snprintf(why, sizeof(why), "region %llu: %s", (unsigned long long)rid,
                 re->key_not_in_region  ? "key not in region"
                 : re->region_not_found ? "region not found on the store"
                                        : "store does not match");
        rcache_invalidate(c, rid);
        if (re->store_not_match != NULL)
            rcache_store_down(c, loc->store_id);
        /* The scheduler may be a heartbeat behind the store (a region not
         * created there yet, or a split it has not heard of, which gives
         * the key to the region it came from): a pause before asking it
         * again, or every try is spent in a burst on the same answer. */
        tkv_err_t e = re->store_not_match ? backoff_retry(bo, why) : backoff_wait(bo, why);
        return e != TKV_OK ? e : TKV_ERR_STALE;
    }
    snprintf(why, sizeof(why), "region %llu: %s", (unsigned long long)rid,
             re->message[0] ? re->message : "unknown region error");
    return backoff_wait(bo, why);
}

static int is_conn_error(tkv_err_t e)
{
    return e == TKV_ERR_NET || e == TKV_ERR_TIMEOUT || e == TKV_ERR_CLOSED || e == TKV_ERR_CORRUPT;
}

tkv_err_t rcache_send(rcache_t *c, backoff_t *bo, rcache_loc_t *loc, const char *method,
                      ProtobufCMessage *req, ProtobufCMessage **resp)
{
    *resp = NULL;
    for (;;) {
        rpc_client_t *conn = NULL;
        tkv_err_t e = rcache_store_conn(c, loc->store_id, &conn);
        if (e == TKV_OK) {
            route_fields_t rf;
            memset(&rf, 0, sizeof(rf));
            if (!rcache_is_direct(c))
                set_route(&rf, req, loc);
            e = rpc_client_call(conn, &tinykvpb__tiny_kv__descriptor, method, req, resp);
            unset_route(&rf);
        }
        if (e == TKV_ERR_NOT_FOUND && !rcache_is_direct(c)) {
            /* The scheduler does not know the store: it left the cluster. */
            e = TKV_ERR_NET;
        }
        if (is_conn_error(e)) {
            char why[600];
            snprintf(why, sizeof(why), "%s", tkv_last_error());
            rcache_store_down(c, loc->store_id);
            if (rcache_is_direct(c)) {
                /* One server and no one to ask where else to go: say so
                 * now (a program polling for the server retries itself). */
                return tkv_errorf(e, "%s", why);
            }
            /* The store may be dead: ask the scheduler what it knows now,
             * and if it still names the dead store, another peer. */
            uint64_t rid = loc->region->id;
            rcache_invalidate(c, rid);
            tkv_err_t be = backoff_wait(bo, why);
            if (be != TKV_OK)
                return e == TKV_ERR_TIMEOUT ? TKV_ERR_TIMEOUT : TKV_ERR_NET;
            rcache_loc_t fresh;
            if (rcache_locate_id(c, rid, bo, &fresh) == TKV_OK) {
                rcache_loc_free(loc);
                *loc = fresh;
            } else {
                /* Gone from the scheduler (merged away?) or it is down
                 * too: another peer of what we have. */
                next_peer(c, loc);
            }
            continue;
        }
        if (e != TKV_OK)
            return e;
        rcache_store_up(c, loc->store_id);
        const Errorpb__Error *re = region_error_of(*resp);
        if (re == NULL)
            return TKV_OK;
        e = on_region_error(c, bo, loc, re);
        pb_free(*resp);
        *resp = NULL;
        if (e != TKV_OK)
            return e;
    }
}

tkv_err_t rcache_call(rcache_t *c, backoff_t *bo, tkv_slice_t key, const char *method,
                      ProtobufCMessage *req, ProtobufCMessage **resp, rcache_loc_t *served)
{
    for (;;) {
        rcache_loc_t loc;
        tkv_err_t e = rcache_locate(c, key, bo, &loc);
        if (e != TKV_OK)
            return e;
        e = rcache_send(c, bo, &loc, method, req, resp);
        if (e == TKV_OK && served != NULL)
            *served = loc;
        else
            rcache_loc_free(&loc);
        if (e != TKV_ERR_STALE)
            return e;
    }
}
