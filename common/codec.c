/*
 * Memcomparable byte strings and big-endian integers (codec.h).
 */
#include <string.h>

#include "common/codec.h"

enum { GROUP = 8, MARKER = 0xFF };

void codec_encode_bytes(tkv_buf_t *out, const uint8_t *data, size_t len)
{
    size_t groups = len / GROUP + 1;
    buf_reserve(out, groups * (GROUP + 1));
    for (size_t off = 0;; off += GROUP) {
        size_t left = len - off;
        size_t take = left < GROUP ? left : GROUP;
        uint8_t group[GROUP] = { 0 };
        if (take)
            memcpy(group, data + off, take);
        buf_append(out, group, GROUP);
        buf_append_byte(out, (uint8_t)(MARKER - (GROUP - take)));
        if (take < GROUP)
            break;
    }
}

tkv_err_t codec_decode_bytes(tkv_slice_t in, tkv_buf_t *out, size_t *consumed)
{
    size_t off = 0;
    for (;;) {
        if (in.len - off < GROUP + 1)
            return tkv_errorf(TKV_ERR_CORRUPT, "memcomparable bytes truncated at offset %zu", off);
        const uint8_t *group = in.data + off;
        uint8_t marker = group[GROUP];
        size_t pad = (size_t)(MARKER - marker);
        if (pad > GROUP)
            return tkv_errorf(TKV_ERR_CORRUPT, "bad memcomparable marker 0x%02x", marker);
        buf_append(out, group, GROUP - pad);
        for (size_t i = GROUP - pad; i < GROUP; i++) {
            if (group[i] != 0)
                return tkv_errorf(TKV_ERR_CORRUPT, "non-zero padding in memcomparable bytes");
        }
        off += GROUP + 1;
        if (pad > 0) {
            *consumed = off;
            return TKV_OK;
        }
    }
}

void codec_put_u64(tkv_buf_t *out, uint64_t v)
{
    uint8_t b[8];
    for (int i = 7; i >= 0; i--) {
        b[i] = (uint8_t)v;
        v >>= 8;
    }
    buf_append(out, b, 8);
}

void codec_put_u64_desc(tkv_buf_t *out, uint64_t v)
{
    codec_put_u64(out, ~v);
}

uint64_t codec_get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

uint64_t codec_get_u64_desc(const uint8_t *p)
{
    return ~codec_get_u64(p);
}
