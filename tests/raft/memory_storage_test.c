/*
 * Frame: the in-memory storage (storage.h) behaves as the Raft core
 * expects: dummy entry, term lookups, size-limited reads, compaction,
 * snapshots and appends that overwrite.
 */
#include <string.h>

#include "tests/harness/expect.h"
#include "tests/raft/raft_helpers.h"

static raft_storage_t view(mem_storage_t *ms)
{
    return mem_storage_as_storage(ms);
}

/* Storage with entries 3, 4, 5 (terms 3, 4, 5) after a dummy at 3. */
static mem_storage_t *sample(void)
{
    uint64_t terms[] = { 1, 2, 3, 4, 5 };
    mem_storage_t *ms = rt_storage_with_terms(terms, 5);
    expect_err(mem_storage_compact(ms, 3), TKV_OK, "mem_storage_compact(ms, 3)");
    return ms;
}

static void test_term_and_bounds(void **state)
{
    (void)state;
    mem_storage_t *ms = sample();
    raft_storage_t s = view(ms);
    uint64_t v;
    expect_err(s.ops->first_index(s.self, &v), TKV_OK, "s.ops->first_index(s.self, &v)");
    assert_int_equal(v, 4);
    expect_err(s.ops->last_index(s.self, &v), TKV_OK, "s.ops->last_index(s.self, &v)");
    assert_int_equal(v, 5);
    expect_err(s.ops->term(s.self, 2, &v), RAFT_ERR_COMPACTED, "s.ops->term(s.self, 2, &v)");
    expect_err(s.ops->term(s.self, 3, &v), TKV_OK, "s.ops->term(s.self, 3, &v)");
    assert_int_equal(v, 3);
    expect_err(s.ops->term(s.self, 5, &v), TKV_OK, "s.ops->term(s.self, 5, &v)");
    assert_int_equal(v, 5);
    expect_err(s.ops->term(s.self, 6, &v), RAFT_ERR_UNAVAILABLE, "s.ops->term(s.self, 6, &v)");
    mem_storage_free(ms);
}

static void test_entries(void **state)
{
    (void)state;
    mem_storage_t *ms = sample();
    raft_storage_t s = view(ms);
    raft_entry_t *e;
    size_t n;
    expect_err(s.ops->entries(s.self, 3, 5, UINT64_MAX, &e, &n), RAFT_ERR_COMPACTED,
               "s.ops->entries(s.self, 3, 5, UINT64_MAX, &e, &n)");
    expect_err(s.ops->entries(s.self, 4, 7, UINT64_MAX, &e, &n), RAFT_ERR_UNAVAILABLE,
               "s.ops->entries(s.self, 4, 7, UINT64_MAX, &e, &n)");
    expect_err(s.ops->entries(s.self, 4, 6, UINT64_MAX, &e, &n), TKV_OK,
               "s.ops->entries(s.self, 4, 6, UINT64_MAX, &e, &n)");
    assert_int_equal(n, 2);
    assert_int_equal(e[1].term, 5);
    raft_entries_free(e, n);
    expect_err(s.ops->entries(s.self, 4, 6, 0, &e, &n), TKV_OK,
               "s.ops->entries(s.self, 4, 6, 0, &e, &n)");
    assert_int_equal(n, 1); /* at least one */
    raft_entries_free(e, n);
    mem_storage_free(ms);
}

