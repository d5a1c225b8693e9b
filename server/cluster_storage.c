/*
 * The Storage interface on the store loop (cluster_storage.h). A call packs
 * its command, posts it to the loop with a waiter on the heap, and waits on
 * the waiter's condition; the callback, on the store thread, fills the
 * waiter and signals. A waiter given up on (timeout) is freed by the
 * callback when it finally comes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/pb.h"
#include "project2-raft/raftstore/modify_cmd.h"
#include "server/cluster_storage.h"

typedef struct {
    storage_t base;
    store_loop_t *loop;
    eng_t *kv;
    int timeout_ms;
} cstorage_t;

typedef struct {
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int done, abandoned;
    RaftCmdpb__RaftCmdResponse *resp;
    eng_snap_t *snap;
} waiter_t;

typedef struct {
    storage_reader_t base;
    eng_t *kv;
    eng_snap_t *snap;
    uint64_t region_id;
    tkv_buf_t start, end;
} creader_t;

static _Thread_local cluster_call_t *current;

void cluster_call_begin(cluster_call_t *c, tkv_slice_t route_key)
{
    memset(c, 0, sizeof(*c));
    c->route_key = route_key;
    current = c;
}

void cluster_call_end(cluster_call_t *c, Errorpb__Error **keep)
{
    current = NULL;
    if (keep != NULL)
        *keep = c->region_error;
    else
        pb_free(c->region_error);
    c->region_error = NULL;
    buf_free(&c->region_start);
    buf_free(&c->region_end);
}

/* Keeps the first region error of the call. */
static void note_error(Errorpb__Error *e)
{
    if (current != NULL && current->region_error == NULL)
        current->region_error = e;
    else
        pb_free(e);
}

static Errorpb__Error *busy_error(const char *why)
{
    Errorpb__Error *e = xmalloc(sizeof(*e));
    errorpb__error__init(e);
    e->message = strdup(why);
    e->server_is_busy = xmalloc(sizeof(*e->server_is_busy));
    errorpb__server_is_busy__init(e->server_is_busy);
    e->server_is_busy->reason = strdup(why);
    return e;
}

static uint8_t *copy_bytes(const uint8_t *p, size_t n)
{
    uint8_t *d = xmalloc(n + 1);
    if (n > 0)
        memcpy(d, p, n);
    return d;
}

Errorpb__Error *cluster_key_not_in_region(tkv_slice_t key, const tkv_buf_t *start,
                                          const tkv_buf_t *end)
{
    Errorpb__Error *e = xmalloc(sizeof(*e));
    errorpb__error__init(e);
    e->message = strdup("the key is not in the region read");
    Errorpb__KeyNotInRegion *k = xmalloc(sizeof(*k));
    errorpb__key_not_in_region__init(k);
    k->key.data = copy_bytes(key.data, key.len);
    k->key.len = key.len;
    k->start_key.data = copy_bytes(start->data, start->len);
    k->start_key.len = start->len;
    k->end_key.data = copy_bytes(end->data, end->len);
    k->end_key.len = end->len;
    e->key_not_in_region = k;
    return e;
}

static void on_answer(void *arg, RaftCmdpb__RaftCmdResponse *resp, eng_snap_t *snap)
{
    waiter_t *w = arg;
    pthread_mutex_lock(&w->mu);
    if (w->abandoned) {
        pthread_mutex_unlock(&w->mu);
        pb_free(resp);
        if (snap != NULL)
            eng_snapshot_free(snap);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cond);
        free(w);
        return;
    }
    w->resp = resp;
    w->snap = snap;
    w->done = 1;
    pthread_cond_signal(&w->cond);
    pthread_mutex_unlock(&w->mu);
}

/* The error code a region error stands for (its words in tkv_last_error). */
static tkv_err_t code_of(const Errorpb__Error *e)
{
    const char *msg = e->message != NULL ? e->message : "region error";
    if (e->not_leader != NULL)
        return tkv_errorf(TKV_ERR_NOT_LEADER, "not the leader of region %llu",
                          (unsigned long long)e->not_leader->region_id);
    if (e->stale_command != NULL)
        return tkv_errorf(TKV_ERR_STALE, "%s", msg);
    if (e->region_not_found != NULL)
        return tkv_errorf(TKV_ERR_NOT_FOUND, "region %llu is not on this store",
                          (unsigned long long)e->region_not_found->region_id);
    if (e->server_is_busy != NULL)
        return tkv_errorf(TKV_ERR_BUSY, "%s", msg);
    return tkv_errorf(TKV_ERR_INVALID, "%s", msg);
}

