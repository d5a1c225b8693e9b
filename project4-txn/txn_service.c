/*
 * Kv* adapters for the RPC server (txn_service.h). Each one unwraps the
 * txn_service_t and casts the generic messages to the command's types.
 */
#include "project4-txn/txn_service.h"
#include "project4-txn/kv_txn.h"

static tkv_err_t serve_get(void *ctx, const ProtobufCMessage *req, ProtobufCMessage *resp)
{
    txn_service_t *svc = ctx;
    return kv_get(svc->storage, svc->latches, (const Kvrpcpb__GetRequest *)req,
                  (Kvrpcpb__GetResponse *)resp);
}

static tkv_err_t serve_scan(void *ctx, const ProtobufCMessage *req, ProtobufCMessage *resp)
{
    txn_service_t *svc = ctx;
    return kv_scan(svc->storage, svc->latches, (const Kvrpcpb__ScanRequest *)req,
                   (Kvrpcpb__ScanResponse *)resp);
}

static tkv_err_t serve_prewrite(void *ctx, const ProtobufCMessage *req, ProtobufCMessage *resp)
{
    txn_service_t *svc = ctx;
    return kv_prewrite(svc->storage, svc->latches, (const Kvrpcpb__PrewriteRequest *)req,
                       (Kvrpcpb__PrewriteResponse *)resp);
}

static tkv_err_t serve_commit(void *ctx, const ProtobufCMessage *req, ProtobufCMessage *resp)
{
    txn_service_t *svc = ctx;
    return kv_commit(svc->storage, svc->latches, (const Kvrpcpb__CommitRequest *)req,
                     (Kvrpcpb__CommitResponse *)resp);
}

static tkv_err_t serve_check_txn_status(void *ctx, const ProtobufCMessage *req,
                                        ProtobufCMessage *resp)
{
    txn_service_t *svc = ctx;
    return kv_check_txn_status(svc->storage, svc->latches,
                               (const Kvrpcpb__CheckTxnStatusRequest *)req,
                               (Kvrpcpb__CheckTxnStatusResponse *)resp);
}

static tkv_err_t serve_batch_rollback(void *ctx, const ProtobufCMessage *req,
                                      ProtobufCMessage *resp)
{
    txn_service_t *svc = ctx;
    return kv_batch_rollback(svc->storage, svc->latches, (const Kvrpcpb__BatchRollbackRequest *)req,
                             (Kvrpcpb__BatchRollbackResponse *)resp);
}

static tkv_err_t serve_resolve_lock(void *ctx, const ProtobufCMessage *req, ProtobufCMessage *resp)
{
    txn_service_t *svc = ctx;
    return kv_resolve_lock(svc->storage, svc->latches, (const Kvrpcpb__ResolveLockRequest *)req,
                           (Kvrpcpb__ResolveLockResponse *)resp);
}

static const rpc_method_t txn_methods[] = {
    { "KvGet", serve_get, NULL },
    { "KvScan", serve_scan, NULL },
    { "KvPrewrite", serve_prewrite, NULL },
    { "KvCommit", serve_commit, NULL },
    { "KvCheckTxnStatus", serve_check_txn_status, NULL },
    { "KvBatchRollback", serve_batch_rollback, NULL },
    { "KvResolveLock", serve_resolve_lock, NULL },
    { NULL, NULL, NULL },
};

const rpc_method_t *txn_service_methods(void)
{
    return txn_methods;
}
