/*
 * The transactional API through tinykv-server's TCP service: a client runs a
 * whole Percolator transaction over the wire (prewrite, commit, read at
 * timestamps) and sees conflicts as key errors. It uses 4B's commands only,
 * so a handout that strips 4C alone still passes it.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/tinykvpb.pb-c.h"
#include "tests/harness/expect_pb.h"
#include "tests/net/net_fixture.h"

static ProtobufCMessage *call(rpc_client_t *c, const char *method, const ProtobufCMessage *req)
{
    ProtobufCMessage *resp = NULL;
    tkv_err_t e = rpc_client_call(c, &tinykvpb__tiny_kv__descriptor, method, req, &resp);
    if (e != TKV_OK)
        fail_msg("%s failed: %s: %s", method, tkv_strerror(e), tkv_last_error());
    return resp;
}

static void prewrite(rpc_client_t *c, const char *key, const char *value, uint64_t start_ts,
                     int expect_conflict)
{
    Kvrpcpb__Mutation m = KVRPCPB__MUTATION__INIT;
    m.op = KVRPCPB__OP__OP_PUT;
    m.key.data = (uint8_t *)key;
    m.key.len = strlen(key);
    m.value.data = (uint8_t *)value;
    m.value.len = strlen(value);
    Kvrpcpb__Mutation *muts[] = { &m };
    Kvrpcpb__PrewriteRequest req = KVRPCPB__PREWRITE_REQUEST__INIT;
    req.mutations = muts;
    req.n_mutations = 1;
    req.primary_lock = m.key;
    req.start_version = start_ts;
    req.lock_ttl = 3000;
    Kvrpcpb__PrewriteResponse *resp = (Kvrpcpb__PrewriteResponse *)call(c, "KvPrewrite", &req.base);
    expect_no_region_error(resp->region_error, "KvPrewrite of %s at start ts %llu over the wire",
                           key, (unsigned long long)start_ts);
    if (expect_conflict) {
        expect_key_errors(resp->errors, resp->n_errors, 1,
                          "KvPrewrite of %s at start ts %llu over the wire, after a newer commit "
                          "(a write conflict)",
                          key, (unsigned long long)start_ts);
        expect_key_error(resp->errors[0], TKV_KE_CONFLICT,
                         "the key error of KvPrewrite of %s at start ts %llu over the wire", key,
                         (unsigned long long)start_ts);
    } else {
        expect_key_errors(resp->errors, resp->n_errors, 0,
                          "KvPrewrite of %s at start ts %llu over the wire", key,
                          (unsigned long long)start_ts);
    }
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}

static void commit(rpc_client_t *c, const char *key, uint64_t start_ts, uint64_t commit_ts)
{
    ProtobufCBinaryData k = { strlen(key), (uint8_t *)key };
    Kvrpcpb__CommitRequest req = KVRPCPB__COMMIT_REQUEST__INIT;
    req.keys = &k;
    req.n_keys = 1;
    req.start_version = start_ts;
    req.commit_version = commit_ts;
    Kvrpcpb__CommitResponse *resp = (Kvrpcpb__CommitResponse *)call(c, "KvCommit", &req.base);
    expect_no_region_error(resp->region_error,
                           "KvCommit of %s at %llu (start ts %llu) over the wire", key,
                           (unsigned long long)commit_ts, (unsigned long long)start_ts);
    expect_no_key_error(resp->error, "KvCommit of %s at %llu (start ts %llu) over the wire", key,
                        (unsigned long long)commit_ts, (unsigned long long)start_ts);
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}

/* Reads key at ts; want NULL means not found. */
static void check_get(rpc_client_t *c, const char *key, uint64_t ts, const char *want)
{
    Kvrpcpb__GetRequest req = KVRPCPB__GET_REQUEST__INIT;
    req.key.data = (uint8_t *)key;
    req.key.len = strlen(key);
    req.version = ts;
    Kvrpcpb__GetResponse *resp = (Kvrpcpb__GetResponse *)call(c, "KvGet", &req.base);
    expect_no_key_error(resp->error, "KvGet of %s at ts %llu over the wire", key,
                        (unsigned long long)ts);
    if (want == NULL) {
        expect_true(resp->not_found,
                    "KvGet of %s at ts %llu over the wire must report not_found; it did not", key,
                    (unsigned long long)ts);
    } else {
        expect_false(resp->not_found,
                     "KvGet of %s at ts %llu over the wire reported not_found although \"%s\" was "
                     "committed before the ts",
                     key, (unsigned long long)ts, want);
        expect_bytes(resp->value.data, resp->value.len, want, strlen(want),
                     "the value KvGet of %s at ts %llu returns over the wire", key,
                     (unsigned long long)ts);
    }
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}

static void test_transaction_over_the_wire(void **state)
{
    net_fixture_t *f = *state;
    prewrite(f->client, "acct-a", "90", 10, 0);
    prewrite(f->client, "acct-b", "110", 10, 0);
    commit(f->client, "acct-a", 10, 20);
    commit(f->client, "acct-b", 10, 20);
    check_get(f->client, "acct-a", 15, NULL); /* before the commit ts */
    check_get(f->client, "acct-a", 25, "90");
    check_get(f->client, "acct-b", 25, "110");

    /* A transaction that started before that commit must not overwrite it. */
    prewrite(f->client, "acct-a", "0", 18, 1);
    check_get(f->client, "acct-a", 40, "90");
}

const tkv_test_t txn_service_tests[] = {
    { "project4b", "server_transaction_over_the_wire", 3,
      "prewrite, commit, get at timestamps and a conflict, through tinykv-server's TCP service",
      test_transaction_over_the_wire, 0, net_setup_standalone_txn, net_teardown },
    { 0 },
};
