/*
 * The faults suite's stores (stores.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pb.h"
#include "project2-raft/raft/raft_pb.h"
#include "tests/faults/stores.h"

static void on_send(void *arg, uint64_t to_store, const uint8_t *data, size_t len)
{
    ff_stores_t *c = arg;
    if (c->n_queue == c->cap_queue) {
        c->cap_queue = c->cap_queue ? c->cap_queue * 2 : 64;
        c->queue = xrealloc(c->queue, c->cap_queue * sizeof(ff_envelope_t));
    }
    ff_envelope_t *e = &c->queue[c->n_queue++];
    e->to = to_store;
    buf_init(&e->bytes);
    buf_set(&e->bytes, data, len);
}

tkv_err_t ff_open_store(ff_stores_t *c, int i)
{
    store_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.store_id = (uint64_t)i;
    cfg.data_dir = c->dir[i];
    cfg.peer = peer_config_default();
    cfg.peer.sync = 0;
    cfg.transport.send = on_send;
    cfg.transport.arg = c;
    cfg.prng = &c->rng;
    return store_open(&cfg, &c->s[i]);
}

void ff_open(ff_stores_t *c, int n, const char *end_key)
{
    memset(c, 0, sizeof(*c));
    c->n = n;
    prng_seed(&c->rng, 1);
    Metapb__Peer peers[FF_MAX_STORES];
    Metapb__Peer *pp[FF_MAX_STORES];
    for (int i = 0; i < n; i++) {
        metapb__peer__init(&peers[i]);
        peers[i].id = (uint64_t)i + 1;
        peers[i].store_id = (uint64_t)i + 1;
        pp[i] = &peers[i];
    }
    Metapb__RegionEpoch ep = METAPB__REGION_EPOCH__INIT;
    ep.conf_ver = 1;
    ep.version = 1;
    Metapb__Region region = METAPB__REGION__INIT;
    region.id = 1;
    region.region_epoch = &ep;
    region.end_key.data = (uint8_t *)end_key;
    region.end_key.len = strlen(end_key);
    region.n_peers = (size_t)n;
    region.peers = pp;
    for (int i = 1; i <= n; i++) {
        tkv_tmpdir(c->dir[i], sizeof(c->dir[i]));
        if (ff_open_store(c, i) != TKV_OK)
            fail_msg("store %d does not open in %s: %s", i, c->dir[i], tkv_last_error());
        if (store_bootstrap_region(c->s[i], &region) != TKV_OK)
            fail_msg("store %d cannot bootstrap region 1: %s", i, tkv_last_error());
    }
}

void ff_close_store(ff_stores_t *c, int i)
{
    store_close(c->s[i]);
    c->s[i] = NULL;
}

void ff_close(ff_stores_t *c)
{
    for (int i = 1; i <= c->n; i++) {
        store_close(c->s[i]);
        tkv_rmdir(c->dir[i]);
    }
    for (size_t k = 0; k < c->n_queue; k++)
        buf_free(&c->queue[k].bytes);
    free(c->queue);
    memset(c, 0, sizeof(*c));
}

void ff_deliver(ff_stores_t *c, int max)
{
    for (int k = 0; k < max && c->n_queue > 0; k++) {
        ff_envelope_t e = c->queue[0];
        c->n_queue--;
        memmove(c->queue, c->queue + 1, c->n_queue * sizeof(e));
        if (e.to >= 1 && e.to <= (uint64_t)c->n && c->s[e.to] != NULL)
            (void)store_step(c->s[e.to], e.bytes.data, e.bytes.len);
        buf_free(&e.bytes);
    }
}

peer_t *ff_peer(ff_stores_t *c, int i)
{
    peer_t *p = c->s[i] ? store_peer(c->s[i], 1) : NULL;
    if (p == NULL)
        fail_msg("store %d has no peer of region 1", i);
    return p;
}

typedef struct {
    RaftCmdpb__RaftCmdResponse *resp;
    int answered;
} answer_t;

static void on_answer(void *arg, RaftCmdpb__RaftCmdResponse *resp, eng_snap_t *snap)
{
    answer_t *a = arg;
    a->answered = 1;
    a->resp = resp;
    if (snap != NULL)
        eng_snapshot_free(snap);
}

int ff_command(ff_stores_t *c, int i, const char *key, const char *value,
               RaftCmdpb__RaftCmdResponse **resp)
{
    RaftCmdpb__RaftRequestHeader hdr = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    hdr.region_id = 1;
    RaftCmdpb__PutRequest put = RAFT_CMDPB__PUT_REQUEST__INIT;
    RaftCmdpb__GetRequest get = RAFT_CMDPB__GET_REQUEST__INIT;
    RaftCmdpb__Request r = RAFT_CMDPB__REQUEST__INIT;
    if (value != NULL) {
        put.cf = CF_DEFAULT;
        put.key.data = (uint8_t *)key;
        put.key.len = strlen(key);
        put.value.data = (uint8_t *)value;
        put.value.len = strlen(value);
        r.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_PUT;
        r.put = &put;
    } else {
        get.cf = CF_DEFAULT;
        get.key.data = (uint8_t *)key;
        get.key.len = strlen(key);
        r.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_GET;
        r.get = &get;
    }
    RaftCmdpb__Request *rs[1] = { &r };
    RaftCmdpb__RaftCmdRequest cmd = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    cmd.header = &hdr;
    cmd.n_requests = 1;
    cmd.requests = rs;
    /* On the heap: a command never answered keeps a pointer to it. */
    answer_t *a = xcalloc(1, sizeof(*a));
    peer_cb_t cb = { on_answer, a };
    store_propose(c->s[i], &cmd, cb);
    ff_deliver(c, 1000);
    if (!a->answered)
        fail_msg("a %s of '%s' on store %d got no answer", value ? "Put" : "Get", key, i);
    *resp = a->resp;
    free(a);
    return 1;
}

