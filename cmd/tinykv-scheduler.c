/*
 * tinykv-scheduler: the scheduler as a process. It serves the Scheduler
 * service (schedulerpb.proto: TSO, ids, stores, regions, heartbeats) over
 * TCP, with its state in a data directory, so a restart keeps the cluster
 * and never hands out an id or a timestamp twice. Everything it does is in
 * project3-multiraft/scheduler/service.h; this file is a thin main: flags
 * in, pieces built, run, clean up.
 *
 *   tinykv-scheduler --data-dir DIR [--addr 127.0.0.1:2379] [--log-level info]
 *                    [--max-store-down-ms MS]
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
#include "project3-multiraft/scheduler/service.h"

#define DEFAULT_ADDR "127.0.0.1:2379"

static const char usage[] =
    "usage: tinykv-scheduler --data-dir DIR [--addr HOST:PORT] [--log-level LEVEL]\n"
    "                        [--max-store-down-ms MS]\n"
    "\n"
    "Serves the TinyKV scheduler (timestamps, ids, store and region heartbeats,\n"
    "region balancing) with its state in one leveldb database under DIR.\n"
    "\n"
    "  --data-dir DIR     where the state lives (created if missing)\n"
    "  --addr HOST:PORT   where to listen (default " DEFAULT_ADDR "; port 0 picks\n"
    "                     a free one, printed on start)\n"
    "  --log-level LEVEL  error, warn, info, debug or trace (default info)\n"
    "  --max-store-down-ms MS\n"
    "                     a store silent this long is down and its replicas are\n"
    "                     rebuilt on other stores (default 1800000, 30 minutes)\n"
    "  --help             this text\n"
    "\n"
    "SIGINT or SIGTERM shuts the scheduler down cleanly.\n";

/* Takes this program's own flags out of argv (the rest goes to
 * cli_parse_server()). Returns 0, or 2 after printing a usage error. */
static int parse_own_flags(int *argc, char **argv, sched_server_config_t *cfg)
{
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (!cli_is_flag(argv[i], "--max-store-down-ms")) {
            argv[out++] = argv[i];
            continue;
        }
        const char *v = cli_flag_value(*argc, argv, &i, "--max-store-down-ms");
        char *end = NULL;
        unsigned long long ms = v ? strtoull(v, &end, 10) : 0;
        if (v == NULL || *v == '\0' || *end != '\0' || ms == 0 || v[0] == '-') {
            fprintf(stderr,
                    "tinykv-scheduler: --max-store-down-ms wants a positive number of "
                    "milliseconds, not '%s'\n%s",
                    v ? v : "", usage);
            return 2;
        }
        cfg->cluster.max_store_down_ms = ms;
    }
    argv[out] = NULL;
    *argc = out;
    return 0;
}

int main(int argc, char **argv)
{
    sched_server_config_t cfg = sched_server_config_default();
    if (parse_own_flags(&argc, argv, &cfg) != 0)
        return 2;
    cli_server_opts_t opts;
    int rc = cli_parse_server(argc, argv, "tinykv-scheduler", usage, DEFAULT_ADDR, &opts);
    if (rc >= 0)
        return rc;
    const char *data_dir = opts.data_dir;
    tkv_log_set_clock(clock_wall());

    sched_server_t *sched = NULL;
    /* Timestamps must keep meaning across reboots (project 4 compares their
     * physical part with "now" for lock TTLs), so the scheduler runs on the
     * wall clock, not the monotonic one. */
    tkv_err_t e = sched_server_open(data_dir, clock_wall(), &cfg, &sched);
    if (e != TKV_OK) {
        fprintf(stderr, "tinykv-scheduler: cannot use data directory %s: %s%s\n", data_dir,
                tkv_last_error(),
                e == TKV_ERR_BUSY ? " (is another tinykv-scheduler using it?)" : "");
        return 1;
    }
    rc = rpc_server_main("tinykv-scheduler", &schedulerpb__scheduler__descriptor,
                         sched_service_methods, sched, &opts);
    /* rpc_server_main() returned after the last handler finished, so the
     * scheduler state can go. */
    sched_server_close(sched);
    return rc;
}
