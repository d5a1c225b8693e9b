/*
 * Routing and retries: every key reaches its region's leader with the
 * region's context, and every region error and dead store leads the client
 * to the right store in a bounded number of tries, without real sleeps.
 */
#include <string.h>

#include "client/raw_client.h"
#include "client/region_send.h"
#include "tests/client/client_fixture.h"

static tkv_slice_t S(const char *s)
{
    return slice_of_str(s);
}

static void put_ok(cfix_t *f, const char *k, const char *v)
{
    tkv_err_t e = rawc_put(f->cache, "", S(k), S(v));
    if (e != TKV_OK) {
        cfix_dump_calls(f);
        fail_msg("RawPut %s through the client failed: %s", k, tkv_last_error());
    }
}

static void get_is(cfix_t *f, const char *k, const char *want)
{
    tkv_buf_t v = TKV_BUF_INIT;
    tkv_err_t e = rawc_get(f->cache, "", S(k), &v);
    if (want == NULL) {
        if (e != TKV_ERR_NOT_FOUND)
            fail_msg("RawGet %s: expected not found, got %s (%s)", k, tkv_strerror(e),
                     tkv_last_error());
        return;
    }
    if (e != TKV_OK) {
        cfix_dump_calls(f);
        fail_msg("RawGet %s through the client failed: %s", k, tkv_last_error());
    }
    if (!slice_equal(buf_slice(&v), S(want)))
        fail_msg("RawGet %s: expected '%s', got '%.*s'", k, want, (int)v.len, (char *)v.data);
    buf_free(&v);
}

static void test_routes_each_key_to_its_regions_leader(void **state)
{
    cfix_t *f = *state;
    cfix_three_regions(f);
    put_ok(f, "apple", "1");
    put_ok(f, "kiwi", "2");
    put_ok(f, "zucchini", "3");
    const uint64_t stores[] = { 1, 2, 3 };
    const char *const methods[] = { "RawPut", "RawPut", "RawPut" };
    cfix_expect_calls(f, 3, stores, methods);
    /* The context names the region, its epoch and the leader peer. */
    for (size_t i = 0; i < 3; i++) {
        fake_call_t c = fake_call(f->fake, i);
        if (c.region_id != i + 1 || c.version != 2 || c.conf_ver != 1 ||
            c.peer_id != (i + 1) * 100 + (i + 1) || c.peer_store != i + 1)
            fail_msg("call %zu carried region %llu epoch (v%llu, c%llu) peer %llu@%llu; "
                     "expected region %zu epoch (v2, c1) peer %zu@%zu",
                     i, (unsigned long long)c.region_id, (unsigned long long)c.version,
                     (unsigned long long)c.conf_ver, (unsigned long long)c.peer_id,
                     (unsigned long long)c.peer_store, i + 1, (i + 1) * 101, i + 1);
    }
    get_is(f, "apple", "1");
    get_is(f, "kiwi", "2");
    get_is(f, "zucchini", "3");
    assert_int_equal(rawc_delete(f->cache, "", S("kiwi")), TKV_OK);
    get_is(f, "kiwi", NULL);
    /* One GetRegion per region: the cache answered the rest. */
    if (rcache_stats(f->cache).sched_get_region != 3)
        fail_msg("the client asked the scheduler for a region %llu times for 3 regions; "
                 "expected 3 (the cache must keep what it learned)",
                 (unsigned long long)rcache_stats(f->cache).sched_get_region);
}

static void test_follows_not_leader_hint(void **state)
{
    cfix_t *f = *state;
    /* The stores moved the leader to store 2; the scheduler still says 1. */
    fake_set_leader(f->fake, 1, 2);
    put_ok(f, "k", "v");
    const uint64_t stores[] = { 1, 2 };
    cfix_expect_calls(f, 2, stores, NULL);
    assert_int_equal(f->n_waits, 0); /* a hint is followed at once */
    /* The cache learned the leader: the next call goes straight there. */
    fake_clear_calls(f->fake);
    get_is(f, "k", "v");
    const uint64_t again[] = { 2 };
    cfix_expect_calls(f, 1, again, NULL);
}

static void test_not_leader_without_hint_tries_another_peer(void **state)
{
    cfix_t *f = *state;
    fake_set_leader(f->fake, 1, 3);
    fake_script(f->fake, 1, "RawPut", FAKE_ERR_NOT_LEADER_NONE, 1);
    put_ok(f, "k", "v");
    /* Store 1 knows no leader: wait, ask the next peer (store 2), which
     * names store 3. */
    const uint64_t stores[] = { 1, 2, 3 };
    cfix_expect_calls(f, 3, stores, NULL);
    if (f->n_waits != 1)
        fail_msg("expected one wait (an election may be going on), saw %zu", f->n_waits);
}

