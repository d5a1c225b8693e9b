/*
 * tinykv-server: a TinyKv store on TCP, in one of two modes.
 *
 *   standalone (no --scheduler): the raw API (project1-standalone/kv_service.h)
 *   and the transactional API (project4-txn/txn_service.h) on one local
 *   leveldb database.
 *
 *   cluster (--scheduler HOST:PORT): one store of a replicated, multi-region
 *   cluster (project 3B's store, driven by server/cluster_server.h): the same
 *   two APIs on Raft groups, with region errors in the responses.
 *
 * This file stays a thin main: flags in, the mode's runner called.
 *
 * Writes are synced to disk before they are answered (an acknowledged write
 * survives a power cut); --no-sync trades that for speed.
 *
 * Exit status: 0 after a clean shutdown (SIGINT or SIGTERM), 1 when the data
 * directory, the address or the cluster cannot be used, 2 for bad flags.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/log.h"
#include "common/rpc_server.h"
#include "project1-standalone/kv_service.h"
#include "project1-standalone/standalone_storage.h"
#include "project2-raft/raftstore/peer.h"
#include "project4-txn/txn_service.h"
#include "proto/tinykvpb.pb-c.h"
#include "server/cluster_server.h"

#define DEFAULT_ADDR "127.0.0.1:20160"

static const char usage[] =
    "usage: tinykv-server --data-dir DIR [--addr HOST:PORT] [--log-level LEVEL] [--no-sync]\n"
    "       tinykv-server --scheduler HOST:PORT --data-dir DIR [--addr HOST:PORT]\n"
    "                     [--raft-addr HOST:PORT] [--region-split-size BYTES]\n"
    "                     [--tick-ms MS] [--request-timeout-ms MS] [--log-level LEVEL] "
    "[--no-sync]\n"
    "                     [--read-mode log|readindex|lease]\n"
    "\n"
    "Serves the TinyKv raw API (RawGet, RawPut, RawDelete, RawScan) and the\n"
    "transactional API (KvGet, KvScan, KvPrewrite, KvCommit, KvCheckTxnStatus,\n"
    "KvBatchRollback, KvResolveLock).\n"
    "\n"
    "Without --scheduler: standalone mode, the data in one leveldb database\n"
    "under DIR.\n"
    "\n"
    "With --scheduler: one store of a replicated cluster. The first start asks\n"
    "the scheduler for a store id and keeps it in DIR/store.ident (a restart\n"
    "reuses it; a DIR of another cluster is refused); the first store of a new\n"
    "cluster creates its first region. Data lives in regions replicated by Raft\n"
    "between stores; requests go to a region's leader (RaftCmd serves the admin\n"
    "commands TransferLeader, ChangePeer and Split), and a request sent to the\n"
    "wrong store is answered with a region error (NotLeader with the leader,\n"
    "EpochNotMatch, KeyNotInRegion, RegionNotFound, StoreNotMatch, ServerIsBusy).\n"
    "\n"
    "  --data-dir DIR     where the data lives (created if missing)\n"
    "  --addr HOST:PORT   where to listen for clients (default " DEFAULT_ADDR ";\n"
    "                     port 0 picks a free one, printed on start)\n"
    "  --log-level LEVEL  error, warn, info, debug or trace (default info)\n"
    "  --no-sync          answer writes before they are on disk: faster, but a\n"
    "                     power cut can lose acknowledged writes (default: every\n"
    "                     write is synced to disk before it is answered, and in a\n"
    "                     cluster before another store is told of it)\n"
    "  --scheduler HOST:PORT  run as a cluster store, with tinykv-scheduler there\n"
    "  --raft-addr HOST:PORT  where other stores send Raft messages (default: the\n"
    "                     client host, a free port)\n"
    "  --region-split-size BYTES  a region past 1.5 times this splits in two\n"
    "                     (default 96M; K, M and G suffixes are taken)\n"
    "  --tick-ms MS       Raft's base tick (default 100: elections after 1-2 s)\n"
    "  --request-timeout-ms MS  how long a request waits for its region before\n"
    "                     it is answered ServerIsBusy (default 5000)\n"
    "  --read-mode MODE   how gets and scans are served (default readindex):\n"
    "                     log        through the Raft log, one entry per read;\n"
    "                     readindex  a heartbeat round confirms the leader, no\n"
    "                                log entry (a core without it: the log);\n"
    "                     lease      no round while the leader's lease holds;\n"
    "                                safe only while clocks drift less than the\n"
    "                                margin between lease and election timeout\n"
    "  --help             this text\n"
    "\n"
    "SIGINT or SIGTERM shuts the server down cleanly.\n";

/* BYTES with an optional K, M or G suffix; 0 when it is not one. */
static uint64_t parse_size(const char *v)
{
    char *end = NULL;
    unsigned long long n = strtoull(v, &end, 10);
    if (end == v)
        return 0;
    if (*end == 'K' || *end == 'k')
        n <<= 10, end++;
    else if (*end == 'M' || *end == 'm')
        n <<= 20, end++;
    else if (*end == 'G' || *end == 'g')
        n <<= 30, end++;
    return *end == '\0' ? (uint64_t)n : 0;
}

static long parse_ms(const char *v)
{
    char *end = NULL;
    long n = strtol(v, &end, 10);
    return (end != v && *end == '\0' && n > 0 && n <= 600000) ? n : 0;
}

