/*
 * The wire format between stores (runtime/raft_wire.h), byte by byte with
 * no sockets: a batch is a real BatchRaftMessage, pieces of a large message
 * come back whole, and every way a stream can break the rules is an error
 * with a reason rather than a crash or a wrong message.
 */
#include <stdlib.h>
#include <string.h>

#include "common/rpc_frame.h"
#include "runtime/raft_wire.h"
#include "tests/harness/test.h"

typedef struct {
    RaftServerpb__RaftMessage *got[16];
    size_t n;
} sink_t;

static void sink_deliver(void *arg, RaftServerpb__RaftMessage *m)
{
    sink_t *s = arg;
    if (s->n < 16)
        s->got[s->n++] = m;
    else
        raft_serverpb__raft_message__free_unpacked(m, NULL);
}

static void sink_free(sink_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        raft_serverpb__raft_message__free_unpacked(s->got[i], NULL);
    s->n = 0;
}

static wire_msg_t *encode_region(uint64_t region, size_t pad)
{
    RaftServerpb__RaftMessage m = RAFT_SERVERPB__RAFT_MESSAGE__INIT;
    uint8_t *key = pad ? xmalloc(pad) : NULL;
    for (size_t i = 0; i < pad; i++)
        key[i] = (uint8_t)(i ^ region);
    m.region_id = region;
    m.start_key.data = key;
    m.start_key.len = pad;
    wire_msg_t *w = wire_msg_encode(&m);
    free(key);
    return w;
}

/* Decodes the single frame in `b`. Caller frees. */
static Rpcpb__RpcFrame *one_frame(const tkv_buf_t *b)
{
    rpc_decoder_t d;
    rpc_decoder_init(&d);
    rpc_decoder_feed(&d, b->data, b->len);
    Rpcpb__RpcFrame *f = NULL;
    assert_int_equal(rpc_decoder_next(&d, &f), TKV_OK);
    assert_non_null(f);
    assert_int_equal(rpc_decoder_pending(&d), 0);
    rpc_decoder_free(&d);
    return f;
}

static tkv_err_t feed(wire_rx_t *rx, const tkv_buf_t *b, sink_t *s)
{
    Rpcpb__RpcFrame *f = one_frame(b);
    size_t n = 0;
    tkv_err_t e = wire_rx_frame(rx, f, sink_deliver, s, &n);
    rpcpb__rpc_frame__free_unpacked(f, NULL);
    return e;
}

static void test_wire_batch_is_a_batch_raft_message(void **state)
{
    (void)state;
    wire_msg_t *a = encode_region(1, 0), *b = encode_region(2, 300), *c = encode_region(3, 5);
    a->next = b;
    b->next = c;
    tkv_buf_t out = TKV_BUF_INIT;
    assert_int_equal(wire_batch_frame(a, 3, &out), TKV_OK);
    /* Any protobuf decoder reads it as a BatchRaftMessage. */
    Rpcpb__RpcFrame *f = one_frame(&out);
    assert_string_equal(f->method, WIRE_METHOD_BATCH);
    RaftServerpb__BatchRaftMessage *bm =
        raft_serverpb__batch_raft_message__unpack(NULL, f->payload.len, f->payload.data);
    assert_non_null(bm);
    assert_int_equal(bm->n_msgs, 3);
    assert_int_equal(bm->msgs[1]->region_id, 2);
    assert_int_equal(bm->msgs[1]->start_key.len, 300);
    raft_serverpb__batch_raft_message__free_unpacked(bm, NULL);
    rpcpb__rpc_frame__free_unpacked(f, NULL);
    wire_rx_t rx;
    wire_rx_init(&rx, 1 << 20);
    sink_t s = { { NULL }, 0 };
    assert_int_equal(feed(&rx, &out, &s), TKV_OK);
    assert_int_equal(s.n, 3);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(s.got[i]->region_id, i + 1);
    sink_free(&s);
    wire_rx_free(&rx);
    buf_free(&out);
    free(a);
    free(b);
    free(c);
}

static void test_wire_pieces_come_back_whole(void **state)
{
    (void)state;
    wire_msg_t *m = encode_region(9, 5000);
    wire_rx_t rx;
    wire_rx_init(&rx, 1 << 20);
    sink_t s = { { NULL }, 0 };
    tkv_buf_t out = TKV_BUF_INIT;
    size_t off = 0;
    while (off < m->len) {
        size_t len = m->len - off < 777 ? m->len - off : 777;
        buf_clear(&out);
        assert_int_equal(wire_chunk_frame(4, m, off, len, &out), TKV_OK);
        assert_int_equal(feed(&rx, &out, &s), TKV_OK);
        off += len;
        assert_int_equal(s.n, off == m->len ? 1 : 0);
    }
    assert_int_equal(s.got[0]->region_id, 9);
    assert_int_equal(s.got[0]->start_key.len, 5000);
    sink_free(&s);
    wire_rx_free(&rx);
    buf_free(&out);
    free(m);
}

