/*
 * The standalone TinyKv method table of kv_service.h: one adapter per method,
 * casting the generic messages the server hands over to the request and
 * response types the raw API takes. The server has already checked that the
 * messages are of the method's input and output types, so the casts hold.
 */
#include "project1-standalone/kv_service.h"
#include "project1-standalone/raw_api.h"
#include "proto/tinykvpb.pb-c.h"

static tkv_err_t serve_raw_get(void *ctx, const ProtobufCMessage *req, ProtobufCMessage *resp)
{
    return raw_get(ctx, (const Kvrpcpb__RawGetRequest *)req, (Kvrpcpb__RawGetResponse *)resp);
}

static tkv_err_t serve_raw_put(void *ctx, const ProtobufCMessage *req, ProtobufCMessage *resp)
{
    return raw_put(ctx, (const Kvrpcpb__RawPutRequest *)req, (Kvrpcpb__RawPutResponse *)resp);
}

static tkv_err_t serve_raw_delete(void *ctx, const ProtobufCMessage *req, ProtobufCMessage *resp)
{
    return raw_delete(ctx, (const Kvrpcpb__RawDeleteRequest *)req,
                      (Kvrpcpb__RawDeleteResponse *)resp);
}

static tkv_err_t serve_raw_scan(void *ctx, const ProtobufCMessage *req, ProtobufCMessage *resp)
{
    return raw_scan(ctx, (const Kvrpcpb__RawScanRequest *)req, (Kvrpcpb__RawScanResponse *)resp);
}

static const rpc_method_t standalone_methods[] = {
    { "RawGet", serve_raw_get },
    { "RawPut", serve_raw_put },
    { "RawDelete", serve_raw_delete },
    { "RawScan", serve_raw_scan },
    /* The transactional API (KvGet, KvScan, KvPrewrite, KvCommit,
     * KvCheckTxnStatus, KvBatchRollback, KvResolveLock) is added here by
     * project 4, as adapters over its own handlers in the same shape. */
    { NULL, NULL },
};

const rpc_method_t *kv_service_standalone_methods(void)
{
    return standalone_methods;
}

tkv_err_t kv_service_server_new(storage_t *storage, rpc_server_t **out)
{
    return rpc_server_new(&tinykvpb__tiny_kv__descriptor, standalone_methods, storage, out);
}
