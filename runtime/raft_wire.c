/*
 * The wire format of raft_wire.h.
 */
#include <stdlib.h>
#include <string.h>

#include "common/rpc_frame.h"
#include "runtime/raft_wire.h"

/* Field 1, wire type 2 (length-delimited): the key of `msgs` in a batch. */
#define BATCH_FIELD_KEY 0x0a

wire_msg_t *wire_msg_encode(const RaftServerpb__RaftMessage *m)
{
    size_t len = raft_serverpb__raft_message__get_packed_size(m);
    wire_msg_t *w = xmalloc(sizeof(*w) + len);
    w->next = NULL;
    w->len = raft_serverpb__raft_message__pack(m, w->data);
    return w;
}

static size_t varint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_varint(tkv_buf_t *b, uint64_t v)
{
    while (v >= 0x80) {
        buf_append_byte(b, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    buf_append_byte(b, (uint8_t)v);
}

size_t wire_batch_cost(const wire_msg_t *m)
{
    return 1 + varint_len(m->len) + m->len;
}

static tkv_err_t frame_out(const char *method, const uint8_t *payload, size_t len, tkv_buf_t *out)
{
    Rpcpb__RpcFrame f = RPCPB__RPC_FRAME__INIT;
    f.method = (char *)method;
    f.payload.data = (uint8_t *)payload;
    f.payload.len = len;
    return rpc_frame_encode(&f, out);
}

tkv_err_t wire_batch_frame(const wire_msg_t *first, size_t n, tkv_buf_t *out)
{
    tkv_buf_t payload = TKV_BUF_INIT;
    const wire_msg_t *m = first;
    for (size_t i = 0; i < n && m != NULL; i++, m = m->next) {
        buf_append_byte(&payload, BATCH_FIELD_KEY);
        put_varint(&payload, m->len);
        buf_append(&payload, m->data, m->len);
    }
    tkv_err_t e = frame_out(WIRE_METHOD_BATCH, payload.data, payload.len, out);
    buf_free(&payload);
    return e;
}

tkv_err_t wire_chunk_frame(uint64_t id, const wire_msg_t *m, size_t off, size_t len, tkv_buf_t *out)
{
    if (off > m->len || len > m->len - off)
        return tkv_errorf(TKV_ERR_INVALID, "chunk [%zu, +%zu) of a %zu-byte message", off, len,
                          m->len);
    RaftServerpb__RaftMessageChunk c = RAFT_SERVERPB__RAFT_MESSAGE_CHUNK__INIT;
    c.id = id;
    c.total_len = m->len;
    c.data.data = (uint8_t *)m->data + off;
    c.data.len = len;
    c.last = off + len == m->len;
    size_t plen = raft_serverpb__raft_message_chunk__get_packed_size(&c);
    uint8_t *payload = xmalloc(plen);
    raft_serverpb__raft_message_chunk__pack(&c, payload);
    tkv_err_t e = frame_out(WIRE_METHOD_CHUNK, payload, plen, out);
    free(payload);
    return e;
}

void wire_rx_init(wire_rx_t *rx, size_t max_bytes)
{
    memset(rx, 0, sizeof(*rx));
    buf_init(&rx->whole);
    rx->max_bytes = max_bytes;
}

void wire_rx_free(wire_rx_t *rx)
{
    buf_free(&rx->whole);
    rx->active = 0;
}

static tkv_err_t rx_batch(const Rpcpb__RpcFrame *f, wire_deliver_fn deliver, void *arg,
                          size_t *delivered)
{
    RaftServerpb__BatchRaftMessage *b =
        raft_serverpb__batch_raft_message__unpack(NULL, f->payload.len, f->payload.data);
    if (b == NULL)
        return tkv_errorf(TKV_ERR_CORRUPT, "a Raft frame of %zu bytes is not a BatchRaftMessage",
                          f->payload.len);
    /* Each message of the batch was allocated on its own: hand them out one
     * by one and free the empty batch. */
    for (size_t i = 0; i < b->n_msgs; i++) {
        RaftServerpb__RaftMessage *m = b->msgs[i];
        b->msgs[i] = NULL;
        deliver(arg, m);
        (*delivered)++;
    }
    b->n_msgs = 0;
    raft_serverpb__batch_raft_message__free_unpacked(b, NULL);
    return TKV_OK;
}

static tkv_err_t rx_chunk(wire_rx_t *rx, const Rpcpb__RpcFrame *f, wire_deliver_fn deliver,
                          void *arg, size_t *delivered)
{
    RaftServerpb__RaftMessageChunk *c =
        raft_serverpb__raft_message_chunk__unpack(NULL, f->payload.len, f->payload.data);
    if (c == NULL)
        return tkv_errorf(TKV_ERR_CORRUPT, "a RaftChunk frame of %zu bytes is not a chunk",
                          f->payload.len);
    tkv_err_t e = TKV_OK;
    if (!rx->active) {
        if (c->total_len == 0 || c->total_len > rx->max_bytes) {
            e = tkv_errorf(TKV_ERR_INVALID, "a chunked message of %llu bytes (limit %zu)",
                           (unsigned long long)c->total_len, rx->max_bytes);
            goto out;
        }
        rx->active = 1;
        rx->id = c->id;
        rx->total = c->total_len;
        buf_clear(&rx->whole);
    } else if (c->id != rx->id || c->total_len != rx->total) {
        e = tkv_errorf(TKV_ERR_CORRUPT, "a piece of message %llu while message %llu is unfinished",
                       (unsigned long long)c->id, (unsigned long long)rx->id);
        goto out;
    }
    if (c->data.len > rx->total - rx->whole.len) {
        e = tkv_errorf(TKV_ERR_CORRUPT, "message %llu: pieces add up to more than its %llu bytes",
                       (unsigned long long)rx->id, (unsigned long long)rx->total);
        goto out;
    }
    buf_append(&rx->whole, c->data.data, c->data.len);
    if (c->last) {
        if (rx->whole.len != rx->total) {
            e = tkv_errorf(TKV_ERR_CORRUPT, "message %llu ended at %zu of its %llu bytes",
                           (unsigned long long)rx->id, rx->whole.len,
                           (unsigned long long)rx->total);
            goto out;
        }
        RaftServerpb__RaftMessage *m =
            raft_serverpb__raft_message__unpack(NULL, rx->whole.len, rx->whole.data);
        rx->active = 0;
        buf_free(&rx->whole);
        if (m == NULL) {
            e = tkv_errorf(TKV_ERR_CORRUPT, "a chunked message of %llu bytes is not a RaftMessage",
                           (unsigned long long)rx->total);
            goto out;
        }
        deliver(arg, m);
        (*delivered)++;
    }
out:
    raft_serverpb__raft_message_chunk__free_unpacked(c, NULL);
    return e;
}

tkv_err_t wire_rx_frame(wire_rx_t *rx, const Rpcpb__RpcFrame *f, wire_deliver_fn deliver, void *arg,
                        size_t *delivered)
{
    *delivered = 0;
    /* Batches may come between the pieces of a large message: the sender
     * lets heartbeats through while a snapshot streams. */
    if (f->method != NULL && strcmp(f->method, WIRE_METHOD_BATCH) == 0)
        return rx_batch(f, deliver, arg, delivered);
    if (f->method != NULL && strcmp(f->method, WIRE_METHOD_CHUNK) == 0)
        return rx_chunk(rx, f, deliver, arg, delivered);
    return tkv_errorf(TKV_ERR_INVALID, "a frame for method '%s' on a Raft connection",
                      f->method != NULL ? f->method : "");
}
