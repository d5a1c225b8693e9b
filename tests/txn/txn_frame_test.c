/*
 * Frame tests of project 4's given code: the MVCC key, lock and write
 * encodings (round trips, order, corrupt bytes rejected) and the latches
 * (same keys wait, disjoint keys do not). No test sleeps: threads meet
 * through flags and the latches' own waiter count.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "common/codec.h"
#include "project4-txn/latches.h"
#include "project4-txn/mvcc/mvcc_codec.h"
#include "tests/harness/expect.h"
#include "tests/harness/test.h"

static tkv_buf_t enc_key(const char *k, size_t len, uint64_t ts)
{
    tkv_buf_t b = TKV_BUF_INIT;
    mvcc_encode_key(&b, slice_of(k, len), ts);
    return b;
}

static void test_mvcc_keys_sort_by_key_then_newest_first(void **state)
{
    (void)state;
    /* In the order leveldb must keep them. */
    struct {
        const char *k;
        size_t len;
        uint64_t ts;
    } order[] = {
        { "", 0, 5 },         { "", 0, 1 },          { "a", 1, UINT64_MAX }, { "a", 1, 200 },
        { "a", 1, 199 },      { "a", 1, 0 },         { "a\0", 2, 300 },      { "ab", 2, 7 },
        { "abcdefgh", 8, 9 }, { "abcdefghi", 9, 9 }, { "b", 1, 1000 },
    };
    size_t n = sizeof(order) / sizeof(order[0]);
    for (size_t i = 0; i + 1 < n; i++) {
        tkv_buf_t a = enc_key(order[i].k, order[i].len, order[i].ts);
        tkv_buf_t b = enc_key(order[i + 1].k, order[i + 1].len, order[i + 1].ts);
        assert_true(slice_compare(buf_slice(&a), buf_slice(&b)) < 0);
        buf_free(&a);
        buf_free(&b);
    }
}

static void test_mvcc_key_round_trips(void **state)
{
    (void)state;
    const char key[] = "user\0key\xff";
    tkv_buf_t e = enc_key(key, sizeof(key) - 1, 123456789);
    tkv_buf_t uk = TKV_BUF_INIT;
    uint64_t ts = 0;
    expect_err(mvcc_decode_key(buf_slice(&e), &uk, &ts), TKV_OK,
               "mvcc_decode_key(buf_slice(&e), &uk, &ts)");
    assert_int_equal(ts, 123456789);
    assert_int_equal(uk.len, sizeof(key) - 1);
    assert_memory_equal(uk.data, key, uk.len);
    /* Missing or extra timestamp bytes are corrupt. */
    tkv_slice_t cut = slice_of(e.data, e.len - 1);
    expect_err(mvcc_decode_key(cut, NULL, NULL), TKV_ERR_CORRUPT,
               "mvcc_decode_key(cut, NULL, NULL)");
    buf_append_byte(&e, 0);
    expect_err(mvcc_decode_key(buf_slice(&e), NULL, NULL), TKV_ERR_CORRUPT,
               "mvcc_decode_key(buf_slice(&e), NULL, NULL)");
    buf_free(&e);
    buf_free(&uk);
}

static void test_lock_round_trips(void **state)
{
    (void)state;
    mvcc_lock_t l, back;
    mvcc_lock_init(&l);
    mvcc_lock_init(&back);
    l.kind = MVCC_KIND_DELETE;
    l.start_ts = 0x0102030405060708ull;
    l.ttl = 3000;
    buf_set(&l.primary, "pri\0mary", 8);
    tkv_buf_t b = TKV_BUF_INIT;
    mvcc_lock_encode(&l, &b);
    assert_int_equal(b.len, 21 + 8);
    expect_err(mvcc_lock_decode(buf_slice(&b), &back), TKV_OK,
               "mvcc_lock_decode(buf_slice(&b), &back)");
    assert_int_equal(back.kind, MVCC_KIND_DELETE);
    assert_int_equal(back.start_ts, l.start_ts);
    assert_int_equal(back.ttl, 3000);
    assert_true(slice_equal(buf_slice(&back.primary), buf_slice(&l.primary)));
    buf_free(&b);
    mvcc_lock_free(&l);
    mvcc_lock_free(&back);
}

