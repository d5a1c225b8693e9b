/*
 * The cluster store's TinyKv service (cluster_service.h): the raw and Kv*
 * handlers wrapped so their region errors reach the response, and RaftCmd.
 *
 * The wrappers find the fields they need (context, the routing key,
 * region_error) through the message descriptors, so one wrapper serves
 * every method whatever its types.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/pb.h"
#include "project1-standalone/kv_service.h"
#include "project2-raft/raftstore/cmd_resp.h"
#include "server/cluster_service.h"
#include "server/cluster_storage.h"

static const ProtobufCFieldDescriptor *field(const ProtobufCMessage *m, const char *name)
{
    return protobuf_c_message_descriptor_get_field_by_name(m->descriptor, name);
}

/* The bytes of field `name` (the first element when repeated). */
static int bytes_field(const ProtobufCMessage *m, const char *name, tkv_slice_t *out)
{
    const ProtobufCFieldDescriptor *f = field(m, name);
    if (f == NULL || f->type != PROTOBUF_C_TYPE_BYTES)
        return 0;
    const char *base = (const char *)m;
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t n = *(const size_t *)(base + f->quantifier_offset);
        if (n == 0)
            return 0;
        const ProtobufCBinaryData *a = *(ProtobufCBinaryData *const *)(base + f->offset);
        *out = slice_of(a[0].data, a[0].len);
        return 1;
    }
    const ProtobufCBinaryData *b = (const ProtobufCBinaryData *)(base + f->offset);
    *out = slice_of(b->data, b->len);
    return 1;
}

/* The key that routes a request sent without a Context. */
static tkv_slice_t route_key(const ProtobufCMessage *req)
{
    static const char *const names[] = { "key", "start_key", "primary_key", "primary_lock",
                                         "keys" };
    tkv_slice_t k = slice_of(NULL, 0);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (bytes_field(req, names[i], &k) && k.len > 0)
            return k;
    const ProtobufCFieldDescriptor *f = field(req, "mutations");
    if (f != NULL && f->label == PROTOBUF_C_LABEL_REPEATED &&
        *(const size_t *)((const char *)req + f->quantifier_offset) > 0) {
        ProtobufCMessage *const *a =
            *(ProtobufCMessage *const *const *)((const char *)req + f->offset);
        if (bytes_field(a[0], "key", &k))
            return k;
    }
    return slice_of(NULL, 0);
}

static const Kvrpcpb__Context *context_of(const ProtobufCMessage *req)
{
    const ProtobufCFieldDescriptor *f = field(req, "context");
    if (f == NULL || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return NULL;
    return *(Kvrpcpb__Context *const *)((const char *)req + f->offset);
}

static void set_region_error(ProtobufCMessage *resp, Errorpb__Error *e)
{
    const ProtobufCFieldDescriptor *f = field(resp, "region_error");
    if (f == NULL) {
        pb_free(e);
        return;
    }
    Errorpb__Error **slot = (Errorpb__Error **)((char *)resp + f->offset);
    pb_free(*slot);
    *slot = e;
}

static Errorpb__Error *store_not_match(uint64_t asked, uint64_t mine)
{
    Errorpb__Error *e = xmalloc(sizeof(*e));
    errorpb__error__init(e);
    e->message = strdup("the request names a peer on another store");
    e->store_not_match = xmalloc(sizeof(*e->store_not_match));
    errorpb__store_not_match__init(e->store_not_match);
    e->store_not_match->request_store_id = asked;
    e->store_not_match->actual_store_id = mine;
    return e;
}

/* A scan that started outside the region it read: its pairs may belong to
 * another region's stale copy, so they go. */
static void drop_pairs(ProtobufCMessage *resp)
{
    const ProtobufCFieldDescriptor *f = field(resp, "kvs");
    if (f == NULL || f->label != PROTOBUF_C_LABEL_REPEATED)
        return;
    size_t *n = (size_t *)((char *)resp + f->quantifier_offset);
    ProtobufCMessage ***a = (ProtobufCMessage ***)((char *)resp + f->offset);
    for (size_t i = 0; i < *n; i++)
        pb_free((*a)[i]);
    free(*a);
    *a = NULL;
    *n = 0;
}

static int in_range(tkv_slice_t k, const tkv_buf_t *start, const tkv_buf_t *end)
{
    if (slice_compare(k, buf_slice(start)) < 0)
        return 0;
    return end->len == 0 || slice_compare(k, buf_slice(end)) < 0;
}

static tkv_err_t serve_wrapped(void *ctx, const ProtobufCMessage *req, ProtobufCMessage *resp)
{
    cluster_wrap_t *w = ctx;
    const Kvrpcpb__Context *c = context_of(req);
    if (c != NULL && c->peer != NULL && c->peer->store_id != 0 &&
        c->peer->store_id != w->svc->store_id) {
        set_region_error(resp, store_not_match(c->peer->store_id, w->svc->store_id));
        return TKV_OK;
    }
    cluster_call_t call;
    cluster_call_begin(&call, route_key(req));
    void *inner = w->txn ? (void *)&w->svc->txn : (void *)w->svc->storage;
    tkv_err_t e = w->fn(inner, req, resp);
    Errorpb__Error *region_error = NULL;
    tkv_slice_t start;
    if (call.region_error == NULL && call.have_region && bytes_field(req, "start_key", &start) &&
        !in_range(start, &call.region_start, &call.region_end)) {
        drop_pairs(resp);
        call.region_error = cluster_key_not_in_region(start, &call.region_start, &call.region_end);
    }
    cluster_call_end(&call, &region_error);
    if (region_error != NULL)
        set_region_error(resp, region_error);
    return e;
}

/* ---- RaftCmd: admin commands from operators ---- */

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int done, abandoned;
    uint64_t region_id;
    tkv_buf_t key;
    RaftCmdpb__RaftCmdResponse *resp;
} split_wait_t;

