/*
 * Simulated clients (kv_client.h): a small state machine per client, driven
 * by simulator events (send, timeout, retry) and replies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/codec.h"
#include "project2-raft/raftstore/pb_util.h"
#include "proto/raft_cmdpb.pb-c.h"
#include "tests/harness/client_check.h"
#include "tests/harness/kv_client.h"

typedef struct {
    struct kv_clients *k;
    int idx, ep;
    char key[16];
    int target;      /* the node we send to next */
    uint64_t req_id; /* of the attempt in flight; replies to others are ignored */
    uint64_t timer;
    int busy;
    size_t op;
    hist_kind_t kind;
    int seq;        /* next append number */
    int shared_seq; /* next value number for shared-key puts */
    /* The current operation: a put of key=value (append or shared put), a
     * get of key (shared), or a scan of the prefix key/ (read). */
    int scan;
    tkv_buf_t op_key, op_value;
    tkv_buf_t scan_from, scan_acc; /* a scan: where the next part starts, what was read */
    uint64_t region_id;            /* of the attempt in flight */
} client_t;

struct kv_clients {
    sim_cluster_t *c;
    sim_t *sim;
    history_t *h;
    mock_sched_t *sched, *own_sched;
    int n, nodes, stopped;
    int shared_keys;
    uint64_t timeout_ms, next_id, done;
    client_t *cl;
};

static void send_attempt(client_t *cl);
static void start_op(sim_t *sim, void *arg);

/* A put or delete of a shared key whose outcome is unknown is not retried: a second
 * attempt could apply after others overwrote the first one's value, and no
 * single instant would explain the history. It stays pending (it may have
 * applied, or may still) and the client moves on. Appends to the client's
 * own key are retried: applying "K/<seq>" twice is invisible. */
static int give_up_if_unsure(client_t *cl)
{
    if (cl->kind != HIST_PUT && cl->kind != HIST_DELETE)
        return 0;
    cl->busy = 0;
    sim_schedule(cl->k->sim, 10, start_op, cl, NULL);
    return 1;
}

/* The key the attempt's region must hold. */
static tkv_slice_t route_key(const client_t *cl)
{
    return cl->scan ? buf_slice(&cl->scan_from) : buf_slice(&cl->op_key);
}

/* The region for the attempt, and a node to try if `target` is not one of
 * its peers: the reported leader, else the next peer after `target`. */
static const Metapb__Region *route(client_t *cl, int rotate)
{
    tkv_slice_t key = route_key(cl);
    const Metapb__Region *r = mock_sched_region_by_key(cl->k->sched, key.data, key.len);
    if (r == NULL || r->n_peers == 0)
        return r;
    int member = pb_region_peer_on_store(r, (uint64_t)cl->target) != NULL;
    if (rotate || !member) {
        uint64_t leader = mock_sched_leader_store(cl->k->sched, r->id);
        if (!rotate && leader != 0) {
            cl->target = (int)leader;
        } else {
            size_t at = 0;
            for (size_t i = 0; i < r->n_peers; i++)
                if (r->peers[i]->store_id == (uint64_t)cl->target)
                    at = i + 1;
            cl->target = (int)r->peers[at % r->n_peers]->store_id;
        }
    }
    return r;
}

static void on_timeout(sim_t *sim, void *arg)
{
    (void)sim;
    client_t *cl = arg;
    cl->timer = 0;
    if (cl->k->stopped || !cl->busy)
        return;
    route(cl, 1); /* try the region's next peer */
    if (!give_up_if_unsure(cl))
        send_attempt(cl);
}

