/*
 * tinykv-ctl: talk to TinyKV from the shell, one command per run.
 *
 *   tinykv-ctl [--scheduler HOST:PORT | --addr HOST:PORT] COMMAND ...
 *
 * With --scheduler (or TINYKV_SCHEDULER in the environment) it talks to a
 * cluster: keys are routed to their regions through the client library
 * (client/), which follows leaders, region changes and dead stores. With
 * --addr (or neither) it talks to one standalone tinykv-server, as before
 * the cluster existed. Every command is a thin layer over the client headers.
 *
 * Output is for people: get prints the value, scans print key=value lines,
 * writes print OK. Bytes that are not printable are shown as \xNN, so a
 * binary value cannot garble the terminal. Exit status: 0 ok, 1 not found
 * or any failure (server down, server error, write conflict), 2 bad usage.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/admin_client.h"
#include "client/raw_client.h"
#include "client/txn_client.h"
#include "common/cli.h"
#include "common/pb.h"

#define DEFAULT_ADDR       "127.0.0.1:20160"
#define DEFAULT_LIMIT      100
#define DEFAULT_TIMEOUT_MS 5000
#define MAX_REGIONS        1000000
#define TRANSFER_RETRIES   5

static const char usage[] =
    "usage: tinykv-ctl [--scheduler HOST:PORT | --addr HOST:PORT] [--cf CF] [--timeout MS]\n"
    "                  COMMAND\n"
    "\n"
    "raw commands (no transaction; every key routed to its region):\n"
    "  raw put KEY VALUE          store VALUE under KEY\n"
    "  raw get KEY                print the value of KEY\n"
    "  raw delete KEY             remove KEY\n"
    "  raw scan START [LIMIT]     print up to LIMIT (default 100) key=value pairs from\n"
    "                             the first key >= START, in key order, across regions\n"
    "\n"
    "transactions (Percolator; need a scheduler for timestamps):\n"
    "  txn get KEY                read KEY at a fresh snapshot\n"
    "  txn put KEY VALUE [KEY VALUE ...]\n"
    "                             write every pair in one transaction\n"
    "  txn delete KEY [KEY ...]   delete every key in one transaction\n"
    "  txn scan START [LIMIT]     print up to LIMIT pairs from a snapshot\n"
    "  txn transfer FROM TO AMOUNT\n"
    "                             move AMOUNT from the number stored at FROM to the one\n"
    "                             at TO (missing keys count as 0) in one transaction,\n"
    "                             retried on write conflicts\n"
    "\n"
    "cluster commands (need a scheduler):\n"
    "  cluster stores             every store: id, address, state, regions, leaders\n"
    "  cluster regions            every region: id, range, epoch, peers, leader\n"
    "  cluster transfer-leader REGION STORE\n"
    "                             ask REGION's leader to hand over to its peer on STORE\n"
    "  cluster split KEY          split the region holding KEY at KEY\n"
    "\n"
    "options:\n"
    "  --scheduler HOST:PORT  a cluster's scheduler (default: $TINYKV_SCHEDULER, as\n"
    "                         `make cluster` writes it in build/cluster/env)\n"
    "  --addr HOST:PORT       one standalone server instead (default " DEFAULT_ADDR " when\n"
    "                         neither is given); raw commands only\n"
    "  --cf CF                column family of raw commands: default, lock or write\n"
    "  --timeout MS           how long to wait for each answer (default 5000)\n"
    "  --                     the arguments after it are keys or values, even if they\n"
    "                         start with '-'\n"
    "  --help                 this text\n"
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

static void print_quoted(const uint8_t *p, size_t n)
{
    putchar('"');
    print_bytes(stdout, p, n);
    putchar('"');
}

typedef struct {
    const char *sched; /* NULL in direct mode */
    const char *addr;
    const char *cf;
    int timeout_ms;
    rcache_t *cache;
} ctl_t;

