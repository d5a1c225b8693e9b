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
    sched_server_config_t cfg = { sched_config_default(), 0, 0, 0, 100 };
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

static tkv_err_t wrong_type(const char *method)
{
    return tkv_errorf(TKV_ERR_INVALID, "%s: request or response of the wrong message type", method);
}

static int is_msg(const ProtobufCMessage *m, const ProtobufCMessageDescriptor *desc)
{
    return m != NULL && m->descriptor == desc;
}

/* ---- handlers --------------------------------------------------------------- */

static tkv_err_t handle_tso(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    if (!is_msg(rq, &schedulerpb__tso_request__descriptor) ||
        !is_msg(rp, &schedulerpb__tso_response__descriptor))
        return wrong_type("Tso");
    sched_server_t *s = ctx;
    const Schedulerpb__TsoRequest *req = (const void *)rq;
    Schedulerpb__TsoResponse *resp = (void *)rp;
    pthread_mutex_lock(&s->mu);
    if (admit(s, req->header, &resp->header, 0)) {
        int64_t phys = 0, logi = 0;
        tkv_err_t e = tso_get(s->tso, req->count, &phys, &logi);
        if (e != TKV_OK) {
            set_error(&resp->header, cluster_id(s->cluster), SCHEDULERPB__ERROR_TYPE__ERR_UNKNOWN,
                      e);
        } else {
            resp->count = req->count;
            resp->timestamp = xmalloc(sizeof(*resp->timestamp));
            schedulerpb__timestamp__init(resp->timestamp);
            resp->timestamp->physical = phys;
            resp->timestamp->logical = logi;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return TKV_OK;
}

static tkv_err_t handle_bootstrap(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    if (!is_msg(rq, &schedulerpb__bootstrap_request__descriptor) ||
        !is_msg(rp, &schedulerpb__bootstrap_response__descriptor))
        return wrong_type("Bootstrap");
    sched_server_t *s = ctx;
    const Schedulerpb__BootstrapRequest *req = (const void *)rq;
    Schedulerpb__BootstrapResponse *resp = (void *)rp;
    pthread_mutex_lock(&s->mu);
    if (admit(s, req->header, &resp->header, 0)) {
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
    pthread_mutex_unlock(&s->mu);
    return TKV_OK;
}

static tkv_err_t handle_is_bootstrapped(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    if (!is_msg(rq, &schedulerpb__is_bootstrapped_request__descriptor) ||
        !is_msg(rp, &schedulerpb__is_bootstrapped_response__descriptor))
        return wrong_type("IsBootstrapped");
    sched_server_t *s = ctx;
    const Schedulerpb__IsBootstrappedRequest *req = (const void *)rq;
    Schedulerpb__IsBootstrappedResponse *resp = (void *)rp;
    pthread_mutex_lock(&s->mu);
    if (admit(s, req->header, &resp->header, 0))
        resp->bootstrapped = cluster_is_bootstrapped(s->cluster);
    pthread_mutex_unlock(&s->mu);
    return TKV_OK;
}

static tkv_err_t handle_alloc_id(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    if (!is_msg(rq, &schedulerpb__alloc_id_request__descriptor) ||
        !is_msg(rp, &schedulerpb__alloc_id_response__descriptor))
        return wrong_type("AllocId");
    sched_server_t *s = ctx;
    const Schedulerpb__AllocIdRequest *req = (const void *)rq;
    Schedulerpb__AllocIdResponse *resp = (void *)rp;
    pthread_mutex_lock(&s->mu);
    if (admit(s, req->header, &resp->header, 0)) {
        tkv_err_t e = idalloc_next(s->ids, &resp->id);
        if (e != TKV_OK)
            set_error(&resp->header, cluster_id(s->cluster), SCHEDULERPB__ERROR_TYPE__ERR_UNKNOWN,
                      e);
    }
    pthread_mutex_unlock(&s->mu);
    return TKV_OK;
}

static tkv_err_t handle_get_store(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    if (!is_msg(rq, &schedulerpb__get_store_request__descriptor) ||
        !is_msg(rp, &schedulerpb__get_store_response__descriptor))
        return wrong_type("GetStore");
    sched_server_t *s = ctx;
    const Schedulerpb__GetStoreRequest *req = (const void *)rq;
    Schedulerpb__GetStoreResponse *resp = (void *)rp;
    pthread_mutex_lock(&s->mu);
    if (admit(s, req->header, &resp->header, 1)) {
        const sched_store_t *st = cluster_get_store(s->cluster, req->store_id);
        if (st == NULL) {
            char msg[64];
            snprintf(msg, sizeof(msg), "store %llu is not known",
                     (unsigned long long)req->store_id);
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
    pthread_mutex_unlock(&s->mu);
    return TKV_OK;
}

static tkv_err_t handle_put_store(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    if (!is_msg(rq, &schedulerpb__put_store_request__descriptor) ||
        !is_msg(rp, &schedulerpb__put_store_response__descriptor))
        return wrong_type("PutStore");
    sched_server_t *s = ctx;
    const Schedulerpb__PutStoreRequest *req = (const void *)rq;
    Schedulerpb__PutStoreResponse *resp = (void *)rp;
    pthread_mutex_lock(&s->mu);
    if (admit(s, req->header, &resp->header, 1)) {
        tkv_err_t e = cluster_put_store(s->cluster, req->store);
        if (e != TKV_OK)
            set_error(&resp->header, cluster_id(s->cluster),
                      e == TKV_ERR_STALE ? SCHEDULERPB__ERROR_TYPE__ERR_STORE_TOMBSTONE
                                         : SCHEDULERPB__ERROR_TYPE__ERR_UNKNOWN,
                      e);
    }
    pthread_mutex_unlock(&s->mu);
    return TKV_OK;
}

static tkv_err_t handle_get_all_stores(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    if (!is_msg(rq, &schedulerpb__get_all_stores_request__descriptor) ||
        !is_msg(rp, &schedulerpb__get_all_stores_response__descriptor))
        return wrong_type("GetAllStores");
    sched_server_t *s = ctx;
    const Schedulerpb__GetAllStoresRequest *req = (const void *)rq;
    Schedulerpb__GetAllStoresResponse *resp = (void *)rp;
    pthread_mutex_lock(&s->mu);
    if (admit(s, req->header, &resp->header, 1)) {
        size_t n = cluster_store_count(s->cluster);
        resp->stores = xmalloc((n ? n : 1) * sizeof(*resp->stores));
        for (size_t i = 0; i < n; i++) {
            const Metapb__Store *m = cluster_store_at(s->cluster, i)->meta;
            if (req->exclude_tombstone_stores && m->state == METAPB__STORE_STATE__STORE_TOMBSTONE)
                continue;
            resp->stores[resp->n_stores++] = (Metapb__Store *)pb_dup(&m->base);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return TKV_OK;
}

static tkv_err_t handle_store_heartbeat(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    if (!is_msg(rq, &schedulerpb__store_heartbeat_request__descriptor) ||
        !is_msg(rp, &schedulerpb__store_heartbeat_response__descriptor))
        return wrong_type("StoreHeartbeat");
    sched_server_t *s = ctx;
    const Schedulerpb__StoreHeartbeatRequest *req = (const void *)rq;
    Schedulerpb__StoreHeartbeatResponse *resp = (void *)rp;
    pthread_mutex_lock(&s->mu);
    if (admit(s, req->header, &resp->header, 1)) {
        tkv_err_t e = cluster_store_heartbeat(s->cluster, req->stats);
        if (e != TKV_OK)
            set_error(&resp->header, cluster_id(s->cluster),
                      e == TKV_ERR_STALE ? SCHEDULERPB__ERROR_TYPE__ERR_STORE_TOMBSTONE
                                         : SCHEDULERPB__ERROR_TYPE__ERR_UNKNOWN,
                      e);
    }
    pthread_mutex_unlock(&s->mu);
    return TKV_OK;
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
    if (op != NULL && opctl_add(s->ops, op) == TKV_OK)
        tkv_logf(TKV_LOG_INFO, "scheduler",
                 "balance-region: move region %llu from store %llu to %llu",
                 (unsigned long long)op->region_id, (unsigned long long)op->from_store,
                 (unsigned long long)op->to_store);
}

static tkv_err_t handle_region_heartbeat(void *ctx, const ProtobufCMessage *rq,
                                         ProtobufCMessage *rp)
{
    if (!is_msg(rq, &schedulerpb__region_heartbeat_request__descriptor) ||
        !is_msg(rp, &schedulerpb__region_heartbeat_response__descriptor))
        return wrong_type("RegionHeartbeat");
    sched_server_t *s = ctx;
    const Schedulerpb__RegionHeartbeatRequest *req = (const void *)rq;
    Schedulerpb__RegionHeartbeatResponse *resp = (void *)rp;
    pthread_mutex_lock(&s->mu);
    if (admit(s, req->header, &resp->header, 1)) {
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
            maybe_balance(s);
            const sched_region_t *r = cluster_get_region(s->cluster, req->region->id);
            if (r != NULL)
                opctl_dispatch(s->ops, r, clock_now_ms(s->clock), resp);
        }
    }
    pthread_mutex_unlock(&s->mu);
    return TKV_OK;
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

static tkv_err_t handle_get_region(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    if (!is_msg(rq, &schedulerpb__get_region_request__descriptor) ||
        !is_msg(rp, &schedulerpb__get_region_response__descriptor))
        return wrong_type("GetRegion");
    sched_server_t *s = ctx;
    const Schedulerpb__GetRegionRequest *req = (const void *)rq;
    Schedulerpb__GetRegionResponse *resp = (void *)rp;
    pthread_mutex_lock(&s->mu);
    if (admit(s, req->header, &resp->header, 1))
        fill_region(resp, cluster_search_region(
                              s->cluster, slice_of(req->region_key.data, req->region_key.len)));
    pthread_mutex_unlock(&s->mu);
    return TKV_OK;
}

static tkv_err_t handle_get_region_by_id(void *ctx, const ProtobufCMessage *rq,
                                         ProtobufCMessage *rp)
{
    if (!is_msg(rq, &schedulerpb__get_region_by_id_request__descriptor) ||
        !is_msg(rp, &schedulerpb__get_region_response__descriptor))
        return wrong_type("GetRegionById");
    sched_server_t *s = ctx;
    const Schedulerpb__GetRegionByIdRequest *req = (const void *)rq;
    Schedulerpb__GetRegionResponse *resp = (void *)rp;
    pthread_mutex_lock(&s->mu);
    if (admit(s, req->header, &resp->header, 1))
        fill_region(resp, cluster_get_region(s->cluster, req->region_id));
    pthread_mutex_unlock(&s->mu);
    return TKV_OK;
}

static tkv_err_t handle_ask_split(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    if (!is_msg(rq, &schedulerpb__ask_split_request__descriptor) ||
        !is_msg(rp, &schedulerpb__ask_split_response__descriptor))
        return wrong_type("AskSplit");
    sched_server_t *s = ctx;
    const Schedulerpb__AskSplitRequest *req = (const void *)rq;
    Schedulerpb__AskSplitResponse *resp = (void *)rp;
    pthread_mutex_lock(&s->mu);
    if (admit(s, req->header, &resp->header, 1)) {
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
            set_error(&resp->header, cluster_id(s->cluster), SCHEDULERPB__ERROR_TYPE__ERR_UNKNOWN,
                      e);
    }
    pthread_mutex_unlock(&s->mu);
    return TKV_OK;
}

const rpc_method_t sched_service_methods[] = {
    { "Tso", handle_tso },
    { "Bootstrap", handle_bootstrap },
    { "IsBootstrapped", handle_is_bootstrapped },
    { "AllocId", handle_alloc_id },
    { "GetStore", handle_get_store },
    { "PutStore", handle_put_store },
    { "GetAllStores", handle_get_all_stores },
    { "StoreHeartbeat", handle_store_heartbeat },
    { "RegionHeartbeat", handle_region_heartbeat },
    { "GetRegion", handle_get_region },
    { "GetRegionById", handle_get_region_by_id },
    { "AskSplit", handle_ask_split },
    { NULL, NULL },
};

tkv_err_t sched_server_call(sched_server_t *s, const char *method, const ProtobufCMessage *req,
                            ProtobufCMessage *resp)
{
    for (const rpc_method_t *m = sched_service_methods; m->method != NULL; m++) {
        if (strcmp(m->method, method) == 0)
            return m->fn(s, req, resp);
    }
    return tkv_errorf(TKV_ERR_NOT_FOUND, "the Scheduler service has no method %s", method);
}