static void encode_command(client_t *cl, const Metapb__Region *r, tkv_buf_t *out)
{
    RaftCmdpb__RaftRequestHeader hdr = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    Metapb__RegionEpoch ep = METAPB__REGION_EPOCH__INIT;
    if (r != NULL) {
        hdr.region_id = r->id;
        if (r->region_epoch != NULL)
            ep = *r->region_epoch;
        ep.base.descriptor = &metapb__region_epoch__descriptor;
        hdr.region_epoch = &ep;
    }
    cl->region_id = hdr.region_id;
    RaftCmdpb__RaftCmdRequest cmd = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    cmd.header = &hdr;
    RaftCmdpb__Request r0 = RAFT_CMDPB__REQUEST__INIT, r1 = RAFT_CMDPB__REQUEST__INIT;
    RaftCmdpb__Request *rs[2] = { &r0, &r1 };
    RaftCmdpb__PutRequest put = RAFT_CMDPB__PUT_REQUEST__INIT;
    RaftCmdpb__SnapRequest snap = RAFT_CMDPB__SNAP_REQUEST__INIT;
    RaftCmdpb__GetRequest get = RAFT_CMDPB__GET_REQUEST__INIT;
    RaftCmdpb__DeleteRequest del = RAFT_CMDPB__DELETE_REQUEST__INIT;
    cmd.requests = rs;
    if (cl->scan) {
        r0.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_SNAP;
        r0.snap = &snap;
        r1.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_GET;
        get.key.data = cl->scan_from.data;
        get.key.len = cl->scan_from.len;
        r1.get = &get;
        cmd.n_requests = 2;
    } else if (cl->kind == HIST_GET) {
        r0.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_GET;
        get.key.data = cl->op_key.data;
        get.key.len = cl->op_key.len;
        r0.get = &get;
        cmd.n_requests = 1;
    } else if (cl->kind == HIST_DELETE) {
        r0.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_DELETE;
        del.key.data = cl->op_key.data;
        del.key.len = cl->op_key.len;
        r0.delete_ = &del;
        cmd.n_requests = 1;
    } else {
        r0.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_PUT;
        put.key.data = cl->op_key.data;
        put.key.len = cl->op_key.len;
        put.value.data = cl->op_value.data;
        put.value.len = cl->op_value.len;
        r0.put = &put;
        cmd.n_requests = 1;
    }
    pb_pack(&cmd.base, out);
}

static void send_attempt(client_t *cl)
{
    kv_clients_t *k = cl->k;
    if (k->stopped)
        return;
    const Metapb__Region *r = route(cl, 0);
    cl->req_id = ++k->next_id;
    tkv_buf_t frame = TKV_BUF_INIT, cmd = TKV_BUF_INIT;
    codec_put_u64(&frame, cl->req_id);
    encode_command(cl, r, &cmd);
    buf_append(&frame, cmd.data, cmd.len);
    sim_cluster_client_send(k->c, cl->idx, cl->target, frame.data, frame.len);
    buf_free(&frame);
    buf_free(&cmd);
    if (cl->timer)
        sim_cancel(k->sim, cl->timer);
    cl->timer = sim_schedule(k->sim, k->timeout_ms, on_timeout, cl, NULL);
}

static void on_retry(sim_t *sim, void *arg)
{
    (void)sim;
    client_t *cl = arg;
    if (!cl->k->stopped && cl->busy)
        send_attempt(cl);
}