/* Posts `cmd` and waits for its answer: TKV_OK with *resp and *snap (may
 * be NULL) the caller's, whatever the answer says; TKV_ERR_TIMEOUT (the
 * ServerIsBusy noted) when none came in time. */
static tkv_err_t post_and_wait(cstorage_t *cs, const RaftCmdpb__RaftCmdRequest *cmd,
                               RaftCmdpb__RaftCmdResponse **resp_out, eng_snap_t **snap_out)
{
    size_t len = raft_cmdpb__raft_cmd_request__get_packed_size(cmd);
    uint8_t *bytes = xmalloc(len + 1);
    raft_cmdpb__raft_cmd_request__pack(cmd, bytes);
    waiter_t *w = xcalloc(1, sizeof(*w));
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cond, NULL);
    peer_cb_t cb = { on_answer, w };
    tkv_slice_t key = current != NULL ? current->route_key : slice_of(NULL, 0);
    store_loop_propose(cs->loop, bytes, len, key, cb);
    free(bytes);

    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += cs->timeout_ms / 1000;
    until.tv_nsec += (long)(cs->timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&w->mu);
    while (!w->done)
        if (pthread_cond_timedwait(&w->cond, &w->mu, &until) != 0 && !w->done)
            break;
    if (!w->done) {
        w->abandoned = 1; /* the answer, when it comes, frees w */
        pthread_mutex_unlock(&w->mu);
        note_error(busy_error("the region did not answer in time"));
        return tkv_errorf(TKV_ERR_TIMEOUT, "the region did not answer within %d ms",
                          cs->timeout_ms);
    }
    pthread_mutex_unlock(&w->mu);
    *resp_out = w->resp;
    *snap_out = w->snap;
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cond);
    free(w);
    return TKV_OK;
}

tkv_err_t cluster_storage_command(storage_t *s, const RaftCmdpb__RaftCmdRequest *cmd,
                                  RaftCmdpb__RaftCmdResponse **out)
{
    eng_snap_t *snap = NULL;
    *out = NULL;
    tkv_err_t e = post_and_wait((cstorage_t *)s, cmd, out, &snap);
    if (snap != NULL)
        eng_snapshot_free(snap);
    return e;
}

/* Posts `cmd` and waits for its answer. TKV_OK: *out (and *snap, if asked
 * and given) are the caller's. Otherwise the region error is noted. */
static tkv_err_t run_command(cstorage_t *cs, const RaftCmdpb__RaftCmdRequest *cmd,
                             RaftCmdpb__RaftCmdResponse **out, eng_snap_t **snap)
{
    *out = NULL;
    if (snap != NULL)
        *snap = NULL;
    RaftCmdpb__RaftCmdResponse *resp = NULL;
    eng_snap_t *s = NULL;
    tkv_err_t perr = post_and_wait(cs, cmd, &resp, &s);
    if (perr != TKV_OK)
        return perr;
    const Errorpb__Error *e = resp->header ? resp->header->error : NULL;
    if (e != NULL) {
        tkv_err_t err = code_of(e);
        note_error((Errorpb__Error *)pb_dup(&e->base));
        pb_free(resp);
        if (s != NULL)
            eng_snapshot_free(s);
        return err;
    }
    *out = resp;
    if (snap != NULL)
        *snap = s;
    else if (s != NULL)
        eng_snapshot_free(s);
    return TKV_OK;
}

static void fill_header(RaftCmdpb__RaftRequestHeader *h, const Kvrpcpb__Context *ctx)
{
    if (ctx == NULL || ctx->region_id == 0)
        return; /* the store routes by the call's key */
    h->region_id = ctx->region_id;
    h->peer = ctx->peer;
    h->region_epoch = ctx->region_epoch;
    h->term = ctx->term;
}

static tkv_err_t cs_start(storage_t *s)
{
    (void)s;
    return TKV_OK;
}

static void cs_stop(storage_t *s)
{
    (void)s;
}

static void cs_free(storage_t *s)
{
    free(s);
}

static tkv_err_t cs_write(storage_t *s, const Kvrpcpb__Context *ctx, const storage_modify_t *mods,
                          size_t n)
{
    cstorage_t *cs = (cstorage_t *)s;
    modify_cmd_t m;
    tkv_err_t err = modify_cmd_build(&m, mods, n);
    if (err != TKV_OK || n == 0)
        return err;
    RaftCmdpb__RaftRequestHeader h = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    fill_header(&h, ctx);
    RaftCmdpb__RaftCmdRequest cmd = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    cmd.header = &h;
    cmd.requests = m.requests;
    cmd.n_requests = m.n_requests;
    RaftCmdpb__RaftCmdResponse *resp = NULL;
    err = run_command(cs, &cmd, &resp, NULL);
    pb_free(resp);
    modify_cmd_free(&m);
    return err;
}