static void split_wait_free(split_wait_t *w)
{
    pb_free(w->resp);
    buf_free(&w->key);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cond);
    free(w);
}

static void split_finish(split_wait_t *w, RaftCmdpb__RaftCmdResponse *resp)
{
    pthread_mutex_lock(&w->mu);
    w->resp = resp;
    w->done = 1;
    if (w->abandoned) {
        pthread_mutex_unlock(&w->mu);
        split_wait_free(w);
        return;
    }
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

/* On the store thread: asks the scheduler for the new ids and splits once
 * they come (multiraft.h); the answer here only says it was asked. */
static void split_on_store(store_t *s, void *arg)
{
    split_wait_t *w = arg;
    peer_t *p = store_peer(s, w->region_id);
    RaftCmdpb__RaftCmdResponse *resp;
    if (p == NULL)
        resp = cmd_resp_region_not_found(w->region_id);
    else if (!peer_is_leader(p))
        resp = cmd_resp_not_leader(w->region_id, peer_leader(p), peer_term(p));
    else if (multiraft_ask_split(s, w->region_id, buf_slice(&w->key)) != TKV_OK)
        resp = cmd_resp_error(peer_term(p), tkv_last_error());
    else
        resp = cmd_resp_new(peer_term(p));
    split_finish(w, resp);
}

static void split_cancel(void *arg)
{
    split_finish(arg, cmd_resp_stale(0, "the store is stopping"));
}

static RaftCmdpb__RaftCmdResponse *ask_split(cluster_service_t *svc, uint64_t region_id,
                                             tkv_slice_t key)
{
    split_wait_t *w = xcalloc(1, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    w->region_id = region_id;
    buf_set(&w->key, key.data, key.len);
    if (store_loop_run(svc->loop, split_on_store, split_cancel, w) != TKV_OK) {
        split_wait_free(w);
        return cmd_resp_error(0, tkv_last_error());
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += svc->timeout_ms / 1000 + 1;
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        if (pthread_cond_timedwait(&w->cond, &w->mu, &until) != 0 && !w->done)
            break;
    if (!w->done) {
        w->abandoned = 1;
        pthread_mutex_unlock(&w->mu);
        return cmd_resp_error(0, "the store did not answer in time");
    }
    pthread_mutex_unlock(&w->mu);
    RaftCmdpb__RaftCmdResponse *resp = w->resp;
    w->resp = NULL;
    split_wait_free(w);
    return resp;
}

static tkv_err_t serve_raft_cmd(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    cluster_service_t *svc = ctx;
    const RaftCmdpb__RaftCmdRequest *req = (const void *)rq;
    RaftCmdpb__RaftCmdResponse *resp = (void *)rp;
    RaftCmdpb__RaftCmdResponse *got = NULL;
    const RaftCmdpb__AdminRequest *a = req->admin_request;
    if (req->header == NULL || req->header->region_id == 0 || a == NULL || req->n_requests > 0) {
        got = cmd_resp_error(0, "RaftCmd takes one admin command for a named region");
    } else if (a->cmd_type == RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_SPLIT) {
        if (a->split == NULL || a->split->split_key.len == 0)
            got = cmd_resp_error(0, "a split needs a split key");
        else
            got = ask_split(svc, req->header->region_id,
                            slice_of(a->split->split_key.data, a->split->split_key.len));
    } else if (a->cmd_type == RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_TRANSFER_LEADER ||
               a->cmd_type == RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_CHANGE_PEER) {
        if (cluster_storage_command(svc->storage, req, &got) != TKV_OK)
            got = cmd_resp_error(0, tkv_last_error());
    } else {
        got = cmd_resp_error(0, "RaftCmd serves TransferLeader, ChangePeer and Split only");
    }
    /* Move the answer's parts into the server's response. */
    resp->header = got->header;
    got->header = NULL;
    resp->admin_response = got->admin_response;
    got->admin_response = NULL;
    pb_free(got);
    return TKV_OK;
}

/* ---- the table ---- */

static void wrap_all(cluster_service_t *svc, const rpc_method_t *table, int txn)
{
    for (size_t i = 0; table[i].method != NULL && svc->n_wraps < CLUSTER_SERVICE_MAX; i++) {
        cluster_wrap_t *w = &svc->wraps[svc->n_wraps++];
        w->method = table[i].method;
        w->fn = table[i].fn;
        w->txn = txn;
        w->svc = svc;
    }
}

void cluster_service_init(cluster_service_t *svc)
{
    memset(svc, 0, sizeof(*svc));
    wrap_all(svc, kv_service_standalone_methods(), 0);
    wrap_all(svc, txn_service_methods(), 1);
    size_t n = 0;
    for (size_t i = 0; i < svc->n_wraps; i++) {
        svc->methods[n].method = svc->wraps[i].method;
        svc->methods[n].fn = serve_wrapped;
        svc->methods[n].ctx = &svc->wraps[i];
        n++;
    }
    svc->methods[n].method = "RaftCmd";
    svc->methods[n].fn = serve_raft_cmd;
    svc->methods[n].ctx = svc;
    n++;
    svc->methods[n].method = NULL;
    svc->methods[n].fn = NULL;
    svc->methods[n].ctx = NULL;
}

void cluster_service_bind(cluster_service_t *svc, uint64_t store_id, storage_t *storage,
                          latches_t *latches, store_loop_t *loop, int timeout_ms)
{
    svc->store_id = store_id;
    svc->storage = storage;
    svc->loop = loop;
    svc->timeout_ms = timeout_ms;
    svc->txn.storage = storage;
    svc->txn.latches = latches;
}