/* Says why a call failed, with a hint for the usual cause. */
static int failed(const ctl_t *c, const char *what, tkv_err_t e)
{
    const char *msg = tkv_last_error();
    if (e == TKV_ERR_NOT_FOUND) {
        fprintf(stderr, "tinykv-ctl: %s: %s\n", what, msg);
        return 1;
    }
    fprintf(stderr, "tinykv-ctl: %s failed: %s\n", what, msg);
    if (e == TKV_ERR_NET || e == TKV_ERR_TIMEOUT) {
        if (c->sched == NULL)
            fprintf(stderr, "tinykv-ctl: is tinykv-server running at %s?\n", c->addr);
        else if (strstr(msg, "scheduler") != NULL)
            fprintf(stderr, "tinykv-ctl: is tinykv-scheduler running at %s?\n", c->sched);
    }
    return 1;
}

static tkv_slice_t str(const char *s)
{
    return slice_of(s, strlen(s));
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (s[0] == '-' || end == s || *end != '\0' || errno != 0)
        return -1;
    *out = v;
    return 0;
}

static int parse_limit(const char *s, uint32_t *out)
{
    uint64_t v = 0;
    if (parse_u64(s, &v) != 0 || v == 0 || v > UINT32_MAX)
        return usage_error("LIMIT '%s' is not a positive number", s);
    *out = (uint32_t)v;
    return 0;
}

static void print_pairs(const kv_list_t *l, const char *start)
{
    for (size_t i = 0; i < l->n; i++) {
        print_bytes(stdout, l->items[i].key.data, l->items[i].key.len);
        putchar('=');
        print_bytes(stdout, l->items[i].value.data, l->items[i].value.len);
        putchar('\n');
    }
    if (l->n == 0)
        fprintf(stderr, "(no keys from '%s')\n", start);
}

/* ---- raw ----------------------------------------------------------------------- */

static int cmd_raw(ctl_t *c, int n, char **a)
{
    if (n < 1)
        return usage_error("%s", "raw needs put, get, delete or scan");
    const char *op = a[0];
    tkv_err_t e;
    if (strcmp(op, "put") == 0) {
        if (n != 3)
            return usage_error("%s", "usage: raw put KEY VALUE");
        if ((e = rawc_put(c->cache, c->cf, str(a[1]), str(a[2]))) != TKV_OK)
            return failed(c, "RawPut", e);
        printf("OK\n");
        return 0;
    }
    if (strcmp(op, "get") == 0) {
        if (n != 2)
            return usage_error("%s", "usage: raw get KEY");
        tkv_buf_t v = TKV_BUF_INIT;
        e = rawc_get(c->cache, c->cf, str(a[1]), &v);
        if (e == TKV_ERR_NOT_FOUND) {
            fprintf(stderr, "tinykv-ctl: key '%s' not found\n", a[1]);
            return 1;
        }
        if (e != TKV_OK)
            return failed(c, "RawGet", e);
        print_bytes(stdout, v.data, v.len);
        putchar('\n');
        buf_free(&v);
        return 0;
    }
    if (strcmp(op, "delete") == 0) {
        if (n != 2)
            return usage_error("%s", "usage: raw delete KEY");
        if ((e = rawc_delete(c->cache, c->cf, str(a[1]))) != TKV_OK)
            return failed(c, "RawDelete", e);
        printf("OK\n");
        return 0;
    }
    if (strcmp(op, "scan") == 0) {
        if (n != 2 && n != 3)
            return usage_error("%s", "usage: raw scan START [LIMIT]");
        uint32_t limit = DEFAULT_LIMIT;
        if (n == 3 && parse_limit(a[2], &limit) != 0)
            return 2;
        kv_list_t l = KV_LIST_INIT;
        if ((e = rawc_scan(c->cache, c->cf, str(a[1]), slice_of(NULL, 0), limit, &l)) != TKV_OK) {
            kv_list_free(&l);
            return failed(c, "RawScan", e);
        }
        print_pairs(&l, a[1]);
        kv_list_free(&l);
        return 0;
    }
    return usage_error("unknown raw command '%s' (put, get, delete or scan)", op);
}

