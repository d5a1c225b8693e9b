/*
 * The frame decoder (common/rpc_frame.h): frames come out whole however the
 * bytes are split, several frames in one read come out one by one, and a bad
 * length or a body that is not an RpcFrame is an error, never a crash.
 */
#include <stdlib.h>
#include <string.h>

#include "common/rpc_frame.h"
#include "tests/harness/test.h"

/* Encodes a frame with the given call id, method and payload onto `out`. */
static void encode(tkv_buf_t *out, uint64_t call_id, const char *method, const char *payload)
{
    Rpcpb__RpcFrame f = RPCPB__RPC_FRAME__INIT;
    f.call_id = call_id;
    f.method = (char *)method;
    f.payload.data = (uint8_t *)payload;
    f.payload.len = strlen(payload);
    assert_int_equal(rpc_frame_encode(&f, out), TKV_OK);
}

static void check_frame(Rpcpb__RpcFrame *f, uint64_t call_id, const char *method,
                        const char *payload)
{
    assert_non_null(f);
    assert_int_equal(f->call_id, call_id);
    assert_string_equal(f->method, method);
    assert_int_equal(f->payload.len, strlen(payload));
    assert_memory_equal(f->payload.data, payload, f->payload.len);
    rpcpb__rpc_frame__free_unpacked(f, NULL);
}

static void test_frame_split_across_many_feeds(void **state)
{
    (void)state;
    tkv_buf_t b = TKV_BUF_INIT;
    encode(&b, 7, "RawGet", "some payload bytes");
    /* Every split point, including one byte at a time. */
    for (size_t step = 1; step <= b.len; step++) {
        rpc_decoder_t d;
        rpc_decoder_init(&d);
        Rpcpb__RpcFrame *f = NULL;
        size_t fed = 0;
        while (fed < b.len) {
            assert_null(f);
            size_t n = b.len - fed < step ? b.len - fed : step;
            rpc_decoder_feed(&d, b.data + fed, n);
            fed += n;
            assert_int_equal(rpc_decoder_next(&d, &f), TKV_OK);
            if (fed < b.len)
                assert_null(f);
        }
        check_frame(f, 7, "RawGet", "some payload bytes");
        assert_int_equal(rpc_decoder_pending(&d), 0);
        assert_int_equal(rpc_decoder_next(&d, &f), TKV_OK);
        assert_null(f);
        rpc_decoder_free(&d);
    }
    buf_free(&b);
}

static void test_several_frames_in_one_feed(void **state)
{
    (void)state;
    tkv_buf_t b = TKV_BUF_INIT;
    encode(&b, 1, "RawPut", "a");
    encode(&b, 2, "RawGet", "");
    encode(&b, 3, "RawScan", "ccc");
    size_t whole = b.len;
    encode(&b, 4, "RawDelete", "dddd");
    rpc_decoder_t d;
    rpc_decoder_init(&d);
    /* Three whole frames and part of a fourth. */
    rpc_decoder_feed(&d, b.data, whole + 3);
    Rpcpb__RpcFrame *f = NULL;
    assert_int_equal(rpc_decoder_next(&d, &f), TKV_OK);
    check_frame(f, 1, "RawPut", "a");
    assert_int_equal(rpc_decoder_next(&d, &f), TKV_OK);
    check_frame(f, 2, "RawGet", "");
    assert_int_equal(rpc_decoder_next(&d, &f), TKV_OK);
    check_frame(f, 3, "RawScan", "ccc");
    assert_int_equal(rpc_decoder_next(&d, &f), TKV_OK);
    assert_null(f);
    assert_int_equal(rpc_decoder_pending(&d), 3);
    rpc_decoder_feed(&d, b.data + whole + 3, b.len - whole - 3);
    assert_int_equal(rpc_decoder_next(&d, &f), TKV_OK);
    check_frame(f, 4, "RawDelete", "dddd");
    rpc_decoder_free(&d);
    buf_free(&b);
}

/* Feeds `bytes` and expects `want` from the decoder, then the same code again
 * (a broken stream stays broken). */
static void expect_error(const uint8_t *bytes, size_t len, tkv_err_t want, const char *words)
{
    rpc_decoder_t d;
    rpc_decoder_init(&d);
    rpc_decoder_feed(&d, bytes, len);
    Rpcpb__RpcFrame *f = NULL;
    assert_int_equal(rpc_decoder_next(&d, &f), want);
    assert_null(f);
    assert_non_null(strstr(tkv_last_error(), words));
    rpc_decoder_feed(&d, bytes, len);
    assert_int_equal(rpc_decoder_next(&d, &f), want);
    assert_null(f);
    rpc_decoder_free(&d);
}

