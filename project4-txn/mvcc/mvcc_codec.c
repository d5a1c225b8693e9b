/*
 * Encodings of MVCC keys, locks and writes (mvcc_codec.h). Frame code: the
 * formats are fixed so that tests can build and inspect the column families
 * without going through the student's transaction code.
 */
#include <string.h>

#include "common/codec.h"
#include "project4-txn/mvcc/mvcc_codec.h"

#define LOCK_HEADER_LEN 21
#define WRITE_LEN       9

uint64_t mvcc_physical_ms(uint64_t ts)
{
    return ts >> 18;
}

uint64_t mvcc_compose_ts(uint64_t physical_ms, uint64_t logical)
{
    return (physical_ms << 18) | (logical & ((1u << 18) - 1));
}

void mvcc_encode_key(tkv_buf_t *out, tkv_slice_t user_key, uint64_t ts)
{
    codec_encode_bytes(out, user_key.data, user_key.len);
    codec_put_u64_desc(out, ts);
}

tkv_err_t mvcc_decode_key(tkv_slice_t enc, tkv_buf_t *user_key, uint64_t *ts)
{
    tkv_buf_t tmp = TKV_BUF_INIT;
    size_t used = 0;
    tkv_err_t err = codec_decode_bytes(enc, user_key != NULL ? user_key : &tmp, &used);
    buf_free(&tmp);
    if (err != TKV_OK)
        return err;
    if (enc.len - used != 8)
        return tkv_errorf(TKV_ERR_CORRUPT, "mvcc key of %zu bytes has %zu bytes after the user key",
                          enc.len, enc.len - used);
    if (ts != NULL)
        *ts = codec_get_u64_desc(enc.data + used);
    return TKV_OK;
}

void mvcc_lock_init(mvcc_lock_t *l)
{
    memset(l, 0, sizeof(*l));
    buf_init(&l->primary);
}

void mvcc_lock_free(mvcc_lock_t *l)
{
    buf_free(&l->primary);
}

static void put_u32(tkv_buf_t *out, uint32_t v)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    buf_append(out, b, 4);
}

static uint32_t get_u32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

void mvcc_lock_encode(const mvcc_lock_t *l, tkv_buf_t *out)
{
    buf_append_byte(out, (uint8_t)l->kind);
    codec_put_u64(out, l->start_ts);
    codec_put_u64(out, l->ttl);
    put_u32(out, (uint32_t)l->primary.len);
    buf_append(out, l->primary.data, l->primary.len);
}

tkv_err_t mvcc_lock_decode(tkv_slice_t in, mvcc_lock_t *l)
{
    if (in.len < LOCK_HEADER_LEN)
        return tkv_errorf(TKV_ERR_CORRUPT, "lock of %zu bytes is shorter than its %d-byte header",
                          in.len, LOCK_HEADER_LEN);
    uint8_t kind = in.data[0];
    if (kind != MVCC_KIND_PUT && kind != MVCC_KIND_DELETE)
        return tkv_errorf(TKV_ERR_CORRUPT, "lock has kind %u, not put or delete", kind);
    uint32_t plen = get_u32(in.data + 17);
    if ((size_t)plen != in.len - LOCK_HEADER_LEN)
        return tkv_errorf(TKV_ERR_CORRUPT, "lock says its primary has %u bytes but %zu follow",
                          plen, in.len - LOCK_HEADER_LEN);
    l->kind = (mvcc_kind_t)kind;
    l->start_ts = codec_get_u64(in.data + 1);
    l->ttl = codec_get_u64(in.data + 9);
    buf_set(&l->primary, in.data + LOCK_HEADER_LEN, plen);
    return TKV_OK;
}

void mvcc_write_encode(const mvcc_write_t *w, tkv_buf_t *out)
{
    buf_append_byte(out, (uint8_t)w->kind);
    codec_put_u64(out, w->start_ts);
}

tkv_err_t mvcc_write_decode(tkv_slice_t in, mvcc_write_t *w)
{
    if (in.len != WRITE_LEN)
        return tkv_errorf(TKV_ERR_CORRUPT, "write record of %zu bytes, want %d", in.len, WRITE_LEN);
    uint8_t kind = in.data[0];
    if (kind != MVCC_KIND_PUT && kind != MVCC_KIND_DELETE && kind != MVCC_KIND_ROLLBACK)
        return tkv_errorf(TKV_ERR_CORRUPT, "write record has unknown kind %u", kind);
    w->kind = (mvcc_kind_t)kind;
    w->start_ts = codec_get_u64(in.data + 1);
    return TKV_OK;
}

const char *mvcc_kind_name(mvcc_kind_t k)
{
    switch (k) {
    case MVCC_KIND_PUT:
        return "put";
    case MVCC_KIND_DELETE:
        return "delete";
    case MVCC_KIND_ROLLBACK:
        return "rollback";
    }
    return "?";
}
