/*
 * The length-prefixed framing of rpc_frame.h. The decoder keeps one buffer
 * and an offset into it; consumed bytes are dropped only when they are at
 * least half the buffer, so a stream of small frames costs one memmove now
 * and then rather than one per frame.
 */
#include <stdio.h>
#include <string.h>

#include "common/pb_check.h"
#include "common/rpc_frame.h"

void rpc_frame_put_len(uint8_t hdr[4], uint32_t len)
{
    hdr[0] = (uint8_t)(len >> 24);
    hdr[1] = (uint8_t)(len >> 16);
    hdr[2] = (uint8_t)(len >> 8);
    hdr[3] = (uint8_t)len;
}

uint32_t rpc_frame_get_len(const uint8_t hdr[4])
{
    return ((uint32_t)hdr[0] << 24) | ((uint32_t)hdr[1] << 16) | ((uint32_t)hdr[2] << 8) |
           (uint32_t)hdr[3];
}

void rpc_decoder_init(rpc_decoder_t *d)
{
    buf_init(&d->in);
    d->off = 0;
    d->fail = TKV_OK;
    d->flaw[0] = '\0';
}

void rpc_decoder_free(rpc_decoder_t *d)
{
    buf_free(&d->in);
    d->off = 0;
}

size_t rpc_decoder_pending(const rpc_decoder_t *d)
{
    return d->in.len - d->off;
}

void rpc_decoder_feed(rpc_decoder_t *d, const void *data, size_t len)
{
    if (len == 0 || d->fail != TKV_OK)
        return; /* a broken stream keeps nothing more */
    if (d->off > 0 && d->off >= d->in.len / 2) {
        size_t rest = d->in.len - d->off;
        memmove(d->in.data, d->in.data + d->off, rest);
        d->in.len = rest;
        d->off = 0;
    }
    buf_append(&d->in, data, len);
}

/* Records the first error so that later calls repeat it. */
static tkv_err_t decoder_fail(rpc_decoder_t *d, tkv_err_t code)
{
    d->fail = code;
    return code;
}

const char *rpc_decoder_flaw(const rpc_decoder_t *d)
{
    return d->flaw[0] != '\0' ? d->flaw : NULL;
}

tkv_err_t rpc_decoder_next(rpc_decoder_t *d, Rpcpb__RpcFrame **out)
{
    *out = NULL;
    d->flaw[0] = '\0';
    if (d->fail != TKV_OK)
        return tkv_errorf(d->fail, "the frame stream broke at an earlier error");
    size_t avail = d->in.len - d->off;
    if (avail < RPC_FRAME_HEADER)
        return TKV_OK;
    const uint8_t *p = d->in.data + d->off;
    uint32_t len = rpc_frame_get_len(p);
    if (len == 0)
        return decoder_fail(d, tkv_errorf(TKV_ERR_INVALID, "frame of length 0: a frame "
                                                           "always holds an RpcFrame"));
    if (len > RPC_FRAME_MAX)
        return decoder_fail(d, tkv_errorf(TKV_ERR_INVALID,
                                          "frame of %lu bytes is over the %u byte limit",
                                          (unsigned long)len, RPC_FRAME_MAX));
    if (avail - RPC_FRAME_HEADER < len)
        return TKV_OK;
    Rpcpb__RpcFrame *f = rpcpb__rpc_frame__unpack(NULL, len, p + RPC_FRAME_HEADER);
    if (f == NULL)
        return decoder_fail(d, tkv_errorf(TKV_ERR_CORRUPT,
                                          "frame of %lu bytes does not decode as an RpcFrame",
                                          (unsigned long)len));
    if (pb_check_strings(&rpcpb__rpc_frame__descriptor, p + RPC_FRAME_HEADER, len) != TKV_OK)
        snprintf(d->flaw, sizeof(d->flaw), "%s", tkv_last_error());
    d->off += RPC_FRAME_HEADER + len;
    if (d->off == d->in.len) {
        d->off = 0;
        d->in.len = 0;
    }
    *out = f;
    return TKV_OK;
}

tkv_err_t rpc_frame_encode(const Rpcpb__RpcFrame *f, tkv_buf_t *out)
{
    size_t len = rpcpb__rpc_frame__get_packed_size(f);
    if (len > RPC_FRAME_MAX)
        return tkv_errorf(TKV_ERR_INVALID,
                          "frame of %zu bytes for method '%s' is over the %u "
                          "byte limit",
                          len, f->method ? f->method : "", RPC_FRAME_MAX);
    /* An all-default RpcFrame packs to zero bytes, which the decoder refuses
     * (found by fuzz_rpc_frame: such a frame decoded, then did not survive a
     * round trip). Every frame we send names a method or an error. */
    if (len == 0)
        return tkv_errorf(TKV_ERR_INVALID, "an RpcFrame with every field at its default "
                                           "encodes to nothing, which is not a frame");
    uint8_t hdr[RPC_FRAME_HEADER];
    rpc_frame_put_len(hdr, (uint32_t)len);
    buf_reserve(out, RPC_FRAME_HEADER + len);
    buf_append(out, hdr, sizeof(hdr));
    rpcpb__rpc_frame__pack(f, out->data + out->len);
    out->len += len;
    return TKV_OK;
}
