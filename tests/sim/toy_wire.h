/*
 * The toy store's messages (see toy.h), encoded by hand into bytes: the
 * simulator carries bytes only, as it will carry protobuf for the real store.
 *
 *   request    [1][client u32][seq u32][kind u8][key: u16 len + bytes][value: same]
 *   reply      [2][client u32][seq u32][found u8][value]
 *   replicate  [3][delete u8][key][value]
 *
 * Decoding never trusts a length: short or overlong input is TKV_ERR_CORRUPT.
 * Decoded keys and values are slices into the input, borrowed from it.
 */
#ifndef TKV_TESTS_SIM_TOY_WIRE_H
#define TKV_TESTS_SIM_TOY_WIRE_H

#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

typedef struct {
    uint8_t type;
    uint32_t client, seq;
    uint8_t kind_or_flag; /* request: hist_kind_t; reply: found; replicate: delete */
    tkv_slice_t key;      /* empty in replies */
    tkv_slice_t value;
} toy_msg_t;

/* Appends the encoding of `m` to `out` (caller-owned). */
void toy_msg_encode(const toy_msg_t *m, tkv_buf_t *out);
tkv_err_t toy_msg_decode(const uint8_t *bytes, size_t len, toy_msg_t *out);

#endif
