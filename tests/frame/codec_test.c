/*
 * Memcomparable encoding must keep byte order (prefixes included) and decode
 * back; descending integers must reverse order.
 */
#include <string.h>

#include "common/codec.h"
#include "tests/harness/expect.h"
#include "tests/harness/test.h"

static tkv_buf_t enc(const char *s, size_t len)
{
    tkv_buf_t b = TKV_BUF_INIT;
    codec_encode_bytes(&b, (const uint8_t *)s, len);
    return b;
}

static void test_encoding_keeps_order(void **state)
{
    (void)state;
    /* Sorted originals, with prefixes, zero bytes and group boundaries. */
    static const struct {
        const char *s;
        size_t len;
    } keys[] = {
        { "", 0 },        { "\0", 1 },       { "\0\0", 2 },       { "a", 1 },
        { "abcdefg", 7 }, { "abcdefgh", 8 }, { "abcdefgh\0", 9 }, { "abcdefghi", 9 },
        { "abd", 3 },     { "b", 1 },        { "\xff", 1 },       { "\xff\xff", 2 },
    };
    size_t n = sizeof(keys) / sizeof(keys[0]);
    for (size_t i = 0; i + 1 < n; i++) {
        tkv_buf_t a = enc(keys[i].s, keys[i].len);
        tkv_buf_t b = enc(keys[i + 1].s, keys[i + 1].len);
        assert_true(slice_compare(buf_slice(&a), buf_slice(&b)) < 0);
        buf_free(&a);
        buf_free(&b);
    }
}

static void test_decode_round_trips_and_reports_length(void **state)
{
    (void)state;
    const char key[] = "key\0with-zero-bytes-and-more";
    tkv_buf_t e = enc(key, sizeof(key) - 1);
    size_t encoded_len = e.len;
    codec_put_u64_desc(&e, 77); /* something after the key, as MVCC does */
    tkv_buf_t d = TKV_BUF_INIT;
    size_t used = 0;
    expect_err(codec_decode_bytes(buf_slice(&e), &d, &used), TKV_OK,
               "codec_decode_bytes(buf_slice(&e), &d, &used)");
    assert_int_equal(used, encoded_len);
    assert_int_equal(d.len, sizeof(key) - 1);
    assert_memory_equal(d.data, key, d.len);
    assert_int_equal(codec_get_u64_desc(e.data + used), 77);
    buf_free(&e);
    buf_free(&d);
}

static void test_decode_rejects_garbage(void **state)
{
    (void)state;
    tkv_buf_t d = TKV_BUF_INIT;
    size_t used = 0;
    const uint8_t truncated[] = { 'a', 'b', 'c' };
    expect_err(codec_decode_bytes(slice_of(truncated, 3), &d, &used), TKV_ERR_CORRUPT,
               "codec_decode_bytes(slice_of(truncated, 3), &d, &used)");
    const uint8_t bad_marker[9] = { 'a', 0, 0, 0, 0, 0, 0, 0, 0x10 };
    expect_err(codec_decode_bytes(slice_of(bad_marker, 9), &d, &used), TKV_ERR_CORRUPT,
               "codec_decode_bytes(slice_of(bad_marker, 9), &d, &used)");
    buf_free(&d);
}

static void test_descending_u64_reverses_order(void **state)
{
    (void)state;
    tkv_buf_t a = TKV_BUF_INIT, b = TKV_BUF_INIT;
    codec_put_u64_desc(&a, 100);
    codec_put_u64_desc(&b, 99);
    assert_true(memcmp(a.data, b.data, 8) < 0);
    buf_clear(&a);
    buf_clear(&b);
    codec_put_u64(&a, 99);
    codec_put_u64(&b, 100);
    assert_true(memcmp(a.data, b.data, 8) < 0);
    assert_int_equal(codec_get_u64(b.data), 100);
    buf_free(&a);
    buf_free(&b);
}

const tkv_test_t codec_tests[] = {
    { "frame", "codec_encoding_keeps_order", 0, "memcomparable encoding preserves byte order",
      test_encoding_keeps_order },
    { "frame", "codec_decode_round_trips", 0, "decoding gives back the key and its length",
      test_decode_round_trips_and_reports_length },
    { "frame", "codec_decode_rejects_garbage", 0, "truncated or badly marked bytes are corrupt",
      test_decode_rejects_garbage },
    { "frame", "codec_descending_u64", 0, "descending integers sort newest first",
      test_descending_u64_reverses_order },
    { 0 },
};
