/*
 * The mock scheduler (mock_sched.h).
 */
#include <stdlib.h>
#include <string.h>

#include "common/pb.h"
#include "project2-raft/raftstore/pb_util.h"
#include "project3-multiraft/raftstore/multiraft.h"
#include "proto/schedulerpb.pb-c.h"
#include "tests/harness/mock_sched.h"
#include "tests/harness/sim_store.h"

typedef enum { OP_NONE, OP_ADD, OP_REMOVE, OP_TRANSFER } op_kind_t;

typedef struct {
    Metapb__Region *r; /* owned */
    uint64_t leader_store, leader_peer;
    op_kind_t op;
    uint64_t op_store, op_peer;
} entry_t;

struct mock_sched {
    sim_cluster_t *c;
    entry_t *regions;
    size_t n, cap;
    uint64_t next_id, heartbeats;
    sched_server_t *srv; /* borrowed; NULL: the mock answers itself */
};

void mock_sched_use_server(mock_sched_t *m, sched_server_t *srv)
{
    m->srv = srv;
}

mock_sched_t *mock_sched_new(void)
{
    mock_sched_t *m = calloc(1, sizeof(*m));
    m->next_id = 1000;
    return m;
}

void mock_sched_attach(mock_sched_t *m, sim_cluster_t *c)
{
    m->c = c;
}

void mock_sched_free(mock_sched_t *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n; i++)
        pb_free(m->regions[i].r);
    free(m->regions);
    free(m);
}

uint64_t mock_sched_alloc_id(mock_sched_t *m)
{
    return m->next_id++;
}

static entry_t *find(const mock_sched_t *m, uint64_t id)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->regions[i].r->id == id)
            return &m->regions[i];
    return NULL;
}

static void remove_at(mock_sched_t *m, size_t i)
{
    pb_free(m->regions[i].r);
    m->regions[i] = m->regions[--m->n];
}

static int overlaps(const Metapb__Region *a, const Metapb__Region *b)
{
    tkv_slice_t as = slice_of(a->start_key.data, a->start_key.len);
    tkv_slice_t ae = slice_of(a->end_key.data, a->end_key.len);
    tkv_slice_t bs = slice_of(b->start_key.data, b->start_key.len);
    tkv_slice_t be = slice_of(b->end_key.data, b->end_key.len);
    return (be.len == 0 || slice_compare(as, be) < 0) && (ae.len == 0 || slice_compare(bs, ae) < 0);
}

static uint64_t ver(const Metapb__Region *r)
{
    return r->region_epoch ? r->region_epoch->version : 0;
}

static uint64_t conf(const Metapb__Region *r)
{
    return r->region_epoch ? r->region_epoch->conf_ver : 0;
}

/* Takes in what a heartbeat says; returns the region's entry, or NULL if
 * the report was stale and ignored. */
static entry_t *update(mock_sched_t *m, const Metapb__Region *r)
{
    entry_t *e = find(m, r->id);
    if (e != NULL && (ver(r) < ver(e->r) || conf(r) < conf(e->r)))
        return NULL;
    /* A newer report of a range replaces the older regions it overlaps. */
    for (size_t i = 0; i < m->n; i++) {
        const Metapb__Region *o = m->regions[i].r;
        if (o->id != r->id && overlaps(o, r) && ver(o) > ver(r))
            return NULL;
    }
    for (size_t i = 0; i < m->n;) {
        const Metapb__Region *o = m->regions[i].r;
        if (o->id != r->id && overlaps(o, r))
            remove_at(m, i);
        else
            i++;
    }
    e = find(m, r->id);
    if (e == NULL) {
        if (m->n == m->cap) {
            m->cap = m->cap ? 2 * m->cap : 16;
            m->regions = realloc(m->regions, m->cap * sizeof(entry_t));
        }
        e = &m->regions[m->n++];
        memset(e, 0, sizeof(*e));
    } else {
        pb_free(e->r);
    }
    e->r = pb_region_dup(r);
    return e;
}

void mock_sched_add_region(mock_sched_t *m, const Metapb__Region *r)
{
    update(m, r);
}

static int op_done(const entry_t *e)
{
    const Metapb__Peer *p = e->op_store ? pb_region_peer_on_store(e->r, e->op_store) : NULL;
    switch (e->op) {
    case OP_ADD:
        return p != NULL;
    case OP_REMOVE:
        return p == NULL;
    case OP_TRANSFER:
        return e->leader_store == e->op_store;
    default:
        return 1;
    }
}

