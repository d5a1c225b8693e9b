/*
 * tinykv-ctl: talk to a tinykv-server from the shell, one call per run.
 *
 *   tinykv-ctl [--addr HOST:PORT] [--cf CF] raw put KEY VALUE
 *   tinykv-ctl [--addr HOST:PORT] [--cf CF] raw get KEY
 *   tinykv-ctl [--addr HOST:PORT] [--cf CF] raw delete KEY
 *   tinykv-ctl [--addr HOST:PORT] [--cf CF] raw scan START [LIMIT]
 *
 * Output is for people: get prints the value, scan prints key=value lines,
 * put and delete print OK. Bytes that are not printable are shown as \xNN,
 * so a binary value cannot garble the terminal. Exit status: 0 ok, 1 not
 * found or any failure (server down, server error), 2 bad usage.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/cli.h"
#include "common/rpc_client.h"
#include "proto/tinykvpb.pb-c.h"

#define DEFAULT_ADDR       "127.0.0.1:20160"
#define DEFAULT_LIMIT      100
#define DEFAULT_TIMEOUT_MS 5000

static const char usage[] =
    "usage: tinykv-ctl [--addr HOST:PORT] [--cf CF] [--timeout MS] COMMAND\n"
    "\n"
    "commands:\n"
    "  raw put KEY VALUE        store VALUE under KEY\n"
    "  raw get KEY              print the value of KEY\n"
    "  raw delete KEY           remove KEY\n"
    "  raw scan START [LIMIT]   print up to LIMIT (default 100) key=value pairs\n"
    "                           from the first key >= START, in key order (in as\n"
    "                           many calls as the server's reply size limit needs)\n"
    "\n"
    "options:\n"
    "  --addr HOST:PORT   the server (default " DEFAULT_ADDR ")\n"
    "  --cf CF            column family: default, lock or write (default: default)\n"
    "  --timeout MS       how long to wait for the server (default 5000)\n"
    "  --help             this text\n"
    "\n"
    "exit status: 0 ok, 1 not found or failure, 2 bad usage\n";

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "tinykv-ctl: ");
    fprintf(stderr, msg, arg);
    fprintf(stderr, "\n(try tinykv-ctl --help)\n");
    return 2;
}

/* Prints bytes, escaping what a terminal would not show as itself. */
static void print_bytes(FILE *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (isprint(p[i]) && p[i] != '\\')
            fputc(p[i], out);
        else if (p[i] == '\\')
            fputs("\\\\", out);
        else
            fprintf(out, "\\x%02x", p[i]);
    }
}

typedef struct {
    const char *addr;
    const char *cf;
    int timeout_ms;
    rpc_client_t *client;
} ctl_t;

/* One call (connecting on the first); on failure prints why and returns nonzero. */
static int call(ctl_t *c, const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
    tkv_err_t e =
        c->client != NULL ? TKV_OK : rpc_client_connect(c->addr, c->timeout_ms, &c->client);
    if (e == TKV_ERR_NET || e == TKV_ERR_TIMEOUT) {
        fprintf(stderr, "tinykv-ctl: %s: is tinykv-server running?\n", tkv_last_error());
        return 1;
    }
    if (e != TKV_OK) {
        fprintf(stderr, "tinykv-ctl: %s\n", tkv_last_error());
        return e == TKV_ERR_INVALID ? 2 : 1;
    }
    e = rpc_client_call(c->client, &tinykvpb__tiny_kv__descriptor, method, req, resp);
    if (e != TKV_OK) {
        fprintf(stderr, "tinykv-ctl: %s failed: %s\n", method, tkv_last_error());
        return 1;
    }
    return 0;
}

/* A storage failure reported in the response's error field. */
static int server_error(const char *error)
{
    if (error == NULL || error[0] == '\0')
        return 0;
    fprintf(stderr, "tinykv-ctl: server error: %s\n", error);
    return 1;
}

static ProtobufCBinaryData bytes_of(const char *s)
{
    ProtobufCBinaryData b = { strlen(s), (uint8_t *)s };
    return b;
}

static int cmd_put(ctl_t *c, const char *key, const char *value)
{
    Kvrpcpb__RawPutRequest req = KVRPCPB__RAW_PUT_REQUEST__INIT;
    req.key = bytes_of(key);
    req.value = bytes_of(value);
    req.cf = (char *)c->cf;
    Kvrpcpb__RawPutResponse *resp = NULL;
    int rc = call(c, "RawPut", &req.base, (ProtobufCMessage **)&resp);
    if (rc == 0 && (rc = server_error(resp->error)) == 0)
        printf("OK\n");
    if (resp != NULL)
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    return rc;
}

static int cmd_get(ctl_t *c, const char *key)
{
    Kvrpcpb__RawGetRequest req = KVRPCPB__RAW_GET_REQUEST__INIT;
    req.key = bytes_of(key);
    req.cf = (char *)c->cf;
    Kvrpcpb__RawGetResponse *resp = NULL;
    int rc = call(c, "RawGet", &req.base, (ProtobufCMessage **)&resp);
    if (rc == 0 && (rc = server_error(resp->error)) == 0) {
        if (resp->not_found) {
            fprintf(stderr, "tinykv-ctl: key '%s' not found\n", key);
            rc = 1;
        } else {
            print_bytes(stdout, resp->value.data, resp->value.len);
            putchar('\n');
        }
    }
    if (resp != NULL)
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    return rc;
}

