/*
 * Frame: the Scheduler service handlers, called the way the RPC server
 * calls them: requests and responses go through their wire encoding, the
 * response is made from the method's output descriptor, and every field a
 * handler sets must be freeable with protobuf_c_message_free_unpacked().
 * (Region heartbeats are the students' part and are tested in project3c.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project3-multiraft/scheduler/service.h"
#include "tests/harness/expect.h"
#include "tests/harness/test.h"
#include "tests/scheduler/sched_fixture.h"

typedef struct {
    char dir[256];
    tkv_vclock_t vc;
    sched_server_t *srv;
} svfix_t;

static int svsetup(void **state)
{
    svfix_t *f = test_calloc(1, sizeof(*f));
    tkv_tmpdir(f->dir, sizeof(f->dir));
    vclock_init(&f->vc, 1000000);
    expect_err(sched_server_open(f->dir, &f->vc.clock, NULL, &f->srv), TKV_OK,
               "sched_server_open(f->dir, &f->vc.clock, NULL, &f->srv)");
    *state = f;
    return 0;
}

static int svteardown(void **state)
{
    svfix_t *f = *state;
    sched_server_close(f->srv);
    tkv_rmdir(f->dir);
    test_free(f);
    return 0;
}

static void restart(svfix_t *f)
{
    sched_server_close(f->srv);
    f->srv = NULL;
    expect_err(sched_server_open(f->dir, &f->vc.clock, NULL, &f->srv), TKV_OK,
               "sched_server_open(f->dir, &f->vc.clock, NULL, &f->srv)");
}

static const ProtobufCMethodDescriptor *method_desc(const char *name)
{
    const ProtobufCServiceDescriptor *sd = &schedulerpb__scheduler__descriptor;
    for (unsigned i = 0; i < sd->n_methods; i++) {
        if (strcmp(sd->methods[i].name, name) == 0)
            return &sd->methods[i];
    }
    fail_msg("no method %s in the Scheduler service", name);
    return NULL;
}

static ProtobufCMessage *reencode(const ProtobufCMessage *m)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(n + 1);
    protobuf_c_message_pack(m, b);
    ProtobufCMessage *out = protobuf_c_message_unpack(m->descriptor, NULL, n, b);
    free(b);
    assert_non_null(out);
    return out;
}

/* Calls `method` with `req` over the wire encoding; the decoded response
 * (caller frees with protobuf_c_message_free_unpacked). */
static void *call(svfix_t *f, const char *method, const void *req)
{
    const ProtobufCMethodDescriptor *md = method_desc(method);
    ProtobufCMessage *in = reencode(req);
    ProtobufCMessage *resp = malloc(md->output->sizeof_message);
    md->output->message_init(resp);
    tkv_err_t e = sched_server_call(f->srv, method, in, resp);
    if (e != TKV_OK)
        fail_msg("%s: %s", method, tkv_last_error());
    ProtobufCMessage *out = reencode(resp);
    protobuf_c_message_free_unpacked(resp, NULL);
    protobuf_c_message_free_unpacked(in, NULL);
    return out;
}

static void done(void *resp)
{
    protobuf_c_message_free_unpacked(resp, NULL);
}

/* The error type in a response's header (every response starts with one). */
static int err_type(const Schedulerpb__ResponseHeader *h)
{
    assert_non_null(h);
    return h->error ? (int)h->error->type : SCHEDULERPB__ERROR_TYPE__ERR_OK;
}

static void put_store(svfix_t *f, uint64_t id, int want)
{
    char addr[32];
    snprintf(addr, sizeof(addr), "127.0.0.1:%llu", (unsigned long long)(20000 + id));
    Metapb__Store st = METAPB__STORE__INIT;
    st.id = id;
    st.address = addr;
    Schedulerpb__PutStoreRequest req = SCHEDULERPB__PUT_STORE_REQUEST__INIT;
    req.store = &st;
    Schedulerpb__PutStoreResponse *r = call(f, "PutStore", &req);
    assert_int_equal(err_type(r->header), want);
    done(r);
}