static void test_epoch_not_match_takes_the_current_regions(void **state)
{
    cfix_t *f = *state;
    get_is(f, "a", NULL); /* the cache now holds region 1 ["", "") */
    /* Region 1 splits at "m" on the stores; the scheduler has not heard. */
    const uint64_t all[] = { 1, 2, 3 };
    fake_set_region(f->fake, 1, "", "m", 1, 2, all, 3, 1);
    fake_set_region(f->fake, 4, "m", "", 1, 2, all, 3, 1);
    fake_clear_calls(f->fake);
    uint64_t asked = rcache_stats(f->cache).sched_get_region;
    put_ok(f, "x", "1");
    const uint64_t stores[] = { 1, 1 };
    cfix_expect_calls(f, 2, stores, NULL);
    fake_call_t c = fake_call(f->fake, 1);
    if (c.region_id != 4 || c.version != 2)
        fail_msg("after EpochNotMatch the retry went to region %llu version %llu; expected "
                 "region 4 version 2, from the regions the error carried",
                 (unsigned long long)c.region_id, (unsigned long long)c.version);
    if (rcache_stats(f->cache).sched_get_region != asked)
        fail_msg("the client asked the scheduler although EpochNotMatch carried the regions");
}

static void test_region_not_found_asks_the_scheduler_again(void **state)
{
    cfix_t *f = *state;
    get_is(f, "a", NULL);
    uint64_t asked = rcache_stats(f->cache).sched_get_region;
    fake_script(f->fake, 1, "RawGet", FAKE_ERR_REGION_NOT_FOUND, 1);
    fake_script(f->fake, 1, "RawGet", FAKE_ERR_KEY_NOT_IN_REGION, 1);
    fake_clear_calls(f->fake);
    get_is(f, "a", NULL);
    const uint64_t stores[] = { 1, 1, 1 };
    cfix_expect_calls(f, 3, stores, NULL);
    if (rcache_stats(f->cache).sched_get_region != asked + 2)
        fail_msg("RegionNotFound and KeyNotInRegion must each send the client back to the "
                 "scheduler: expected %llu GetRegion calls, saw %llu",
                 (unsigned long long)asked + 2,
                 (unsigned long long)rcache_stats(f->cache).sched_get_region);
}

/* A split the scheduler has not heard of: it keeps naming the old region
 * and the store keeps answering KeyNotInRegion. Each try waits, so the
 * budget lasts until the new region is reported. */
static void test_key_not_in_region_waits_for_the_scheduler(void **state)
{
    cfix_t *f = *state;
    get_is(f, "a", NULL);
    fake_script(f->fake, 1, "RawGet", FAKE_ERR_KEY_NOT_IN_REGION, 5);
    size_t waits = f->n_waits;
    get_is(f, "a", NULL);
    if (f->n_waits - waits < 5)
        fail_msg("5 KeyNotInRegion answers in a row were retried after %zu waits, expected a wait "
                 "before each try again (the scheduler may not know the split yet)",
                 f->n_waits - waits);
}

static void test_server_busy_backs_off_doubling(void **state)
{
    cfix_t *f = *state;
    fake_script(f->fake, 1, "RawPut", FAKE_ERR_BUSY, 3);
    fake_script(f->fake, 1, "RawPut", FAKE_ERR_STALE_COMMAND, 1);
    put_ok(f, "k", "v");
    const uint64_t stores[] = { 1, 1, 1, 1, 1 };
    cfix_expect_calls(f, 5, stores, NULL);
    const uint64_t want[] = { 4, 8, 16, 32 };
    int ok = f->n_waits == 4;
    for (size_t i = 0; ok && i < 4; i++)
        ok = f->waits[i] == want[i];
    if (!ok)
        fail_msg("three ServerIsBusy and a StaleCommand should wait 4, 8, 16 and 32 ms (the "
                 "config's base, doubling); saw %zu waits starting %llu",
                 f->n_waits, (unsigned long long)(f->n_waits ? f->waits[0] : 0));
}

static void test_gives_up_after_bounded_tries(void **state)
{
    cfix_t *f = *state;
    fake_script(f->fake, 0, NULL, FAKE_ERR_BUSY, 1000);
    tkv_err_t e = rawc_put(f->cache, "", S("k"), S("v"));
    if (e != TKV_ERR_TIMEOUT || strstr(tkv_last_error(), "busy") == NULL)
        fail_msg("a store busy forever: expected TKV_ERR_TIMEOUT naming the busy store, got %s "
                 "(%s)",
                 tkv_strerror(e), tkv_last_error());
    size_t n = fake_n_calls(f->fake);
    if (n != (size_t)f->cfg.max_attempts)
        fail_msg("expected %d tries (max_attempts), saw %zu", f->cfg.max_attempts, n);
    if (f->waited_ms > 10 * f->cfg.backoff_max_ms)
        fail_msg("waited %llu ms in all: waits must be capped", (unsigned long long)f->waited_ms);
}

