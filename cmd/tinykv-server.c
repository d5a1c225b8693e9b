/*
 * tinykv-server: a TinyKv store on TCP. For now it serves standalone mode:
 * the raw API (project1-standalone/kv_service.h) and the transactional API
 * (project4-txn/txn_service.h) on one local leveldb database. The Raft store
 * is wired in here by a later stage; this file stays a thin main: flags in,
 * pieces built, run, clean up.
 *
 *   tinykv-server --data-dir DIR [--addr 127.0.0.1:20160] [--log-level info]
 *
 * Exit status: 0 after a clean shutdown (SIGINT or SIGTERM), 1 when the data
 * directory or the address cannot be used, 2 for bad flags.
 */
#include <signal.h>
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
    "usage: tinykv-server --data-dir DIR [--addr HOST:PORT] [--log-level LEVEL]\n"
    "\n"
    "Serves the TinyKv raw API (RawGet, RawPut, RawDelete, RawScan) in standalone\n"
    "mode, with its data in one leveldb database under DIR.\n"
    "\n"
    "  --data-dir DIR     where the data lives (created if missing)\n"
    "  --addr HOST:PORT   where to listen (default " DEFAULT_ADDR "; port 0 picks\n"
    "                     a free one, printed on start)\n"
    "  --log-level LEVEL  error, warn, info, debug or trace (default info)\n"
    "  --help             this text\n"
    "\n"
    "SIGINT or SIGTERM shuts the server down cleanly.\n";

int main(int argc, char **argv)
{
    cli_server_opts_t opts;
    int rc = cli_parse_server(argc, argv, "tinykv-server", usage, DEFAULT_ADDR, &opts);
    if (rc >= 0)
        return rc;
    const char *data_dir = opts.data_dir, *host = opts.host;
    int port = opts.port;
    tkv_log_set_clock(clock_real());

    storage_t *storage = NULL;
    tkv_err_t e = standalone_storage_new(data_dir, &storage);
    if (e == TKV_OK)
        e = storage_start(storage);
    if (e != TKV_OK) {
        fprintf(stderr, "tinykv-server: cannot use data directory %s: %s%s\n", data_dir,
                tkv_last_error(),
                strstr(tkv_last_error(), "/LOCK") ? " (is another tinykv-server using it?)" : "");
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
    rpc_server_t *server = NULL;
    e = rpc_server_new(&tinykvpb__tiny_kv__descriptor, methods, NULL, &server);
    if (e == TKV_OK)
        e = rpc_server_listen(server, host, port);
    if (e != TKV_OK) {
        fprintf(stderr, "tinykv-server: %s\n", tkv_last_error());
        rpc_server_free(server);
        latches_free(latches);
        storage_stop(storage);
        storage_free(storage);
        return 1;
    }

    /* One line on stdout that scripts can wait for; with port 0 it is the
     * only way to learn the port. */
    char shown[300];
    cli_format_addr(host, rpc_server_port(server), shown, sizeof(shown));
    printf("tinykv-server: listening on %s, data in %s\n", shown, data_dir);
    fflush(stdout);

    e = rpc_server_run_until_signal(server);
    rpc_server_free(server);
    latches_free(latches);
    storage_stop(storage);
    storage_free(storage);
    if (e != TKV_OK) {
        fprintf(stderr, "tinykv-server: %s\n", tkv_last_error());
        return 1;
    }
    tkv_logf(TKV_LOG_INFO, "server", "stopped cleanly");
    return 0;
}