static void bootstrap(svfix_t *f, int want)
{
    Metapb__Store st = METAPB__STORE__INIT;
    st.id = 1;
    st.address = "127.0.0.1:20001";
    Metapb__Peer peer = METAPB__PEER__INIT;
    peer.id = 2;
    peer.store_id = 1;
    Metapb__Peer *peers[1] = { &peer };
    Metapb__RegionEpoch ep = METAPB__REGION_EPOCH__INIT;
    ep.conf_ver = 1;
    ep.version = 1;
    Metapb__Region region = METAPB__REGION__INIT;
    region.id = 3;
    region.region_epoch = &ep;
    region.n_peers = 1;
    region.peers = peers;
    Schedulerpb__RequestHeader h = SCHEDULERPB__REQUEST_HEADER__INIT;
    h.cluster_id = 42;
    Schedulerpb__BootstrapRequest req = SCHEDULERPB__BOOTSTRAP_REQUEST__INIT;
    req.header = &h;
    req.store = &st;
    req.region = &region;
    Schedulerpb__BootstrapResponse *r = call(f, "Bootstrap", &req);
    assert_int_equal(err_type(r->header), want);
    assert_int_equal(r->header->cluster_id, 42);
    done(r);
}

static int is_bootstrapped(svfix_t *f)
{
    Schedulerpb__IsBootstrappedRequest req = SCHEDULERPB__IS_BOOTSTRAPPED_REQUEST__INIT;
    Schedulerpb__IsBootstrappedResponse *r = call(f, "IsBootstrapped", &req);
    assert_int_equal(err_type(r->header), SCHEDULERPB__ERROR_TYPE__ERR_OK);
    int b = r->bootstrapped;
    done(r);
    return b;
}

static uint64_t alloc_id(svfix_t *f)
{
    Schedulerpb__AllocIdRequest req = SCHEDULERPB__ALLOC_ID_REQUEST__INIT;
    Schedulerpb__AllocIdResponse *r = call(f, "AllocId", &req);
    assert_int_equal(err_type(r->header), SCHEDULERPB__ERROR_TYPE__ERR_OK);
    uint64_t id = r->id;
    done(r);
    return id;
}

static uint64_t tso(svfix_t *f, uint32_t count)
{
    Schedulerpb__TsoRequest req = SCHEDULERPB__TSO_REQUEST__INIT;
    req.count = count;
    Schedulerpb__TsoResponse *r = call(f, "Tso", &req);
    assert_int_equal(err_type(r->header), SCHEDULERPB__ERROR_TYPE__ERR_OK);
    assert_non_null(r->timestamp);
    assert_int_equal(r->count, count);
    uint64_t ts = ((uint64_t)r->timestamp->physical << 18) | (uint64_t)r->timestamp->logical;
    done(r);
    return ts;
}

static void test_every_rpc_has_a_handler(void **state)
{
    (void)state;
    const ProtobufCServiceDescriptor *sd = &schedulerpb__scheduler__descriptor;
    size_t n = 0;
    for (const rpc_method_t *m = sched_service_methods; m->method != NULL; m++)
        n++;
    assert_int_equal(n, sd->n_methods);
    for (unsigned i = 0; i < sd->n_methods; i++) {
        int found = 0;
        for (const rpc_method_t *m = sched_service_methods; m->method != NULL; m++)
            found |= strcmp(m->method, sd->methods[i].name) == 0 && m->fn != NULL;
        if (!found)
            fail_msg("no handler for rpc %s", sd->methods[i].name);
    }
}

