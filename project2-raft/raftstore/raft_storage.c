/*
 * The Storage interface on a replicated store (raft_storage.h).
 *
 * A call proposes a command with a callback, then asks the driver to run
 * until the callback has fired. If the driver gives up first, the callback
 * may still fire later (the command may even apply): the waiter is then
 * left to the callback to free, which is why it lives on the heap.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project2-raft/raftstore/pb_util.h"
#include "project2-raft/raftstore/modify_cmd.h"
#include "project2-raft/raftstore/raft_storage.h"

typedef struct {
    storage_t base;
    raft_storage_config_t cfg;
    Errorpb__Error *region_error; /* of the last failed call; owned */
} replicated_storage_t;

typedef struct {
    int done;
    int abandoned; /* the caller stopped waiting: the callback frees us */
    RaftCmdpb__RaftCmdResponse *resp;
    eng_snap_t *snap;
} waiter_t;

typedef struct {
    storage_reader_t base;
    eng_t *kv;
    eng_snap_t *snap;
    /* The region's range as of the snapshot: a get outside it is refused,
     * iterators stop at its end (a seek before its start is the caller's
     * mistake: the iterator type has no lower bound). */
    tkv_buf_t start, end;
} raft_reader_t;

static void on_answer(void *arg, RaftCmdpb__RaftCmdResponse *resp, eng_snap_t *snap)
{
    waiter_t *w = arg;
    if (w->abandoned) {
        pb_free(resp);
        if (snap != NULL)
            eng_snapshot_free(snap);
        free(w);
        return;
    }
    w->resp = resp;
    w->snap = snap;
    w->done = 1;
}

/* Proposes `req` on the store and waits for the answer. On success *out is
 * the response (caller frees) and *snap its engine snapshot, if any. */
