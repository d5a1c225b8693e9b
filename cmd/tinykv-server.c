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

/* The running server, for the signal handler. */
static rpc_server_t *volatile running_server;

static void on_signal(int sig)
{
    (void)sig;
    if (running_server != NULL)
        rpc_server_stop(running_server); /* async-signal-safe (uv_async_send) */
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "tinykv-server: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(try tinykv-server --help)\n");
    return 2;
}

/* Splits HOST:PORT into host (at most hsize-1 chars) and port 0..65535. */
static int parse_addr(const char *addr, char *host, size_t hsize, int *port)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || colon[1] == '\0')
        return -1;
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 0 || p > 65535)
        return -1;
    size_t hlen = (size_t)(colon - addr);
    if (addr[0] == '[' && hlen >= 2 && addr[hlen - 1] == ']') {
        addr++;
        hlen -= 2;
    }
    if (hlen == 0 || hlen >= hsize)
        return -1;
    memcpy(host, addr, hlen);
    host[hlen] = '\0';
    *port = (int)p;
    return 0;
}

/* Takes the value of flag argv[*i] ("--flag VALUE" or "--flag=VALUE"). */
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
    if (parse_addr(addr, host, sizeof(host), &port) != 0)
        return usage_error("--addr '%s' is not HOST:PORT with a port in 0..65535", addr);
    tkv_log_level_t level;
    if (tkv_log_parse_level(level_name, &level) != 0)
        return usage_error("--log-level '%s' is not error, warn, info, debug or trace", level_name);
    tkv_log_set_level(level);
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

    running_server = server;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    /* One line on stdout that scripts can wait for; with port 0 it is the
     * only way to learn the port. */
    int v6 = strchr(host, ':') != NULL; /* written [::1]:port, as --addr takes it */
    printf("tinykv-server: listening on %s%s%s:%d, data in %s\n", v6 ? "[" : "", host,
           v6 ? "]" : "", rpc_server_port(server), data_dir);
    fflush(stdout);

    e = rpc_server_run(server);
    /* From here on a late signal must not reach the server being freed. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    running_server = NULL;
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
