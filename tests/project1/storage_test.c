/*
 * Project 1, through the Storage interface itself: batches are atomic,
 * readers are consistent snapshots, iteration is in key order.
 */
#include <string.h>

#include "tests/harness/expect.h"
#include "tests/project1/fixture.h"

static tkv_slice_t S(const char *s)
{
    return slice_of_str(s);
}

static void test_write_batch_is_all_or_nothing(void **state)
{
    storage_t *s = ((p1_fixture_t *)*state)->storage;
    storage_modify_t ok[] = {
        { MODIFY_PUT, CF_DEFAULT, S("a"), S("1") },
        { MODIFY_PUT, CF_WRITE, S("b"), S("2") },
    };
    expect_err(storage_write(s, NULL, ok, 2), TKV_OK, "storage_write(s, NULL, ok, 2)");
    storage_modify_t bad[] = {
        { MODIFY_PUT, CF_DEFAULT, S("c"), S("3") },
        { MODIFY_DELETE, CF_DEFAULT, S("a"), S("") },
        { MODIFY_PUT, "nope", S("d"), S("4") },
    };
    expect_err(storage_write(s, NULL, bad, 3), TKV_ERR_INVALID, "storage_write(s, NULL, bad, 3)");
    /* The bad batch changed nothing: "c" absent, "a" still there. */
    p1_expect_missing(s, NULL, "c");
    p1_expect_str(s, NULL, "a", "1");
    p1_expect_str(s, CF_WRITE, "b", "2");
}

static void test_reader_is_a_consistent_snapshot(void **state)
{
    storage_t *s = ((p1_fixture_t *)*state)->storage;
    p1_put_str(s, NULL, "a", "old");
    storage_reader_t *r = NULL;
    expect_err(storage_reader(s, NULL, &r), TKV_OK, "storage_reader(s, NULL, &r)");
    p1_put_str(s, NULL, "a", "new");
    p1_put_str(s, NULL, "b", "later");
    tkv_buf_t v = TKV_BUF_INIT;
    expect_err(reader_get_cf(r, CF_DEFAULT, S("a"), &v), TKV_OK,
               "reader_get_cf(r, CF_DEFAULT, S(\"a\"), &v)");
    expect_bytes(v.data, v.len, "old", 3,
                 "the value of a read through a reader opened before a was overwritten (a reader "
                 "is a snapshot)");
    expect_err(reader_get_cf(r, CF_DEFAULT, S("b"), &v), TKV_ERR_NOT_FOUND,
               "reader_get_cf(r, CF_DEFAULT, S(\"b\"), &v)");
    storage_iter_t *it = reader_iter_cf(r, CF_DEFAULT);
    int n = 0;
    for (storage_iter_seek(it, S("")); storage_iter_valid(it); storage_iter_next(it))
        n++;
    expect_u64(n, 1, "keys a reader's iterator sees, opened when only a existed (b was put later)");
    storage_iter_free(it);
    reader_close(r);
    buf_free(&v);
}

static void test_reader_iterates_in_key_order(void **state)
{
    storage_t *s = ((p1_fixture_t *)*state)->storage;
    const char *put_order[] = { "m", "b", "z", "a", "k" };
    for (int i = 0; i < 5; i++)
        p1_put_str(s, CF_LOCK, put_order[i], put_order[i]);
    p1_put_str(s, CF_DEFAULT, "c", "elsewhere");
    storage_reader_t *r = NULL;
    expect_err(storage_reader(s, NULL, &r), TKV_OK, "storage_reader(s, NULL, &r)");
    storage_iter_t *it = reader_iter_cf(r, CF_LOCK);
    const char *want[] = { "b", "k", "m", "z" };
    int n = 0;
    for (storage_iter_seek(it, S("b")); storage_iter_valid(it); storage_iter_next(it), n++) {
        expect_true(
            n < 4,
            "the iterator from b in the lock CF must stop after 4 keys (b, k, m, z); it goes on");
        tkv_slice_t k = storage_iter_key(it);
        tkv_slice_t v = storage_iter_value(it);
        expect_bytes(k.data, k.len, want[n], 1,
                     "key %d the lock CF's iterator from b returns (in key order)", n + 1);
        expect_bytes(v.data, v.len, want[n], 1, "the value of key %s in the lock CF", want[n]);
    }
    expect_u64(
        n, 4,
        "keys the lock CF's iterator from b returns (b, k, m, z; not a, nor c of the default CF)");
    storage_iter_free(it);
    reader_close(r);
}

const tkv_test_t storage_tests[] = {
    { "project1", "write_batch_is_all_or_nothing", 3,
      "a batch with an invalid modify writes none of its modifies",
      test_write_batch_is_all_or_nothing, 0, p1_setup, p1_teardown },
    { "project1", "reader_is_a_consistent_snapshot", 3,
      "a reader does not see writes made after it was taken", test_reader_is_a_consistent_snapshot,
      0, p1_setup, p1_teardown },
    { "project1", "reader_iterates_in_key_order", 2,
      "a CF iterator yields that family's keys from the seek key, in order",
      test_reader_iterates_in_key_order, 0, p1_setup, p1_teardown },
    { 0 },
};