/* ---- answering ------------------------------------------------------------------ */

typedef struct {
    mock_sched_t *m;
    int node;
    uint64_t id;
    const char *method; /* static */
    tkv_buf_t bytes;
} reply_t;

static void free_reply(void *arg)
{
    reply_t *r = arg;
    buf_free(&r->bytes);
    free(r);
}

static void deliver_reply(sim_t *sim, void *arg)
{
    (void)sim;
    reply_t *r = arg;
    store_t *s = sim_store_of(r->m->c, r->node);
    if (s != NULL)
        multiraft_scheduler_reply(s, r->id, r->method, r->bytes.data, r->bytes.len);
}

static void reply(mock_sched_t *m, int node, uint64_t id, const char *method,
                  const ProtobufCMessage *msg)
{
    reply_t *r = calloc(1, sizeof(*r));
    r->m = m;
    r->node = node;
    r->id = id;
    r->method = method;
    pb_pack(msg, &r->bytes);
    sim_schedule(sim_cluster_sim(m->c), 1, deliver_reply, r, free_reply);
}

static void on_region_heartbeat(mock_sched_t *m, int node, uint64_t id, const uint8_t *data,
                                size_t len)
{
    Schedulerpb__RegionHeartbeatRequest *req =
        schedulerpb__region_heartbeat_request__unpack(NULL, len, data);
    if (req == NULL || req->region == NULL || req->leader == NULL) {
        pb_free(req);
        return;
    }
    m->heartbeats++;
    entry_t *e = update(m, req->region);
    if (e == NULL) {
        pb_free(req);
        return;
    }
    e->leader_store = req->leader->store_id;
    e->leader_peer = req->leader->id;
    if (e->op != OP_NONE && op_done(e))
        e->op = OP_NONE;
    if (e->op != OP_NONE) {
        Schedulerpb__RegionHeartbeatResponse resp = SCHEDULERPB__REGION_HEARTBEAT_RESPONSE__INIT;
        resp.region_id = e->r->id;
        resp.region_epoch = e->r->region_epoch;
        Metapb__Peer peer = METAPB__PEER__INIT;
        Schedulerpb__ChangePeer cp = SCHEDULERPB__CHANGE_PEER__INIT;
        Schedulerpb__TransferLeader tl = SCHEDULERPB__TRANSFER_LEADER__INIT;
        peer.store_id = e->op_store;
        if (e->op == OP_ADD) {
            peer.id = e->op_peer;
            cp.peer = &peer;
            cp.change_type = ERAFTPB__CONF_CHANGE_TYPE__ADD_NODE;
            resp.change_peer = &cp;
        } else {
            const Metapb__Peer *cur = pb_region_peer_on_store(e->r, e->op_store);
            peer.id = cur ? cur->id : 0;
            if (e->op == OP_REMOVE) {
                cp.peer = &peer;
                cp.change_type = ERAFTPB__CONF_CHANGE_TYPE__REMOVE_NODE;
                resp.change_peer = &cp;
            } else {
                tl.peer = &peer;
                resp.transfer_leader = &tl;
            }
        }
        if (peer.id != 0)
            reply(m, node, id, "RegionHeartbeat", &resp.base);
    }
    pb_free(req);
}

static void on_ask_split(mock_sched_t *m, int node, uint64_t id, const uint8_t *data, size_t len)
{
    Schedulerpb__AskSplitRequest *req = schedulerpb__ask_split_request__unpack(NULL, len, data);
    if (req == NULL || req->region == NULL) {
        pb_free(req);
        return;
    }
    Schedulerpb__AskSplitResponse resp = SCHEDULERPB__ASK_SPLIT_RESPONSE__INIT;
    uint64_t ids[64];
    size_t n = req->region->n_peers < 64 ? req->region->n_peers : 64;
    resp.new_region_id = mock_sched_alloc_id(m);
    for (size_t i = 0; i < n; i++)
        ids[i] = mock_sched_alloc_id(m);
    resp.new_peer_ids = ids;
    resp.n_new_peer_ids = n;
    reply(m, node, id, "AskSplit", &resp.base);
    pb_free(req);
}