/* Chooses the next operation and records its invocation. */
static void start_op(sim_t *sim, void *arg)
{
    (void)sim;
    client_t *cl = arg;
    kv_clients_t *k = cl->k;
    if (k->stopped || cl->busy)
        return;
    tkv_prng_t *rng = sim_prng(k->sim);
    /* A third of the time (if asked), a plain put, delete or get of a key every
     * client shares: the linearizability checker then sees clients
     * observing each other. Otherwise an append to the client's own key,
     * then a read of it half of the time. */
    int shared = k->shared_keys > 0 && prng_chance(rng, 1, 3);
    int read = !shared && cl->seq > 0 && cl->kind == HIST_APPEND && prng_chance(rng, 1, 2);
    char key[64], value[64];
    cl->scan = 0;
    if (shared) {
        snprintf(key, sizeof(key), "s%d", (int)prng_below(rng, (uint64_t)k->shared_keys));
        buf_set(&cl->op_key, key, strlen(key));
        int write = prng_chance(rng, 1, 2);
        if (write && prng_chance(rng, 1, 4)) {
            /* A quarter of the shared writes delete: a replica that keeps
             * a deleted key, or brings it back, shows in the next get. */
            buf_set(&cl->op_value, NULL, 0);
            cl->kind = HIST_DELETE;
            cl->op = history_invoke_str(k->h, cl->idx, HIST_DELETE, key, NULL, sim_now(k->sim));
        } else if (write) {
            snprintf(value, sizeof(value), "c%d.%d", cl->idx, cl->shared_seq++);
            buf_set(&cl->op_value, value, strlen(value));
            cl->kind = HIST_PUT;
            cl->op = history_invoke_str(k->h, cl->idx, HIST_PUT, key, value, sim_now(k->sim));
        } else {
            cl->kind = HIST_GET;
            cl->op = history_invoke_str(k->h, cl->idx, HIST_GET, key, NULL, sim_now(k->sim));
        }
    } else if (read) {
        snprintf(key, sizeof(key), "%s/", cl->key);
        buf_set(&cl->scan_from, key, strlen(key));
        buf_set(&cl->scan_acc, NULL, 0);
        cl->scan = 1;
        cl->kind = HIST_GET;
        cl->op = history_invoke_str(k->h, cl->idx, HIST_GET, cl->key, NULL, sim_now(k->sim));
    } else {
        snprintf(key, sizeof(key), "%s/%08d", cl->key, cl->seq);
        client_append_value(cl->idx, cl->seq, value, sizeof(value));
        cl->seq++;
        buf_set(&cl->op_key, key, strlen(key));
        buf_set(&cl->op_value, value, strlen(value));
        cl->kind = HIST_APPEND;
        cl->op = history_invoke_str(k->h, cl->idx, HIST_APPEND, cl->key, value, sim_now(k->sim));
    }
    /* Now and then start at a random node, as a client with a stale leader
     * cache would: a deposed leader must not answer it from stale state. */
    if (prng_chance(sim_prng(k->sim), 1, 4))
        cl->target = 1 + (int)prng_below(sim_prng(k->sim), (uint64_t)k->nodes);
    cl->busy = 1;
    send_attempt(cl);
}

/* A scan part came back: 1 if the scan is complete. */
static int scan_part_done(client_t *cl, const RaftCmdpb__RaftCmdResponse *resp)
{
    const Metapb__Region *region = NULL;
    for (size_t i = 0; i < resp->n_responses; i++) {
        const RaftCmdpb__Response *r = resp->responses[i];
        if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_GET && r->get)
            buf_append(&cl->scan_acc, r->get->value.data, r->get->value.len);
        if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_SNAP && r->snap)
            region = r->snap->region;
    }
    /* The prefix "K/" ends before "K0": done once the region reaches that far. */
    char end[24];
    snprintf(end, sizeof(end), "%s0", cl->key);
    if (region == NULL || region->end_key.len == 0 ||
        slice_compare(slice_of(region->end_key.data, region->end_key.len),
                      slice_of(end, strlen(end))) >= 0)
        return 1;
    buf_set(&cl->scan_from, region->end_key.data, region->end_key.len);
    return 0;
}

static void on_reply(void *ctx, int from, const uint8_t *bytes, size_t len)
{
    client_t *cl = ctx;
    kv_clients_t *k = cl->k;
    (void)from;
    if (k->stopped || !cl->busy || len < 8 || codec_get_u64(bytes) != cl->req_id)
        return; /* late answer to an attempt we gave up on */
    RaftCmdpb__RaftCmdResponse *resp =
        raft_cmdpb__raft_cmd_response__unpack(NULL, len - 8, bytes + 8);
    if (resp == NULL)
        return;
    if (cl->timer) {
        sim_cancel(k->sim, cl->timer);
        cl->timer = 0;
    }
    const Errorpb__Error *err = resp->header ? resp->header->error : NULL;
    if (err != NULL) {
        if (err->not_leader && err->not_leader->leader && err->not_leader->leader->store_id)
            cl->target = (int)err->not_leader->leader->store_id;
        else if (!err->stale_command && !err->epoch_not_match && !err->key_not_in_region)
            route(cl, 1);
        /* EpochNotMatch, KeyNotInRegion: the next attempt asks the
         * scheduler again (route() in send_attempt). */
        int unsure = err->stale_command != NULL;
        pb_free(resp);
        if (unsure && give_up_if_unsure(cl))
            return;
        /* Back off a little so an election (or a heartbeat) can finish. */
        sim_schedule(k->sim, 10, on_retry, cl, NULL);
        return;
    }
    if (cl->scan) {
        if (!scan_part_done(cl, resp)) {
            pb_free(resp);
            send_attempt(cl);
            return;
        }
        history_complete(k->h, cl->op, sim_now(k->sim), cl->scan_acc.len > 0, cl->scan_acc.data,
                         cl->scan_acc.len);
    } else if (cl->kind == HIST_GET) {
        const ProtobufCBinaryData *v = NULL;
        for (size_t i = 0; i < resp->n_responses; i++)
            if (resp->responses[i]->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_GET &&
                resp->responses[i]->get)
                v = &resp->responses[i]->get->value;
        size_t vlen = v ? v->len : 0;
        history_complete(k->h, cl->op, sim_now(k->sim), vlen > 0, v ? v->data : NULL, vlen);
    } else {
        history_complete(k->h, cl->op, sim_now(k->sim), 0, NULL, 0);
    }
    pb_free(resp);
    cl->busy = 0;
    k->done++;
    sim_schedule(k->sim, prng_below(sim_prng(k->sim), 5), start_op, cl, NULL);
}

