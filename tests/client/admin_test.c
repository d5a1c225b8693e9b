/*
 * Cluster views and admin commands (admin_client.h), and tinykv-ctl run
 * as a real process against the fixture's scheduler and fake stores.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/admin_client.h"
#include "client/raw_client.h"
#include "common/pb.h"
#include "tests/client/client_fixture.h"

static void test_regions_walk_the_key_space(void **state)
{
    cfix_t *f = *state;
    cfix_three_regions(f);
    adminc_region_t *r = NULL;
    size_t n = 0;
    assert_int_equal(adminc_regions(f->cache, 100, &r, &n), TKV_OK);
    int ok = n == 3;
    for (size_t i = 0; ok && i < n; i++)
        ok = r[i].region->id == i + 1 && r[i].leader != NULL && r[i].leader->store_id == i + 1;
    adminc_regions_free(r, n);
    if (!ok)
        fail_msg("expected regions 1, 2, 3 led from stores 1, 2, 3; got %zu regions", n);
}

static void report_middle_region(cfix_t *f)
{
    cfix_sched_region(f, 2, "g", "p", 1, 2, 2);
    f->on_wait = NULL;
}

/* A region split off is not reported yet: the listing waits for its
 * heartbeat instead of failing on the gap. */
static void test_regions_wait_out_a_gap(void **state)
{
    cfix_t *f = *state;
    cfix_region(f, 1, "", "g", 1, 2, 1);
    cfix_region(f, 3, "p", "", 1, 2, 3);
    f->on_wait = report_middle_region; /* region 2's heartbeat comes during the wait */
    adminc_region_t *r = NULL;
    size_t n = 0;
    size_t waits = f->n_waits;
    tkv_err_t e = adminc_regions(f->cache, 100, &r, &n);
    if (e != TKV_OK)
        fail_msg("listing regions with a gap the next heartbeat fills: expected the listing "
                 "after a wait, got %s (%s)",
                 tkv_strerror(e), tkv_last_error());
    adminc_regions_free(r, n);
    if (n != 3 || f->n_waits == waits)
        fail_msg("expected 3 regions after at least one wait; got %zu regions and %zu waits", n,
                 f->n_waits - waits);
}

static void test_split_asks_ids_and_the_leader(void **state)
{
    cfix_t *f = *state;
    Metapb__Region *l = NULL, *r = NULL;
    tkv_err_t e = adminc_split(f->cache, slice_of_str("m"), &l, &r);
    if (e != TKV_OK) {
        cfix_dump_calls(f);
        fail_msg("split at m failed: %s", tkv_last_error());
    }
    int ok = l != NULL && r != NULL && l->id == 1 && r->id != 1 && r->n_peers == 3 &&
             slice_equal(slice_of(l->end_key.data, l->end_key.len), slice_of_str("m")) &&
             slice_equal(slice_of(r->start_key.data, r->start_key.len), slice_of_str("m"));
    uint64_t new_id = r ? r->id : 0;
    pb_free(l);
    pb_free(r);
    if (!ok)
        fail_msg("split at m should give region 1 [\"\", m) and a new region [m, \"\") with ids "
                 "from the scheduler");
    /* The client routes keys past m to the new region from now on. */
    fake_clear_calls(f->fake);
    assert_int_equal(rawc_put(f->cache, "", slice_of_str("x"), slice_of_str("1")), TKV_OK);
    fake_call_t c = fake_call(f->fake, fake_n_calls(f->fake) - 1);
    if (c.region_id != new_id)
        fail_msg("after the split, key x went to region %llu, expected %llu",
                 (unsigned long long)c.region_id, (unsigned long long)new_id);
    /* Splitting where a region starts is refused. */
    assert_int_equal(adminc_split(f->cache, slice_of_str("m"), NULL, NULL), TKV_ERR_INVALID);
}

static void test_transfer_leader_reaches_the_leader(void **state)
{
    cfix_t *f = *state;
    fake_set_leader(f->fake, 1, 2); /* the scheduler is a step behind */
    tkv_err_t e = adminc_transfer_leader(f->cache, 1, 3);
    if (e != TKV_OK || fake_leader(f->fake, 1) != 3) {
        cfix_dump_calls(f);
        fail_msg("transfer-leader of region 1 to store 3: %s, leader now on store %llu",
                 e == TKV_OK ? "ok" : tkv_last_error(),
                 (unsigned long long)fake_leader(f->fake, 1));
    }
    assert_int_equal(adminc_transfer_leader(f->cache, 1, 9), TKV_ERR_INVALID);
}

