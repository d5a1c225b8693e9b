/*
 * tinykv-server's cluster mode (frame code): one store of a replicated,
 * multi-region cluster, put together from the pieces in this folder.
 *
 *   clients --TinyKv RPC (rpc_server)--> cluster_service --> cluster_storage --+
 *                                                                              v
 *   other stores <--Raft over TCP (runtime/transport)--> store_loop (the store, one thread)
 *                                                                              |
 *   tinykv-scheduler <--sched_link (ids, heartbeats, operators, addresses)----+
 *
 * Start: listen (client and Raft ports), server_boot() (store id, first
 * region, PutStore), open the store, start the loop, the transport and the
 * link, serve until SIGINT/SIGTERM. Stop: the RPC server first (its
 * handlers end), then the ticker and the store loop (everything queued is
 * served), the transport, the link, and the store closes.
 */
#ifndef TKV_SERVER_CLUSTER_SERVER_H
#define TKV_SERVER_CLUSTER_SERVER_H

#include <stdint.h>

typedef struct {
    const char *prog;
    const char *data_dir;
    const char *scheduler; /* HOST:PORT */
    char host[256];
    int port; /* the client port (0: any) */
    char raft_host[256];
    int raft_port;              /* the Raft port (0: any) */
    int sync;                   /* fsync Raft writes before the messages that promise them */
    uint32_t tick_ms;           /* Raft's base tick */
    uint64_t region_split_size; /* a region past 1.5x this splits (0: the default, 96 MiB) */
    int request_timeout_ms;     /* a request waits this long for its region, then ServerIsBusy */
    int read_mode;              /* peer_read_mode_t: how Get/Snap are served (peer.h) */
} cluster_server_opts_t;

/* Runs the store until a stop signal. Returns the exit status: 0 after a
 * clean stop, 1 when it could not start (the reason on stderr). */
int cluster_server_main(const cluster_server_opts_t *o);

#endif