static void test_dead_store_fails_over_to_another_peer(void **state)
{
    cfix_t *f = *state;
    put_ok(f, "k", "v1"); /* connected to store 1 */
    /* Store 1 dies; store 2 is elected; the scheduler has not heard. */
    cfix_kill_store(f, 1);
    fake_set_leader(f->fake, 1, 2);
    fake_clear_calls(f->fake);
    put_ok(f, "k", "v2");
    const uint64_t stores[] = { 2 };
    cfix_expect_calls(f, 1, stores, NULL);
    if (!rcache_store_is_down(f->cache, 1))
        fail_msg("store 1 refused connections but the cache does not hold it down");
    /* Later requests avoid the dead store without trying it again. */
    get_is(f, "k", "v2");
}

static void test_dead_store_follower_names_the_leader(void **state)
{
    cfix_t *f = *state;
    cfix_kill_store(f, 1);
    fake_set_leader(f->fake, 1, 3); /* store 2 is a follower and knows */
    put_ok(f, "k", "v");
    const uint64_t stores[] = { 2, 3 };
    cfix_expect_calls(f, 2, stores, NULL);
}

/* The leader's store dies and the followers still name it (no election
 * yet): each try must wait, so the budget covers an election instead of
 * being spent in a burst between the dead store and its followers. */
static void test_hint_at_a_dead_store_waits_for_the_election(void **state)
{
    cfix_t *f = *state;
    put_ok(f, "k", "v1");
    cfix_kill_store(f, 1); /* the fake's followers go on naming store 1 */
    fake_clear_calls(f->fake);
    size_t waits_before = f->n_waits;
    tkv_err_t e = rawc_put(f->cache, "", S("k"), S("v2"));
    if (e == TKV_OK)
        fail_msg("no leader ever comes, yet the put succeeded");
    size_t waits = f->n_waits - waits_before;
    if (waits + 1 < (size_t)f->cfg.max_attempts)
        fail_msg("%d tries and only %zu waits (%llu ms in all): a NotLeader hint at a store found "
                 "dead must be waited on (an election takes 1-2 s), expected a wait before every "
                 "try after the first",
                 f->cfg.max_attempts, waits, (unsigned long long)f->waited_ms);
}

const tkv_test_t routing_tests[] = {
    { "frame", "client_routes_each_key_to_its_regions_leader", 0,
      "raw calls go to the leader of the key's region, with its id, epoch and peer",
      test_routes_each_key_to_its_regions_leader, 0, cfix_setup, cfix_teardown },
    { "frame", "client_follows_not_leader_hint", 0,
      "NotLeader with a leader: the hinted store is asked next, at once, and remembered",
      test_follows_not_leader_hint, 0, cfix_setup, cfix_teardown },
    { "frame", "client_not_leader_without_hint_tries_another_peer", 0,
      "NotLeader without a leader: wait, then ask another peer",
      test_not_leader_without_hint_tries_another_peer, 0, cfix_setup, cfix_teardown },
    { "frame", "client_epoch_not_match_takes_the_current_regions", 0,
      "EpochNotMatch: the cache takes the regions the error carries and routes again",
      test_epoch_not_match_takes_the_current_regions, 0, cfix_setup, cfix_teardown },
    { "frame", "client_region_not_found_asks_the_scheduler_again", 0,
      "RegionNotFound and KeyNotInRegion: the region is asked of the scheduler again",
      test_region_not_found_asks_the_scheduler_again, 0, cfix_setup, cfix_teardown },
    { "frame", "client_key_not_in_region_waits_for_the_scheduler", 0,
      "KeyNotInRegion again and again (a split not reported yet): every retry waits",
      test_key_not_in_region_waits_for_the_scheduler, 0, cfix_setup, cfix_teardown },
    { "frame", "client_server_busy_backs_off_doubling", 0,
      "ServerIsBusy and StaleCommand: retried after waits that double from the base",
      test_server_busy_backs_off_doubling, 0, cfix_setup, cfix_teardown },
    { "frame", "client_gives_up_after_bounded_tries", 0,
      "a store busy forever: the request fails after max_attempts tries, saying why",
      test_gives_up_after_bounded_tries, 0, cfix_setup, cfix_teardown },
    { "frame", "client_dead_store_fails_over_to_another_peer", 0,
      "a leader's store that refuses connections is marked down and another peer is asked",
      test_dead_store_fails_over_to_another_peer, 0, cfix_setup, cfix_teardown },
    { "frame", "client_dead_store_follower_names_the_leader", 0,
      "after a dead store, a follower's NotLeader hint leads to the new leader",
      test_dead_store_follower_names_the_leader, 0, cfix_setup, cfix_teardown },
    { "frame", "client_hint_at_a_dead_store_waits_for_the_election", 0,
      "followers that still name a dead leader: every retry waits, so the budget covers an "
      "election",
      test_hint_at_a_dead_store_waits_for_the_election, 0, cfix_setup, cfix_teardown },
    { 0 },
};
