/*
 * The Scheduler service handlers (service.h). Each handler checks the
 * request, takes the server's mutex, asks the cluster, TSO, id allocator or
 * operator controller, and writes the answer; none of them knows about
 * sockets.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pb.h"
#include "project3-multiraft/scheduler/balance_region.h"
#include "project3-multiraft/scheduler/id_alloc.h"
#include "project3-multiraft/scheduler/replica_check.h"
#include "project3-multiraft/scheduler/service.h"
#include "project3-multiraft/scheduler/tso.h"

struct sched_server {
    pthread_mutex_t mu;
    const tkv_clock_t *clock;
    sched_server_config_t cfg;
    eng_t *eng;
    sched_cluster_t *cluster;
    sched_tso_t *tso;
    sched_id_alloc_t *ids;
    sched_opctl_t *ops;
    uint64_t last_balance_ms;
    int balanced_once;
};

sched_server_config_t sched_server_config_default(void)
{
    sched_server_config_t cfg = { sched_config_default(), 0, 0, 0, 100, 0 };
    return cfg;
}

tkv_err_t sched_server_open(const char *data_dir, const tkv_clock_t *clock,
                            const sched_server_config_t *cfg, sched_server_t **out)
{
    *out = NULL;
    sched_server_t *s = xcalloc(1, sizeof(*s));
    s->clock = clock;
    s->cfg = cfg ? *cfg : sched_server_config_default();
    pthread_mutex_init(&s->mu, NULL);
    tkv_err_t e = eng_open(data_dir, &s->eng);
    if (e == TKV_OK)
        e = cluster_open(s->eng, clock, &s->cfg.cluster, &s->cluster);
    if (e == TKV_OK)
        e = tso_open(s->eng, clock, s->cfg.tso_window_ms, &s->tso);
    if (e == TKV_OK)
        e = idalloc_open(s->eng, s->cfg.id_step, &s->ids);
    if (e != TKV_OK) {
        sched_server_close(s);
        return e;
    }
    s->ops = opctl_new(s->cfg.operator_timeout_ms);
    *out = s;
    return TKV_OK;
}

void sched_server_close(sched_server_t *s)
{
    if (s == NULL)
        return;
    opctl_free(s->ops);
    idalloc_free(s->ids);
    tso_free(s->tso);
    cluster_free(s->cluster);
    if (s->eng != NULL)
        eng_close(s->eng);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

sched_cluster_t *sched_server_cluster(sched_server_t *s)
{
    return s->cluster;
}

sched_opctl_t *sched_server_operators(sched_server_t *s)
{
    return s->ops;
}

/* ---- helpers ---------------------------------------------------------------- */

/* Sets resp's header (the field every response has first): our cluster id,
 * and an error when `type` is not ERR_OK. */
static void set_header(Schedulerpb__ResponseHeader **hdr, uint64_t cluster_id,
                       Schedulerpb__ErrorType type, const char *msg)
{
    if (*hdr == NULL) {
        *hdr = xmalloc(sizeof(**hdr));
        schedulerpb__response_header__init(*hdr);
    }
    (*hdr)->cluster_id = cluster_id;
    if (type != SCHEDULERPB__ERROR_TYPE__ERR_OK) {
        Schedulerpb__Error *err = xmalloc(sizeof(*err));
        schedulerpb__error__init(err);
        err->type = type;
        err->message = strdup(msg ? msg : "");
        (*hdr)->error = err;
    }
}

/* The header error for a failed call: its kind from the code, its message
 * from tkv_last_error(). */
static void set_error(Schedulerpb__ResponseHeader **hdr, uint64_t cluster_id,
                      Schedulerpb__ErrorType type, tkv_err_t code)
{
    char msg[1200];
    snprintf(msg, sizeof(msg), "%s: %s", tkv_strerror(code), tkv_last_error());
    set_header(hdr, cluster_id, type, msg);
}

/* Refuses requests for another cluster and, when `need_bootstrap`, requests
 * that make no sense before Bootstrap. Returns 0 (with the header error
 * set) to refuse. Called with the mutex held. */