static void test_lock_rejects_corrupt_bytes(void **state)
{
    (void)state;
    mvcc_lock_t l;
    mvcc_lock_init(&l);
    l.kind = MVCC_KIND_PUT;
    l.start_ts = 9;
    buf_set(&l.primary, "pk", 2);
    tkv_buf_t good = TKV_BUF_INIT;
    mvcc_lock_encode(&l, &good);
    /* Every truncation fails. */
    for (size_t n = 0; n < good.len; n++)
        expect_err(mvcc_lock_decode(slice_of(good.data, n), &l), TKV_ERR_CORRUPT,
                   "mvcc_lock_decode(slice_of(good.data, n), &l)");
    /* A trailing byte, a rollback or unknown kind fail. */
    tkv_buf_t bad = TKV_BUF_INIT;
    buf_set(&bad, good.data, good.len);
    buf_append_byte(&bad, 1);
    expect_err(mvcc_lock_decode(buf_slice(&bad), &l), TKV_ERR_CORRUPT,
               "mvcc_lock_decode(buf_slice(&bad), &l)");
    uint8_t kinds[] = { 0, MVCC_KIND_ROLLBACK, 4, 0xff };
    for (size_t i = 0; i < sizeof(kinds); i++) {
        buf_set(&bad, good.data, good.len);
        bad.data[0] = kinds[i];
        expect_err(mvcc_lock_decode(buf_slice(&bad), &l), TKV_ERR_CORRUPT,
                   "mvcc_lock_decode(buf_slice(&bad), &l)");
    }
    /* A primary length past the end fails. */
    buf_set(&bad, good.data, good.len);
    bad.data[17] = 0x80;
    expect_err(mvcc_lock_decode(buf_slice(&bad), &l), TKV_ERR_CORRUPT,
               "mvcc_lock_decode(buf_slice(&bad), &l)");
    expect_err(mvcc_lock_decode(buf_slice(&good), &l), TKV_OK,
               "mvcc_lock_decode(buf_slice(&good), &l)");
    buf_free(&good);
    buf_free(&bad);
    mvcc_lock_free(&l);
}

static void test_write_round_trips_and_rejects_corrupt(void **state)
{
    (void)state;
    mvcc_kind_t kinds[] = { MVCC_KIND_PUT, MVCC_KIND_DELETE, MVCC_KIND_ROLLBACK };
    for (int i = 0; i < 3; i++) {
        mvcc_write_t w = { kinds[i], 77 + (uint64_t)i }, back;
        tkv_buf_t b = TKV_BUF_INIT;
        mvcc_write_encode(&w, &b);
        assert_int_equal(b.len, 9);
        expect_err(mvcc_write_decode(buf_slice(&b), &back), TKV_OK,
                   "mvcc_write_decode(buf_slice(&b), &back)");
        assert_int_equal(back.kind, w.kind);
        assert_int_equal(back.start_ts, w.start_ts);
        expect_err(mvcc_write_decode(slice_of(b.data, 8), &back), TKV_ERR_CORRUPT,
                   "mvcc_write_decode(slice_of(b.data, 8), &back)");
        buf_append_byte(&b, 0);
        expect_err(mvcc_write_decode(buf_slice(&b), &back), TKV_ERR_CORRUPT,
                   "mvcc_write_decode(buf_slice(&b), &back)");
        b.data[0] = 9;
        expect_err(mvcc_write_decode(slice_of(b.data, 9), &back), TKV_ERR_CORRUPT,
                   "mvcc_write_decode(slice_of(b.data, 9), &back)");
        buf_free(&b);
    }
}

static void test_physical_time_is_ts_shifted_18(void **state)
{
    (void)state;
    assert_int_equal(mvcc_physical_ms(0), 0);
    assert_int_equal(mvcc_physical_ms((1ull << 18) - 1), 0);
    assert_int_equal(mvcc_physical_ms(5ull << 18), 5);
    assert_int_equal(mvcc_compose_ts(7, 3), (7ull << 18) | 3);
    assert_int_equal(mvcc_physical_ms(mvcc_compose_ts(1234, 99)), 1234);
}

/* ---- latches ------------------------------------------------------------------ */

typedef struct {
    latches_t *l;
    tkv_slice_t keys[2];
    size_t n;
    atomic_int acquired;
} latch_job_t;