static void test_oversized_length_is_refused_early(void **state)
{
    (void)state;
    uint8_t hdr[4];
    /* Only the header: the decoder must not wait for 4 GiB to arrive. */
    rpc_frame_put_len(hdr, 0xffffffffu);
    expect_error(hdr, sizeof(hdr), TKV_ERR_INVALID, "limit");
    rpc_frame_put_len(hdr, RPC_FRAME_MAX + 1);
    expect_error(hdr, sizeof(hdr), TKV_ERR_INVALID, "limit");
}

static void test_zero_length_is_refused(void **state)
{
    (void)state;
    uint8_t hdr[4] = { 0, 0, 0, 0 };
    expect_error(hdr, sizeof(hdr), TKV_ERR_INVALID, "length 0");
}

static void test_garbage_body_is_corrupt(void **state)
{
    (void)state;
    /* 0xff... is not a valid protobuf tag/wire type sequence. */
    uint8_t bytes[4 + 6] = { 0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    expect_error(bytes, sizeof(bytes), TKV_ERR_CORRUPT, "does not decode");
    /* A length-delimited field that claims more bytes than the frame holds. */
    uint8_t lying[4 + 3] = { 0, 0, 0, 3, 0x12, 0x7f, 'R' };
    expect_error(lying, sizeof(lying), TKV_ERR_CORRUPT, "does not decode");
}

static void test_encode_refuses_oversized_frame(void **state)
{
    (void)state;
    Rpcpb__RpcFrame f = RPCPB__RPC_FRAME__INIT;
    f.method = "RawPut";
    f.payload.len = RPC_FRAME_MAX;
    f.payload.data = calloc(1, f.payload.len);
    assert_non_null(f.payload.data);
    tkv_buf_t b = TKV_BUF_INIT;
    assert_int_equal(rpc_frame_encode(&f, &b), TKV_ERR_INVALID);
    assert_int_equal(b.len, 0);
    free(f.payload.data);
    buf_free(&b);
}

/* Found by fuzz_rpc_frame: a body holding only an unknown field decodes to an
 * all-default RpcFrame, which then encoded to a zero-length frame that the
 * decoder refuses. Encoding such a frame is refused instead. */
static void test_encode_refuses_empty_frame(void **state)
{
    (void)state;
    const uint8_t stream[] = { 0, 0, 0, 2, 0x30, 0x01 }; /* field 6 (unknown) = 1 */
    rpc_decoder_t d;
    rpc_decoder_init(&d);
    rpc_decoder_feed(&d, stream, sizeof(stream));
    Rpcpb__RpcFrame *f = NULL;
    assert_int_equal(rpc_decoder_next(&d, &f), TKV_OK);
    assert_non_null(f);
    tkv_buf_t b = TKV_BUF_INIT;
    tkv_err_t err = rpc_frame_encode(f, &b);
    if (err == TKV_OK) {
        /* Whatever encodes must decode again. */
        rpc_decoder_t d2;
        rpc_decoder_init(&d2);
        rpc_decoder_feed(&d2, b.data, b.len);
        Rpcpb__RpcFrame *g = NULL;
        if (rpc_decoder_next(&d2, &g) != TKV_OK || g == NULL)
            fail_msg("a decoded frame re-encoded to %zu bytes that do not decode: %s", b.len,
                     tkv_last_error());
        rpcpb__rpc_frame__free_unpacked(g, NULL);
        rpc_decoder_free(&d2);
    }
    rpcpb__rpc_frame__free_unpacked(f, NULL);
    rpc_decoder_free(&d);
    buf_free(&b);
    Rpcpb__RpcFrame empty = RPCPB__RPC_FRAME__INIT;
    assert_int_equal(rpc_frame_encode(&empty, &b), TKV_ERR_INVALID);
    assert_int_equal(b.len, 0);
    buf_free(&b);
}

const tkv_test_t frame_codec_tests[] = {
    { "frame", "rpc_encode_refuses_empty_frame", 0,
      "an all-default frame is refused by the encoder, so what encodes always decodes",
      test_encode_refuses_empty_frame },
    { "frame", "rpc_frame_split_across_many_feeds", 0,
      "a frame fed in pieces of any size comes out whole, once",
      test_frame_split_across_many_feeds },
    { "frame", "rpc_several_frames_in_one_feed", 0,
      "several frames in one read come out one by one, in order", test_several_frames_in_one_feed },
    { "frame", "rpc_oversized_length_is_refused_early", 0,
      "a length over RPC_FRAME_MAX is an error as soon as the header is in",
      test_oversized_length_is_refused_early },
    { "frame", "rpc_zero_length_is_refused", 0, "a zero-length frame is an error",
      test_zero_length_is_refused },
    { "frame", "rpc_garbage_body_is_corrupt", 0,
      "a frame body that is not an RpcFrame is TKV_ERR_CORRUPT, and the stream stays broken",
      test_garbage_body_is_corrupt },
    { "frame", "rpc_encode_refuses_oversized_frame", 0,
      "encoding a frame over the limit fails and writes nothing",
      test_encode_refuses_oversized_frame },
    { 0 },
};
