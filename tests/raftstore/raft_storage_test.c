/*
 * Project 1's raw API on the replicated store, through raft_storage.h:
 * the same handlers, now answered by a Raft group.
 */
#include <stdlib.h>
#include <string.h>

#include "project1-standalone/raw_api.h"
#include "project2-raft/raftstore/raft_storage.h"
#include "tests/harness/expect.h"
#include "tests/harness/expect_pb.h"
#include "tests/harness/kv_cluster.h"

static int not_done(void *arg)
{
    return !*(const int *)arg;
}

/* The simulator is the driver: run it until the answer is in (5 s at most). */
static tkv_err_t sim_wait(void *arg, const int *done)
{
    sim_t *sim = arg;
    if (!sim_run_while(sim, not_done, (void *)done, sim_now(sim) + 5000))
        return tkv_errorf(TKV_ERR_TIMEOUT, "no answer in 5 s of virtual time");
    return TKV_OK;
}

static storage_t *storage_on(sim_cluster_t *c, int node)
{
    raft_storage_config_t cfg = { sim_store_of(c, node), sim_wait, sim_cluster_sim(c) };
    storage_t *s = NULL;
    expect_err(raft_storage_new(&cfg, &s), TKV_OK, "raft_storage_new(&cfg, &s)");
    expect_err(storage_start(s), TKV_OK, "storage_start(s)");
    return s;
}

static char *put(storage_t *s, const char *k, const char *v)
{
    Kvrpcpb__RawPutRequest req = KVRPCPB__RAW_PUT_REQUEST__INIT;
    req.key.data = (uint8_t *)k;
    req.key.len = strlen(k);
    req.value.data = (uint8_t *)v;
    req.value.len = strlen(v);
    Kvrpcpb__RawPutResponse *resp = malloc(sizeof(*resp));
    kvrpcpb__raw_put_response__init(resp);
    expect_err(raw_put(s, &req, resp), TKV_OK, "raw_put(s, &req, resp)");
    char *err = resp->error && *resp->error ? strdup(resp->error) : NULL;
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return err;
}

static void expect_get(storage_t *s, const char *k, const char *want)
{
    Kvrpcpb__RawGetRequest req = KVRPCPB__RAW_GET_REQUEST__INIT;
    req.key.data = (uint8_t *)k;
    req.key.len = strlen(k);
    Kvrpcpb__RawGetResponse *resp = malloc(sizeof(*resp));
    kvrpcpb__raw_get_response__init(resp);
    expect_err(raw_get(s, &req, resp), TKV_OK, "raw_get(s, &req, resp)");
    if (resp->error && *resp->error)
        fail_msg("RawGet(%s) failed: %s", k, resp->error);
    if (want == NULL) {
        expect_true(
            resp->not_found,
            "RawGet(%s) must report not_found (the key was never put, or deleted); it did not", k);
    } else {
        expect_false(resp->not_found, "RawGet(%s) reported not_found although %s=%s was put", k, k,
                     want);
        expect_bytes(resp->value.data, resp->value.len, want, strlen(want),
                     "the value RawGet(%s) returns", k);
    }
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}

