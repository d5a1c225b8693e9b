/*
 * Encoding and decoding of the toy store's messages (toy_wire.h).
 * Integers are little-endian; every message has all fields, so one
 * decoder serves all three types.
 */
#include <string.h>

#include "tests/sim/toy_wire.h"

static void put_u32(tkv_buf_t *out, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        buf_append_byte(out, (uint8_t)(v >> (8 * i)));
}

static void put_bytes(tkv_buf_t *out, tkv_slice_t s)
{
    size_t n = s.len > 0xffff ? 0xffff : s.len;
    buf_append_byte(out, (uint8_t)n);
    buf_append_byte(out, (uint8_t)(n >> 8));
    buf_append(out, s.data, n);
}

void toy_msg_encode(const toy_msg_t *m, tkv_buf_t *out)
{
    buf_append_byte(out, m->type);
    put_u32(out, m->client);
    put_u32(out, m->seq);
    buf_append_byte(out, m->kind_or_flag);
    put_bytes(out, m->key);
    put_bytes(out, m->value);
}

typedef struct {
    const uint8_t *p;
    size_t left;
} reader_t;

static int get_u8(reader_t *r, uint8_t *v)
{
    if (r->left < 1)
        return 0;
    *v = r->p[0];
    r->p++;
    r->left--;
    return 1;
}

static int get_u32(reader_t *r, uint32_t *v)
{
    if (r->left < 4)
        return 0;
    *v = 0;
    for (int i = 0; i < 4; i++)
        *v |= (uint32_t)r->p[i] << (8 * i);
    r->p += 4;
    r->left -= 4;
    return 1;
}

static int get_bytes(reader_t *r, tkv_slice_t *s)
{
    if (r->left < 2)
        return 0;
    size_t n = (size_t)r->p[0] | (size_t)r->p[1] << 8;
    if (r->left - 2 < n)
        return 0;
    *s = slice_of(r->p + 2, n);
    r->p += 2 + n;
    r->left -= 2 + n;
    return 1;
}

tkv_err_t toy_msg_decode(const uint8_t *bytes, size_t len, toy_msg_t *out)
{
    reader_t r = { bytes, len };
    memset(out, 0, sizeof(*out));
    if (!get_u8(&r, &out->type) || !get_u32(&r, &out->client) || !get_u32(&r, &out->seq) ||
        !get_u8(&r, &out->kind_or_flag) || !get_bytes(&r, &out->key) ||
        !get_bytes(&r, &out->value) || r.left != 0)
        return tkv_errorf(TKV_ERR_CORRUPT, "toy message of %zu bytes does not decode", len);
    if (out->type < 1 || out->type > 3)
        return tkv_errorf(TKV_ERR_CORRUPT, "toy message type %u is unknown", out->type);
    return TKV_OK;
}