/* The real scheduler's answer to one request, sent back like the mock's. */
static void forward(mock_sched_t *m, int node, uint64_t id, const char *method, const uint8_t *data,
                    size_t len)
{
    const ProtobufCMethodDescriptor *md = protobuf_c_service_descriptor_get_method_by_name(
        &schedulerpb__scheduler__descriptor, method);
    if (md == NULL)
        return;
    ProtobufCMessage *req = protobuf_c_message_unpack(md->input, NULL, len, data);
    if (req == NULL)
        return;
    ProtobufCMessage *resp = calloc(1, md->output->sizeof_message);
    protobuf_c_message_init(md->output, resp);
    if (sched_server_call(m->srv, md->name, req, resp) == TKV_OK) {
        if (strcmp(md->name, "RegionHeartbeat") == 0) {
            const Schedulerpb__RegionHeartbeatRequest *hb = (const void *)req;
            const Schedulerpb__RegionHeartbeatResponse *hr = (const void *)resp;
            m->heartbeats++;
            entry_t *e = (hr->header == NULL || hr->header->error == NULL) && hb->region != NULL
                             ? update(m, hb->region)
                             : NULL;
            if (e != NULL && hb->leader != NULL) {
                e->leader_store = hb->leader->store_id;
                e->leader_peer = hb->leader->id;
            }
        }
        reply(m, node, id, md->name, resp);
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    protobuf_c_message_free_unpacked(req, NULL);
}

void mock_sched_submit(mock_sched_t *m, int node, uint64_t id, const char *method,
                       const uint8_t *data, size_t len)
{
    if (m->c == NULL || method == NULL)
        return;
    if (m->srv != NULL) {
        forward(m, node, id, method, data, len);
        return;
    }
    if (strcmp(method, "RegionHeartbeat") == 0)
        on_region_heartbeat(m, node, id, data, len);
    else if (strcmp(method, "AskSplit") == 0)
        on_ask_split(m, node, id, data, len);
    /* StoreHeartbeat: nothing to answer in the mock. */
}

/* ---- lookups and operators ----------------------------------------------------------- */

const Metapb__Region *mock_sched_region_by_key(const mock_sched_t *m, const void *key, size_t len)
{
    tkv_slice_t k = slice_of(key, len);
    for (size_t i = 0; i < m->n; i++) {
        const Metapb__Region *r = m->regions[i].r;
        if (slice_compare(k, slice_of(r->start_key.data, r->start_key.len)) >= 0 &&
            (r->end_key.len == 0 ||
             slice_compare(k, slice_of(r->end_key.data, r->end_key.len)) < 0))
            return r;
    }
    return NULL;
}

const Metapb__Region *mock_sched_region_by_id(const mock_sched_t *m, uint64_t id)
{
    entry_t *e = find(m, id);
    return e ? e->r : NULL;
}

uint64_t mock_sched_leader_store(const mock_sched_t *m, uint64_t region_id)
{
    entry_t *e = find(m, region_id);
    return e ? e->leader_store : 0;
}

size_t mock_sched_n_regions(const mock_sched_t *m)
{
    return m->n;
}

const Metapb__Region *mock_sched_region_at(const mock_sched_t *m, size_t i)
{
    return i < m->n ? m->regions[i].r : NULL;
}

static void set_op(mock_sched_t *m, uint64_t region_id, op_kind_t op, uint64_t store_id)
{
    entry_t *e = find(m, region_id);
    if (e == NULL)
        return;
    e->op = op;
    e->op_store = store_id;
    e->op_peer = op == OP_ADD ? mock_sched_alloc_id(m) : 0;
}

void mock_sched_add_peer(mock_sched_t *m, uint64_t region_id, uint64_t store_id)
{
    set_op(m, region_id, OP_ADD, store_id);
}

void mock_sched_remove_peer(mock_sched_t *m, uint64_t region_id, uint64_t store_id)
{
    set_op(m, region_id, OP_REMOVE, store_id);
}

void mock_sched_transfer_leader(mock_sched_t *m, uint64_t region_id, uint64_t store_id)
{
    set_op(m, region_id, OP_TRANSFER, store_id);
}

int mock_sched_operator_done(const mock_sched_t *m, uint64_t region_id)
{
    entry_t *e = find(m, region_id);
    return e == NULL || e->op == OP_NONE || op_done(e);
}

uint64_t mock_sched_heartbeats(const mock_sched_t *m)
{
    return m->heartbeats;
}
