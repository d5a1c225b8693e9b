/*
 * The store as a simulator node (sim_store.h).
 */
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "project2-raft/raftstore/cmd_resp.h"
#include "project2-raft/raftstore/pb_util.h"
#include "tests/raftstore/sim_store.h"

typedef struct {
    const sim_node_env_t *env;
    store_t *store;
    int stopping; /* store_close() answers callbacks: a crashed node says nothing */
    int leader;   /* region 1's peer led after the last callback (for the trace) */
    uint64_t term;
} node_t;

/* Records role and term changes of region 1's peer in the trace, and every
 * region's Raft state (trace_state() writes only changes). */
static void trace_role(node_t *n)
{
    for (uint64_t rid = 1; rid <= 2; rid++) {
        peer_t *rp = store_peer(n->store, rid);
        if (rp == NULL)
            continue;
        const Metapb__Region *reg = peer_region(rp);
        const Metapb__RegionEpoch *ep = reg != NULL ? reg->region_epoch : NULL;
        trace_state_t st = { rid,
                             raft_role_name(peer_raft(rp)->role),
                             peer_raft(rp)->term,
                             peer_raft(rp)->log.committed,
                             peer_storage(rp)->applied_index,
                             ep ? ep->conf_ver : 0,
                             ep ? ep->version : 0 };
        trace_state(n->env->trace, n->env->id, &st);
    }
    peer_t *p = store_peer(n->store, 1);
    if (p == NULL)
        return;
    int leader = peer_is_leader(p);
    uint64_t term = peer_term(p);
    if (leader != n->leader || term != n->term)
        trace_event(n->env->trace, n->env->id, "role", "%s at term %llu, applied %llu",
                    leader ? "leader" : "not leader", (unsigned long long)term,
                    (unsigned long long)peer_storage(p)->applied_index);
    n->leader = leader;
    n->term = term;
}

/* A client command waiting for its answer. */
typedef struct {
    node_t *node;
    int client;
    uint64_t id;
    tkv_buf_t prefix; /* scan prefix; empty: not a scan */
    int scan;
} pending_t;

static void transport_send(void *arg, uint64_t to_store, const uint8_t *data, size_t len)
{
    node_t *n = arg;
    sim_node_send(n->env, (int)to_store, data, len);
}

static Metapb__Region *initial_region(int nodes, uint64_t id, const char *start, const char *end)
{
    Metapb__RegionEpoch ep = METAPB__REGION_EPOCH__INIT;
    ep.conf_ver = 1;
    ep.version = 1;
    Metapb__Peer *peers = calloc((size_t)nodes, sizeof(Metapb__Peer));
    Metapb__Peer **pp = calloc((size_t)nodes, sizeof(Metapb__Peer *));
    for (int i = 0; i < nodes; i++) {
        metapb__peer__init(&peers[i]);
        peers[i].id = (id - 1) * 100 + (uint64_t)i + 1; /* peer ids unique across regions */
        peers[i].store_id = (uint64_t)i + 1;
        pp[i] = &peers[i];
    }
    Metapb__Region r = METAPB__REGION__INIT;
    r.id = id;
    r.start_key.data = (uint8_t *)start;
    r.start_key.len = strlen(start);
    r.end_key.data = (uint8_t *)end;
    r.end_key.len = strlen(end);
    r.region_epoch = &ep;
    r.n_peers = (size_t)nodes;
    r.peers = pp;
    Metapb__Region *copy = pb_region_dup(&r);
    free(pp);
    free(peers);
    return copy;
}

static tkv_err_t node_start(const sim_node_env_t *env, void **state)
{
    const sim_store_opts_t *o = env->user;
    node_t *n = calloc(1, sizeof(*n));
    n->env = env;
    trace_event(env->trace, env->id, "start", "store %d opens its data directory", env->id);
    store_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.store_id = (uint64_t)env->id;
    cfg.data_dir = env->dir;
    cfg.peer = o != NULL ? o->peer : peer_config_default();
    cfg.transport.send = transport_send;
    cfg.transport.arg = n;
    cfg.prng = env->prng;
    tkv_err_t err = store_open(&cfg, &n->store);
    int two = o != NULL && o->regions == 2;
    if (err == TKV_OK && store_peer(n->store, 1) == NULL) {
        Metapb__Region *r = initial_region(env->nodes, 1, "", two ? "m" : "");
        err = store_bootstrap_region(n->store, r);
        pb_free(r);
    }
    if (err == TKV_OK && two && store_peer(n->store, 2) == NULL) {
        Metapb__Region *r = initial_region(env->nodes, 2, "m", "");
        err = store_bootstrap_region(n->store, r);
        pb_free(r);
    }
    if (err != TKV_OK) {
        store_close(n->store);
        free(n);
        return err;
    }
    *state = n;
    return TKV_OK;
}

