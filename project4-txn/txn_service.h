/*
 * The transactional half of the TinyKv service (kvrpcpb Kv* methods) as an
 * rpc_server method table: adapters from the server's generic handler shape
 * to kv_txn.h's commands. Frame code.
 *
 * tinykv-server serves this table next to project 1's raw methods
 * (kv_service.h), each with its own ctx (rpc_methods_append): the raw
 * methods get the storage, these get a txn_service_t.
 *
 * Ownership: the caller owns the txn_service_t and everything in it, and
 * keeps them alive until the server is freed. The table is static.
 */
#ifndef TKV_P4_TXN_SERVICE_H
#define TKV_P4_TXN_SERVICE_H

#include "common/rpc_server.h"
#include "project1-standalone/storage.h"
#include "project4-txn/latches.h"

typedef struct {
    storage_t *storage; /* borrowed */
    latches_t *latches; /* borrowed; shared by every Kv* command of the server */
} txn_service_t;

/* KvGet, KvScan, KvPrewrite, KvCommit, KvCheckTxnStatus, KvBatchRollback,
 * KvResolveLock; each handler's ctx must be a txn_service_t. */
const rpc_method_t *txn_service_methods(void);

#endif
