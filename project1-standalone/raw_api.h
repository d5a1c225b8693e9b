/*
 * The raw API: RawGet, RawPut, RawDelete and RawScan on any Storage.
 *
 * "Raw" means untransactional: each call reads or writes the storage
 * directly, one key (or one scan) at a time, in the column family the
 * request names ("default" when it names none).
 *
 * Every handler has the same shape, which is also the shape of every RPC
 * handler in the server:
 *   - `req` is borrowed;
 *   - `resp` was allocated and initialised by the caller (e.g. with
 *     kvrpcpb__raw_get_response__init on malloc'd memory); the handler fills
 *     it with malloc'd fields only, so the caller frees the whole thing with
 *     protobuf_c_message_free_unpacked(&resp->base, NULL);
 *   - a missing key is not an error: RawGet sets resp->not_found;
 *   - a storage failure is not the handler's failure either: its message goes
 *     into resp->error and the handler still returns TKV_OK. The return value
 *     is for a handler that could not produce a response at all.
 */
#ifndef TKV_P1_RAW_API_H
#define TKV_P1_RAW_API_H

#include "common/rpc_frame.h"
#include "project1-standalone/storage.h"
#include "proto/kvrpcpb.pb-c.h"

tkv_err_t raw_get(storage_t *s, const Kvrpcpb__RawGetRequest *req, Kvrpcpb__RawGetResponse *resp);
tkv_err_t raw_put(storage_t *s, const Kvrpcpb__RawPutRequest *req, Kvrpcpb__RawPutResponse *resp);
tkv_err_t raw_delete(storage_t *s, const Kvrpcpb__RawDeleteRequest *req,
                     Kvrpcpb__RawDeleteResponse *resp);
/* The most bytes of pairs (as encoded in the response) one RawScan returns:
 * what one request may carry, so a response always fits in a frame. */
#define RAW_SCAN_MAX_BYTES RPC_REQUEST_MAX

/* At most req->limit pairs, from the first key >= req->start_key, in key
 * order; fewer if the next pair would take the response past
 * RAW_SCAN_MAX_BYTES, and then resp->more is set (the first pair is always
 * returned: it fits, since a request could store it). */
tkv_err_t raw_scan(storage_t *s, const Kvrpcpb__RawScanRequest *req,
                   Kvrpcpb__RawScanResponse *resp);

/* The column family a request names: `cf` itself, or "default" when empty. */
const char *raw_cf(const char *cf);

/* Sets a response's `error` string field (freeing any previous one) to the
 * calling thread's last error message; used by every handler. */
void raw_set_error(char **field, tkv_err_t code);

#endif
