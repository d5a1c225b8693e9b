/*
 * Raw scans across regions: a scan reads each region up to its end and
 * goes on from there, in key order, and stops at its limit.
 */
#include <stdio.h>
#include <string.h>

#include "client/raw_client.h"
#include "tests/client/client_fixture.h"

static const char *const keys[] = { "a", "c", "f", "g", "h", "o", "p", "q", "z" };
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

static void load(cfix_t *f)
{
    cfix_three_regions(f);
    for (size_t i = 0; i < N_KEYS; i++)
        fake_raw_put(f->fake, keys[i], keys[i]);
}

/* Asserts that l holds keys[from .. from+n) in order. */
static void expect_keys(const kv_list_t *l, size_t from, size_t n, const char *what)
{
    int ok = l->n == n;
    for (size_t i = 0; ok && i < n; i++)
        ok = slice_equal(buf_slice(&l->items[i].key), slice_of_str(keys[from + i])) &&
             slice_equal(buf_slice(&l->items[i].value), slice_of_str(keys[from + i]));
    if (!ok) {
        char got[256] = "";
        for (size_t i = 0; i < l->n; i++) {
            size_t at = strlen(got);
            snprintf(got + at, sizeof(got) - at, "%s%.*s", i ? "," : "", (int)l->items[i].key.len,
                     (const char *)l->items[i].key.data);
        }
        fail_msg("%s: expected %zu keys from '%s' in order, got [%s]", what, n, keys[from], got);
    }
}

static void test_scan_crosses_regions(void **state)
{
    cfix_t *f = *state;
    load(f);
    kv_list_t l = KV_LIST_INIT;
    assert_int_equal(rawc_scan(f->cache, "", slice_of_str(""), slice_of(NULL, 0), 100, &l), TKV_OK);
    expect_keys(&l, 0, N_KEYS, "scan of everything over 3 regions");
    kv_list_free(&l);
    /* One RawScan per region, to its leader. */
    const uint64_t stores[] = { 1, 2, 3 };
    const char *const m[] = { "RawScan", "RawScan", "RawScan" };
    cfix_expect_calls(f, 3, stores, m);
}

static void test_scan_respects_limit_and_start(void **state)
{
    cfix_t *f = *state;
    load(f);
    kv_list_t l = KV_LIST_INIT;
    assert_int_equal(rawc_scan(f->cache, "", slice_of_str("b"), slice_of(NULL, 0), 4, &l), TKV_OK);
    expect_keys(&l, 1, 4, "scan from 'b', limit 4");
    kv_list_free(&l);
    assert_int_equal(rawc_scan(f->cache, "", slice_of_str("h"), slice_of_str("q"), 100, &l),
                     TKV_OK);
    expect_keys(&l, 4, 3, "scan of [h, q)");
    kv_list_free(&l);
    /* A limit met exactly at a region's end asks no further region. */
    fake_clear_calls(f->fake);
    assert_int_equal(rawc_scan(f->cache, "", slice_of_str(""), slice_of(NULL, 0), 3, &l), TKV_OK);
    expect_keys(&l, 0, 3, "scan limit 3");
    kv_list_free(&l);
    const uint64_t stores[] = { 1 };
    cfix_expect_calls(f, 1, stores, NULL);
}

static void test_scan_survives_a_split_mid_scan(void **state)
{
    cfix_t *f = *state;
    load(f);
    kv_list_t l = KV_LIST_INIT;
    assert_int_equal(rawc_scan(f->cache, "", slice_of_str(""), slice_of(NULL, 0), 1, &l), TKV_OK);
    kv_list_free(&l);
    /* Region 2 ["g", "p") splits at "h" on the stores only. */
    const uint64_t all[] = { 1, 2, 3 };
    fake_set_region(f->fake, 2, "g", "h", 1, 3, all, 3, 2);
    fake_set_region(f->fake, 4, "h", "p", 1, 3, all, 3, 2);
    assert_int_equal(rawc_scan(f->cache, "", slice_of_str(""), slice_of(NULL, 0), 100, &l), TKV_OK);
    expect_keys(&l, 0, N_KEYS, "scan after a split the scheduler has not heard of");
    kv_list_free(&l);
}

/* Replies cut short with `more` (a store keeping its reply inside a frame):
 * the scan goes on after the last key, inside the same region. */
static void test_scan_follows_more_within_a_region(void **state)
{
    cfix_t *f = *state;
    load(f);
    fake_set_scan_page(f->fake, 2);
    kv_list_t l = KV_LIST_INIT;
    assert_int_equal(rawc_scan(f->cache, "", slice_of_str(""), slice_of(NULL, 0), 100, &l), TKV_OK);
    expect_keys(&l, 0, N_KEYS, "scan of everything over 3 regions, two pairs per reply");
    kv_list_free(&l);
}

const tkv_test_t scan_tests[] = {
    { "frame", "client_scan_crosses_regions", 0,
      "a raw scan reads every region in key order, one RawScan per region",
      test_scan_crosses_regions, 0, cfix_setup, cfix_teardown },
    { "frame", "client_scan_respects_limit_and_start", 0,
      "a raw scan starts at its start key, stops at its end key and at its limit",
      test_scan_respects_limit_and_start, 0, cfix_setup, cfix_teardown },
    { "frame", "client_scan_survives_a_split_mid_scan", 0,
      "a raw scan over a region that split (EpochNotMatch) still returns every key once",
      test_scan_survives_a_split_mid_scan, 0, cfix_setup, cfix_teardown },
    { "frame", "client_scan_follows_more_within_a_region", 0,
      "a raw scan whose replies are cut short with `more` goes on in the same region",
      test_scan_follows_more_within_a_region, 0, cfix_setup, cfix_teardown },
    { 0 },
};