/* ---- txn ------------------------------------------------------------------------- */

static int commit(ctl_t *c, txnc_t *t)
{
    uint64_t ts = 0;
    tkv_err_t e = txnc_commit(t, &ts);
    txnc_free(t);
    if (e != TKV_OK)
        return failed(c, "commit", e);
    printf("OK (committed at ts %" PRIu64 ")\n", ts);
    return 0;
}

/* Reads a number stored at key (missing: 0). 0, or 1 with the reason printed. */
static int read_number(ctl_t *c, txnc_t *t, const char *key, long long *out)
{
    tkv_buf_t v = TKV_BUF_INIT;
    tkv_err_t e = txnc_get(t, str(key), &v);
    *out = 0;
    if (e == TKV_ERR_NOT_FOUND)
        return 0;
    if (e != TKV_OK)
        return failed(c, "KvGet", e);
    char text[32];
    int ok = v.len > 0 && v.len < sizeof(text);
    if (ok) {
        memcpy(text, v.data, v.len);
        text[v.len] = '\0';
        char *end = NULL;
        errno = 0;
        *out = strtoll(text, &end, 10);
        ok = *end == '\0' && errno == 0;
    }
    buf_free(&v);
    if (!ok) {
        fprintf(stderr, "tinykv-ctl: the value at '%s' is not a number\n", key);
        return 1;
    }
    return 0;
}

/* One try of a transfer: 0 done, 1 failed (printed), -1 conflict (retry). */
static int transfer_once(ctl_t *c, const char *from, const char *to, long long amount)
{
    txnc_t *t = NULL;
    tkv_err_t e = txnc_begin(c->cache, &t);
    if (e != TKV_OK)
        return failed(c, "begin", e);
    long long a = 0, b = 0;
    if (read_number(c, t, from, &a) != 0 || read_number(c, t, to, &b) != 0) {
        txnc_free(t);
        return 1;
    }
    if (a < amount) {
        fprintf(stderr, "tinykv-ctl: '%s' holds %lld, less than %lld: nothing moved\n", from, a,
                amount);
        txnc_free(t);
        return 1;
    }
    char va[32], vb[32];
    snprintf(va, sizeof(va), "%lld", a - amount);
    snprintf(vb, sizeof(vb), "%lld", b + amount);
    txnc_put(t, str(from), str(va));
    txnc_put(t, str(to), str(vb));
    uint64_t ts = 0;
    e = txnc_commit(t, &ts);
    txnc_free(t);
    if (e == TKV_ERR_STALE) {
        fprintf(stderr, "tinykv-ctl: %s; trying again\n", tkv_last_error());
        return -1;
    }
    if (e != TKV_OK)
        return failed(c, "commit", e);
    printf("OK: %s=%s %s=%s (committed at ts %" PRIu64 ")\n", from, va, to, vb, ts);
    return 0;
}