static void test_bootstrap_and_stores(void **state)
{
    svfix_t *f = *state;
    assert_false(is_bootstrapped(f));
    put_store(f, 2, SCHEDULERPB__ERROR_TYPE__ERR_NOT_BOOTSTRAPPED);
    bootstrap(f, SCHEDULERPB__ERROR_TYPE__ERR_OK);
    assert_true(is_bootstrapped(f));
    bootstrap(f, SCHEDULERPB__ERROR_TYPE__ERR_ALREADY_BOOTSTRAPPED);
    put_store(f, 2, SCHEDULERPB__ERROR_TYPE__ERR_OK);

    Schedulerpb__StoreStats stats = SCHEDULERPB__STORE_STATS__INIT;
    stats.store_id = 2;
    stats.capacity = 1000;
    Schedulerpb__StoreHeartbeatRequest hb = SCHEDULERPB__STORE_HEARTBEAT_REQUEST__INIT;
    hb.stats = &stats;
    Schedulerpb__StoreHeartbeatResponse *hr = call(f, "StoreHeartbeat", &hb);
    assert_int_equal(err_type(hr->header), SCHEDULERPB__ERROR_TYPE__ERR_OK);
    assert_int_equal(hr->header->cluster_id, 42);
    done(hr);
    stats.store_id = 9;
    hr = call(f, "StoreHeartbeat", &hb);
    assert_int_not_equal(err_type(hr->header), SCHEDULERPB__ERROR_TYPE__ERR_OK);
    done(hr);

    Schedulerpb__GetStoreRequest gs = SCHEDULERPB__GET_STORE_REQUEST__INIT;
    gs.store_id = 2;
    Schedulerpb__GetStoreResponse *gr = call(f, "GetStore", &gs);
    assert_int_equal(err_type(gr->header), SCHEDULERPB__ERROR_TYPE__ERR_OK);
    assert_int_equal(gr->store->id, 2);
    assert_string_equal(gr->store->address, "127.0.0.1:20002");
    assert_int_equal(gr->stats->capacity, 1000);
    done(gr);

    /* A request for another cluster is refused. */
    Schedulerpb__RequestHeader other = SCHEDULERPB__REQUEST_HEADER__INIT;
    other.cluster_id = 7;
    gs.header = &other;
    gr = call(f, "GetStore", &gs);
    assert_int_equal(err_type(gr->header), SCHEDULERPB__ERROR_TYPE__ERR_UNKNOWN);
    assert_null(gr->store);
    done(gr);

    restart(f);
    assert_true(is_bootstrapped(f));
    Schedulerpb__GetAllStoresRequest all = SCHEDULERPB__GET_ALL_STORES_REQUEST__INIT;
    Schedulerpb__GetAllStoresResponse *ar = call(f, "GetAllStores", &all);
    assert_int_equal(ar->n_stores, 2);
    assert_int_equal(ar->stores[0]->id, 1);
    assert_int_equal(ar->stores[1]->id, 2);
    done(ar);
}

static void test_regions_and_split_ids(void **state)
{
    svfix_t *f = *state;
    bootstrap(f, SCHEDULERPB__ERROR_TYPE__ERR_OK);
    Schedulerpb__GetRegionRequest g = SCHEDULERPB__GET_REGION_REQUEST__INIT;
    g.region_key.data = (uint8_t *)"anything";
    g.region_key.len = 8;
    Schedulerpb__GetRegionResponse *r = call(f, "GetRegion", &g);
    assert_int_equal(err_type(r->header), SCHEDULERPB__ERROR_TYPE__ERR_OK);
    assert_non_null(r->region);
    assert_int_equal(r->region->id, 3);
    assert_int_equal(r->region->n_peers, 1);
    done(r);
    Schedulerpb__GetRegionByIdRequest gi = SCHEDULERPB__GET_REGION_BY_ID_REQUEST__INIT;
    gi.region_id = 3;
    r = call(f, "GetRegionById", &gi);
    assert_int_equal(r->region->id, 3);
    done(r);
    gi.region_id = 4;
    r = call(f, "GetRegionById", &gi);
    assert_int_equal(err_type(r->header), SCHEDULERPB__ERROR_TYPE__ERR_OK);
    assert_null(r->region);
    done(r);

    Metapb__Peer p1 = METAPB__PEER__INIT, p2 = METAPB__PEER__INIT;
    Metapb__Peer *peers[2] = { &p1, &p2 };
    Metapb__Region reg = METAPB__REGION__INIT;
    reg.id = 3;
    reg.n_peers = 2;
    reg.peers = peers;
    Schedulerpb__AskSplitRequest as = SCHEDULERPB__ASK_SPLIT_REQUEST__INIT;
    as.region = &reg;
    Schedulerpb__AskSplitResponse *sr = call(f, "AskSplit", &as);
    assert_int_equal(err_type(sr->header), SCHEDULERPB__ERROR_TYPE__ERR_OK);
    assert_int_equal(sr->n_new_peer_ids, 2);
    assert_true(sr->new_region_id != 0);
    assert_true(sr->new_peer_ids[0] > sr->new_region_id);
    assert_true(sr->new_peer_ids[1] > sr->new_peer_ids[0]);
    done(sr);

    /* A region heartbeat is always answered with a header (whether it is
     * accepted is project 3C's business). */
    Schedulerpb__RegionHeartbeatRequest hb = SCHEDULERPB__REGION_HEARTBEAT_REQUEST__INIT;
    hb.region = &reg;
    Schedulerpb__RegionHeartbeatResponse *hr = call(f, "RegionHeartbeat", &hb);
    assert_non_null(hr->header);
    done(hr);
}