static int admit(sched_server_t *s, const Schedulerpb__RequestHeader *req,
                 Schedulerpb__ResponseHeader **hdr, int need_bootstrap)
{
    uint64_t id = cluster_id(s->cluster);
    if (id != 0 && req != NULL && req->cluster_id != 0 && req->cluster_id != id) {
        char msg[128];
        snprintf(msg, sizeof(msg), "request for cluster %llu reached cluster %llu",
                 (unsigned long long)req->cluster_id, (unsigned long long)id);
        set_header(hdr, id, SCHEDULERPB__ERROR_TYPE__ERR_UNKNOWN, msg);
        return 0;
    }
    if (need_bootstrap && !cluster_is_bootstrapped(s->cluster)) {
        set_header(hdr, id, SCHEDULERPB__ERROR_TYPE__ERR_NOT_BOOTSTRAPPED,
                   "the cluster is not bootstrapped");
        return 0;
    }
    set_header(hdr, id, SCHEDULERPB__ERROR_TYPE__ERR_OK, NULL);
    return 1;
}

/* ---- handlers --------------------------------------------------------------- */

static void serve_tso(sched_server_t *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    const Schedulerpb__TsoRequest *req = (const void *)rq;
    Schedulerpb__TsoResponse *resp = (void *)rp;
    int64_t phys = 0, logi = 0;
    tkv_err_t e = tso_get(s->tso, req->count, &phys, &logi);
    if (e != TKV_OK) {
        set_error(&resp->header, cluster_id(s->cluster), SCHEDULERPB__ERROR_TYPE__ERR_UNKNOWN, e);
    } else {
        resp->count = req->count;
        resp->timestamp = xmalloc(sizeof(*resp->timestamp));
        schedulerpb__timestamp__init(resp->timestamp);
        resp->timestamp->physical = phys;
        resp->timestamp->logical = logi;
    }
}

static void serve_bootstrap(sched_server_t *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    const Schedulerpb__BootstrapRequest *req = (const void *)rq;
    Schedulerpb__BootstrapResponse *resp = (void *)rp;
    if (cluster_is_bootstrapped(s->cluster)) {
        set_header(&resp->header, cluster_id(s->cluster),
                   SCHEDULERPB__ERROR_TYPE__ERR_ALREADY_BOOTSTRAPPED,
                   "the cluster is already bootstrapped");
    } else {
        /* The cluster takes the id its first store asks for (1 if none). */
        uint64_t id = (req->header && req->header->cluster_id) ? req->header->cluster_id : 1;
        tkv_err_t e = cluster_bootstrap(s->cluster, id, req->store, req->region);
        if (e != TKV_OK)
            set_error(&resp->header, 0, SCHEDULERPB__ERROR_TYPE__ERR_UNKNOWN, e);
        else
            resp->header->cluster_id = id;
    }
}

static void serve_is_bootstrapped(sched_server_t *s, const ProtobufCMessage *rq,
                                  ProtobufCMessage *rp)
{
    (void)rq;
    Schedulerpb__IsBootstrappedResponse *resp = (void *)rp;
    resp->bootstrapped = cluster_is_bootstrapped(s->cluster);
}

static void serve_alloc_id(sched_server_t *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    (void)rq;
    Schedulerpb__AllocIdResponse *resp = (void *)rp;
    tkv_err_t e = idalloc_next(s->ids, &resp->id);
    if (e != TKV_OK)
        set_error(&resp->header, cluster_id(s->cluster), SCHEDULERPB__ERROR_TYPE__ERR_UNKNOWN, e);
}

static void serve_get_store(sched_server_t *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    const Schedulerpb__GetStoreRequest *req = (const void *)rq;
    Schedulerpb__GetStoreResponse *resp = (void *)rp;
    const sched_store_t *st = cluster_get_store(s->cluster, req->store_id);
    if (st == NULL) {
        char msg[64];
        snprintf(msg, sizeof(msg), "store %llu is not known", (unsigned long long)req->store_id);
        set_header(&resp->header, cluster_id(s->cluster), SCHEDULERPB__ERROR_TYPE__ERR_UNKNOWN,
                   msg);
    } else {
        resp->store = (Metapb__Store *)pb_dup(&st->meta->base);
        if (st->stats != NULL) {
            resp->stats = (Schedulerpb__StoreStats *)pb_dup(&st->stats->base);
            resp->stats->region_count = (uint32_t)st->region_count;
        }
    }
}