static int cmd_txn(ctl_t *c, int n, char **a)
{
    if (n < 1)
        return usage_error("%s", "txn needs get, put, delete, scan or transfer");
    const char *op = a[0];
    tkv_err_t e;
    txnc_t *t = NULL;
    if (strcmp(op, "get") == 0 || strcmp(op, "scan") == 0) {
        int scan = op[0] == 's';
        uint32_t limit = DEFAULT_LIMIT;
        if (!scan && n != 2)
            return usage_error("%s", "usage: txn get KEY");
        if (scan && n != 2 && n != 3)
            return usage_error("%s", "usage: txn scan START [LIMIT]");
        if (scan && n == 3 && parse_limit(a[2], &limit) != 0)
            return 2;
        if ((e = txnc_begin(c->cache, &t)) != TKV_OK)
            return failed(c, "begin", e);
        int rc = 0;
        if (scan) {
            kv_list_t l = KV_LIST_INIT;
            e = txnc_scan(t, str(a[1]), limit, &l);
            if (e == TKV_OK)
                print_pairs(&l, a[1]);
            else
                rc = failed(c, "KvScan", e);
            kv_list_free(&l);
        } else {
            tkv_buf_t v = TKV_BUF_INIT;
            e = txnc_get(t, str(a[1]), &v);
            if (e == TKV_ERR_NOT_FOUND) {
                fprintf(stderr, "tinykv-ctl: key '%s' not found\n", a[1]);
                rc = 1;
            } else if (e != TKV_OK) {
                rc = failed(c, "KvGet", e);
            } else {
                print_bytes(stdout, v.data, v.len);
                putchar('\n');
            }
            buf_free(&v);
        }
        txnc_free(t);
        return rc;
    }
    if (strcmp(op, "put") == 0) {
        if (n < 3 || (n - 1) % 2 != 0)
            return usage_error("%s", "usage: txn put KEY VALUE [KEY VALUE ...]");
        if ((e = txnc_begin(c->cache, &t)) != TKV_OK)
            return failed(c, "begin", e);
        for (int i = 1; i + 1 < n; i += 2)
            txnc_put(t, str(a[i]), str(a[i + 1]));
        return commit(c, t);
    }
    if (strcmp(op, "delete") == 0) {
        if (n < 2)
            return usage_error("%s", "usage: txn delete KEY [KEY ...]");
        if ((e = txnc_begin(c->cache, &t)) != TKV_OK)
            return failed(c, "begin", e);
        for (int i = 1; i < n; i++)
            txnc_delete(t, str(a[i]));
        return commit(c, t);
    }
    if (strcmp(op, "transfer") == 0) {
        uint64_t amount = 0;
        if (n != 4)
            return usage_error("%s", "usage: txn transfer FROM TO AMOUNT");
        if (parse_u64(a[3], &amount) != 0 || amount > INT64_MAX / 2)
            return usage_error("AMOUNT '%s' is not a whole number >= 0", a[3]);
        if (strcmp(a[1], a[2]) == 0)
            return usage_error("FROM and TO are the same key '%s'", a[1]);
        for (int i = 0; i < TRANSFER_RETRIES; i++) {
            int rc = transfer_once(c, a[1], a[2], (long long)amount);
            if (rc >= 0)
                return rc;
        }
        fprintf(stderr, "tinykv-ctl: gave up after %d write conflicts\n", TRANSFER_RETRIES);
        return 1;
    }
    return usage_error("unknown txn command '%s' (get, put, delete, scan or transfer)", op);
}

/* ---- cluster --------------------------------------------------------------------- */

static void print_peer(const Metapb__Peer *p)
{
    printf("%" PRIu64 "@%" PRIu64, p->id, p->store_id);
}

static int cmd_regions(ctl_t *c)
{
    adminc_region_t *r = NULL;
    size_t n = 0;
    tkv_err_t e = adminc_regions(c->cache, MAX_REGIONS, &r, &n);
    if (e != TKV_OK)
        return failed(c, "listing regions", e);
    printf("REGION\tSTART\tEND\tCONF_VER\tVERSION\tPEERS(peer@store)\tLEADER\n");
    for (size_t i = 0; i < n; i++) {
        const Metapb__Region *g = r[i].region;
        printf("%" PRIu64 "\t", g->id);
        print_quoted(g->start_key.data, g->start_key.len);
        putchar('\t');
        print_quoted(g->end_key.data, g->end_key.len);
        printf("\t%" PRIu64 "\t%" PRIu64 "\t", g->region_epoch ? g->region_epoch->conf_ver : 0,
               g->region_epoch ? g->region_epoch->version : 0);
        for (size_t k = 0; k < g->n_peers; k++) {
            if (k > 0)
                putchar(',');
            print_peer(g->peers[k]);
        }
        putchar('\t');
        if (r[i].leader != NULL && r[i].leader->id != 0)
            print_peer(r[i].leader);
        else
            printf("(unknown)");
        putchar('\n');
    }
    printf("(%zu region%s)\n", n, n == 1 ? "" : "s");
    adminc_regions_free(r, n);
    return 0;
}

