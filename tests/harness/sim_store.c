/*
 * The store as a simulator node (sim_store.h).
 */
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "common/failpoint.h"
#include "project2-raft/raftstore/cmd_resp.h"
#include "project2-raft/raftstore/keys.h"
#include "project2-raft/raftstore/pb_util.h"
#include "tests/harness/recovery_check.h"
#include "tests/harness/sim_store.h"
#include "tests/harness/test.h"

#define TRACED_REGIONS 64

typedef struct {
    const sim_node_env_t *env;
    store_t *store;
    int stopping;          /* store_close() answers callbacks: a crashed node says nothing */
    multiraft_config_t mr; /* 3B: this node's copy, its transport pointing here */
    /* Each region's peer's role and term after the last callback (for the trace). */
    struct {
        uint64_t region, term;
        int leader;
    } roles[TRACED_REGIONS];
    size_t n_roles;
    /* The raft state check_persisted() last read: one region's, valid while
     * the raft DB has had no write since (a Ready's messages go out
     * together, all for one region, after one write). */
    struct {
        const eng_t *db;
        uint64_t region, writes, term, vote, last;
        int found;
    } persisted;
} node_t;

/* Records every region's Raft state (trace_state() writes only changes),
 * and role and term changes of every region's peer (the first
 * TRACED_REGIONS regions seen; region 1's line keeps 2B's format). */
static void trace_role(node_t *n)
{
    size_t np = 0;
    peer_t *const *peers = store_peers(n->store, &np);
    for (size_t i = 0; i < np; i++) {
        peer_t *p = peers[i];
        if (peer_is_destroyed(p))
            continue;
        const Metapb__Region *reg = peer_region(p);
        const Metapb__RegionEpoch *ep = reg != NULL ? reg->region_epoch : NULL;
        trace_state_t st = {
            peer_region_id(p),           raft_role_name(peer_raft(p)->role), peer_raft(p)->term,
            peer_raft(p)->log.committed, peer_storage(p)->applied_index,     ep ? ep->conf_ver : 0,
            ep ? ep->version : 0
        };
        trace_state(n->env->trace, n->env->id, &st);
        /* The store lists its peers in a stable order: slot i is most
         * often peer i's, and a scan only follows a split or a restart. */
        size_t j = i < n->n_roles && n->roles[i].region == peer_region_id(p) ? i : 0;
        while (j < n->n_roles && n->roles[j].region != peer_region_id(p))
            j++;
        if (j == n->n_roles) {
            if (j == TRACED_REGIONS)
                continue;
            n->n_roles++;
            n->roles[j].region = peer_region_id(p);
            n->roles[j].leader = 0;
            n->roles[j].term = 0;
        }
        int leader = peer_is_leader(p);
        uint64_t term = peer_term(p);
        if (leader != n->roles[j].leader || term != n->roles[j].term) {
            if (peer_region_id(p) == 1)
                trace_event(n->env->trace, n->env->id, "role", "%s at term %llu, applied %llu",
                            leader ? "leader" : "not leader", (unsigned long long)term,
                            (unsigned long long)peer_storage(p)->applied_index);
            else
                trace_event(
                    n->env->trace, n->env->id, "role", "region %llu: %s at term %llu, applied %llu",
                    (unsigned long long)peer_region_id(p), leader ? "leader" : "not leader",
                    (unsigned long long)term, (unsigned long long)peer_storage(p)->applied_index);
        }
        n->roles[j].leader = leader;
        n->roles[j].term = term;
    }
}

/* A client command waiting for its answer. */
typedef struct {
    node_t *node;
    int client;
    uint64_t id;
    tkv_buf_t prefix; /* scan prefix; empty: not a scan */
    int scan;
} pending_t;

/* The send-time check (sim_store.h): what `m`, sent by this store for
 * region `region`, promises must already be in its raft DB. */
