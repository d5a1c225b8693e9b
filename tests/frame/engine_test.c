/*
 * The leveldb helpers: column families are separate key spaces, iterators
 * hide the prefix and stop at the family's end, batches are atomic, snapshots
 * do not see later writes, protobuf messages round-trip under meta keys,
 * deferred syncs keep their ordering rule, and the write count counts.
 */
#include <stdio.h>
#include <string.h>

#include "common/engine.h"
#include "common/failpoint.h"
#include "proto/metapb.pb-c.h"
#include "tests/harness/eng_fixture.h"
#include "tests/harness/expect.h"
#include "tests/harness/test.h"

typedef eng_fixture_t fixture_t;

static tkv_slice_t S(const char *s)
{
    return slice_of_str(s);
}

static void check_value(eng_t *eng, const char *cf, const char *key, const char *want)
{
    tkv_buf_t v = TKV_BUF_INIT;
    tkv_err_t e = eng_get(eng, cf, S(key), &v);
    if (want == NULL) {
        expect_err(e, TKV_ERR_NOT_FOUND, "e");
    } else {
        expect_err(e, TKV_OK, "e");
        assert_int_equal(v.len, strlen(want));
        assert_memory_equal(v.data, want, v.len);
    }
    buf_free(&v);
}

static void test_column_families_are_separate(void **state)
{
    fixture_t *f = *state;
    expect_err(eng_put(f->eng, CF_DEFAULT, S("k"), S("d")), TKV_OK,
               "eng_put(f->eng, CF_DEFAULT, S(\"k\"), S(\"d\"))");
    expect_err(eng_put(f->eng, CF_LOCK, S("k"), S("l")), TKV_OK,
               "eng_put(f->eng, CF_LOCK, S(\"k\"), S(\"l\"))");
    check_value(f->eng, CF_DEFAULT, "k", "d");
    check_value(f->eng, CF_LOCK, "k", "l");
    check_value(f->eng, CF_WRITE, "k", NULL);
    check_value(f->eng, NULL, "k", NULL);
    expect_err(eng_delete(f->eng, CF_DEFAULT, S("k")), TKV_OK,
               "eng_delete(f->eng, CF_DEFAULT, S(\"k\"))");
    check_value(f->eng, CF_DEFAULT, "k", NULL);
    check_value(f->eng, CF_LOCK, "k", "l");
    assert_true(eng_cf_valid("write"));
    assert_false(eng_cf_valid("writes"));
}

static void test_iterator_hides_prefix_and_stops_at_family_end(void **state)
{
    fixture_t *f = *state;
    eng_put(f->eng, CF_DEFAULT, S("b"), S("2"));
    eng_put(f->eng, CF_DEFAULT, S("a"), S("1"));
    eng_put(f->eng, CF_DEFAULT, S("c"), S("3"));
    eng_put(f->eng, CF_LOCK, S("a"), S("x"));
    eng_put(f->eng, CF_WRITE, S("0"), S("y"));
    eng_iter_t *it = eng_iter_new(f->eng, NULL, CF_DEFAULT);
    const char *want[] = { "b", "c" };
    int n = 0;
    for (eng_iter_seek(it, S("b")); eng_iter_valid(it); eng_iter_next(it), n++) {
        assert_true(n < 2);
        tkv_slice_t k = eng_iter_key(it);
        assert_int_equal(k.len, 1);
        assert_memory_equal(k.data, want[n], 1);
    }
    assert_int_equal(n, 2);
    expect_err(eng_iter_status(it), TKV_OK, "eng_iter_status(it)");
    eng_iter_free(it);
}

static void test_batch_is_applied_whole(void **state)
{
    fixture_t *f = *state;
    eng_put(f->eng, CF_DEFAULT, S("gone"), S("v"));
    eng_batch_t *b = eng_batch_new();
    eng_batch_put(b, CF_DEFAULT, S("x"), S("1"));
    eng_batch_put(b, CF_WRITE, S("y"), S("2"));
    eng_batch_delete(b, CF_DEFAULT, S("gone"));
    assert_int_equal(eng_batch_count(b), 3);
    check_value(f->eng, CF_DEFAULT, "x", NULL); /* nothing before the write */
    expect_err(eng_write(f->eng, b, 1), TKV_OK, "eng_write(f->eng, b, 1)");
    check_value(f->eng, CF_DEFAULT, "x", "1");
    check_value(f->eng, CF_WRITE, "y", "2");
    check_value(f->eng, CF_DEFAULT, "gone", NULL);
    eng_batch_clear(b);
    assert_int_equal(eng_batch_count(b), 0);
    eng_batch_free(b);
}