const char *ff_resp_error(const RaftCmdpb__RaftCmdResponse *resp)
{
    if (resp == NULL)
        return "no response";
    if (resp->header != NULL && resp->header->error != NULL)
        return resp->header->error->message ? resp->header->error->message : "(an error)";
    return NULL;
}

/* A snapshot of region 1 (peers 1..3, range ["", "m")) at FF_SNAP_INDEX, with
 * one pair, spoiled as asked. Caller frees with raft_snapshot_free(). */
void ff_make_snapshot(ff_spoil_t how, raft_snapshot_t *out)
{
    memset(out, 0, sizeof(*out));
    Metapb__Peer peers[3];
    Metapb__Peer *pp[3];
    for (int i = 0; i < 3; i++) {
        metapb__peer__init(&peers[i]);
        peers[i].id = peers[i].store_id = (uint64_t)i + 1;
        pp[i] = &peers[i];
    }
    Metapb__RegionEpoch ep = METAPB__REGION_EPOCH__INIT;
    ep.conf_ver = ep.version = 1;
    Metapb__Region region = METAPB__REGION__INIT;
    region.id = how == FF_SPOIL_REGION_ID ? 7 : 1;
    region.region_epoch = &ep;
    region.end_key.data = (uint8_t *)"m";
    region.end_key.len = 1;
    region.n_peers = 3;
    region.peers = pp;
    RaftServerpb__RaftTruncatedState ts = RAFT_SERVERPB__RAFT_TRUNCATED_STATE__INIT;
    ts.index = FF_SNAP_INDEX;
    ts.term = FF_SNAP_TERM;
    RaftServerpb__RaftApplyState as = RAFT_SERVERPB__RAFT_APPLY_STATE__INIT;
    as.applied_index = how == FF_SPOIL_APPLY_STATE ? FF_SNAP_INDEX - 2 : FF_SNAP_INDEX;
    as.truncated_state = &ts;
    RaftServerpb__SnapshotKV kv = RAFT_SERVERPB__SNAPSHOT_KV__INIT;
    kv.cf = how == FF_SPOIL_CF ? "defult" : CF_DEFAULT;
    const char *key = how == FF_SPOIL_OUT_OF_RANGE ? "zebra" : "apple";
    kv.key.data = (uint8_t *)key;
    kv.key.len = strlen(key);
    kv.value.data = (uint8_t *)"red";
    kv.value.len = 3;
    RaftServerpb__SnapshotKV *kvs[1] = { &kv };
    RaftServerpb__RaftSnapshotData d = RAFT_SERVERPB__RAFT_SNAPSHOT_DATA__INIT;
    d.region = &region;
    d.apply_state = &as;
    d.n_data = 1;
    d.data = kvs;
    tkv_buf_t packed = TKV_BUF_INIT;
    pb_pack(&d.base, &packed);
    if (how == FF_SPOIL_TRUNCATE)
        packed.len -= 3; /* the last field's bytes are cut off */
    out->len = packed.len;
    out->data = buf_take(&packed);
    out->metadata.index = FF_SNAP_INDEX;
    out->metadata.term = FF_SNAP_TERM;
    size_t n = how == FF_SPOIL_VOTERS ? 2 : 3;
    out->metadata.conf_state.n_nodes = n;
    out->metadata.conf_state.nodes = xcalloc(3, sizeof(uint64_t));
    for (size_t i = 0; i < n; i++)
        out->metadata.conf_state.nodes[i] = i + 1;
}

/* The RaftMessage store 1's leader would send store 2 with that snapshot. */
void ff_snapshot_envelope(const raft_snapshot_t *snap, tkv_buf_t *out)
{
    raft_message_t m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_SNAPSHOT;
    m.from = 1;
    m.to = 2;
    m.term = FF_SNAP_TERM;
    m.snapshot = *snap; /* borrowed: freed by the caller */
    Metapb__Peer from = METAPB__PEER__INIT, to = METAPB__PEER__INIT;
    from.id = from.store_id = 1;
    to.id = to.store_id = 2;
    Metapb__RegionEpoch ep = METAPB__REGION_EPOCH__INIT;
    ep.conf_ver = ep.version = 1;
    RaftServerpb__RaftMessage env = RAFT_SERVERPB__RAFT_MESSAGE__INIT;
    env.region_id = 1;
    env.from_peer = &from;
    env.to_peer = &to;
    env.region_epoch = &ep;
    env.end_key.data = (uint8_t *)"m";
    env.end_key.len = 1;
    env.message = raft_pb_message_to_pb(&m);
    pb_pack(&env.base, out);
    eraftpb__message__free_unpacked(env.message, NULL);
}