static int cmd_delete(ctl_t *c, const char *key)
{
    Kvrpcpb__RawDeleteRequest req = KVRPCPB__RAW_DELETE_REQUEST__INIT;
    req.key = bytes_of(key);
    req.cf = (char *)c->cf;
    Kvrpcpb__RawDeleteResponse *resp = NULL;
    int rc = call(c, "RawDelete", &req.base, (ProtobufCMessage **)&resp);
    if (rc == 0 && (rc = server_error(resp->error)) == 0)
        printf("OK\n");
    if (resp != NULL)
        protobuf_c_message_free_unpacked(&resp->base, NULL);
    return rc;
}

/* A server stops a scan early (resp->more) when the next pair would take
 * its reply past the frame limit; we go on from just after the last key
 * until LIMIT pairs are printed or the server has no more. */
static int cmd_scan(ctl_t *c, const char *start, uint32_t limit)
{
    tkv_buf_t from = TKV_BUF_INIT;
    buf_set(&from, start, strlen(start));
    uint32_t printed = 0;
    int rc = 0, more = 1;
    while (rc == 0 && more && printed < limit) {
        Kvrpcpb__RawScanRequest req = KVRPCPB__RAW_SCAN_REQUEST__INIT;
        req.start_key.data = from.data;
        req.start_key.len = from.len;
        req.limit = limit - printed;
        req.cf = (char *)c->cf;
        Kvrpcpb__RawScanResponse *resp = NULL;
        rc = call(c, "RawScan", &req.base, (ProtobufCMessage **)&resp);
        if (rc == 0 && (rc = server_error(resp->error)) == 0) {
            for (size_t i = 0; i < resp->n_kvs; i++) {
                print_bytes(stdout, resp->kvs[i]->key.data, resp->kvs[i]->key.len);
                putchar('=');
                print_bytes(stdout, resp->kvs[i]->value.data, resp->kvs[i]->value.len);
                putchar('\n');
            }
            printed += (uint32_t)resp->n_kvs;
            /* No pair and "more" would loop forever: a broken server. */
            more = resp->more && resp->n_kvs > 0;
            if (more) {
                const Kvrpcpb__KvPair *last = resp->kvs[resp->n_kvs - 1];
                buf_set(&from, last->key.data, last->key.len);
                buf_append_byte(&from, 0); /* the smallest key after it */
            }
        }
        if (resp != NULL)
            protobuf_c_message_free_unpacked(&resp->base, NULL);
    }
    if (rc == 0 && printed == 0)
        fprintf(stderr, "(no keys from '%s')\n", start);
    buf_free(&from);
    return rc;
}

static int run(ctl_t *c, int n, char **args)
{
    if (n == 0)
        return usage_error("%s", "no command given");
    if (strcmp(args[0], "raw") != 0)
        return usage_error("unknown command '%s' (only 'raw' for now)", args[0]);
    if (n < 2)
        return usage_error("%s", "raw needs put, get, delete or scan");
    const char *op = args[1];
    int argn = n - 2;
    char **a = args + 2;
    if (strcmp(op, "put") == 0) {
        if (argn != 2)
            return usage_error("%s", "usage: raw put KEY VALUE");
        return cmd_put(c, a[0], a[1]);
    }
    if (strcmp(op, "get") == 0) {
        if (argn != 1)
            return usage_error("%s", "usage: raw get KEY");
        return cmd_get(c, a[0]);
    }
    if (strcmp(op, "delete") == 0) {
        if (argn != 1)
            return usage_error("%s", "usage: raw delete KEY");
        return cmd_delete(c, a[0]);
    }
    if (strcmp(op, "scan") == 0) {
        if (argn != 1 && argn != 2)
            return usage_error("%s", "usage: raw scan START [LIMIT]");
        unsigned long limit = DEFAULT_LIMIT;
        if (argn == 2) {
            char *end = NULL;
            limit = strtoul(a[1], &end, 10);
            if (a[1][0] == '-' || *end != '\0' || end == a[1] || limit == 0 || limit > UINT32_MAX)
                return usage_error("LIMIT '%s' is not a positive number", a[1]);
        }
        return cmd_scan(c, a[0], (uint32_t)limit);
    }
    return usage_error("unknown raw command '%s' (put, get, delete or scan)", op);
}

int main(int argc, char **argv)
{
    ctl_t c = { DEFAULT_ADDR, "", DEFAULT_TIMEOUT_MS, NULL };
    char **args = calloc((size_t)argc + 1, sizeof(*args));
    int n = 0, only_args = 0;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (only_args || argv[i][0] != '-' || argv[i][1] == '\0') {
            args[n++] = argv[i];
        } else if (strcmp(argv[i], "--") == 0) {
            only_args = 1; /* keys or values that start with '-' */
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            free(args);
            return 0;
        } else if (cli_is_flag(argv[i], "--addr") &&
                   (v = cli_flag_value(argc, argv, &i, "--addr"))) {
            c.addr = v;
        } else if (cli_is_flag(argv[i], "--cf") && (v = cli_flag_value(argc, argv, &i, "--cf"))) {
            c.cf = v;
        } else if (cli_is_flag(argv[i], "--timeout") &&
                   (v = cli_flag_value(argc, argv, &i, "--timeout"))) {
            char *end = NULL;
            long ms = strtol(v, &end, 10);
            if (*end != '\0' || end == v || ms <= 0 || ms > 3600000) {
                free(args);
                return usage_error("--timeout '%s' is not a number of milliseconds", v);
            }
            c.timeout_ms = (int)ms;
        } else {
            free(args);
            return usage_error("unknown or incomplete option '%s'", argv[i]);
        }
    }
    int rc = run(&c, n, args);
    rpc_client_close(c.client);
    free(args);
    return rc;
}