static void put_one(eng_t *eng, const char *key, int sync)
{
    eng_batch_t *b = eng_batch_new();
    eng_batch_put(b, CF_DEFAULT, S(key), S("v"));
    expect_err(eng_write(eng, b, sync), TKV_OK, "eng_write");
    eng_batch_free(b);
}

/* Deferred synced writes are readable at once and owed a sync; eng_sync()
 * pays it; a synced write of an engine ordered after them pays it first. */
static void test_deferred_syncs_keep_their_order(void **state)
{
    fixture_t *f = *state;
    char dir2[256];
    tkv_tmpdir(dir2, sizeof(dir2));
    eng_t *log = NULL;
    expect_err(eng_open(dir2, &log), TKV_OK, "eng_open(dir2, &log)");
    eng_sync_before(log, f->eng);

    put_one(f->eng, "a", 1);
    if (eng_unsynced(f->eng))
        fail_msg("a synced write outside deferral left the engine owing a sync");
    eng_defer_syncs(f->eng, 1);
    put_one(f->eng, "b", 1);
    check_value(f->eng, CF_DEFAULT, "b", "v");
    if (!eng_unsynced(f->eng))
        fail_msg("a deferred synced write was synced at once, expected it owed to eng_sync()");
    expect_err(eng_sync(f->eng), TKV_OK, "eng_sync(f->eng)");
    if (eng_unsynced(f->eng))
        fail_msg("after eng_sync() the engine still owes a sync");

    put_one(f->eng, "c", 1);
    put_one(log, "x", 0); /* unsynced: no order to keep */
    if (!eng_unsynced(f->eng))
        fail_msg("an unsynced write of the ordered engine synced the deferred writes; "
                 "expected them still owed");
    put_one(log, "y", 1);
    if (eng_unsynced(f->eng))
        fail_msg("a synced write of the engine ordered after the deferred ones went first: "
                 "they are still unsynced, so a power cut could keep it and lose them");

    eng_defer_syncs(f->eng, 0);
    put_one(f->eng, "d", 1);
    if (eng_unsynced(f->eng))
        fail_msg("after deferral ends, a synced write was left owing a sync");
    eng_close(log);
    tkv_rmdir(dir2);
}

static void test_snapshot_ignores_later_writes(void **state)
{
    fixture_t *f = *state;
    eng_put(f->eng, CF_DEFAULT, S("k"), S("old"));
    eng_snap_t *snap = eng_snapshot(f->eng);
    eng_put(f->eng, CF_DEFAULT, S("k"), S("new"));
    eng_put(f->eng, CF_DEFAULT, S("k2"), S("v"));
    tkv_buf_t v = TKV_BUF_INIT;
    expect_err(eng_get_at(f->eng, snap, CF_DEFAULT, S("k"), &v), TKV_OK,
               "eng_get_at(f->eng, snap, CF_DEFAULT, S(\"k\"), &v)");
    assert_memory_equal(v.data, "old", 3);
    expect_err(eng_get_at(f->eng, snap, CF_DEFAULT, S("k2"), &v), TKV_ERR_NOT_FOUND,
               "eng_get_at(f->eng, snap, CF_DEFAULT, S(\"k2\"), &v)");
    eng_iter_t *it = eng_iter_new(f->eng, snap, CF_DEFAULT);
    int n = 0;
    for (eng_iter_seek_first(it); eng_iter_valid(it); eng_iter_next(it))
        n++;
    assert_int_equal(n, 1);
    eng_iter_free(it);
    eng_snapshot_free(snap);
    buf_free(&v);
}

static void test_message_round_trips_and_reopens(void **state)
{
    fixture_t *f = *state;
    Metapb__Store store = METAPB__STORE__INIT;
    store.id = 7;
    store.address = "127.0.0.1:20160";
    const uint8_t meta_key[] = { 0x01, 0x02, 'i' };
    expect_err(eng_put_msg(f->eng, slice_of(meta_key, 3), &store.base), TKV_OK,
               "eng_put_msg(f->eng, slice_of(meta_key, 3), &store.base)");
    eng_close(f->eng);
    expect_err(eng_open(f->dir, &f->eng), TKV_OK, "eng_open(f->dir, &f->eng)");
    ProtobufCMessage *m = NULL;
    expect_err(eng_get_msg(f->eng, slice_of(meta_key, 3), &metapb__store__descriptor, &m), TKV_OK,
               "eng_get_msg(f->eng, slice_of(meta_key, 3), &metapb__store__descriptor, &m)");
    Metapb__Store *got = (Metapb__Store *)m;
    assert_int_equal(got->id, 7);
    assert_string_equal(got->address, "127.0.0.1:20160");
    protobuf_c_message_free_unpacked(m, NULL);
    /* Bytes that are not the message are reported, not returned. */
    eng_put(f->eng, NULL, slice_of(meta_key, 3), S("\xff\xff\xff"));
    expect_err(eng_get_msg(f->eng, slice_of(meta_key, 3), &metapb__store__descriptor, &m),
               TKV_ERR_CORRUPT,
               "eng_get_msg(f->eng, slice_of(meta_key, 3), &metapb__store__descriptor, &m)");
}