static void serve_put_store(sched_server_t *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    const Schedulerpb__PutStoreRequest *req = (const void *)rq;
    Schedulerpb__PutStoreResponse *resp = (void *)rp;
    tkv_err_t e = cluster_put_store(s->cluster, req->store);
    if (e != TKV_OK)
        set_error(&resp->header, cluster_id(s->cluster),
                  e == TKV_ERR_STALE ? SCHEDULERPB__ERROR_TYPE__ERR_STORE_TOMBSTONE
                                     : SCHEDULERPB__ERROR_TYPE__ERR_UNKNOWN,
                  e);
}

static void serve_get_all_stores(sched_server_t *s, const ProtobufCMessage *rq,
                                 ProtobufCMessage *rp)
{
    const Schedulerpb__GetAllStoresRequest *req = (const void *)rq;
    Schedulerpb__GetAllStoresResponse *resp = (void *)rp;
    size_t n = cluster_store_count(s->cluster);
    resp->stores = xmalloc((n ? n : 1) * sizeof(*resp->stores));
    for (size_t i = 0; i < n; i++) {
        const Metapb__Store *m = cluster_store_at(s->cluster, i)->meta;
        if (req->exclude_tombstone_stores && m->state == METAPB__STORE_STATE__STORE_TOMBSTONE)
            continue;
        resp->stores[resp->n_stores++] = (Metapb__Store *)pb_dup(&m->base);
    }
}

static void serve_store_heartbeat(sched_server_t *s, const ProtobufCMessage *rq,
                                  ProtobufCMessage *rp)
{
    const Schedulerpb__StoreHeartbeatRequest *req = (const void *)rq;
    Schedulerpb__StoreHeartbeatResponse *resp = (void *)rp;
    tkv_err_t e = cluster_store_heartbeat(s->cluster, req->stats);
    if (e != TKV_OK)
        set_error(&resp->header, cluster_id(s->cluster),
                  e == TKV_ERR_STALE ? SCHEDULERPB__ERROR_TYPE__ERR_STORE_TOMBSTONE
                                     : SCHEDULERPB__ERROR_TYPE__ERR_UNKNOWN,
                  e);
}

/* Runs the balancer when its interval has passed; an operator it makes
 * waits in the controller for its region's next heartbeat. */
static void maybe_balance(sched_server_t *s)
{
    uint64_t now = clock_now_ms(s->clock);
    if (s->balanced_once && now - s->last_balance_ms < s->cfg.balance_interval_ms)
        return;
    s->balanced_once = 1;
    s->last_balance_ms = now;
    sched_operator_t *op = NULL;
    tkv_err_t e = balance_region_schedule(s->cluster, s->ids, &op);
    if (e != TKV_OK) {
        tkv_logf(TKV_LOG_DEBUG, "scheduler", "balance-region: %s", tkv_last_error());
        return;
    }
    /* A region missing a replica, or with one on a bad store, is the
     * replica checker's: repairs first (replica_needs_repair()). */
    const sched_region_t *r = op != NULL ? cluster_get_region(s->cluster, op->region_id) : NULL;
    if (r != NULL && !s->cfg.replica_checker_off && replica_needs_repair(s->cluster, r)) {
        tkv_logf(TKV_LOG_DEBUG, "scheduler",
                 "balance-region: region %llu left to the replica checker",
                 (unsigned long long)op->region_id);
        free(op);
        return;
    }
    if (op != NULL && opctl_add(s->ops, op) == TKV_OK)
        tkv_logf(TKV_LOG_INFO, "scheduler",
                 "balance-region: move region %llu from store %llu to %llu",
                 (unsigned long long)op->region_id, (unsigned long long)op->from_store,
                 (unsigned long long)op->to_store);
}

/* Gives region r the repair it needs (replica_check.h), unless it already
 * has an operator: one plan per region at a time, and a region in the
 * middle of a move shows a peer count that is not its real one. */
