/*
 * tinykv-server: a TinyKv store on TCP. For now it serves standalone mode:
 * the raw API (project1-standalone/kv_service.h) and the transactional API
 * (project4-txn/txn_service.h) on one local leveldb database. The Raft store
 * is wired in here by a later stage; this file stays a thin main: flags in,
 * pieces built, run, clean up.
 *
 *   tinykv-server --data-dir DIR [--addr 127.0.0.1:20160] [--log-level info] [--no-sync]
 *
 * Writes are synced to disk before they are answered (an acknowledged write
 * survives a power cut); --no-sync trades that for speed.
 *
 * Exit status: 0 after a clean shutdown (SIGINT or SIGTERM), 1 when the data
 * directory or the address cannot be used, 2 for bad flags.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/log.h"
#include "common/rpc_server.h"
#include "project1-standalone/kv_service.h"
#include "project1-standalone/standalone_storage.h"
#include "project4-txn/txn_service.h"
#include "proto/tinykvpb.pb-c.h"

#define DEFAULT_ADDR "127.0.0.1:20160"

static const char usage[] =
    "usage: tinykv-server --data-dir DIR [--addr HOST:PORT] [--log-level LEVEL] [--no-sync]\n"
    "\n"
    "Serves the TinyKv raw API (RawGet, RawPut, RawDelete, RawScan) in standalone\n"
    "mode, with its data in one leveldb database under DIR.\n"
    "\n"
    "  --data-dir DIR     where the data lives (created if missing)\n"
    "  --addr HOST:PORT   where to listen (default " DEFAULT_ADDR "; port 0 picks\n"
    "                     a free one, printed on start)\n"
    "  --log-level LEVEL  error, warn, info, debug or trace (default info)\n"
    "  --no-sync          answer writes before they are on disk: faster, but a\n"
    "                     power cut can lose acknowledged writes (default: every\n"
    "                     write is synced to disk before it is answered)\n"
    "  --help             this text\n"
    "\n"
    "SIGINT or SIGTERM shuts the server down cleanly.\n";

int main(int argc, char **argv)
{
    /* --no-sync is this program's own flag; the rest are every server's. */
    int sync = 1, n_args = 0;
    char **args = calloc((size_t)argc + 1, sizeof(*args));
    for (int i = 0; i < argc; i++) {
        if (i > 0 && strcmp(argv[i], "--no-sync") == 0)
            sync = 0;
        else
            args[n_args++] = argv[i];
    }
    cli_server_opts_t opts;
    int rc = cli_parse_server(n_args, args, "tinykv-server", usage, DEFAULT_ADDR, &opts);
    free(args);
    if (rc >= 0)
        return rc;
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