static void test_ids_and_timestamps_survive_restart(void **state)
{
    svfix_t *f = *state;
    uint64_t id = alloc_id(f), ts = tso(f, 1);
    for (int i = 0; i < 20; i++) {
        uint64_t nid = alloc_id(f), nts = tso(f, 3);
        assert_true(nid > id);
        assert_true(nts > ts);
        id = nid;
        ts = nts;
    }
    restart(f);
    assert_true(alloc_id(f) > id);
    assert_true(tso(f, 1) > ts);
}

static void test_bad_calls(void **state)
{
    svfix_t *f = *state;
    Schedulerpb__TsoRequest req = SCHEDULERPB__TSO_REQUEST__INIT;
    Schedulerpb__AllocIdResponse wrong = SCHEDULERPB__ALLOC_ID_RESPONSE__INIT;
    expect_err(sched_server_call(f->srv, "Tso", &req.base, &wrong.base), TKV_ERR_INVALID,
               "sched_server_call(f->srv, \"Tso\", &req.base, &wrong.base)");
    expect_err(sched_server_call(f->srv, "NoSuchRpc", &req.base, &wrong.base), TKV_ERR_NOT_FOUND,
               "sched_server_call(f->srv, \"NoSuchRpc\", &req.base, &wrong.base)");
    /* count 0 reserves nothing: an error in the header, not a crash. */
    Schedulerpb__TsoResponse *r = call(f, "Tso", &req);
    assert_int_equal(err_type(r->header), SCHEDULERPB__ERROR_TYPE__ERR_UNKNOWN);
    assert_null(r->timestamp);
    done(r);
}

/* Requests with their sub-messages missing: an error in the header each. */
static void test_empty_requests(void **state)
{
    svfix_t *f = *state;
    static const char *const methods[] = { "Bootstrap", "PutStore", "StoreHeartbeat",
                                           "RegionHeartbeat", "AskSplit" };
    for (size_t pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
            const ProtobufCMethodDescriptor *md = method_desc(methods[i]);
            ProtobufCMessage *req = malloc(md->input->sizeof_message);
            md->input->message_init(req);
            /* Field 1 of every response is its header. */
            Schedulerpb__BootstrapResponse *r = call(f, methods[i], req);
            if (r->header->error == NULL)
                fail_msg("%s with an empty request was not refused", methods[i]);
            done(r);
            free(req);
        }
        bootstrap(f, pass == 0 ? SCHEDULERPB__ERROR_TYPE__ERR_OK
                               : SCHEDULERPB__ERROR_TYPE__ERR_ALREADY_BOOTSTRAPPED);
    }
}

#define S(name, desc, fn)                                                                          \
    {                                                                                              \
        "frame", name, 0, desc, fn, 0, svsetup, svteardown                                         \
    }

const tkv_test_t service_tests[] = {
    S("service_every_rpc_has_a_handler", "every rpc of service Scheduler has a handler",
      test_every_rpc_has_a_handler),
    S("service_bootstrap_and_stores",
      "Bootstrap, IsBootstrapped, PutStore, StoreHeartbeat, GetStore, GetAllStores round-trip",
      test_bootstrap_and_stores),
    S("service_regions_and_split_ids",
      "GetRegion, GetRegionById and AskSplit round-trip; RegionHeartbeat is answered",
      test_regions_and_split_ids),
    S("service_ids_and_timestamps_survive_restart",
      "AllocId and Tso keep growing across a restart of the service",
      test_ids_and_timestamps_survive_restart),
    S("service_empty_requests", "requests without their store, region or stats are refused",
      test_empty_requests),
    S("service_bad_calls", "wrong message types, unknown methods and bad counts are errors",
      test_bad_calls),
    { 0 },
};