static void check_persisted(node_t *n, uint64_t region, const Eraftpb__Message *m)
{
    if (m->msg_type == ERAFTPB__MESSAGE_TYPE__MSG_PRE_VOTE ||
        m->msg_type == ERAFTPB__MESSAGE_TYPE__MSG_PRE_VOTE_RESPONSE)
        return; /* a pre-vote asks about a term nobody has entered */
    eng_t *db = store_raft_db(n->store);
    if (n->persisted.db != db || n->persisted.region != region ||
        n->persisted.writes != eng_write_count(db)) {
        tkv_buf_t key = TKV_BUF_INIT;
        keys_raft_state_key(&key, region);
        RaftServerpb__RaftLocalState *ls = NULL;
        tkv_err_t err =
            eng_get_msg(db, buf_slice(&key), &raft_serverpb__raft_local_state__descriptor,
                        (ProtobufCMessage **)&ls);
        buf_free(&key);
        n->persisted.db = db;
        n->persisted.region = region;
        n->persisted.writes = eng_write_count(db);
        n->persisted.found = err == TKV_OK;
        if (err == TKV_OK) {
            n->persisted.term = ls->hard_state ? ls->hard_state->term : 0;
            n->persisted.vote = ls->hard_state ? ls->hard_state->vote : 0;
            n->persisted.last = ls->last_index;
            pb_free(ls);
        }
    }
    if (!n->persisted.found)
        return; /* no raft state yet (a peer being created): nothing to compare */
    uint64_t term = n->persisted.term, vote = n->persisted.vote, last = n->persisted.last;
    const char *type = raft_msg_type_name((raft_msg_type_t)m->msg_type);
    if (m->term > term)
        fail_msg("store %d sent %s at term %llu to peer %llu, but its raft DB holds term %llu: "
                 "a Ready's hard state must be saved before its messages are sent",
                 n->env->id, type, (unsigned long long)m->term, (unsigned long long)m->to,
                 (unsigned long long)term);
    int vote_promise =
        m->msg_type == ERAFTPB__MESSAGE_TYPE__MSG_REQUEST_VOTE ||
        (m->msg_type == ERAFTPB__MESSAGE_TYPE__MSG_REQUEST_VOTE_RESPONSE && !m->reject);
    uint64_t voted_for = m->msg_type == ERAFTPB__MESSAGE_TYPE__MSG_REQUEST_VOTE ? m->from : m->to;
    if (vote_promise && (term != m->term || vote != voted_for))
        fail_msg("store %d sent %s at term %llu (a vote for peer %llu), but its raft DB holds "
                 "term %llu, vote %llu: a vote must be saved before it is sent",
                 n->env->id, type, (unsigned long long)m->term, (unsigned long long)voted_for,
                 (unsigned long long)term, (unsigned long long)vote);
    if (m->msg_type == ERAFTPB__MESSAGE_TYPE__MSG_APPEND_RESPONSE && !m->reject && m->index > last)
        fail_msg("store %d acknowledged entries up to %llu to peer %llu, but its raft DB's log "
                 "ends at %llu: entries must be saved before they are acknowledged",
                 n->env->id, (unsigned long long)m->index, (unsigned long long)m->to,
                 (unsigned long long)last);
}

static void transport_send(void *arg, uint64_t to_store, const uint8_t *data, size_t len)
{
    node_t *n = arg;
    if (failpoint_is_dead(n->env->id))
        return; /* crashed at a fail point: nothing more leaves this store */
    RaftServerpb__RaftMessage *msg = raft_serverpb__raft_message__unpack(NULL, len, data);
    if (msg != NULL && msg->message != NULL && !msg->is_tombstone)
        check_persisted(n, msg->region_id, msg->message);
    pb_free(msg);
    sim_node_send(n->env, (int)to_store, data, len);
}