static void check_replicas(sched_server_t *s, const sched_region_t *r)
{
    if (s->cfg.replica_checker_off || opctl_get(s->ops, region_id(r)) != NULL)
        return;
    sched_operator_t *op = NULL;
    if (replica_check(s->cluster, s->ids, r, &op) != TKV_OK) {
        tkv_logf(TKV_LOG_WARN, "scheduler", "replica checker: %s", tkv_last_error());
        return;
    }
    if (op == NULL)
        return;
    uint64_t rid = op->region_id, from = op->from_store, to = op->to_store;
    const char *desc = op->desc;
    if (opctl_add(s->ops, op) == TKV_OK)
        tkv_logf(TKV_LOG_INFO, "scheduler", "%s: region %llu, store %llu -> store %llu", desc,
                 (unsigned long long)rid, (unsigned long long)from, (unsigned long long)to);
}

static void serve_region_heartbeat(sched_server_t *s, const ProtobufCMessage *rq,
                                   ProtobufCMessage *rp)
{
    const Schedulerpb__RegionHeartbeatRequest *req = (const void *)rq;
    Schedulerpb__RegionHeartbeatResponse *resp = (void *)rp;
    /* Checked here too, so no student code ever sees a heartbeat
     * without a region or an epoch. */
    tkv_err_t e = (req->region == NULL || req->region->region_epoch == NULL)
                      ? tkv_errorf(TKV_ERR_INVALID, "region heartbeat without region or epoch")
                      : cluster_process_region_heartbeat(s->cluster, req);
    if (e != TKV_OK) {
        set_error(&resp->header, cluster_id(s->cluster),
                  e == TKV_ERR_STALE ? SCHEDULERPB__ERROR_TYPE__ERR_STALE_EPOCH
                                     : SCHEDULERPB__ERROR_TYPE__ERR_UNKNOWN,
                  e);
    } else {
        const sched_region_t *r = cluster_get_region(s->cluster, req->region->id);
        if (r != NULL)
            check_replicas(s, r);
        maybe_balance(s);
        if (r != NULL)
            opctl_dispatch(s->ops, r, clock_now_ms(s->clock), resp);
    }
}

/* Fills a GetRegionResponse from `r` (NULL: no region holds it, which is an
 * answer, not an error). */
static void fill_region(Schedulerpb__GetRegionResponse *resp, const sched_region_t *r)
{
    if (r == NULL)
        return;
    resp->region = (Metapb__Region *)pb_dup(&r->region->base);
    if (r->leader != NULL)
        resp->leader = (Metapb__Peer *)pb_dup(&r->leader->base);
}

static void serve_get_region(sched_server_t *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    const Schedulerpb__GetRegionRequest *req = (const void *)rq;
    Schedulerpb__GetRegionResponse *resp = (void *)rp;
    fill_region(resp, cluster_search_region(s->cluster,
                                            slice_of(req->region_key.data, req->region_key.len)));
}

static void serve_get_region_by_id(sched_server_t *s, const ProtobufCMessage *rq,
                                   ProtobufCMessage *rp)
{
    const Schedulerpb__GetRegionByIdRequest *req = (const void *)rq;
    Schedulerpb__GetRegionResponse *resp = (void *)rp;
    fill_region(resp, cluster_get_region(s->cluster, req->region_id));
}

static void serve_ask_split(sched_server_t *s, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    const Schedulerpb__AskSplitRequest *req = (const void *)rq;
    Schedulerpb__AskSplitResponse *resp = (void *)rp;
    tkv_err_t e = TKV_OK;
    if (req->region == NULL) {
        e = tkv_errorf(TKV_ERR_INVALID, "AskSplit without a region");
    } else {
        /* The new region needs an id, and one peer id per replica. */
        size_t n = req->region->n_peers;
        e = idalloc_next(s->ids, &resp->new_region_id);
        resp->new_peer_ids = xmalloc((n ? n : 1) * sizeof(uint64_t));
        for (size_t i = 0; e == TKV_OK && i < n; i++) {
            e = idalloc_next(s->ids, &resp->new_peer_ids[i]);
            if (e == TKV_OK)
                resp->n_new_peer_ids++;
        }
    }
    if (e != TKV_OK)
        set_error(&resp->header, cluster_id(s->cluster), SCHEDULERPB__ERROR_TYPE__ERR_UNKNOWN, e);
}

