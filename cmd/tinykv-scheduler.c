/*
 * tinykv-scheduler: the scheduler as a process. It serves the Scheduler
 * service (schedulerpb.proto: TSO, ids, stores, regions, heartbeats) over
 * TCP, with its state in a data directory, so a restart keeps the cluster
 * and never hands out an id or a timestamp twice. Everything it does is in
 * project3-multiraft/scheduler/service.h; this file is a thin main: flags
 * in, pieces built, run, clean up.
 *
 *   tinykv-scheduler --data-dir DIR [--addr 127.0.0.1:2379] [--log-level info]
 *
 * Exit status: 0 after a clean shutdown (SIGINT or SIGTERM), 1 when the data
 * directory or the address cannot be used, 2 for bad flags.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/rpc_server.h"
#include "project3-multiraft/scheduler/service.h"

#define DEFAULT_ADDR "127.0.0.1:2379"

static const char usage[] =
    "usage: tinykv-scheduler --data-dir DIR [--addr HOST:PORT] [--log-level LEVEL]\n"
    "\n"
    "Serves the TinyKV scheduler (timestamps, ids, store and region heartbeats,\n"
    "region balancing) with its state in one leveldb database under DIR.\n"
    "\n"
    "  --data-dir DIR     where the state lives (created if missing)\n"
    "  --addr HOST:PORT   where to listen (default " DEFAULT_ADDR "; port 0 picks\n"
    "                     a free one, printed on start)\n"
    "  --log-level LEVEL  error, warn, info, debug or trace (default info)\n"
    "  --help             this text\n"
    "\n"
    "SIGINT or SIGTERM shuts the scheduler down cleanly.\n";

/* The running server, for the signal handler. */
static rpc_server_t *volatile running_server;

static void on_signal(int sig)
{
    (void)sig;
    if (running_server != NULL)
        rpc_server_stop(running_server); /* documented async-signal-safe */
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "tinykv-scheduler: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(try tinykv-scheduler --help)\n");
    return 2;
}

/* Splits HOST:PORT ("[v6]:PORT" too) into host and a port in 0..65535. */
static int split_addr(const char *addr, char *host, size_t hsize, int *port)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || colon[1] == '\0')
        return -1;
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 0 || p > 65535)
        return -1;
    size_t len = (size_t)(colon - addr);
    if (addr[0] == '[' && len >= 2 && addr[len - 1] == ']') {
        addr++;
        len -= 2;
    }
    if (len == 0 || len >= hsize)
        return -1;
    memcpy(host, addr, len);
    host[len] = '\0';
    *port = (int)p;
    return 0;
}

/* "--flag VALUE" or "--flag=VALUE": the value, or NULL if there is none. */
static const char *flag_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (strcmp(argv[*i], name) == 0 && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static int is_flag(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

/* Timestamps must keep meaning across reboots (project 4 compares their
 * physical part with "now" for lock TTLs), so the scheduler runs on the
 * wall clock, not the monotonic one. */
static uint64_t wall_now_ms(const tkv_clock_t *clock)
{
    (void)clock;
    return clock_wall_ms();
}

static const tkv_clock_t wall_clock = { wall_now_ms };

int main(int argc, char **argv)
{
    const char *data_dir = NULL, *addr = DEFAULT_ADDR, *level_name = "info";
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (is_flag(argv[i], "--data-dir")) {
            if ((v = flag_value(argc, argv, &i, "--data-dir")) == NULL)
                return usage_error("%s needs a directory", "--data-dir");
            data_dir = v;
        } else if (is_flag(argv[i], "--addr")) {
            if ((v = flag_value(argc, argv, &i, "--addr")) == NULL)
                return usage_error("%s needs HOST:PORT", "--addr");
            addr = v;
        } else if (is_flag(argv[i], "--log-level")) {
            if ((v = flag_value(argc, argv, &i, "--log-level")) == NULL)
                return usage_error("%s needs a level", "--log-level");
            level_name = v;
        } else {
            return usage_error("unknown argument '%s'", argv[i]);
        }
    }
    if (data_dir == NULL || *data_dir == '\0')
        return usage_error("%s is required", "--data-dir");
    char host[256];
    int port = 0;
    if (split_addr(addr, host, sizeof(host), &port) != 0)
        return usage_error("--addr '%s' is not HOST:PORT with a port in 0..65535", addr);
    tkv_log_level_t level;
    if (tkv_log_parse_level(level_name, &level) != 0)
        return usage_error("--log-level '%s' is not error, warn, info, debug or trace", level_name);
    tkv_log_set_level(level);
    tkv_log_set_clock(&wall_clock);

    sched_server_t *sched = NULL;
    tkv_err_t e = sched_server_open(data_dir, &wall_clock, NULL, &sched);
    if (e != TKV_OK) {
        fprintf(stderr, "tinykv-scheduler: cannot use data directory %s: %s%s\n", data_dir,
                tkv_last_error(),
                strstr(tkv_last_error(), "IO error: lock")
                    ? " (is another tinykv-scheduler using it?)"
                    : "");
        return 1;
    }
    rpc_server_t *server = NULL;
    e = rpc_server_new(&schedulerpb__scheduler__descriptor, sched_service_methods, sched, &server);
    if (e == TKV_OK)
        e = rpc_server_listen(server, host, port);
    if (e != TKV_OK) {
        fprintf(stderr, "tinykv-scheduler: %s\n", tkv_last_error());
        rpc_server_free(server);
        sched_server_close(sched);
        return 1;
    }

    running_server = server;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* One line on stdout that scripts and tests wait for; with port 0 it is
     * the only way to learn the port. */
    int v6 = strchr(host, ':') != NULL;
    printf("tinykv-scheduler: listening on %s%s%s:%d, data in %s\n", v6 ? "[" : "", host,
           v6 ? "]" : "", rpc_server_port(server), data_dir);
    fflush(stdout);

    e = rpc_server_run(server);
    /* A late signal must not reach the server being freed. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    running_server = NULL;
    /* rpc_server_run() returned after the last handler finished, so the
     * scheduler state can go. */
    rpc_server_free(server);
    sched_server_close(sched);
    if (e != TKV_OK) {
        fprintf(stderr, "tinykv-scheduler: %s\n", tkv_last_error());
        return 1;
    }
    tkv_logf(TKV_LOG_INFO, "scheduler", "stopped cleanly");
    return 0;
}