static void test_open_tells_locked_from_broken(void **state)
{
    fixture_t *f = *state;
    eng_t *second = NULL;
    /* The fixture holds f->dir open: a second open is refused as busy. */
    expect_err(eng_open(f->dir, &second), TKV_ERR_BUSY, "eng_open(f->dir, &second)");
    assert_non_null(strstr(tkv_last_error(), "in use"));
    char missing[300];
    snprintf(missing, sizeof(missing), "%s/no/such/parent", f->dir);
    expect_err(eng_open(missing, &second), TKV_ERR_IO, "eng_open(missing, &second)");
}

/* The send-time check of the simulator caches what it read until this
 * count moves: a write that changes the database must move it, and a
 * write that did not happen (an injected error or crash) must not. */
static void test_write_count_moves_with_each_write(void **state)
{
    fixture_t *f = *state;
    uint64_t c0 = eng_write_count(f->eng);
    eng_put(f->eng, CF_DEFAULT, S("a"), S("1"));
    eng_delete(f->eng, CF_DEFAULT, S("a"));
    eng_batch_t *b = eng_batch_new();
    eng_batch_put(b, NULL, S("m"), S("x"));
    expect_err(eng_write(f->eng, b, 1), TKV_OK, "a synced batch write");
    expect_u64(eng_write_count(f->eng) - c0, 3, "writes counted after a put, a delete, a batch");
    failpoint_arm("engine.write", 0, 1, FAILPOINT_ERROR);
    expect_err(eng_write(f->eng, b, 0), TKV_ERR_IO, "a write failed by its fail point");
    failpoint_arm("engine.write", 0, 1, FAILPOINT_CRASH);
    expect_err(eng_write(f->eng, b, 0), TKV_OK, "a write crashed at its fail point");
    failpoint_reset();
    expect_u64(eng_write_count(f->eng) - c0, 3,
               "writes counted after two that never reached the database");
    eng_batch_free(b);
}

const tkv_test_t engine_tests[] = {
    { "frame", "engine_column_families_are_separate", 0, "a key in one CF is invisible in others",
      test_column_families_are_separate, 0, eng_fixture_setup, eng_fixture_teardown },
    { "frame", "engine_iterator_stays_in_its_family", 0,
      "a CF iterator hides the prefix and stops at the family's end",
      test_iterator_hides_prefix_and_stops_at_family_end, 0, eng_fixture_setup,
      eng_fixture_teardown },
    { "frame", "engine_batch_is_atomic", 0, "a batch lands whole at eng_write",
      test_batch_is_applied_whole, 0, eng_fixture_setup, eng_fixture_teardown },
    { "frame", "engine_snapshot_ignores_later_writes", 0, "reads through a snapshot are frozen",
      test_snapshot_ignores_later_writes, 0, eng_fixture_setup, eng_fixture_teardown },
    { "frame", "engine_message_round_trips", 0,
      "protobuf messages survive a reopen; garbage is reported corrupt",
      test_message_round_trips_and_reopens, 0, eng_fixture_setup, eng_fixture_teardown },
    { "frame", "engine_deferred_syncs_keep_their_order", 0,
      "deferred synced writes wait for eng_sync(), or for a synced write of an engine "
      "ordered after them",
      test_deferred_syncs_keep_their_order, 0, eng_fixture_setup, eng_fixture_teardown },
    { "frame", "engine_open_tells_locked_from_broken", 0,
      "a database open elsewhere is TKV_ERR_BUSY; a missing parent directory is TKV_ERR_IO",
      test_open_tells_locked_from_broken, 0, eng_fixture_setup, eng_fixture_teardown },
    { "frame", "engine_write_count_moves_with_each_write", 0,
      "eng_write_count() counts writes that reached the database, not failed or crashed ones",
      test_write_count_moves_with_each_write, 0, eng_fixture_setup, eng_fixture_teardown },
    { 0 },
};
