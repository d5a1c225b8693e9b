/*
 * The TinyKv service (common/proto/tinykvpb.proto) as an rpc_server method
 * table, for standalone mode: the raw API (raw_api.h) on one storage_t.
 *
 * This is frame code: it only adapts the generic handler shape of
 * rpc_server.h to the typed raw_* functions. Methods not in the table (the
 * transactional Kv* methods until project 4, Raft until project 2) answer
 * STATUS_UNKNOWN_METHOD.
 *
 * Thread safety: the server runs handlers on several threads at once; the raw
 * API is safe for that because every storage is (leveldb is, and each call
 * takes its own reader).
 *
 * Ownership: the table is static; the storage passed as ctx is borrowed by the
 * server for its whole life, so stop and free the server before the storage.
 */
#ifndef TKV_P1_KV_SERVICE_H
#define TKV_P1_KV_SERVICE_H

#include "common/rpc_server.h"
#include "project1-standalone/storage.h"

/* The method table for standalone mode; pass the storage_t as ctx. */
const rpc_method_t *kv_service_standalone_methods(void);

/* Shorthand: rpc_server_new() for the TinyKv service on `storage`. */
tkv_err_t kv_service_server_new(storage_t *storage, rpc_server_t **out);

#endif