/* Runs tinykv-ctl with `args`; its stdout into out. Returns the exit status. */
static int ctl(cfix_t *f, const char *args, char *out, size_t size)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    assert_true(n > 0);
    self[n] = '\0';
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "TINYKV_SCHEDULER=%s %s/bin/tinykv-ctl %s 2>&1", f->sched_srv.addr,
             dirname(dirname(self)), args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t got = fread(out, 1, size - 1, p);
    out[got] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_ctl_speaks_to_the_cluster(void **state)
{
    cfix_t *f = *state;
    cfix_three_regions(f);
    char out[4096];
    int rc = ctl(f, "raw put kiwi green", out, sizeof(out));
    if (rc != 0 || strcmp(out, "OK\n") != 0)
        fail_msg("tinykv-ctl raw put (scheduler from TINYKV_SCHEDULER): exit %d, said: %s", rc,
                 out);
    rc = ctl(f, "raw get kiwi", out, sizeof(out));
    if (rc != 0 || strcmp(out, "green\n") != 0)
        fail_msg("tinykv-ctl raw get: exit %d, said: %s", rc, out);
    rc = ctl(f, "raw get nope", out, sizeof(out));
    if (rc != 1 || strstr(out, "not found") == NULL)
        fail_msg("tinykv-ctl raw get of a missing key: expected exit 1 and 'not found', got "
                 "exit %d: %s",
                 rc, out);
    rc = ctl(f, "cluster regions", out, sizeof(out));
    if (rc != 0 || strstr(out, "(3 regions)") == NULL || strstr(out, "\"g\"\t\"p\"") == NULL)
        fail_msg("tinykv-ctl cluster regions: exit %d, said: %s", rc, out);
    rc = ctl(f, "txn transfer alice bob 5", out, sizeof(out));
    if (rc != 1 || strstr(out, "holds 0, less than 5") == NULL)
        fail_msg("txn transfer from an empty account: expected exit 1 saying so, got %d: %s", rc,
                 out);
    rc = ctl(f, "txn put alice 10", out, sizeof(out));
    if (rc != 0)
        fail_msg("txn put: exit %d: %s", rc, out);
    rc = ctl(f, "txn transfer alice zed 3", out, sizeof(out));
    if (rc != 0 || strstr(out, "alice=7 zed=3") == NULL)
        fail_msg("txn transfer alice zed 3: exit %d: %s", rc, out);
    rc = ctl(f, "txn scan a", out, sizeof(out));
    if (rc != 0 || strcmp(out, "alice=7\nzed=3\n") != 0)
        fail_msg("txn scan after the transfer: exit %d: %s", rc, out);
    rc = ctl(f, "--addr 127.0.0.1:1 --scheduler 127.0.0.1:2 raw get k", out, sizeof(out));
    if (rc != 2)
        fail_msg("--addr with --scheduler must be a usage error (2), got %d: %s", rc, out);
}

const tkv_test_t admin_tests[] = {
    { "frame", "client_regions_wait_out_a_gap", 0,
      "a gap in the scheduler's regions (a split not reported yet) is waited out, not an error",
      test_regions_wait_out_a_gap, 0, cfix_setup, cfix_teardown },
    { "frame", "client_regions_walk_the_key_space", 0,
      "cluster regions lists every region in key order with its leader",
      test_regions_walk_the_key_space, 0, cfix_setup, cfix_teardown },
    { "frame", "client_split_asks_ids_and_the_leader", 0,
      "split takes new ids from the scheduler and sends Split to the region's leader",
      test_split_asks_ids_and_the_leader, 0, cfix_setup, cfix_teardown },
    { "frame", "client_transfer_leader_reaches_the_leader", 0,
      "transfer-leader follows NotLeader to the leader and names the target peer",
      test_transfer_leader_reaches_the_leader, 0, cfix_setup, cfix_teardown },
    { "frame", "ctl_speaks_to_the_cluster", 0,
      "tinykv-ctl with TINYKV_SCHEDULER: raw put/get, cluster regions, txn put/transfer/scan",
      test_ctl_speaks_to_the_cluster, 0, cfix_setup, cfix_teardown },
    { 0 },
};