static void test_append(void **state)
{
    (void)state;
    mem_storage_t *ms = sample();
    raft_storage_t s = view(ms);
    uint64_t v;
    /* overwrite from 5 */
    raft_entry_t a[2] = { { RAFT_ENTRY_NORMAL, 6, 5, NULL, 0 },
                          { RAFT_ENTRY_NORMAL, 6, 6, NULL, 0 } };
    expect_err(mem_storage_append(ms, a, 2), TKV_OK, "mem_storage_append(ms, a, 2)");
    s.ops->last_index(s.self, &v);
    assert_int_equal(v, 6);
    s.ops->term(s.self, 5, &v);
    assert_int_equal(v, 6);
    /* entries that are already compacted are skipped */
    raft_entry_t b[3] = { { RAFT_ENTRY_NORMAL, 3, 3, NULL, 0 },
                          { RAFT_ENTRY_NORMAL, 7, 4, NULL, 0 },
                          { RAFT_ENTRY_NORMAL, 7, 5, NULL, 0 } };
    expect_err(mem_storage_append(ms, b, 3), TKV_OK, "mem_storage_append(ms, b, 3)");
    s.ops->last_index(s.self, &v);
    assert_int_equal(v, 5);
    s.ops->term(s.self, 4, &v);
    assert_int_equal(v, 7);
    /* a gap is refused */
    raft_entry_t c = { RAFT_ENTRY_NORMAL, 7, 9, NULL, 0 };
    expect_err(mem_storage_append(ms, &c, 1), TKV_ERR_INVALID, "mem_storage_append(ms, &c, 1)");
    mem_storage_free(ms);
}

static void test_compact_and_snapshot(void **state)
{
    (void)state;
    mem_storage_t *ms = sample();
    raft_storage_t s = view(ms);
    expect_err(mem_storage_compact(ms, 2), RAFT_ERR_COMPACTED, "mem_storage_compact(ms, 2)");
    expect_err(mem_storage_compact(ms, 6), RAFT_ERR_UNAVAILABLE, "mem_storage_compact(ms, 6)");
    uint64_t nodes[] = { 1, 2, 3 };
    raft_conf_state_t cs = { nodes, 3 };
    expect_err(mem_storage_create_snapshot(ms, 4, &cs, "data", 4), TKV_OK,
               "mem_storage_create_snapshot(ms, 4, &cs, \"data\", 4)");
    expect_err(mem_storage_create_snapshot(ms, 4, &cs, "data", 4), RAFT_ERR_COMPACTED,
               "mem_storage_create_snapshot(ms, 4, &cs, \"data\", 4)");
    raft_snapshot_t snap;
    expect_err(s.ops->snapshot(s.self, &snap), TKV_OK, "s.ops->snapshot(s.self, &snap)");
    assert_int_equal(snap.metadata.index, 4);
    assert_int_equal(snap.metadata.term, 4);
    assert_int_equal(snap.metadata.conf_state.n_nodes, 3);
    assert_memory_equal(snap.data, "data", 4);
    /* a fresh storage takes it whole */
    mem_storage_t *other = mem_storage_new();
    expect_err(mem_storage_apply_snapshot(other, &snap), TKV_OK,
               "mem_storage_apply_snapshot(other, &snap)");
    expect_err(mem_storage_apply_snapshot(other, &snap), RAFT_ERR_COMPACTED,
               "mem_storage_apply_snapshot(other, &snap)");
    raft_storage_t o = view(other);
    uint64_t v;
    o.ops->first_index(o.self, &v);
    assert_int_equal(v, 5);
    o.ops->last_index(o.self, &v);
    assert_int_equal(v, 4);
    raft_hard_state_t hs;
    raft_conf_state_t got;
    o.ops->initial_state(o.self, &hs, &got);
    assert_int_equal(got.n_nodes, 3);
    raft_conf_state_free(&got);
    raft_snapshot_free(&snap);
    mem_storage_set_snapshot_busy(ms, 1);
    expect_err(s.ops->snapshot(s.self, &snap), RAFT_ERR_SNAP_BUSY,
               "s.ops->snapshot(s.self, &snap)");
    mem_storage_free(other);
    mem_storage_free(ms);
}

const tkv_test_t memory_storage_tests[] = {
    { "frame", "mem_storage_term_and_bounds", 0, "memory storage first/last index and terms",
      test_term_and_bounds },
    { "frame", "mem_storage_entries", 0, "memory storage reads ranges with a size limit",
      test_entries },
    { "frame", "mem_storage_append", 0, "memory storage appends, overwrites, refuses gaps",
      test_append },
    { "frame", "mem_storage_compact_and_snapshot", 0,
      "memory storage compacts, makes and applies snapshots", test_compact_and_snapshot },
    { 0 },
};