static void sched_send(void *arg, uint64_t store_id, uint64_t id, const char *method,
                       const uint8_t *data, size_t len)
{
    node_t *n = arg;
    const sim_store_opts_t *o = n->env->user;
    (void)store_id;
    if (o->sched != NULL && !failpoint_is_dead(n->env->id))
        mock_sched_submit(o->sched, n->env->id, id, method, data, len);
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

/* Whether region `id` was ever written here (a tombstone counts: a
 * destroyed peer must not be bootstrapped again). */
static int region_known(store_t *s, uint64_t id)
{
    tkv_buf_t key = TKV_BUF_INIT, val = TKV_BUF_INIT;
    keys_region_state_key(&key, id);
    int known = eng_get(store_kv_db(s), NULL, buf_slice(&key), &val) == TKV_OK;
    buf_free(&key);
    buf_free(&val);
    return known;
}

static tkv_err_t node_start(const sim_node_env_t *env, void **state)
{
    const sim_store_opts_t *o = env->user;
    int old_ctx = failpoint_set_context(env->id);
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
    if (o != NULL && o->multiraft) {
        n->mr = o->mr;
        n->mr.sched.send = sched_send;
        n->mr.sched.arg = n;
        cfg.ext = &multiraft_store_ext;
        cfg.ext_arg = &n->mr;
    }
    tkv_err_t err = store_open(&cfg, &n->store);
    int two = o != NULL && o->regions == 2;
    int first = o != NULL && o->initial_peers > 0 && !two ? o->initial_peers : env->nodes;
    if (err == TKV_OK && env->id <= first && !region_known(n->store, 1)) {
        Metapb__Region *r = initial_region(first, 1, "", two ? "m" : "");
        err = store_bootstrap_region(n->store, r);
        if (o != NULL && o->sched != NULL)
            mock_sched_add_region(o->sched, r);
        pb_free(r);
    }
    if (err == TKV_OK && two && !region_known(n->store, 2)) {
        Metapb__Region *r = initial_region(env->nodes, 2, "m", "");
        err = store_bootstrap_region(n->store, r);
        if (o != NULL && o->sched != NULL)
            mock_sched_add_region(o->sched, r);
        pb_free(r);
    }
    failpoint_set_context(old_ctx);
    if (err != TKV_OK) {
        store_close(n->store);
        free(n);
        return err;
    }
    if (o != NULL && o->check_recovery)
        recovery_check(n->store, env->id); /* before anything is applied again */
    *state = n;
    return TKV_OK;
}

static void node_stop(void *state)
{
    node_t *n = state;
    int id = n->env->id;
    int old_ctx = failpoint_set_context(id);
    n->stopping = 1;
    store_close(n->store); /* a node dead at a fail point writes nothing more here either */
    free(n);
    failpoint_set_context(old_ctx);
    failpoint_revive(id);
}

/* A node that crashed at a fail point comes back (sim_store.h). */
typedef struct {
    sim_cluster_t *c;
    int node;
} fp_restart_t;

static void fp_restart(sim_t *sim, void *arg)
{
    (void)sim;
    fp_restart_t *r = arg;
    if (sim_cluster_is_up(r->c, r->node))
        return;
    tkv_err_t err = sim_cluster_start(r->c, r->node);
    if (err != TKV_OK)
        fail_msg("store %d, restarting after a crash at a fail point: %s: %s", r->node,
                 tkv_strerror(err), tkv_last_error());
}

/* The end of every call into a node: if it died at a fail point during
 * the call, stop it now (its state is freed: the caller must not touch it). */
static void reap_if_dead(const sim_node_env_t *env)
{
    if (!failpoint_is_dead(env->id))
        return;
    sim_cluster_t *c = env->cluster;
    int id = env->id;
    const sim_store_opts_t *o = env->user;
    uint64_t restart_ms = o != NULL ? o->failpoint_restart_ms : 0;
    trace_event(env->trace, id, "failpoint", "store %d crashed at fail point %s", id,
                failpoint_crash_point(id));
    sim_cluster_crash(c, id);
    if (restart_ms > 0) {
        fp_restart_t *r = malloc(sizeof(*r));
        r->c = c;
        r->node = id;
        sim_schedule(sim_cluster_sim(c), restart_ms, fp_restart, r, free);
    }
}

/* Every value of the default CF as of `snap` from `from` on, while keys
 * keep `prefix` and stay before the region's end, concatenated. */
static void scan_prefix(eng_t *kv, eng_snap_t *snap, tkv_slice_t prefix, tkv_slice_t from,
                        const Metapb__Region *region, tkv_buf_t *out)
{
    eng_iter_t *it = eng_iter_new(kv, snap, CF_DEFAULT);
    tkv_slice_t start = from;
    if (region != NULL &&
        slice_compare(start, slice_of(region->start_key.data, region->start_key.len)) < 0)
        start = slice_of(region->start_key.data, region->start_key.len);
    for (eng_iter_seek(it, start); eng_iter_valid(it); eng_iter_next(it)) {
        tkv_slice_t k = eng_iter_key(it);
        if (k.len < prefix.len || memcmp(k.data, prefix.data, prefix.len) != 0)
            break;
        if (region != NULL && region->end_key.len > 0 &&
            slice_compare(k, slice_of(region->end_key.data, region->end_key.len)) >= 0)
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
        const Metapb__Region *region = NULL;
        for (size_t i = 0; i < resp->n_responses; i++)
            if (resp->responses[i]->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_SNAP &&
                resp->responses[i]->snap != NULL)
                region = resp->responses[i]->snap->region;
        /* The prefix: the scan key up to and including its first '/'. */
        tkv_slice_t from = buf_slice(&p->prefix), prefix = from;
        const uint8_t *slash = memchr(from.data, '/', from.len);
        if (slash != NULL)
            prefix.len = (size_t)(slash - from.data) + 1;
        for (size_t i = 0; i < resp->n_responses; i++) {
            RaftCmdpb__Response *r = resp->responses[i];
            if (r->cmd_type != RAFT_CMDPB__CMD_TYPE__CMD_GET || r->get == NULL)
                continue;
            tkv_buf_t all = TKV_BUF_INIT;
            scan_prefix(store_kv_db(n->store), snap, prefix, from, region, &all);
            free(r->get->value.data);
            r->get->value.len = all.len;
            r->get->value.data = buf_take(&all);
        }
    }
    if (snap != NULL)
        eng_snapshot_free(snap);
    if (!n->stopping && !failpoint_is_dead(n->env->id)) {
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
    const sim_node_env_t *env = n->env;
    int old_ctx = failpoint_set_context(env->id);
    if (from >= 1 && from <= n->env->nodes)
        store_step(n->store, bytes, len); /* bad or misrouted bytes change nothing */
    else
        client_request(n, from, bytes, len);
    trace_role(n);
    failpoint_set_context(old_ctx);
    reap_if_dead(env);
}

static void node_tick(void *state)
{
    node_t *n = state;
    const sim_node_env_t *env = n->env;
    int old_ctx = failpoint_set_context(env->id);
    store_tick(n->store);
    trace_role(n);
    failpoint_set_context(old_ctx);
    reap_if_dead(env);
}

const sim_node_ops_t sim_store_ops = { "raftstore", node_start, node_stop, node_deliver,
                                       node_tick };

store_t *sim_store_of(sim_cluster_t *c, int node)
{
    node_t *n = sim_cluster_node_state(c, node);
    return n != NULL ? n->store : NULL;
}