/* ---- dispatch ----------------------------------------------------------------
 * Every call takes the same steps around its own work: lock the state, check
 * the request's cluster (and, for most methods, that the cluster is
 * bootstrapped), fill the response header, unlock. handle() does them once;
 * each method contributes only its serve_* body, which runs with the mutex
 * held and only when the request was admitted. */

typedef void (*serve_fn)(sched_server_t *s, const ProtobufCMessage *rq, ProtobufCMessage *rp);

/* Keyed by request type: the server has already unpacked the request as its
 * method's input, so the type names the method. */
static const struct {
    const ProtobufCMessageDescriptor *request;
    serve_fn serve;
    int need_bootstrap;
} methods[] = {
    { &schedulerpb__tso_request__descriptor, serve_tso, 0 },
    { &schedulerpb__bootstrap_request__descriptor, serve_bootstrap, 0 },
    { &schedulerpb__is_bootstrapped_request__descriptor, serve_is_bootstrapped, 0 },
    { &schedulerpb__alloc_id_request__descriptor, serve_alloc_id, 0 },
    { &schedulerpb__get_store_request__descriptor, serve_get_store, 1 },
    { &schedulerpb__put_store_request__descriptor, serve_put_store, 1 },
    { &schedulerpb__get_all_stores_request__descriptor, serve_get_all_stores, 1 },
    { &schedulerpb__store_heartbeat_request__descriptor, serve_store_heartbeat, 1 },
    { &schedulerpb__region_heartbeat_request__descriptor, serve_region_heartbeat, 1 },
    { &schedulerpb__get_region_request__descriptor, serve_get_region, 1 },
    { &schedulerpb__get_region_by_id_request__descriptor, serve_get_region_by_id, 1 },
    { &schedulerpb__ask_split_request__descriptor, serve_ask_split, 1 },
};

/* The `header` field every scheduler request and response has. Found through
 * the descriptor, so no struct layout is assumed. */
static void *header_field(const ProtobufCMessage *m)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "header");
    return (char *)m + f->offset;
}

/* The entry of `methods` for a request of this type, or -1. */
static int method_of(const ProtobufCMessage *rq)
{
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        if (methods[i].request == rq->descriptor)
            return (int)i;
    }
    return -1;
}

static tkv_err_t handle(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    sched_server_t *s = ctx;
    int i = method_of(rq);
    if (i < 0)
        return tkv_errorf(TKV_ERR_INVALID, "%s is not a Scheduler request", rq->descriptor->name);
    Schedulerpb__RequestHeader *const *in = header_field(rq);
    Schedulerpb__ResponseHeader **out = header_field(rp);
    pthread_mutex_lock(&s->mu);
    if (admit(s, *in, out, methods[i].need_bootstrap))
        methods[i].serve(s, rq, rp);
    pthread_mutex_unlock(&s->mu);
    return TKV_OK;
}

const rpc_method_t sched_service_methods[] = {
    { "Tso", handle, NULL },
    { "Bootstrap", handle, NULL },
    { "IsBootstrapped", handle, NULL },
    { "AllocId", handle, NULL },
    { "GetStore", handle, NULL },
    { "PutStore", handle, NULL },
    { "GetAllStores", handle, NULL },
    { "StoreHeartbeat", handle, NULL },
    { "RegionHeartbeat", handle, NULL },
    { "GetRegion", handle, NULL },
    { "GetRegionById", handle, NULL },
    { "AskSplit", handle, NULL },
    { NULL, NULL, NULL },
};

tkv_err_t sched_server_call(sched_server_t *s, const char *method, const ProtobufCMessage *req,
                            ProtobufCMessage *resp)
{
    /* The RPC server unpacks and allocates by the method's own types; a
     * direct caller must be held to the same. */
    const ProtobufCMethodDescriptor *md = protobuf_c_service_descriptor_get_method_by_name(
        &schedulerpb__scheduler__descriptor, method);
    if (md == NULL)
        return tkv_errorf(TKV_ERR_NOT_FOUND, "the Scheduler service has no method %s", method);
    if (req == NULL || resp == NULL || req->descriptor != md->input ||
        resp->descriptor != md->output)
        return tkv_errorf(TKV_ERR_INVALID, "%s: request or response of the wrong message type",
                          method);
    return handle(s, req, resp);
}
