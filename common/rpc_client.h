/*
 * A blocking RPC client: one TCP connection to an rpc_server (rpc_server.h),
 * one call at a time, each waiting at most a timeout.
 *
 * It is plain POSIX sockets and poll(), no event loop, because its users
 * (tinykv-ctl, tests, later the scheduler client) want to call and wait:
 *
 *     rpc_client_t *c;
 *     if (rpc_client_connect("127.0.0.1:20160", 2000, &c) != TKV_OK)
 *         ... tkv_last_error(): "cannot connect to 127.0.0.1:20160: connection refused"
 *     Kvrpcpb__RawGetResponse *resp;
 *     rpc_client_call(c, &tinykvpb__tiny_kv__descriptor, "RawGet", &req.base,
 *                     (ProtobufCMessage **)&resp);
 *     protobuf_c_message_free_unpacked(&resp->base, NULL);
 *     rpc_client_close(c);
 *
 * Errors:
 *   TKV_ERR_NET      cannot connect (refused, unreachable, unknown host), or
 *                    the connection broke
 *   TKV_ERR_TIMEOUT  no connection or no reply within the timeout
 *   TKV_ERR_INVALID  bad address; or the server answered UNKNOWN_METHOD or
 *                    BAD_REQUEST (the message is the server's)
 *   TKV_ERR_IO       the server answered INTERNAL: the handler failed
 *   TKV_ERR_CORRUPT  the reply does not decode, or the server could not decode
 *                    our stream (STATUS_BAD_FRAME; the connection is given up)
 *   TKV_ERR_CLOSED   the connection was given up after an earlier error
 * After a network error, a timeout or a bad reply the stream may be out of
 * step, so the client gives the connection up: later calls fail with
 * TKV_ERR_CLOSED, and the caller reconnects. Error statuses from the server
 * leave the connection usable.
 *
 * Ownership: the caller owns the client and closes it with rpc_client_close().
 * Requests are borrowed for the call; responses belong to the caller. A client
 * is not thread-safe: one thread at a time (use one client per thread).
 */
#ifndef TKV_COMMON_RPC_CLIENT_H
#define TKV_COMMON_RPC_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/err.h"
#include "proto/rpcpb.pb-c.h"

typedef struct rpc_client rpc_client_t;

/* Connects to `addr`, "host:port" ("[::1]:port" for IPv6). `timeout_ms` bounds
 * the connect and then each call; 0 or less waits forever. */
tkv_err_t rpc_client_connect(const char *addr, int timeout_ms, rpc_client_t **out);

/* Calls `method` of `service` with `req` and waits for the reply. On TKV_OK,
 * *resp is a message of the method's output type: the caller frees it with
 * protobuf_c_message_free_unpacked(*resp, NULL). On error *resp is NULL. */
tkv_err_t rpc_client_call(rpc_client_t *c, const ProtobufCServiceDescriptor *service,
                          const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp);

/* The frame-level call under rpc_client_call(): sends payload[0..len) as is
 * (tests use it to send payloads that do not decode) and returns the reply
 * frame whatever its status. The caller frees *reply with
 * rpcpb__rpc_frame__free_unpacked(*reply, NULL). */
tkv_err_t rpc_client_call_raw(rpc_client_t *c, const char *method, const uint8_t *payload,
                              size_t len, Rpcpb__RpcFrame **reply);

/* The status of the last reply received (STATUS_OK before any). */
Rpcpb__Status rpc_client_last_status(const rpc_client_t *c);

/* Closes the connection and frees the client. NULL is fine. */
void rpc_client_close(rpc_client_t *c);

#endif