static void test_wire_broken_streams_are_errors(void **state)
{
    (void)state;
    wire_msg_t *m = encode_region(9, 5000);
    sink_t s = { { NULL }, 0 };
    tkv_buf_t out = TKV_BUF_INIT;
    wire_rx_t rx;

    /* A message over the receiver's limit, refused at its first piece. */
    wire_rx_init(&rx, 1000);
    assert_int_equal(wire_chunk_frame(1, m, 0, 100, &out), TKV_OK);
    assert_int_equal(feed(&rx, &out, &s), TKV_ERR_INVALID);
    assert_non_null(strstr(tkv_last_error(), "limit 1000"));
    wire_rx_free(&rx);

    /* A piece of message 2 while message 1 is unfinished. */
    wire_rx_init(&rx, 1 << 20);
    buf_clear(&out);
    assert_int_equal(wire_chunk_frame(1, m, 0, 100, &out), TKV_OK);
    assert_int_equal(feed(&rx, &out, &s), TKV_OK);
    buf_clear(&out);
    assert_int_equal(wire_chunk_frame(2, m, 100, 100, &out), TKV_OK);
    assert_int_equal(feed(&rx, &out, &s), TKV_ERR_CORRUPT);
    wire_rx_free(&rx);

    /* The last piece before all the bytes came: pieces were skipped. */
    wire_rx_init(&rx, 1 << 20);
    buf_clear(&out);
    assert_int_equal(wire_chunk_frame(1, m, 0, 100, &out), TKV_OK);
    assert_int_equal(feed(&rx, &out, &s), TKV_OK);
    buf_clear(&out);
    assert_int_equal(wire_chunk_frame(1, m, m->len - 100, 100, &out), TKV_OK);
    assert_int_equal(feed(&rx, &out, &s), TKV_ERR_CORRUPT);
    assert_non_null(strstr(tkv_last_error(), "ended at"));
    wire_rx_free(&rx);

    /* A whole "message" that is not a RaftMessage. */
    wire_msg_t *junk = xmalloc(sizeof(*junk) + 8);
    junk->next = NULL;
    junk->len = 8;
    memset(junk->data, 0xff, 8);
    wire_rx_init(&rx, 1 << 20);
    buf_clear(&out);
    assert_int_equal(wire_chunk_frame(1, junk, 0, 8, &out), TKV_OK);
    assert_int_equal(feed(&rx, &out, &s), TKV_ERR_CORRUPT);
    buf_clear(&out);
    assert_int_equal(wire_batch_frame(junk, 1, &out), TKV_OK);
    assert_int_equal(feed(&rx, &out, &s), TKV_ERR_CORRUPT);
    wire_rx_free(&rx);

    /* A frame for some other method. */
    Rpcpb__RpcFrame f = RPCPB__RPC_FRAME__INIT;
    f.method = "RawPut";
    size_t n = 0;
    wire_rx_init(&rx, 1 << 20);
    assert_int_equal(wire_rx_frame(&rx, &f, sink_deliver, &s, &n), TKV_ERR_INVALID);
    assert_non_null(strstr(tkv_last_error(), "RawPut"));
    wire_rx_free(&rx);

    assert_int_equal(s.n, 0);
    assert_int_equal(wire_chunk_frame(1, m, m->len, 1, &out), TKV_ERR_INVALID);
    buf_free(&out);
    free(junk);
    free(m);
}

const tkv_test_t raft_wire_tests[] = {
    { "frame", "wire_batch_is_a_batch_raft_message", 0,
      "a batch frame decodes as a BatchRaftMessage and hands out its messages in order",
      test_wire_batch_is_a_batch_raft_message },
    { "frame", "wire_pieces_come_back_whole", 0,
      "a message sent in pieces is delivered once, whole, after its last piece",
      test_wire_pieces_come_back_whole },
    { "frame", "wire_broken_streams_are_errors", 0,
      "oversized, interleaved, short, undecodable or foreign frames are errors with a reason",
      test_wire_broken_streams_are_errors },
    { 0 },
};
