/*
 * The store loop (store_loop.h): the store as the one FSM of a batch system
 * with one poller, fed from the other threads through its mailbox.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pb.h"
#include "project2-raft/raftstore/cmd_resp.h"
#include "runtime/batch_system.h"
#include "runtime/ticker.h"
#include "server/store_loop.h"

#define STORE_FSM 1

struct store_loop {
    store_loop_config_t cfg;
    multiraft_config_t mr; /* the store's, pointing back here */
    store_t *store;
    bs_system_t *sys;
    ticker_t *ticker;
    int started;
};

typedef enum { M_RAFT, M_REPLY, M_PROPOSE, M_RUN } kind_t;

/* One input for the store. Owned by the mailbox, then by handle(). */
typedef struct {
    kind_t kind;
    RaftServerpb__RaftMessage *raft; /* M_RAFT */
    uint64_t id;                     /* M_REPLY */
    char method[32];                 /* M_REPLY */
    peer_cb_t cb;                    /* M_PROPOSE */
    void (*fn)(store_t *s, void *arg);
    void (*cancel)(void *arg);
    void *arg;     /* M_RUN */
    tkv_buf_t key; /* M_PROPOSE: the routing key */
    size_t len;    /* M_REPLY, M_PROPOSE: the bytes */
    uint8_t data[];
} lmsg_t;

static lmsg_t *lmsg_new(kind_t kind, const uint8_t *data, size_t len)
{
    lmsg_t *m = xcalloc(1, sizeof(*m) + len);
    m->kind = kind;
    m->len = len;
    if (len > 0)
        memcpy(m->data, data, len);
    return m;
}

static void answer(peer_cb_t cb, RaftCmdpb__RaftCmdResponse *resp)
{
    if (cb.fn != NULL)
        cb.fn(cb.arg, resp, NULL);
    else
        pb_free(resp);
}

static RaftCmdpb__RaftCmdResponse *busy_resp(const char *why)
{
    RaftCmdpb__RaftCmdResponse *r = cmd_resp_error(0, why);
    Errorpb__ServerIsBusy *b = xmalloc(sizeof(*b));
    errorpb__server_is_busy__init(b);
    b->reason = strdup(why);
    r->header->error->server_is_busy = b;
    return r;
}

/* A message that will never be handled: its waiter still gets an answer. */
static void lmsg_free(void *msg)
{
    lmsg_t *m = msg;
    if (m->kind == M_RAFT)
        raft_serverpb__raft_message__free_unpacked(m->raft, NULL);
    else if (m->kind == M_PROPOSE)
        answer(m->cb, cmd_resp_stale(0, "the store is stopping"));
    else if (m->kind == M_RUN && m->cancel != NULL)
        m->cancel(m->arg);
    buf_free(&m->key);
    free(m);
}

static void do_step(store_loop_t *l, lmsg_t *m)
{
    size_t n = raft_serverpb__raft_message__get_packed_size(m->raft);
    uint8_t stack[4096];
    uint8_t *buf = n <= sizeof(stack) ? stack : xmalloc(n);
    raft_serverpb__raft_message__pack(m->raft, buf);
    tkv_err_t e = store_step(l->store, buf, n);
    if (e != TKV_OK)
        tkv_logf(TKV_LOG_DEBUG, "store", "dropped a Raft message: %s", tkv_last_error());
    if (buf != stack)
        free(buf);
}