static void node_stop(void *state)
{
    node_t *n = state;
    n->stopping = 1;
    store_close(n->store);
    free(n);
}

/* Every value under `prefix` in the default CF as of `snap`, concatenated. */
static void scan_prefix(eng_t *kv, eng_snap_t *snap, tkv_slice_t prefix, tkv_buf_t *out)
{
    eng_iter_t *it = eng_iter_new(kv, snap, CF_DEFAULT);
    for (eng_iter_seek(it, prefix); eng_iter_valid(it); eng_iter_next(it)) {
        tkv_slice_t k = eng_iter_key(it);
        if (k.len < prefix.len || memcmp(k.data, prefix.data, prefix.len) != 0)
            break;
        tkv_slice_t v = eng_iter_value(it);
        buf_append(out, v.data, v.len);
    }
    eng_iter_free(it);
}

static void on_done(void *arg, RaftCmdpb__RaftCmdResponse *resp, eng_snap_t *snap)
{
    pending_t *p = arg;
    node_t *n = p->node;
    if (snap != NULL && p->scan && !n->stopping) {
        for (size_t i = 0; i < resp->n_responses; i++) {
            RaftCmdpb__Response *r = resp->responses[i];
            if (r->cmd_type != RAFT_CMDPB__CMD_TYPE__CMD_GET || r->get == NULL)
                continue;
            tkv_buf_t all = TKV_BUF_INIT;
            scan_prefix(store_kv_db(n->store), snap, buf_slice(&p->prefix), &all);
            free(r->get->value.data);
            r->get->value.len = all.len;
            r->get->value.data = buf_take(&all);
        }
    }
    if (snap != NULL)
        eng_snapshot_free(snap);
    if (!n->stopping) {
        const Errorpb__Error *e = resp->header ? resp->header->error : NULL;
        trace_event(n->env->trace, n->env->id, "reply", "to %d req %llu: %s", p->client,
                    (unsigned long long)p->id,
                    e == NULL            ? "ok"
                    : e->not_leader      ? "not leader"
                    : e->stale_command   ? "stale command"
                    : e->message != NULL ? e->message
                                         : "error");
        tkv_buf_t frame = TKV_BUF_INIT;
        codec_put_u64(&frame, p->id);
        size_t len = protobuf_c_message_get_packed_size(&resp->base);
        buf_reserve(&frame, len);
        protobuf_c_message_pack(&resp->base, frame.data + frame.len);
        frame.len += len;
        sim_node_send(n->env, p->client, frame.data, frame.len);
        buf_free(&frame);
    }
    pb_free(resp);
    buf_free(&p->prefix);
    free(p);
}

static void client_request(node_t *n, int from, const uint8_t *bytes, size_t len)
{
    if (len < 8)
        return;
    RaftCmdpb__RaftCmdRequest *req = raft_cmdpb__raft_cmd_request__unpack(NULL, len - 8, bytes + 8);
    if (req == NULL)
        return;
    pending_t *p = calloc(1, sizeof(*p));
    p->node = n;
    p->client = from;
    p->id = codec_get_u64(bytes);
    int has_snap = 0;
    const RaftCmdpb__GetRequest *get = NULL;
    for (size_t i = 0; i < req->n_requests; i++) {
        if (req->requests[i]->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_SNAP)
            has_snap = 1;
        if (req->requests[i]->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_GET && get == NULL)
            get = req->requests[i]->get;
    }
    if (has_snap && get != NULL) {
        p->scan = 1;
        buf_set(&p->prefix, get->key.data, get->key.len);
    }
    trace_event(n->env->trace, n->env->id, "request", "from %d req %llu: %zu requests%s", from,
                (unsigned long long)p->id, req->n_requests, p->scan ? " (scan)" : "");
    peer_cb_t cb = { on_done, p };
    store_propose(n->store, req, cb);
    pb_free(req);
}

static void node_deliver(void *state, int from, const uint8_t *bytes, size_t len)
{
    node_t *n = state;
    if (from >= 1 && from <= n->env->nodes)
        store_step(n->store, bytes, len); /* bad or misrouted bytes change nothing */
    else
        client_request(n, from, bytes, len);
    trace_role(n);
}

static void node_tick(void *state)
{
    node_t *n = state;
    store_tick(n->store);
    trace_role(n);
}

const sim_node_ops_t sim_store_ops = { "raftstore", node_start, node_stop, node_deliver,
                                       node_tick };

store_t *sim_store_of(sim_cluster_t *c, int node)
{
    node_t *n = sim_cluster_node_state(c, node);
    return n != NULL ? n->store : NULL;
}