int main(int argc, char **argv)
{
    /* The flags of this program; the rest are every server's. */
    int sync = 1, n_args = 0;
    const char *scheduler = NULL, *raft_addr = NULL;
    uint64_t split_size = 0;
    long tick_ms = 100, timeout_ms = 5000;
    peer_read_mode_t read_mode = PEER_READ_INDEX;
    const char *read_mode_flag = NULL;
    char **args = calloc((size_t)argc + 1, sizeof(*args));
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        if (i > 0 && strcmp(argv[i], "--no-sync") == 0) {
            sync = 0;
        } else if (i > 0 && cli_is_flag(argv[i], "--scheduler")) {
            if ((scheduler = cli_flag_value(argc, argv, &i, "--scheduler")) == NULL)
                return free(args), cli_usage_error("tinykv-server", "--scheduler needs HOST:PORT");
        } else if (i > 0 && cli_is_flag(argv[i], "--raft-addr")) {
            if ((raft_addr = cli_flag_value(argc, argv, &i, "--raft-addr")) == NULL)
                return free(args), cli_usage_error("tinykv-server", "--raft-addr needs HOST:PORT");
        } else if (i > 0 && cli_is_flag(argv[i], "--region-split-size")) {
            v = cli_flag_value(argc, argv, &i, "--region-split-size");
            if (v == NULL || (split_size = parse_size(v)) == 0)
                return free(args),
                       cli_usage_error("tinykv-server",
                                       "--region-split-size needs a size in bytes: '%s'",
                                       v ? v : "");
        } else if (i > 0 && cli_is_flag(argv[i], "--tick-ms")) {
            v = cli_flag_value(argc, argv, &i, "--tick-ms");
            if (v == NULL || (tick_ms = parse_ms(v)) == 0 || tick_ms > 60000)
                return free(args), cli_usage_error("tinykv-server",
                                                   "--tick-ms needs 1..60000: '%s'", v ? v : "");
        } else if (i > 0 && cli_is_flag(argv[i], "--request-timeout-ms")) {
            v = cli_flag_value(argc, argv, &i, "--request-timeout-ms");
            if (v == NULL || (timeout_ms = parse_ms(v)) == 0)
                return free(args),
                       cli_usage_error("tinykv-server",
                                       "--request-timeout-ms needs 1..600000: '%s'", v ? v : "");
        } else if (i > 0 && cli_is_flag(argv[i], "--read-mode")) {
            v = read_mode_flag = cli_flag_value(argc, argv, &i, "--read-mode");
            if (v == NULL || peer_read_mode_parse(v, &read_mode) != 0)
                return free(args), cli_usage_error("tinykv-server",
                                                   "--read-mode needs log, readindex or lease, "
                                                   "not '%s'",
                                                   v ? v : "");
        } else {
            args[n_args++] = argv[i];
        }
    }
    cli_server_opts_t opts;
    int rc = cli_parse_server(n_args, args, "tinykv-server", usage, DEFAULT_ADDR, &opts);
    free(args);
    if (rc >= 0)
        return rc;
    if (scheduler == NULL && (raft_addr != NULL || split_size != 0 || read_mode_flag != NULL))
        return cli_usage_error("tinykv-server",
                               "--raft-addr, --region-split-size and --read-mode need "
                               "--scheduler: '%s'",
                               raft_addr         ? raft_addr
                               : split_size != 0 ? "--region-split-size"
                                                 : "--read-mode");
    if (scheduler != NULL) {
        char h[256];
        int p = 0;
        if (cli_split_addr(scheduler, h, sizeof(h), &p) != 0 || p == 0)
            return cli_usage_error("tinykv-server", "--scheduler is not HOST:PORT: '%s'",
                                   scheduler);
        cluster_server_opts_t co;
        memset(&co, 0, sizeof(co));
        co.prog = "tinykv-server";
        co.data_dir = opts.data_dir;
        co.scheduler = scheduler;
        snprintf(co.host, sizeof(co.host), "%s", opts.host);
        co.port = opts.port;
        snprintf(co.raft_host, sizeof(co.raft_host), "%s", opts.host);
        if (raft_addr != NULL &&
            cli_split_addr(raft_addr, co.raft_host, sizeof(co.raft_host), &co.raft_port) != 0)
            return cli_usage_error("tinykv-server", "--raft-addr is not HOST:PORT: '%s'",
                                   raft_addr);
        co.sync = sync;
        co.tick_ms = (uint32_t)tick_ms;
        co.region_split_size = split_size;
        co.request_timeout_ms = (int)timeout_ms;
        co.read_mode = (int)read_mode;
        tkv_log_set_clock(clock_real());
        return cluster_server_main(&co);
    }
    const char *data_dir = opts.data_dir;
    tkv_log_set_clock(clock_real());

    storage_t *storage = NULL;
    tkv_err_t e = standalone_storage_new(data_dir, &storage);
    if (e == TKV_OK) {
        standalone_storage_set_sync(storage, sync);
        e = storage_start(storage);
    }
    if (e != TKV_OK) {
        fprintf(stderr, "tinykv-server: cannot use data directory %s: %s%s\n", data_dir,
                tkv_last_error(), e == TKV_ERR_BUSY ? " (is another tinykv-server using it?)" : "");
        storage_free(storage);
        return 1;
    }
    /* The raw API (project 1) and the transactional API (project 4) on the
     * same storage; each layer's handlers get their own ctx. */
    latches_t *latches = latches_new();
    txn_service_t txn = { storage, latches };
    rpc_method_t methods[24];
    size_t n = rpc_methods_append(methods, 0, 24, kv_service_standalone_methods(), storage);
    rpc_methods_append(methods, n, 24, txn_service_methods(), &txn);
    rc = rpc_server_main("tinykv-server", &tinykvpb__tiny_kv__descriptor, methods, NULL, &opts);
    latches_free(latches);
    storage_stop(storage);
    storage_free(storage);
    return rc;
}