static void *take_and_drop(void *arg)
{
    latch_job_t *j = arg;
    latches_acquire(j->l, j->keys, j->n);
    atomic_store(&j->acquired, 1);
    latches_release(j->l, j->keys, j->n);
    return NULL;
}

static void test_latches_serialize_same_keys(void **state)
{
    (void)state;
    latches_t *l = latches_new();
    tkv_slice_t mine[2] = { slice_of_str("b"), slice_of_str("a") };
    latches_acquire(l, mine, 2);

    latch_job_t j = { l, { slice_of_str("c"), slice_of_str("a") }, 2, 0 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, take_and_drop, &j), 0);
    /* The other command must block on "a": wait until the latches count it. */
    while (latches_waiting(l) == 0)
        sched_yield();
    assert_int_equal(atomic_load(&j.acquired), 0);
    /* Nothing was taken by the waiter, not even its free key "c". */
    tkv_slice_t c = slice_of_str("c");
    assert_true(latches_try_acquire(l, &c, 1));
    latches_release(l, &c, 1);

    latches_release(l, mine, 2);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(atomic_load(&j.acquired), 1);
    assert_int_equal(latches_waiting(l), 0);
    latches_free(l);
}

static void test_latches_let_disjoint_keys_through(void **state)
{
    (void)state;
    latches_t *l = latches_new();
    tkv_slice_t mine[2] = { slice_of_str("a"), slice_of_str("b") };
    latches_acquire(l, mine, 2);
    /* If disjoint keys waited, this join would never return. */
    latch_job_t j = { l, { slice_of_str("c"), slice_of_str("ab") }, 2, 0 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, take_and_drop, &j), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(atomic_load(&j.acquired), 1);
    latches_release(l, mine, 2);
    latches_free(l);
}

static void test_latches_try_and_duplicates(void **state)
{
    (void)state;
    latches_t *l = latches_new();
    tkv_slice_t dup[3] = { slice_of_str("k"), slice_of_str("k"), slice_of_str("j") };
    assert_true(latches_try_acquire(l, dup, 3));
    tkv_slice_t k = slice_of_str("k"), z = slice_of_str("z");
    tkv_slice_t kz[2] = { z, k };
    assert_false(latches_try_acquire(l, &k, 1));
    assert_false(latches_try_acquire(l, kz, 2));
    /* The failed try took nothing: z is still free. */
    assert_true(latches_try_acquire(l, &z, 1));
    latches_release(l, &z, 1);
    latches_release(l, dup, 3);
    assert_true(latches_try_acquire(l, kz, 2));
    latches_release(l, kz, 2);
    latches_free(l);
}

#define TF(name, desc, fn)                                                                         \
    {                                                                                              \
        "frame", name, 0, desc, fn                                                                 \
    }

const tkv_test_t txn_frame_tests[] = {
    TF("mvcc_keys_sort_by_key_then_newest_first",
       "encoded MVCC keys order by user key, then by descending ts",
       test_mvcc_keys_sort_by_key_then_newest_first),
    TF("mvcc_key_round_trips", "mvcc_decode_key returns user key and ts; bad lengths are corrupt",
       test_mvcc_key_round_trips),
    TF("lock_round_trips", "a lock encodes and decodes to the same fields", test_lock_round_trips),
    TF("lock_rejects_corrupt_bytes", "truncated, padded or wrong-kind locks are TKV_ERR_CORRUPT",
       test_lock_rejects_corrupt_bytes),
    TF("write_round_trips_and_rejects_corrupt",
       "write records round-trip; wrong length or kind is TKV_ERR_CORRUPT",
       test_write_round_trips_and_rejects_corrupt),
    TF("physical_time_is_ts_shifted_18", "a ts's physical ms is ts >> 18",
       test_physical_time_is_ts_shifted_18),
    TF("latches_serialize_same_keys", "a command waits for another holding one of its keys",
       test_latches_serialize_same_keys),
    TF("latches_let_disjoint_keys_through", "commands on disjoint keys never wait for each other",
       test_latches_let_disjoint_keys_through),
    TF("latches_try_and_duplicates", "try_acquire is all or nothing; duplicate keys are fine",
       test_latches_try_and_duplicates),
    { 0 },
};