static const char *state_name(Metapb__StoreState s)
{
    switch (s) {
    case METAPB__STORE_STATE__STORE_UP:
        return "up";
    case METAPB__STORE_STATE__STORE_OFFLINE:
        return "offline";
    case METAPB__STORE_STATE__STORE_TOMBSTONE:
        return "tombstone";
    default:
        return "?";
    }
}

static int cmd_stores(ctl_t *c)
{
    Schedulerpb__GetAllStoresResponse *s = NULL;
    tkv_err_t e = adminc_stores(c->cache, &s);
    if (e != TKV_OK)
        return failed(c, "listing stores", e);
    /* Replica and leader counts from the region list, when it can be had. */
    adminc_region_t *r = NULL;
    size_t nr = 0;
    int have_regions = adminc_regions(c->cache, MAX_REGIONS, &r, &nr) == TKV_OK;
    printf("STORE\tADDRESS\tSTATE\tREGIONS\tLEADERS\n");
    for (size_t i = 0; i < s->n_stores; i++) {
        const Metapb__Store *st = s->stores[i];
        size_t replicas = 0, leaders = 0;
        for (size_t k = 0; k < nr; k++) {
            for (size_t p = 0; p < r[k].region->n_peers; p++)
                replicas += r[k].region->peers[p]->store_id == st->id;
            leaders += r[k].leader != NULL && r[k].leader->store_id == st->id;
        }
        printf("%" PRIu64 "\t%s\t%s\t", st->id, st->address, state_name(st->state));
        if (have_regions)
            printf("%zu\t%zu\n", replicas, leaders);
        else
            printf("?\t?\n");
    }
    printf("(%zu store%s)\n", s->n_stores, s->n_stores == 1 ? "" : "s");
    adminc_regions_free(r, nr);
    pb_free(s);
    return 0;
}

static int cmd_cluster(ctl_t *c, int n, char **a)
{
    if (n < 1)
        return usage_error("%s", "cluster needs stores, regions, transfer-leader or split");
    const char *op = a[0];
    if (strcmp(op, "stores") == 0 || strcmp(op, "regions") == 0) {
        if (n != 1)
            return usage_error("usage: cluster %s", op);
        return op[0] == 's' ? cmd_stores(c) : cmd_regions(c);
    }
    if (strcmp(op, "transfer-leader") == 0) {
        uint64_t region = 0, store = 0;
        if (n != 3)
            return usage_error("%s", "usage: cluster transfer-leader REGION STORE");
        if (parse_u64(a[1], &region) != 0 || region == 0)
            return usage_error("REGION '%s' is not a region id", a[1]);
        if (parse_u64(a[2], &store) != 0 || store == 0)
            return usage_error("STORE '%s' is not a store id", a[2]);
        tkv_err_t e = adminc_transfer_leader(c->cache, region, store);
        if (e != TKV_OK)
            return failed(c, "transfer-leader", e);
        printf("OK: region %" PRIu64 " asked to move its leader to store %" PRIu64
               " (see cluster regions)\n",
               region, store);
        return 0;
    }
    if (strcmp(op, "split") == 0) {
        if (n != 2)
            return usage_error("%s", "usage: cluster split KEY");
        Metapb__Region *l = NULL, *r = NULL;
        tkv_err_t e = adminc_split(c->cache, str(a[1]), &l, &r);
        if (e != TKV_OK)
            return failed(c, "split", e);
        printf("OK: split at ");
        print_quoted((const uint8_t *)a[1], strlen(a[1]));
        if (l != NULL && r != NULL)
            printf(": region %" PRIu64 " and region %" PRIu64, l->id, r->id);
        putchar('\n');
        pb_free(l);
        pb_free(r);
        return 0;
    }
    return usage_error("unknown cluster command '%s' (stores, regions, transfer-leader, split)",
                       op);
}

