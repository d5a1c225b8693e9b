/*
 * Project 1's raw API on the replicated store, through raft_storage.h:
 * the same handlers, now answered by a Raft group.
 */
#include <stdlib.h>
#include <string.h>

#include "project1-standalone/raw_api.h"
#include "project2-raft/raftstore/raft_storage.h"
#include "tests/harness/expect.h"
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
        assert_true(resp->not_found);
    } else {
        assert_false(resp->not_found);
        assert_int_equal(resp->value.len, strlen(want));
        assert_memory_equal(resp->value.data, want, strlen(want));
    }
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}

static void test_raw_api_runs_replicated(void **state)
{
    (void)state;
    sim_store_opts_t so;
    sim_cluster_t *c = cluster_new(3, 0, 501, 0, &so);
    int leader = cluster_leader(c, 5000);
    assert_int_not_equal(leader, 0);
    storage_t *s = storage_on(c, leader);
    char *err = put(s, "a", "1");
    if (err)
        fail_msg("RawPut on the leader failed: %s", err);
    assert_null(put(s, "b", "2"));
    assert_null(put(s, "c", "3"));
    expect_get(s, "a", "1");
    expect_get(s, "zz", NULL);

    Kvrpcpb__RawScanRequest sreq = KVRPCPB__RAW_SCAN_REQUEST__INIT;
    sreq.start_key.data = (uint8_t *)"b";
    sreq.start_key.len = 1;
    sreq.limit = 10;
    Kvrpcpb__RawScanResponse *sresp = malloc(sizeof(*sresp));
    kvrpcpb__raw_scan_response__init(sresp);
    expect_err(raw_scan(s, &sreq, sresp), TKV_OK, "raw_scan(s, &sreq, sresp)");
    assert_int_equal(sresp->n_kvs, 2);
    assert_memory_equal(sresp->kvs[0]->key.data, "b", 1);
    assert_memory_equal(sresp->kvs[1]->key.data, "c", 1);
    protobuf_c_message_free_unpacked(&sresp->base, NULL);

    Kvrpcpb__RawDeleteRequest dreq = KVRPCPB__RAW_DELETE_REQUEST__INIT;
    dreq.key.data = (uint8_t *)"a";
    dreq.key.len = 1;
    Kvrpcpb__RawDeleteResponse *dresp = malloc(sizeof(*dresp));
    kvrpcpb__raw_delete_response__init(dresp);
    expect_err(raw_delete(s, &dreq, dresp), TKV_OK, "raw_delete(s, &dreq, dresp)");
    assert_true(dresp->error == NULL || *dresp->error == '\0');
    protobuf_c_message_free_unpacked(&dresp->base, NULL);
    expect_get(s, "a", NULL);
    storage_free(s);

    /* Replicated: after every store restarts, a new leader has it all. */
    sim_run_for(sim_cluster_sim(c), 200);
    for (int i = 1; i <= 3; i++)
        expect_err(sim_cluster_restart(c, i), TKV_OK, "sim_cluster_restart(c, i)");
    leader = cluster_leader(c, 5000);
    assert_int_not_equal(leader, 0);
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
    assert_int_not_equal(leader, 0);
    sim_run_for(sim_cluster_sim(c), 200);
    int follower = leader % 3 + 1;
    storage_t *s = storage_on(c, follower);
    char *err = put(s, "a", "1");
    assert_non_null(err);
    assert_non_null(strstr(err, "not leader"));
    free(err);
    const Errorpb__Error *re = raft_storage_region_error(s);
    assert_non_null(re);
    assert_non_null(re->not_leader);
    assert_non_null(re->not_leader->leader);
    assert_int_equal(re->not_leader->leader->store_id, (uint64_t)leader);
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
