/*
 * pb_check.h: walks the protobuf wire format (tag, then a value whose size
 * the wire type gives) and looks inside every length-delimited field that
 * the descriptor calls a string (for a NUL byte) or a message (recursively).
 * Everything else is skipped unread.
 */
#include <string.h>

#include "common/pb_check.h"

/* Nested messages deeper than this are left to protobuf-c (which has its own
 * limit); no message of ours nests anywhere near it. */
#define MAX_DEPTH 32

/* Reads a varint at *p (below end); 0 when it is cut short or too long. */
static int read_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64 && *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0) {
            *out = v;
            return 1;
        }
    }
    return 0;
}

static tkv_err_t check(const ProtobufCMessageDescriptor *desc, const uint8_t *p, size_t len,
                       int depth)
{
    const uint8_t *end = p + len;
    while (p < end) {
        uint64_t tag = 0, n = 0;
        if (!read_varint(&p, end, &tag))
            return TKV_OK;
        switch (tag & 7) {
        case 0: /* varint */
            if (!read_varint(&p, end, &n))
                return TKV_OK;
            continue;
        case 1: /* 64-bit */
            if ((size_t)(end - p) < 8)
                return TKV_OK;
            p += 8;
            continue;
        case 5: /* 32-bit */
            if ((size_t)(end - p) < 4)
                return TKV_OK;
            p += 4;
            continue;
        case 2: /* length-delimited: below */
            break;
        default: /* groups, or not protobuf at all */
            return TKV_OK;
        }
        if (!read_varint(&p, end, &n) || n > (uint64_t)(end - p))
            return TKV_OK;
        const ProtobufCFieldDescriptor *f =
            tag >> 3 <= UINT32_MAX
                ? protobuf_c_message_descriptor_get_field(desc, (unsigned)(tag >> 3))
                : NULL;
        if (f != NULL && f->type == PROTOBUF_C_TYPE_STRING && memchr(p, 0, (size_t)n) != NULL)
            return tkv_errorf(TKV_ERR_INVALID,
                              "field %s of %s holds a NUL byte at offset %zu of its %zu", f->name,
                              desc->name, (size_t)((const uint8_t *)memchr(p, 0, (size_t)n) - p),
                              (size_t)n);
        if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE && depth < MAX_DEPTH) {
            tkv_err_t err = check(f->descriptor, p, (size_t)n, depth + 1);
            if (err != TKV_OK)
                return err;
        }
        p += n;
    }
    return TKV_OK;
}

tkv_err_t pb_check_strings(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len)
{
    if (data == NULL)
        return TKV_OK;
    return check(desc, data, len, 0);
}
