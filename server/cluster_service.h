/*
 * The TinyKv service of a cluster store (frame code): project 1's raw
 * methods and project 4's Kv* methods on the replicated store
 * (cluster_storage.h), with region errors in every response's region_error
 * field, and the RaftCmd method for admin commands (TransferLeader,
 * ChangePeer, Split).
 *
 * Each method is the layer's own handler wrapped: the wrapper installs a
 * cluster_call_t (routing key: the request's key, start_key, primary key or
 * first key), checks that the Context, when it names a peer, names one on
 * this store (StoreNotMatch otherwise), calls the handler, and then puts
 * the region error the storage met, if any, in the response. A scan whose
 * start key lies outside the region it read is answered KeyNotInRegion,
 * its pairs dropped.
 *
 * Ownership: cluster_service_init() fills a caller-owned struct that must
 * outlive the RPC server; it borrows the storage, latches and loop.
 */
#ifndef TKV_SERVER_CLUSTER_SERVICE_H
#define TKV_SERVER_CLUSTER_SERVICE_H

#include "common/rpc_server.h"
#include "project4-txn/txn_service.h"
#include "server/store_loop.h"

#define CLUSTER_SERVICE_MAX 24

typedef struct {
    const char *method;
    rpc_handler_fn fn;
    int txn; /* the handler's ctx: 0 the storage, 1 the txn_service_t */
    struct cluster_service *svc;
} cluster_wrap_t;

typedef struct cluster_service {
    uint64_t store_id;
    storage_t *storage; /* a cluster storage (borrowed) */
    store_loop_t *loop; /* borrowed */
    int timeout_ms;
    txn_service_t txn; /* the Kv* handlers' ctx */
    cluster_wrap_t wraps[CLUSTER_SERVICE_MAX];
    size_t n_wraps;
    rpc_method_t methods[CLUSTER_SERVICE_MAX + 2]; /* what the RPC server serves */
} cluster_service_t;

/* Fills svc->methods, the table to give the RPC server (which may be made
 * and listen before the store exists: the server learns its port first). */
void cluster_service_init(cluster_service_t *svc);
/* Gives the service its store; before the server runs. */
void cluster_service_bind(cluster_service_t *svc, uint64_t store_id, storage_t *storage,
                          latches_t *latches, store_loop_t *loop, int timeout_ms);

#endif