static int run(ctl_t *c, int n, char **args)
{
    if (n == 0)
        return usage_error("%s", "no command given");
    const char *what = args[0];
    int is_raw = strcmp(what, "raw") == 0;
    if (!is_raw && strcmp(what, "txn") != 0 && strcmp(what, "cluster") != 0)
        return usage_error("unknown command '%s' (raw, txn or cluster)", what);
    if (!is_raw && c->sched == NULL)
        return usage_error("'%s' needs a cluster: give --scheduler HOST:PORT or set "
                           "TINYKV_SCHEDULER",
                           what);
    client_config_t cfg = client_config_default();
    cfg.timeout_ms = c->timeout_ms;
    tkv_err_t e = c->sched ? rcache_new(c->sched, &cfg, &c->cache)
                           : rcache_new_direct(c->addr, &cfg, &c->cache);
    if (e != TKV_OK) {
        fprintf(stderr, "tinykv-ctl: %s\n", tkv_last_error());
        return 2;
    }
    if (is_raw)
        return cmd_raw(c, n - 1, args + 1);
    if (what[0] == 't')
        return cmd_txn(c, n - 1, args + 1);
    return cmd_cluster(c, n - 1, args + 1);
}

static int check_addr(const char *v)
{
    char host[256];
    int port = 0;
    if (cli_split_addr(v, host, sizeof(host), &port) != 0)
        return usage_error("bad address '%s' (expected HOST:PORT)", v);
    return 0;
}

int main(int argc, char **argv)
{
    ctl_t c = { NULL, NULL, NULL, DEFAULT_TIMEOUT_MS, NULL };
    char **args = calloc((size_t)argc + 1, sizeof(*args));
    int n = 0, only_args = 0, rc = -1;
    for (int i = 1; i < argc && rc < 0; i++) {
        const char *v = NULL;
        if (only_args || argv[i][0] != '-' || argv[i][1] == '\0') {
            args[n++] = argv[i];
        } else if (strcmp(argv[i], "--") == 0) {
            only_args = 1; /* keys or values that start with '-' */
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            rc = 0;
        } else if (cli_is_flag(argv[i], "--addr") &&
                   (v = cli_flag_value(argc, argv, &i, "--addr"))) {
            c.addr = v;
        } else if (cli_is_flag(argv[i], "--scheduler") &&
                   (v = cli_flag_value(argc, argv, &i, "--scheduler"))) {
            c.sched = v;
        } else if (cli_is_flag(argv[i], "--cf") && (v = cli_flag_value(argc, argv, &i, "--cf"))) {
            c.cf = v;
        } else if (cli_is_flag(argv[i], "--timeout") &&
                   (v = cli_flag_value(argc, argv, &i, "--timeout"))) {
            char *end = NULL;
            long ms = strtol(v, &end, 10);
            if (*end != '\0' || end == v || ms <= 0 || ms > 3600000)
                rc = usage_error("--timeout '%s' is not a number of milliseconds", v);
            c.timeout_ms = (int)ms;
        } else {
            rc = usage_error("unknown or incomplete option '%s'", argv[i]);
        }
    }
    if (rc < 0 && c.addr != NULL && c.sched != NULL)
        rc = usage_error("%s", "--addr (one standalone server) and --scheduler (a cluster) "
                               "exclude each other");
    if (rc < 0 && c.addr == NULL && c.sched == NULL) {
        const char *env = getenv("TINYKV_SCHEDULER");
        if (env != NULL && env[0] != '\0')
            c.sched = env;
        else
            c.addr = DEFAULT_ADDR;
    }
    if (rc < 0 && c.sched != NULL && check_addr(c.sched) != 0)
        rc = 2;
    if (rc < 0 && c.addr != NULL && check_addr(c.addr) != 0)
        rc = 2;
    if (rc < 0)
        rc = run(&c, n, args);
    rcache_free(c.cache);
    free(args);
    return rc;
}
