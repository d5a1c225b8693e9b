/*
 * Building the parts of Kv* responses (frame code for kv_txn.h).
 *
 * Every function returns a freshly malloc'd protobuf message whose fields are
 * malloc'd too, so the response it is stored in can be freed with
 * protobuf_c_message_free_unpacked(). The caller stores the result in a
 * response field, which then owns it.
 */
#ifndef TKV_P4_TXN_RESP_H
#define TKV_P4_TXN_RESP_H

#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/rpc_frame.h"
#include "project4-txn/mvcc/mvcc_codec.h"
#include "proto/errorpb.pb-c.h"
#include "proto/kvrpcpb.pb-c.h"

/* A malloc'd copy as a protobuf bytes field. */
ProtobufCBinaryData txn_bytes(tkv_slice_t s);
/* A borrowed view of a protobuf bytes field. */
tkv_slice_t txn_slice(ProtobufCBinaryData b);

/* A region error for a storage failure: message "<code name>: <last error>". */
Errorpb__Error *txn_region_error(tkv_err_t err);

/* `key` is locked by `lock`. */
Kvrpcpb__KeyError *txn_error_locked(tkv_slice_t key, const mvcc_lock_t *lock);
/* `key` has a write committed at conflict_ts >= start_ts. */
Kvrpcpb__KeyError *txn_error_conflict(tkv_slice_t key, tkv_slice_t primary, uint64_t start_ts,
                                      uint64_t conflict_ts);
Kvrpcpb__KeyError *txn_error_retryable(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
Kvrpcpb__KeyError *txn_error_abort(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The most bytes of repeated elements one Kv* response carries (KvScan's
 * pairs, KvPrewrite's errors): what one request may carry, so that a
 * response always fits in an RPC frame, and any one element does (its key,
 * value and primary all came in a request). */
#define TXN_RESPONSE_MAX_BYTES RPC_REQUEST_MAX
/* What `m` adds to a response as one element of a repeated field: its
 * encoding, with a tag and a length. */
size_t txn_element_bytes(const ProtobufCMessage *m);

/* Appends `e` to a repeated KeyError field (*arr grows; *n counts). */
void txn_push_key_error(Kvrpcpb__KeyError ***arr, size_t *n, Kvrpcpb__KeyError *e);
/* Appends a KvPair (key, value or error; each may be absent) to a repeated field. */
void txn_push_pair(Kvrpcpb__KvPair ***arr, size_t *n, tkv_slice_t key, const tkv_slice_t *value,
                   Kvrpcpb__KeyError *error);

#endif