/* The simulator's bootstrap layout (sim_store.h): region 1, every key, a
 * peer on every node. */
static mock_sched_t *bootstrap_layout(int nodes)
{
    mock_sched_t *m = mock_sched_new();
    Metapb__RegionEpoch ep = METAPB__REGION_EPOCH__INIT;
    ep.conf_ver = ep.version = 1;
    Metapb__Peer *peers = calloc((size_t)nodes, sizeof(Metapb__Peer));
    Metapb__Peer **pp = calloc((size_t)nodes, sizeof(Metapb__Peer *));
    for (int i = 0; i < nodes; i++) {
        metapb__peer__init(&peers[i]);
        peers[i].id = (uint64_t)i + 1;
        peers[i].store_id = (uint64_t)i + 1;
        pp[i] = &peers[i];
    }
    Metapb__Region r = METAPB__REGION__INIT;
    r.id = 1;
    r.region_epoch = &ep;
    r.peers = pp;
    r.n_peers = (size_t)nodes;
    mock_sched_add_region(m, &r);
    free(pp);
    free(peers);
    return m;
}

kv_clients_t *kv_clients_start(sim_cluster_t *c, history_t *h, const kv_clients_opts_t *o)
{
    kv_clients_t *k = calloc(1, sizeof(*k));
    k->c = c;
    k->sim = sim_cluster_sim(c);
    k->h = h;
    k->n = o->clients;
    k->nodes = sim_cluster_nodes(c);
    k->timeout_ms = o->timeout_ms ? o->timeout_ms : 250;
    k->shared_keys = o->shared_keys;
    k->sched = o->sched;
    if (k->sched == NULL)
        k->sched = k->own_sched = bootstrap_layout(k->nodes);
    k->cl = calloc((size_t)k->n, sizeof(client_t));
    history_set_trace(h, sim_cluster_trace(c), sim_cluster_client_ep(c, 0));
    for (int i = 0; i < k->n; i++) {
        client_t *cl = &k->cl[i];
        cl->k = k;
        cl->idx = i;
        cl->ep = sim_cluster_client_ep(c, i);
        snprintf(cl->key, sizeof(cl->key), "%d", i);
        cl->target = 1 + i % k->nodes;
        sim_cluster_on_client(c, i, on_reply, cl);
        sim_schedule(k->sim, 0, start_op, cl, NULL);
    }
    return k;
}

void kv_clients_stop(kv_clients_t *k)
{
    k->stopped = 1;
    for (int i = 0; i < k->n; i++)
        if (k->cl[i].timer) {
            sim_cancel(k->sim, k->cl[i].timer);
            k->cl[i].timer = 0;
        }
}

void kv_clients_free(kv_clients_t *k)
{
    if (k == NULL)
        return;
    for (int i = 0; i < k->n; i++) {
        buf_free(&k->cl[i].op_key);
        buf_free(&k->cl[i].op_value);
        buf_free(&k->cl[i].scan_from);
        buf_free(&k->cl[i].scan_acc);
    }
    mock_sched_free(k->own_sched);
    free(k->cl);
    free(k);
}

uint64_t kv_clients_done(const kv_clients_t *k)
{
    return k->done;
}

const char *kv_client_key(const kv_clients_t *k, int i)
{
    return k->cl[i].key;
}