static tkv_err_t run_command(replicated_storage_t *rs, const RaftCmdpb__RaftCmdRequest *req,
                             RaftCmdpb__RaftCmdResponse **out, eng_snap_t **snap)
{
    *out = NULL;
    if (snap != NULL)
        *snap = NULL;
    pb_free(rs->region_error);
    rs->region_error = NULL;
    waiter_t *w = xcalloc(1, sizeof(*w));
    peer_cb_t cb = { on_answer, w };
    store_propose(rs->cfg.store, req, cb);
    tkv_err_t err = w->done ? TKV_OK : rs->cfg.wait(rs->cfg.wait_arg, &w->done);
    if (!w->done) {
        w->abandoned = 1; /* the answer, if it ever comes, frees w */
        return err != TKV_OK ? err
                             : tkv_errorf(TKV_ERR_TIMEOUT, "no answer from the region in time");
    }
    RaftCmdpb__RaftCmdResponse *resp = w->resp;
    eng_snap_t *s = w->snap;
    free(w);
    const Errorpb__Error *e = resp->header ? resp->header->error : NULL;
    if (e != NULL) {
        rs->region_error = (Errorpb__Error *)pb_dup(&e->base);
        if (e->not_leader && e->not_leader->leader)
            err = tkv_errorf(TKV_ERR_NOT_LEADER, "not the leader of region %llu: try store %llu",
                             (unsigned long long)e->not_leader->region_id,
                             (unsigned long long)e->not_leader->leader->store_id);
        else if (e->not_leader)
            err = tkv_errorf(TKV_ERR_NOT_LEADER, "not the leader of region %llu; leader unknown",
                             (unsigned long long)e->not_leader->region_id);
        else if (e->stale_command)
            err = tkv_errorf(TKV_ERR_STALE, "%s", e->message);
        else if (e->region_not_found)
            err = tkv_errorf(TKV_ERR_NOT_FOUND, "region %llu is not on this store",
                             (unsigned long long)e->region_not_found->region_id);
        else
            err = tkv_errorf(TKV_ERR_INVALID, "%s", e->message);
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

/* The command's region: the context's, or without one (a raw request that
 * names no region) the store's region holding `key`, with its epoch. */
static void fill_header(replicated_storage_t *rs, RaftCmdpb__RaftRequestHeader *h,
                        const Kvrpcpb__Context *ctx, tkv_slice_t key)
{
    if (ctx == NULL || ctx->region_id == 0) {
        peer_t *p = store_region_by_key(rs->cfg.store, key);
        if (p != NULL) {
            h->region_id = peer_region_id(p);
            h->region_epoch = peer_region(p)->region_epoch;
        }
        return;
    }
    h->region_id = ctx->region_id;
    h->peer = ctx->peer;
    h->region_epoch = ctx->region_epoch;
    h->term = ctx->term;
}

static tkv_err_t rs_start(storage_t *s)
{
    (void)s;
    return TKV_OK;
}

static void rs_stop(storage_t *s)
{
    (void)s;
}

static void rs_free(storage_t *s)
{
    replicated_storage_t *rs = (replicated_storage_t *)s;
    pb_free(rs->region_error);
    free(rs);
}

static tkv_err_t rs_write(storage_t *s, const Kvrpcpb__Context *ctx, const storage_modify_t *mods,
                          size_t n)
{
    replicated_storage_t *rs = (replicated_storage_t *)s;
    modify_cmd_t m;
    tkv_err_t err = modify_cmd_build(&m, mods, n);
    if (err != TKV_OK || n == 0)
        return err;
    RaftCmdpb__RaftRequestHeader h = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    fill_header(rs, &h, ctx, mods[0].key);
    RaftCmdpb__RaftCmdRequest cmd = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    cmd.header = &h;
    cmd.requests = m.requests;
    cmd.n_requests = m.n_requests;
    RaftCmdpb__RaftCmdResponse *resp = NULL;
    err = run_command(rs, &cmd, &resp, NULL);
    pb_free(resp);
    modify_cmd_free(&m);
    return err;
}

static tkv_err_t reader_get(storage_reader_t *r, const char *cf, tkv_slice_t key, tkv_buf_t *val)
{
    raft_reader_t *rr = (raft_reader_t *)r;
    if (!eng_cf_valid(cf))
        return tkv_errorf(TKV_ERR_INVALID, "unknown column family '%s'", cf ? cf : "(null)");
    if (slice_compare(key, buf_slice(&rr->start)) < 0 ||
        (rr->end.len > 0 && slice_compare(key, buf_slice(&rr->end)) >= 0))
        return tkv_errorf(TKV_ERR_INVALID, "key is outside the region this reader reads");
    return eng_get_at(rr->kv, rr->snap, cf, key, val);
}

static storage_iter_t *reader_iter(storage_reader_t *r, const char *cf)
{
    raft_reader_t *rr = (raft_reader_t *)r;
    return storage_iter_new(rr->kv, rr->snap, cf, buf_slice(&rr->end));
}

static void reader_free(storage_reader_t *r)
{
    raft_reader_t *rr = (raft_reader_t *)r;
    eng_snapshot_free(rr->snap);
    buf_free(&rr->start);
    buf_free(&rr->end);
    free(rr);
}

static const struct storage_reader_ops raft_reader_ops = { reader_get, reader_iter, reader_free };

static tkv_err_t rs_reader(storage_t *s, const Kvrpcpb__Context *ctx, storage_reader_t **out)
{
    replicated_storage_t *rs = (replicated_storage_t *)s;
    *out = NULL;
    RaftCmdpb__SnapRequest snap_req = RAFT_CMDPB__SNAP_REQUEST__INIT;
    RaftCmdpb__Request r = RAFT_CMDPB__REQUEST__INIT;
    r.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_SNAP;
    r.snap = &snap_req;
    RaftCmdpb__Request *ptrs[1] = { &r };
    RaftCmdpb__RaftRequestHeader h = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    fill_header(rs, &h, ctx, slice_of(NULL, 0)); /* no context: the first region */
    RaftCmdpb__RaftCmdRequest cmd = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    cmd.header = &h;
    cmd.requests = ptrs;
    cmd.n_requests = 1;
    RaftCmdpb__RaftCmdResponse *resp = NULL;
    eng_snap_t *snap = NULL;
    tkv_err_t err = run_command(rs, &cmd, &resp, &snap);
    if (err != TKV_OK)
        return err;
    if (snap == NULL) {
        pb_free(resp);
        return tkv_errorf(TKV_ERR_INVALID, "the region answered a Snap without a snapshot");
    }
    raft_reader_t *rr = xcalloc(1, sizeof(*rr));
    rr->base.ops = &raft_reader_ops;
    rr->kv = store_kv_db(rs->cfg.store);
    rr->snap = snap;
    const Metapb__Region *region = NULL;
    if (resp->n_responses > 0 && resp->responses[0]->snap != NULL)
        region = resp->responses[0]->snap->region;
    if (region != NULL) {
        buf_set(&rr->start, region->start_key.data, region->start_key.len);
        buf_set(&rr->end, region->end_key.data, region->end_key.len);
    }
    pb_free(resp);
    *out = &rr->base;
    return TKV_OK;
}

static const struct storage_ops raft_storage_ops = { rs_start, rs_stop, rs_free, rs_write,
                                                     rs_reader };

tkv_err_t raft_storage_new(const raft_storage_config_t *cfg, storage_t **out)
{
    *out = NULL;
    if (cfg->store == NULL || cfg->wait == NULL)
        return tkv_errorf(TKV_ERR_INVALID, "a raft storage needs a store and a wait function");
    replicated_storage_t *rs = xcalloc(1, sizeof(*rs));
    rs->base.ops = &raft_storage_ops;
    rs->cfg = *cfg;
    *out = &rs->base;
    return TKV_OK;
}

const Errorpb__Error *raft_storage_region_error(storage_t *s)
{
    return ((replicated_storage_t *)s)->region_error;
}