static tkv_err_t reader_get(storage_reader_t *r, const char *cf, tkv_slice_t key, tkv_buf_t *val)
{
    creader_t *cr = (creader_t *)r;
    if (!eng_cf_valid(cf))
        return tkv_errorf(TKV_ERR_INVALID, "unknown column family '%s'", cf ? cf : "(null)");
    if (slice_compare(key, buf_slice(&cr->start)) < 0 ||
        (cr->end.len > 0 && slice_compare(key, buf_slice(&cr->end)) >= 0)) {
        Errorpb__Error *e = cluster_key_not_in_region(key, &cr->start, &cr->end);
        e->key_not_in_region->region_id = cr->region_id;
        note_error(e);
        return tkv_errorf(TKV_ERR_INVALID, "the key is not in region %llu",
                          (unsigned long long)cr->region_id);
    }
    return eng_get_at(cr->kv, cr->snap, cf, key, val);
}

static storage_iter_t *reader_iter(storage_reader_t *r, const char *cf)
{
    creader_t *cr = (creader_t *)r;
    return storage_iter_new(cr->kv, cr->snap, cf, buf_slice(&cr->end));
}

static void reader_free(storage_reader_t *r)
{
    creader_t *cr = (creader_t *)r;
    eng_snapshot_free(cr->snap);
    buf_free(&cr->start);
    buf_free(&cr->end);
    free(cr);
}

static const struct storage_reader_ops creader_ops = { reader_get, reader_iter, reader_free };

static tkv_err_t cs_reader(storage_t *s, const Kvrpcpb__Context *ctx, storage_reader_t **out)
{
    cstorage_t *cs = (cstorage_t *)s;
    *out = NULL;
    RaftCmdpb__SnapRequest snap_req = RAFT_CMDPB__SNAP_REQUEST__INIT;
    RaftCmdpb__Request r = RAFT_CMDPB__REQUEST__INIT;
    r.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_SNAP;
    r.snap = &snap_req;
    RaftCmdpb__Request *ptrs[1] = { &r };
    RaftCmdpb__RaftRequestHeader h = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    fill_header(&h, ctx);
    RaftCmdpb__RaftCmdRequest cmd = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    cmd.header = &h;
    cmd.requests = ptrs;
    cmd.n_requests = 1;
    RaftCmdpb__RaftCmdResponse *resp = NULL;
    eng_snap_t *snap = NULL;
    tkv_err_t err = run_command(cs, &cmd, &resp, &snap);
    if (err != TKV_OK)
        return err;
    if (snap == NULL) {
        pb_free(resp);
        return tkv_errorf(TKV_ERR_INVALID, "the region answered a Snap without a snapshot");
    }
    creader_t *cr = xcalloc(1, sizeof(*cr));
    cr->base.ops = &creader_ops;
    cr->kv = cs->kv;
    cr->snap = snap;
    const Metapb__Region *region = NULL;
    if (resp->n_responses > 0 && resp->responses[0]->snap != NULL)
        region = resp->responses[0]->snap->region;
    if (region != NULL) {
        cr->region_id = region->id;
        buf_set(&cr->start, region->start_key.data, region->start_key.len);
        buf_set(&cr->end, region->end_key.data, region->end_key.len);
        if (current != NULL && !current->have_region) {
            current->have_region = 1;
            buf_set(&current->region_start, region->start_key.data, region->start_key.len);
            buf_set(&current->region_end, region->end_key.data, region->end_key.len);
        }
    }
    pb_free(resp);
    *out = &cr->base;
    return TKV_OK;
}

static const struct storage_ops cstorage_ops = { cs_start, cs_stop, cs_free, cs_write, cs_reader };

tkv_err_t cluster_storage_new(store_loop_t *loop, int timeout_ms, storage_t **out)
{
    *out = NULL;
    if (loop == NULL || timeout_ms <= 0)
        return tkv_errorf(TKV_ERR_INVALID, "a cluster storage needs a store loop and a timeout");
    cstorage_t *cs = xcalloc(1, sizeof(*cs));
    cs->base.ops = &cstorage_ops;
    cs->loop = loop;
    cs->kv = store_kv_db(store_loop_store(loop)); /* fixed for the store's life */
    cs->timeout_ms = timeout_ms;
    *out = &cs->base;
    return TKV_OK;
}
