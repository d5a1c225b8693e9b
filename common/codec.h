/*
 * Order-preserving encodings.
 *
 * leveldb compares keys byte by byte. To keep (key, timestamp) pairs in the
 * order MVCC wants, both parts are encoded so that byte order is the order we
 * mean:
 *   - codec_encode_bytes: "memcomparable" bytes. Any byte string, even one
 *     that is a prefix of another, encodes so that memcmp order of the
 *     encodings is the order of the originals and nothing can follow the
 *     encoding and change that order. The key is cut into groups of 8 bytes,
 *     the last one zero-padded; each group is followed by a marker byte
 *     0xFF - (number of pad bytes), so 0xFF means "more groups follow".
 *   - codec_put_u64 / codec_get_u64: big-endian, so larger sorts later.
 *   - codec_put_u64_desc: the bitwise complement, so larger sorts earlier
 *     (newest timestamp first).
 */
#ifndef TKV_COMMON_CODEC_H
#define TKV_COMMON_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

/* Appends the memcomparable encoding of data[0..len) to `out`. */
void codec_encode_bytes(tkv_buf_t *out, const uint8_t *data, size_t len);
/* Decodes one memcomparable string from the front of `in`: appends it to
 * `out` and sets *consumed to the encoded length. TKV_ERR_CORRUPT when `in`
 * is not a valid encoding. */
tkv_err_t codec_decode_bytes(tkv_slice_t in, tkv_buf_t *out, size_t *consumed);

void codec_put_u64(tkv_buf_t *out, uint64_t v);
void codec_put_u64_desc(tkv_buf_t *out, uint64_t v);
/* Reads 8 bytes at p (caller checks the length). */
uint64_t codec_get_u64(const uint8_t *p);
uint64_t codec_get_u64_desc(const uint8_t *p);

#endif
