/*
 * The on-disk shapes of Percolator's three column families (frame code).
 *
 *   CF_DEFAULT  key = enc(user_key) ++ desc(start_ts)    value = the user's value
 *   CF_LOCK     key = user_key (raw, one lock per key)    value = a lock (below)
 *   CF_WRITE    key = enc(user_key) ++ desc(commit_ts)   value = a write (below)
 *
 * enc() is the memcomparable encoding of common/codec.h and desc() the
 * big-endian complement of the timestamp, so for one user key leveldb keeps
 * versions newest first: seeking to mvcc_encode_key(k, ts) lands on the
 * newest version of k at or before ts (or on a later user key).
 *
 * Lock value, 21 + n bytes, integers big-endian:
 *   [kind:1][start_ts:8][ttl:8][primary_len:4][primary:n]
 * Write value, exactly 9 bytes:
 *   [kind:1][start_ts:8]
 * Kinds are mvcc_kind_t. A lock's kind is what the commit will write (put or
 * delete); a write's kind is put, delete or rollback. Decoders reject any other
 * length or kind with TKV_ERR_CORRUPT, so a damaged record never reads as a
 * plausible one.
 */
#ifndef TKV_P4_MVCC_CODEC_H
#define TKV_P4_MVCC_CODEC_H

#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

#define MVCC_TS_MAX UINT64_MAX

/* A timestamp's physical part in milliseconds: the low 18 bits are a logical
 * counter, as in TiKV's timestamp oracle. Lock TTLs are in these milliseconds. */
uint64_t mvcc_physical_ms(uint64_t ts);
/* A timestamp made of a physical part (ms) and a logical counter. */
uint64_t mvcc_compose_ts(uint64_t physical_ms, uint64_t logical);

typedef enum {
    MVCC_KIND_PUT = 1,
    MVCC_KIND_DELETE = 2,
    MVCC_KIND_ROLLBACK = 3,
} mvcc_kind_t;

/* A lock. `primary` is owned by the lock: release with mvcc_lock_free(). */
typedef struct {
    mvcc_kind_t kind; /* put or delete */
    uint64_t start_ts;
    uint64_t ttl; /* ms of physical time after start_ts before others may roll it back */
    tkv_buf_t primary;
} mvcc_lock_t;

typedef struct {
    mvcc_kind_t kind; /* put, delete or rollback */
    uint64_t start_ts;
} mvcc_write_t;

/* Appends enc(key) ++ desc(ts) to out. */
void mvcc_encode_key(tkv_buf_t *out, tkv_slice_t user_key, uint64_t ts);
/* Splits an encoded key: the user key is appended to `user_key` (may be NULL
 * to skip), the timestamp stored in *ts (may be NULL). TKV_ERR_CORRUPT when
 * `enc` is not enc(k) followed by exactly 8 bytes. */
tkv_err_t mvcc_decode_key(tkv_slice_t enc, tkv_buf_t *user_key, uint64_t *ts);

void mvcc_lock_init(mvcc_lock_t *l);
void mvcc_lock_free(mvcc_lock_t *l);
/* Appends the lock's bytes to out. */
void mvcc_lock_encode(const mvcc_lock_t *l, tkv_buf_t *out);
/* Fills an initialized lock (its old primary is replaced). */
tkv_err_t mvcc_lock_decode(tkv_slice_t in, mvcc_lock_t *l);

void mvcc_write_encode(const mvcc_write_t *w, tkv_buf_t *out);
tkv_err_t mvcc_write_decode(tkv_slice_t in, mvcc_write_t *w);

/* "put", "delete", "rollback" or "?". Static storage. */
const char *mvcc_kind_name(mvcc_kind_t k);

#endif