static void test_raw_api_runs_replicated(void **state)
{
    (void)state;
    sim_store_opts_t so;
    sim_cluster_t *c = cluster_new(3, 0, 501, 0, &so);
    int leader = cluster_leader(c, 5000);
    expect_true(leader != 0, "the 3 stores must elect a leader within 5 s");
    storage_t *s = storage_on(c, leader);
    char *err = put(s, "a", "1");
    if (err)
        fail_msg("RawPut on the leader failed: %s", err);
    expect_absent(put(s, "b", "2"), "an error from RawPut(b=2) on the leader");
    expect_absent(put(s, "c", "3"), "an error from RawPut(c=3) on the leader");
    expect_get(s, "a", "1");
    expect_get(s, "zz", NULL);

    Kvrpcpb__RawScanRequest sreq = KVRPCPB__RAW_SCAN_REQUEST__INIT;
    sreq.start_key.data = (uint8_t *)"b";
    sreq.start_key.len = 1;
    sreq.limit = 10;
    Kvrpcpb__RawScanResponse *sresp = malloc(sizeof(*sresp));
    kvrpcpb__raw_scan_response__init(sresp);
    expect_err(raw_scan(s, &sreq, sresp), TKV_OK, "raw_scan(s, &sreq, sresp)");
    expect_u64(sresp->n_kvs, 2, "pairs RawScan returns from key b with limit 10 (b and c)");
    expect_bytes(sresp->kvs[0]->key.data, sresp->kvs[0]->key.len, "b", 1,
                 "the first key RawScan returns from b");
    expect_bytes(sresp->kvs[1]->key.data, sresp->kvs[1]->key.len, "c", 1,
                 "the second key RawScan returns from b");
    protobuf_c_message_free_unpacked(&sresp->base, NULL);

    Kvrpcpb__RawDeleteRequest dreq = KVRPCPB__RAW_DELETE_REQUEST__INIT;
    dreq.key.data = (uint8_t *)"a";
    dreq.key.len = 1;
    Kvrpcpb__RawDeleteResponse *dresp = malloc(sizeof(*dresp));
    kvrpcpb__raw_delete_response__init(dresp);
    expect_err(raw_delete(s, &dreq, dresp), TKV_OK, "raw_delete(s, &dreq, dresp)");
    expect_true(dresp->error == NULL || *dresp->error == '\0',
                "RawDelete(a) on the leader must succeed; it failed: %s", dresp->error);
    protobuf_c_message_free_unpacked(&dresp->base, NULL);
    expect_get(s, "a", NULL);
    storage_free(s);

    /* Replicated: after every store restarts, a new leader has it all. */
    sim_run_for(sim_cluster_sim(c), 200);
    for (int i = 1; i <= 3; i++)
        expect_err(sim_cluster_restart(c, i), TKV_OK, "sim_cluster_restart(c, i)");
    leader = cluster_leader(c, 5000);
    expect_true(leader != 0, "the 3 stores must elect a new leader within 5 s of all restarting");
    s = storage_on(c, leader);
    expect_get(s, "a", NULL);
    expect_get(s, "b", "2");
    expect_get(s, "c", "3");
    storage_free(s);
    sim_cluster_free(c);
}

static void test_follower_write_is_a_region_error(void **state)
{
    (void)state;
    sim_store_opts_t so;
    sim_cluster_t *c = cluster_new(3, 0, 502, 0, &so);
    int leader = cluster_leader(c, 5000);
    expect_true(leader != 0, "the 3 stores must elect a leader within 5 s");
    sim_run_for(sim_cluster_sim(c), 200);
    int follower = leader % 3 + 1;
    storage_t *s = storage_on(c, follower);
    char *err = put(s, "a", "1");
    expect_present(err, "the error of a RawPut on follower %d (only the leader writes)", follower);
    expect_true(strstr(err, "not leader") != NULL,
                "the error of a RawPut on follower %d must say \"not leader\"; it says \"%s\"",
                follower, err);
    free(err);
    const Errorpb__Error *re = raft_storage_region_error(s);
    expect_present(re, "the region error of the raft storage after a RawPut on follower %d",
                   follower);
    expect_region_error(re, TKV_RE_NOT_LEADER, "the region error of a RawPut on follower %d",
                        follower);
    expect_present(re->not_leader->leader, "the leader NotLeader names (the follower knows it)");
    expect_u64(re->not_leader->leader->store_id, (uint64_t)leader,
               "the leader store NotLeader names");
    storage_free(s);
    sim_cluster_free(c);
}

#define T(name, pts, desc)                                                                         \
    {                                                                                              \
        "project2b", #name, pts, desc, test_##name, 60                                             \
    }

const tkv_test_t raft_storage_tests[] = {
    T(raw_api_runs_replicated, 4,
      "RawPut/Get/Scan/Delete work on the leader's store and survive restarting every store"),
    T(follower_write_is_a_region_error, 2,
      "a write on a follower's store fails with NotLeader naming the leader"),
    { 0 },
};
