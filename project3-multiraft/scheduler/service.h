/*
 * The Scheduler service: one handler per rpc of schedulerpb.proto's
 * `service Scheduler`, over one scheduler state (cluster, TSO, id allocator,
 * operators) kept in a data directory.
 *
 * Handlers have the shape the RPC server (common/rpc_server.h) dispatches to:
 *
 *     tkv_err_t handler(void *ctx, const ProtobufCMessage *req, ProtobufCMessage *resp)
 *
 * `ctx` is the sched_server_t, `req` the decoded request, `resp` a response
 * of the rpc's output type that the caller allocated and initialised. Every
 * field a handler sets is malloc'd, so the caller frees the response with
 * protobuf_c_message_free_unpacked(resp, NULL) (or frees the fields it set
 * like that and the top struct its own way). A refused request is still an
 * answer: the reason goes into resp.header.error and the handler returns
 * TKV_OK; only a request of the wrong type returns an error.
 *
 * Handlers are thread-safe: each runs under the server's mutex, so the RPC
 * layer may call them from any number of threads.
 *
 * Region heartbeats also drive scheduling: every accepted heartbeat of a
 * region without an operator runs the replica checker (replica_check.h) on
 * it, and at most once per
 * balance_interval_ms (on the server's clock) a heartbeat runs the
 * balance-region scheduler, and every accepted heartbeat gets its region's
 * pending operator step back in the response.
 */
#ifndef TKV_SCHED_SERVICE_H
#define TKV_SCHED_SERVICE_H

#include <protobuf-c/protobuf-c.h>

#include "common/clock.h"
#include "common/err.h"
#include "common/rpc_server.h"
#include "project3-multiraft/scheduler/cluster.h"
#include "project3-multiraft/scheduler/operator.h"

/* Every rpc of the Scheduler service, ending with { NULL, NULL }. */
extern const rpc_method_t sched_service_methods[];

typedef struct {
    sched_config_t cluster;
    uint64_t tso_window_ms;       /* 0: 3000 */
    uint64_t id_step;             /* 0: 1000 */
    uint64_t operator_timeout_ms; /* 0: 10 minutes */
    uint64_t balance_interval_ms; /* 0: on every region heartbeat */
    /* 1: no replica checker (tests of balance-region alone); 0: on. */
    int replica_checker_off;
} sched_server_config_t;

/* Defaults as above, with a 100 ms balance interval. */
sched_server_config_t sched_server_config_default(void);

typedef struct sched_server sched_server_t;

/* Opens (creating if needed) the scheduler state in `data_dir`. `clock` is
 * borrowed and must outlive the server. Close with sched_server_close(). */
tkv_err_t sched_server_open(const char *data_dir, const tkv_clock_t *clock,
                            const sched_server_config_t *cfg, sched_server_t **out);
void sched_server_close(sched_server_t *s);

/* Serve them with
 *     rpc_server_new(&schedulerpb__scheduler__descriptor, sched_service_methods, s, &srv);
 * or call one directly: sched_server_call() finds `method` in
 * sched_service_methods and runs it on `s`.
 * TKV_ERR_NOT_FOUND for an unknown method. */
tkv_err_t sched_server_call(sched_server_t *s, const char *method, const ProtobufCMessage *req,
                            ProtobufCMessage *resp);

/* For tests and tools: the state behind the server. Borrowed; only to be
 * used while no handler runs. */
sched_cluster_t *sched_server_cluster(sched_server_t *s);
sched_opctl_t *sched_server_operators(sched_server_t *s);

#endif