static void do_propose(store_loop_t *l, lmsg_t *m)
{
    RaftCmdpb__RaftCmdRequest *req = raft_cmdpb__raft_cmd_request__unpack(NULL, m->len, m->data);
    if (req == NULL) {
        answer(m->cb, cmd_resp_error(0, "the command does not decode"));
        return;
    }
    RaftCmdpb__RaftRequestHeader *h = req->header;
    if (h == NULL) {
        h = xmalloc(sizeof(*h));
        raft_cmdpb__raft_request_header__init(h);
        req->header = h;
    }
    Metapb__RegionEpoch *borrowed = NULL;
    if (h->region_id == 0) {
        /* No region named: the store's region holding the key, as it is now. */
        peer_t *p = store_region_by_key(l->store, buf_slice(&m->key));
        if (p == NULL) {
            RaftCmdpb__RaftCmdResponse *r =
                cmd_resp_error(0, "no region of this store holds the key");
            Errorpb__KeyNotInRegion *k = xmalloc(sizeof(*k));
            errorpb__key_not_in_region__init(k);
            k->key.data = xmalloc(m->key.len + 1);
            memcpy(k->key.data, m->key.data, m->key.len);
            k->key.len = m->key.len;
            r->header->error->key_not_in_region = k;
            answer(m->cb, r);
            pb_free(req);
            return;
        }
        h->region_id = peer_region_id(p);
        if (h->region_epoch == NULL) {
            borrowed = peer_region(p)->region_epoch;
            h->region_epoch = borrowed;
        }
    }
    store_propose(l->store, req, m->cb);
    if (borrowed != NULL)
        h->region_epoch = NULL; /* the region's own, not ours to free */
    pb_free(req);
}

static void handle_store(void *pctx, void *control, void **msgs, size_t n, uint32_t ticks)
{
    store_loop_t *l = control;
    (void)pctx;
    /* One round per batch: the peers' Readies wait until the whole batch is
     * in, and what they send leaves together, one frame per store. */
    transport_cork(l->cfg.transport);
    store_begin_round(l->store);
    for (size_t i = 0; i < n; i++) {
        lmsg_t *m = msgs[i];
        switch (m->kind) {
        case M_RAFT:
            do_step(l, m);
            raft_serverpb__raft_message__free_unpacked(m->raft, NULL);
            break;
        case M_REPLY:
            multiraft_scheduler_reply(l->store, m->id, m->method, m->data, m->len);
            break;
        case M_PROPOSE:
            do_propose(l, m);
            break;
        case M_RUN:
            m->fn(l->store, m->arg);
            break;
        }
        buf_free(&m->key);
        free(m);
    }
    for (uint32_t t = 0; t < ticks; t++)
        store_tick(l->store);
    store_end_round(l->store);
    transport_uncork(l->cfg.transport);
}

static void handle_fsm(void *pctx, void *fsm, uint64_t id, void **msgs, size_t n, uint32_t ticks)
{
    /* The store is the control FSM; no other FSM is ever registered. */
    (void)fsm;
    (void)id;
    (void)ticks;
    (void)pctx;
    for (size_t i = 0; i < n; i++)
        lmsg_free(msgs[i]);
}

static void end_round(void *pctx, const bs_batch_t *batch)
{
    (void)pctx;
    (void)batch;
}

static const bs_ops_t loop_ops = {
    NULL, NULL, handle_fsm, handle_store, end_round, lmsg_free, NULL,
};

/* ---- the store's outputs ---- */

static void send_raft(void *arg, uint64_t to_store, const uint8_t *data, size_t len)
{
    store_loop_t *l = arg;
    /* A full queue or a stopped transport loses the message: Raft resends. */
    (void)transport_send_encoded(l->cfg.transport, to_store, data, len);
}

static void send_sched(void *arg, uint64_t store_id, uint64_t id, const char *method,
                       const uint8_t *data, size_t len)
{
    store_loop_t *l = arg;
    (void)store_id;
    if (l->cfg.sched != NULL)
        l->cfg.sched(l->cfg.sched_arg, id, method, data, len);
}

/* ---- the API ---- */

tkv_err_t store_loop_open(const store_loop_config_t *cfg, store_loop_t **out)
{
    *out = NULL;
    if (cfg->transport == NULL || cfg->tick_ms == 0)
        return tkv_errorf(TKV_ERR_INVALID, "store loop: a transport and a tick are needed");
    store_loop_t *l = xcalloc(1, sizeof(*l));
    l->cfg = *cfg;
    l->mr = cfg->mr;
    l->mr.sched.send = send_sched;
    l->mr.sched.arg = l;
    store_config_t sc;
    memset(&sc, 0, sizeof(sc));
    sc.store_id = cfg->store_id;
    sc.data_dir = cfg->data_dir;
    sc.peer = cfg->peer;
    sc.transport.send = send_raft;
    sc.transport.arg = l;
    if (cfg->multiraft) {
        sc.ext = &multiraft_store_ext;
        sc.ext_arg = &l->mr;
    }
    tkv_err_t e = store_open(&sc, &l->store);
    if (e == TKV_OK) {
        bs_config_t bc;
        bs_config_default(&bc);
        bc.n_pollers = 1; /* the store is single-threaded */
        bc.control_cap = cfg->mailbox_cap ? cfg->mailbox_cap : 16384;
        e = bs_system_new(&bc, &loop_ops, l, l, &l->sys);
    }
    if (e != TKV_OK) {
        if (l->store != NULL)
            store_close(l->store);
        free(l);
        return e;
    }
    *out = l;
    return TKV_OK;
}

store_t *store_loop_store(store_loop_t *l)
{
    return l->store;
}

tkv_err_t store_loop_start(store_loop_t *l)
{
    if (l->started)
        return tkv_errorf(TKV_ERR_INVALID, "store loop: started twice");
    tkv_err_t e = bs_system_start(l->sys);
    if (e == TKV_OK)
        e = ticker_start(l->cfg.tick_ms, ticker_tick_batch_system, l->sys, &l->ticker);
    if (e == TKV_OK)
        l->started = 1;
    return e;
}

static tkv_err_t post(store_loop_t *l, lmsg_t *m)
{
    tkv_err_t e = bs_send_control(l->sys, m);
    if (e == TKV_ERR_BUSY)
        return tkv_errorf(TKV_ERR_BUSY, "store %llu has too much work queued",
                          (unsigned long long)l->cfg.store_id);
    if (e != TKV_OK)
        return tkv_errorf(TKV_ERR_CLOSED, "store %llu is stopping",
                          (unsigned long long)l->cfg.store_id);
    return TKV_OK;
}

tkv_err_t store_loop_step(store_loop_t *l, RaftServerpb__RaftMessage *msg)
{
    lmsg_t *m = lmsg_new(M_RAFT, NULL, 0);
    m->raft = msg;
    tkv_err_t e = post(l, m);
    if (e != TKV_OK)
        lmsg_free(m);
    return e;
}

tkv_err_t store_loop_sched_reply(store_loop_t *l, uint64_t id, const char *method,
                                 const uint8_t *data, size_t len)
{
    lmsg_t *m = lmsg_new(M_REPLY, data, len);
    m->id = id;
    snprintf(m->method, sizeof(m->method), "%s", method);
    tkv_err_t e = post(l, m);
    if (e != TKV_OK)
        lmsg_free(m);
    return e;
}

void store_loop_propose(store_loop_t *l, const uint8_t *cmd, size_t len, tkv_slice_t route_key,
                        peer_cb_t cb)
{
    lmsg_t *m = lmsg_new(M_PROPOSE, cmd, len);
    m->cb = cb;
    buf_set(&m->key, route_key.data, route_key.len);
    tkv_err_t e = post(l, m);
    if (e == TKV_OK)
        return;
    m->kind = M_RUN; /* answered here, not by lmsg_free */
    lmsg_free(m);
    answer(cb,
           e == TKV_ERR_BUSY ? busy_resp(tkv_last_error()) : cmd_resp_stale(0, tkv_last_error()));
}

tkv_err_t store_loop_run(store_loop_t *l, void (*fn)(store_t *s, void *arg),
                         void (*cancel)(void *arg), void *arg)
{
    lmsg_t *m = lmsg_new(M_RUN, NULL, 0);
    m->fn = fn;
    m->cancel = cancel;
    m->arg = arg;
    tkv_err_t e = post(l, m);
    if (e != TKV_OK)
        free(m); /* neither run nor cancelled: the caller knows from e */
    return e;
}

void store_loop_stop(store_loop_t *l)
{
    if (l == NULL || !l->started)
        return;
    ticker_stop(l->ticker);
    bs_system_shutdown(l->sys);
    l->started = 0;
}

void store_loop_free(store_loop_t *l)
{
    if (l == NULL)
        return;
    store_loop_stop(l);
    ticker_free(l->ticker);
    bs_system_free(l->sys); /* messages never served: their waiters are answered */
    store_close(l->store);
    free(l);
}
