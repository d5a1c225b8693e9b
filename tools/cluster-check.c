/*
 * cluster-check: the replicated store as real processes, end to end.
 *
 *   cluster-check [--bin DIR] [--dir DIR] [--keep]
 *
 * Starts tinykv-scheduler and three tinykv-server stores on loopback ports
 * (a small --region-split-size, so regions split as keys go in), gives the
 * first region a replica on every store, writes keys through each key's
 * region leader and reads them back, provokes each region error (NotLeader
 * with the leader's hint, EpochNotMatch, KeyNotInRegion, RegionNotFound,
 * StoreNotMatch) and checks the response carries it, kill -9s the leader's store and goes
 * on writing and reading, restarts it on its data dir and sees it catch up
 * (leadership moves to it, which Raft allows only to an up-to-date peer, and
 * every key reads back through it). Exit status 0 when all of that held; 1
 * with what was expected and what was seen otherwise. CI runs it (`make
 * cluster-check`).
 *
 * Replicas: the scheduler may add replicas on its own (a replica checker);
 * where it does not, this program adds them as an operator would, with
 * RaftCmd ChangePeer on the region's leader and peer ids from AllocId.
 *
 * Routing: a tiny router, not the client library: ask the scheduler which
 * region holds the key and who leads it, call that store with the region
 * in the Context, follow NotLeader hints, ask again after any other region
 * error, until a deadline.
 *
 * Time: every wait polls a condition with a bound; a global alarm stops
 * the whole check (and every process it started) if something hangs.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/pb.h"
#include "common/rpc_client.h"
#include "proto/errorpb.pb-c.h"
#include "proto/schedulerpb.pb-c.h"
#include "proto/tinykvpb.pb-c.h"

#define STORES  3
#define KEYS    300
#define WAIT_MS 30000
#define TOTAL_S 240

typedef struct {
    pid_t pid;
    char data[512], out[512], err[512];
    char addr[64];
    uint64_t store_id;
    int up; /* answers calls (started here, or found with --replicate) */
} proc_t;

static char bin_dir[512] = "build/bin";
static char work_dir[400];
static proc_t sched;
static proc_t stores[STORES];
static char sched_addr[64];
static rpc_client_t *sched_client;
static rpc_client_t *store_clients[STORES];
static int n_stores = STORES; /* fewer with --replicate on a smaller cluster */

static void stop_all(void)
{
    for (int i = 0; i < STORES; i++)
        if (stores[i].pid > 0) {
            kill(stores[i].pid, SIGKILL);
            waitpid(stores[i].pid, NULL, 0);
            stores[i].pid = 0;
        }
    if (sched.pid > 0) {
        kill(sched.pid, SIGKILL);
        waitpid(sched.pid, NULL, 0);
        sched.pid = 0;
    }
}

static void show_tail(const char *path)
{
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "tail -n 15 '%s' 1>&2", path);
    if (system(cmd) != 0)
        fprintf(stderr, "(cannot show %s)\n", path);
}

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cluster-check: FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    for (int i = 0; i < STORES; i++)
        if (stores[i].err[0] != '\0') {
            fprintf(stderr, "--- store %d (%s) said:\n", i + 1, stores[i].err);
            show_tail(stores[i].err);
        }
    stop_all();
    exit(1);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "cluster-check: FAIL: the whole check took over its bound\n";
    if (write(2, msg, sizeof(msg) - 1) < 0) {
    }
    for (int i = 0; i < STORES; i++)
        if (stores[i].pid > 0)
            kill(stores[i].pid, SIGKILL);
    if (sched.pid > 0)
        kill(sched.pid, SIGKILL);
    _exit(1);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The pause between two looks at a condition. */
static void poll_pause(void)
{
    struct timespec ts = { 0, 50 * 1000000L };
    nanosleep(&ts, NULL);
}

/* The value after `prefix` in file `path`, up to `stop`, or "" (bounded poll). */
static int file_field(const char *path, const char *prefix, char stop, char *out, size_t size)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char line[1024];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        char *at = strstr(line, prefix);
        if (at == NULL)
            continue;
        at += strlen(prefix);
        size_t n = 0;
        while (at[n] != '\0' && at[n] != stop && at[n] != '\n' && n + 1 < size)
            n++;
        memcpy(out, at, n);
        out[n] = '\0';
        found = 1;
    }
    fclose(f);
    return found;
}

static void start_proc(proc_t *p, char *const argv[], const char *what)
{
    unlink(p->out); /* a restart must not read the last run's address */
    fflush(stdout); /* or the child prints our buffered lines again */
    fflush(stderr);
    p->pid = fork();
    if (p->pid < 0)
        die("cannot fork: %s", strerror(errno));
    if (p->pid == 0) {
        if (freopen(p->out, "w", stdout) == NULL || freopen(p->err, "a", stderr) == NULL)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    const char *prefix = ": listening on ";
    uint64_t until = now_ms() + WAIT_MS;
    while (!file_field(p->out, prefix, ',', p->addr, sizeof(p->addr))) {
        int status = 0;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0;
            show_tail(p->err);
            die("%s exited before it listened (status %d)", what, status);
        }
        if (now_ms() > until)
            die("%s did not listen within %d ms", what, WAIT_MS);
        poll_pause();
    }
}

static void start_scheduler(void)
{
    snprintf(sched.data, sizeof(sched.data), "%s/scheduler", work_dir);
    snprintf(sched.out, sizeof(sched.out), "%s/scheduler.out", work_dir);
    snprintf(sched.err, sizeof(sched.err), "%s/scheduler.log", work_dir);
    char prog[600];
    snprintf(prog, sizeof(prog), "%s/tinykv-scheduler", bin_dir);
    char *argv[] = { prog,          "--data-dir",  sched.data, "--addr",
                     "127.0.0.1:0", "--log-level", "warn",     NULL };
    start_proc(&sched, argv, "tinykv-scheduler");
    snprintf(sched_addr, sizeof(sched_addr), "%s", sched.addr);
    if (rpc_client_connect(sched_addr, 5000, &sched_client) != TKV_OK)
        die("cannot connect to the scheduler at %s: %s", sched_addr, tkv_last_error());
}

static void start_store(int i)
{
    proc_t *p = &stores[i];
    snprintf(p->data, sizeof(p->data), "%s/store%d", work_dir, i + 1);
    snprintf(p->out, sizeof(p->out), "%s/store%d.out", work_dir, i + 1);
    snprintf(p->err, sizeof(p->err), "%s/store%d.log", work_dir, i + 1);
    char prog[600], what[64];
    snprintf(prog, sizeof(prog), "%s/tinykv-server", bin_dir);
    snprintf(what, sizeof(what), "store %d", i + 1);
    char *argv[] = { prog,     "--scheduler", sched_addr,  "--data-dir", p->data,
                     "--addr", "127.0.0.1:0", "--tick-ms", "50",         "--region-split-size",
                     "16K",    "--log-level", "warn",      NULL };
    start_proc(p, argv, what);
    char id[32];
    if (!file_field(p->out, ": store ", ' ', id, sizeof(id)))
        die("%s did not say its store id", what);
    p->store_id = strtoull(id, NULL, 10);
    p->up = 1;
    rpc_client_close(store_clients[i]);
    store_clients[i] = NULL;
}

static void kill_store(int i)
{
    kill(stores[i].pid, SIGKILL);
    waitpid(stores[i].pid, NULL, 0);
    stores[i].pid = 0;
    stores[i].up = 0;
    rpc_client_close(store_clients[i]);
    store_clients[i] = NULL;
}

static int index_of_store(uint64_t store_id)
{
    for (int i = 0; i < STORES; i++)
        if (stores[i].store_id == store_id)
            return i;
    return -1;
}

/* ---- calls ---- */

static tkv_err_t sched_call(const char *method, const ProtobufCMessage *req,
                            ProtobufCMessage **resp)
{
    if (sched_client == NULL && rpc_client_connect(sched_addr, 5000, &sched_client) != TKV_OK)
        return TKV_ERR_NET;
    tkv_err_t e =
        rpc_client_call(sched_client, &schedulerpb__scheduler__descriptor, method, req, resp);
    if (e != TKV_OK && e != TKV_ERR_INVALID && e != TKV_ERR_IO) {
        rpc_client_close(sched_client);
        sched_client = NULL;
    }
    return e;
}

static tkv_err_t store_call(int i, const char *method, const ProtobufCMessage *req,
                            ProtobufCMessage **resp)
{
    *resp = NULL;
    if (i < 0 || !stores[i].up)
        return TKV_ERR_NET;
    if (store_clients[i] == NULL &&
        rpc_client_connect(stores[i].addr, 3000, &store_clients[i]) != TKV_OK)
        return TKV_ERR_NET;
    tkv_err_t e =
        rpc_client_call(store_clients[i], &tinykvpb__tiny_kv__descriptor, method, req, resp);
    if (e != TKV_OK && e != TKV_ERR_INVALID && e != TKV_ERR_IO) {
        rpc_client_close(store_clients[i]);
        store_clients[i] = NULL;
    }
    return e;
}

static Schedulerpb__GetRegionResponse *get_region(const char *key)
{
    Schedulerpb__GetRegionRequest req = SCHEDULERPB__GET_REGION_REQUEST__INIT;
    req.region_key.data = (uint8_t *)key;
    req.region_key.len = strlen(key);
    Schedulerpb__GetRegionResponse *resp = NULL;
    if (sched_call("GetRegion", &req.base, (ProtobufCMessage **)&resp) != TKV_OK)
        return NULL;
    if (resp->region == NULL) {
        pb_free(resp);
        return NULL;
    }
    return resp;
}

static uint64_t alloc_id(void)
{
    Schedulerpb__AllocIdRequest req = SCHEDULERPB__ALLOC_ID_REQUEST__INIT;
    Schedulerpb__AllocIdResponse *resp = NULL;
    if (sched_call("AllocId", &req.base, (ProtobufCMessage **)&resp) != TKV_OK)
        die("AllocId: %s", tkv_last_error());
    uint64_t id = resp->id;
    pb_free(resp);
    return id;
}

/* ---- the router ---- */

typedef struct {
    int put;
    const char *key, *value;
    char got[512];
    int found;
} op_t;

/* One try of `op` at store index `at` for `region`. Returns 1 done, 0 retry;
 * *hint is a store to try next (0: ask the scheduler). */
static int try_op(op_t *op, int at, const Metapb__Region *region, const Metapb__Peer *peer,
                  uint64_t *hint, char *why, size_t why_size)
{
    Kvrpcpb__Context ctx = KVRPCPB__CONTEXT__INIT;
    ctx.region_id = region->id;
    ctx.region_epoch = region->region_epoch;
    ctx.peer = (Metapb__Peer *)peer;
    const Errorpb__Error *re = NULL;
    ProtobufCMessage *resp = NULL;
    tkv_err_t e;
    int done = 0;
    *hint = 0;
    if (op->put) {
        Kvrpcpb__RawPutRequest req = KVRPCPB__RAW_PUT_REQUEST__INIT;
        req.context = &ctx;
        req.key.data = (uint8_t *)op->key;
        req.key.len = strlen(op->key);
        req.value.data = (uint8_t *)op->value;
        req.value.len = strlen(op->value);
        e = store_call(at, "RawPut", &req.base, &resp);
        if (e == TKV_OK) {
            Kvrpcpb__RawPutResponse *r = (void *)resp;
            re = r->region_error;
            if (re == NULL && r->error != NULL && r->error[0] != '\0')
                snprintf(why, why_size, "RawPut error: %s", r->error);
            else
                done = re == NULL;
        }
    } else {
        Kvrpcpb__RawGetRequest req = KVRPCPB__RAW_GET_REQUEST__INIT;
        req.context = &ctx;
        req.key.data = (uint8_t *)op->key;
        req.key.len = strlen(op->key);
        e = store_call(at, "RawGet", &req.base, &resp);
        if (e == TKV_OK) {
            Kvrpcpb__RawGetResponse *r = (void *)resp;
            re = r->region_error;
            if (re == NULL && r->error != NULL && r->error[0] != '\0') {
                snprintf(why, why_size, "RawGet error: %s", r->error);
            } else if (re == NULL) {
                op->found = !r->not_found;
                size_t n = r->value.len < sizeof(op->got) - 1 ? r->value.len : sizeof(op->got) - 1;
                memcpy(op->got, r->value.data, n);
                op->got[n] = '\0';
                done = 1;
            }
        }
    }
    if (e != TKV_OK)
        snprintf(why, why_size, "call to store %d: %s", at + 1, tkv_last_error());
    if (re != NULL) {
        snprintf(why, why_size, "region error from store %d: %s", at + 1,
                 re->message ? re->message : "(no message)");
        if (re->not_leader != NULL && re->not_leader->leader != NULL)
            *hint = re->not_leader->leader->store_id;
    }
    if (resp != NULL)
        pb_free(resp);
    return done;
}

static void run_op(op_t *op)
{
    uint64_t until = now_ms() + WAIT_MS;
    char why[600] = "no region known for the key";
    uint64_t hint = 0;
    while (now_ms() < until) {
        Schedulerpb__GetRegionResponse *g = get_region(op->key);
        if (g == NULL) {
            poll_pause();
            continue;
        }
        /* The scheduler's leader, or a hint from the last try, or each peer. */
        uint64_t target = hint ? hint : (g->leader ? g->leader->store_id : 0);
        for (size_t tries = 0; tries <= g->region->n_peers; tries++) {
            if (target == 0)
                target = g->region->peers[tries % g->region->n_peers]->store_id;
            const Metapb__Peer *peer = NULL;
            for (size_t i = 0; i < g->region->n_peers; i++)
                if (g->region->peers[i]->store_id == target)
                    peer = g->region->peers[i];
            if (peer != NULL &&
                try_op(op, index_of_store(target), g->region, peer, &hint, why, sizeof(why))) {
                pb_free(g);
                return;
            }
            if (hint == 0 || hint == target)
                break; /* ask the scheduler again */
            target = hint;
        }
        pb_free(g);
        poll_pause();
    }
    die("%s %s did not succeed within %d ms; last: %s", op->put ? "put" : "get", op->key, WAIT_MS,
        why);
}

static void key_of(int i, char *key, size_t size)
{
    snprintf(key, size, "key%05d", i);
}

static void value_of(int i, int round, char *v, size_t size)
{
    snprintf(v, size, "value-%05d-round-%d-%0200d", i, round, i);
}

static void put_keys(int from, int to, int round)
{
    for (int i = from; i < to; i++) {
        char k[32], v[300];
        key_of(i, k, sizeof(k));
        value_of(i, round, v, sizeof(v));
        op_t op = { 1, k, v, "", 0 };
        run_op(&op);
    }
}

static void check_keys(int from, int to, const int *rounds, const char *when)
{
    for (int i = from; i < to; i++) {
        char k[32], v[300];
        key_of(i, k, sizeof(k));
        value_of(i, rounds[i], v, sizeof(v));
        op_t op = { 0, k, NULL, "", 0 };
        run_op(&op);
        if (!op.found || strcmp(op.got, v) != 0)
            die("%s: %s should read back as written (round %d); it read %s", when, k, rounds[i],
                op.found ? op.got : "(not found)");
    }
}

/* ---- replicas ---- */

static int has_store(const Metapb__Region *r, uint64_t store_id)
{
    for (size_t i = 0; i < r->n_peers; i++)
        if (r->peers[i]->store_id == store_id)
            return 1;
    return 0;
}

/* Every store gets a replica of the first region. */
static void replicate(void)
{
    uint64_t until = now_ms() + WAIT_MS;
    for (;;) {
        Schedulerpb__GetRegionResponse *g = get_region("");
        int missing = -1;
        if (g != NULL)
            for (int i = 0; i < n_stores && missing < 0; i++)
                if (!has_store(g->region, stores[i].store_id))
                    missing = i;
        if (g != NULL && missing < 0) {
            pb_free(g);
            return;
        }
        if (now_ms() > until)
            die("the first region should have a replica on each of the %d stores within %d ms; "
                "the scheduler shows %zu",
                n_stores, WAIT_MS, g ? g->region->n_peers : 0);
        if (g != NULL && g->leader != NULL) {
            Metapb__Peer np = METAPB__PEER__INIT;
            np.id = alloc_id();
            np.store_id = stores[missing].store_id;
            RaftCmdpb__ChangePeerRequest cp = RAFT_CMDPB__CHANGE_PEER_REQUEST__INIT;
            cp.change_type = ERAFTPB__CONF_CHANGE_TYPE__ADD_NODE;
            cp.peer = &np;
            RaftCmdpb__AdminRequest admin = RAFT_CMDPB__ADMIN_REQUEST__INIT;
            admin.cmd_type = RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_CHANGE_PEER;
            admin.change_peer = &cp;
            RaftCmdpb__RaftRequestHeader h = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
            h.region_id = g->region->id;
            h.region_epoch = g->region->region_epoch;
            h.peer = g->leader;
            RaftCmdpb__RaftCmdRequest req = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
            req.header = &h;
            req.admin_request = &admin;
            ProtobufCMessage *resp = NULL;
            if (store_call(index_of_store(g->leader->store_id), "RaftCmd", &req.base, &resp) ==
                TKV_OK)
                pb_free(resp);
            /* Wait for the scheduler to see it (the leader's next heartbeat). */
            uint64_t seen = now_ms() + 3000;
            while (now_ms() < seen) {
                Schedulerpb__GetRegionResponse *g2 = get_region("");
                int added = g2 != NULL && has_store(g2->region, np.store_id);
                pb_free(g2);
                if (added)
                    break;
                poll_pause();
            }
        }
        pb_free(g);
        poll_pause();
    }
}

static int leader_store_of(const char *key)
{
    Schedulerpb__GetRegionResponse *g = get_region(key);
    int i = (g != NULL && g->leader != NULL) ? index_of_store(g->leader->store_id) : -1;
    pb_free(g);
    return i;
}

/* Moves the leadership of `key`'s region to store index `to`; polls the
 * region until a read through `to` is answered by it as leader. */
static void move_leader(const char *key, int to)
{
    uint64_t until = now_ms() + WAIT_MS;
    char why[600] = "";
    while (now_ms() < until) {
        Schedulerpb__GetRegionResponse *g = get_region(key);
        if (g == NULL || g->leader == NULL) {
            pb_free(g);
            poll_pause();
            continue;
        }
        const Metapb__Peer *target = NULL;
        for (size_t i = 0; i < g->region->n_peers; i++)
            if (g->region->peers[i]->store_id == stores[to].store_id)
                target = g->region->peers[i];
        if (target == NULL)
            die("the region of %s has no peer on store %d", key, to + 1);
        /* Is it the leader already? A read sent to it says. */
        op_t op = { 0, key, NULL, "", 0 };
        uint64_t hint = 0;
        if (try_op(&op, to, g->region, target, &hint, why, sizeof(why))) {
            pb_free(g);
            return;
        }
        RaftCmdpb__TransferLeaderRequest tl = RAFT_CMDPB__TRANSFER_LEADER_REQUEST__INIT;
        tl.peer = (Metapb__Peer *)target;
        RaftCmdpb__AdminRequest admin = RAFT_CMDPB__ADMIN_REQUEST__INIT;
        admin.cmd_type = RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_TRANSFER_LEADER;
        admin.transfer_leader = &tl;
        RaftCmdpb__RaftRequestHeader h = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
        h.region_id = g->region->id;
        h.region_epoch = g->region->region_epoch;
        h.peer = g->leader;
        RaftCmdpb__RaftCmdRequest req = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
        req.header = &h;
        req.admin_request = &admin;
        ProtobufCMessage *resp = NULL;
        if (store_call(index_of_store(hint ? hint : g->leader->store_id), "RaftCmd", &req.base,
                       &resp) == TKV_OK)
            pb_free(resp);
        pb_free(g);
        poll_pause();
    }
    die("leadership of the region of %s should move to the restarted store %d within %d ms "
        "(it must catch up first); last: %s",
        key, to + 1, WAIT_MS, why);
}

/* ---- region errors ---- */

typedef struct {
    uint64_t region_id;
    Metapb__RegionEpoch epoch;
    const Metapb__Peer *peer;
    int put;
    tkv_slice_t key;
} probe_t;

/* Sends one RawGet or RawPut to store index `at`; the caller frees the
 * returned region error (NULL: none came). */
static Errorpb__Error *probe(int at, const probe_t *p)
{
    Kvrpcpb__Context ctx = KVRPCPB__CONTEXT__INIT;
    ctx.region_id = p->region_id;
    Metapb__RegionEpoch ep = p->epoch;
    ctx.region_epoch = &ep;
    ctx.peer = (Metapb__Peer *)p->peer;
    ProtobufCMessage *resp = NULL;
    Errorpb__Error **re = NULL;
    tkv_err_t e;
    if (p->put) {
        Kvrpcpb__RawPutRequest req = KVRPCPB__RAW_PUT_REQUEST__INIT;
        req.context = &ctx;
        req.key.data = (uint8_t *)p->key.data;
        req.key.len = p->key.len;
        req.value.data = (uint8_t *)"x";
        req.value.len = 1;
        e = store_call(at, "RawPut", &req.base, &resp);
        if (e == TKV_OK)
            re = &((Kvrpcpb__RawPutResponse *)resp)->region_error;
    } else {
        Kvrpcpb__RawGetRequest req = KVRPCPB__RAW_GET_REQUEST__INIT;
        req.context = &ctx;
        req.key.data = (uint8_t *)p->key.data;
        req.key.len = p->key.len;
        e = store_call(at, "RawGet", &req.base, &resp);
        if (e == TKV_OK)
            re = &((Kvrpcpb__RawGetResponse *)resp)->region_error;
    }
    if (e != TKV_OK)
        die("a probe of store %d failed: %s", at + 1, tkv_last_error());
    Errorpb__Error *out = *re;
    *re = NULL;
    pb_free(resp);
    return out;
}

static const char *error_name(const Errorpb__Error *e)
{
    if (e == NULL)
        return "no region error";
    return e->not_leader          ? "NotLeader"
           : e->epoch_not_match   ? "EpochNotMatch"
           : e->key_not_in_region ? "KeyNotInRegion"
           : e->region_not_found  ? "RegionNotFound"
           : e->store_not_match   ? "StoreNotMatch"
           : e->server_is_busy    ? "ServerIsBusy"
           : e->stale_command     ? "StaleCommand"
                                  : "another region error";
}

static void expect_error(const char *what, Errorpb__Error *e, int ok)
{
    if (!ok)
        die("%s should be answered with its region error; the response had %s (%s)", what,
            error_name(e), e && e->message ? e->message : "");
    pb_free(e);
}

/* Each region error the server promises, provoked on purpose. */
static void check_region_errors(void)
{
    uint64_t until = now_ms() + WAIT_MS;
    Schedulerpb__GetRegionResponse *g = NULL;
    for (;;) {
        g = get_region("key00000");
        if (g != NULL && g->leader != NULL && g->region->n_peers >= 2 && g->region->end_key.len > 0)
            break;
        if (now_ms() > until)
            die("key00000's region should have a leader, 2+ peers and an end (it split) within "
                "%d ms",
                WAIT_MS);
        pb_free(g);
        poll_pause();
    }
    const Metapb__Region *r = g->region;
    int leader = index_of_store(g->leader->store_id);
    const Metapb__Peer *follower = NULL;
    for (size_t i = 0; i < r->n_peers; i++)
        if (r->peers[i]->store_id != g->leader->store_id)
            follower = r->peers[i];
    if (follower == NULL)
        die("key00000's region should have a follower; it has %zu peers", r->n_peers);
    probe_t p = { r->id, *r->region_epoch, g->leader, 0, slice_of((const uint8_t *)"key00000", 8) };

    /* NotLeader, with the leader's hint, from a follower. */
    probe_t pf = p;
    pf.peer = follower;
    Errorpb__Error *e = probe(index_of_store(follower->store_id), &pf);
    expect_error("a read sent to a follower", e,
                 e && e->not_leader && e->not_leader->leader &&
                     e->not_leader->leader->store_id == g->leader->store_id);
    /* EpochNotMatch for an epoch the region has left. */
    probe_t pe = p;
    pe.epoch.version += 100;
    pe.put = 1;
    e = probe(leader, &pe);
    expect_error("a write with a wrong epoch", e, e && e->epoch_not_match);
    /* KeyNotInRegion, for a write and for a read. */
    probe_t pk = p;
    pk.key = slice_of(r->end_key.data, r->end_key.len); /* the next region's first key */
    pk.put = 1;
    e = probe(leader, &pk);
    expect_error("a write of a key past the region's end", e, e && e->key_not_in_region);
    pk.put = 0;
    e = probe(leader, &pk);
    expect_error("a read of a key past the region's end", e, e && e->key_not_in_region);
    /* RegionNotFound for a region this store never had. */
    probe_t pn = p;
    pn.region_id = 999999999;
    e = probe(leader, &pn);
    expect_error("a read of an unknown region", e, e && e->region_not_found);
    /* StoreNotMatch for a peer of another store. */
    probe_t ps = p;
    ps.peer = follower;
    e = probe(leader, &ps);
    expect_error("a read naming another store's peer", e, e && e->store_not_match);
    pb_free(g);
}

static size_t count_regions(void)
{
    /* Walk the key space region by region through the scheduler. */
    size_t n = 0;
    char key[600] = "";
    for (;;) {
        Schedulerpb__GetRegionResponse *g = get_region(key);
        if (g == NULL)
            return n;
        n++;
        size_t len = g->region->end_key.len;
        if (len == 0 || len >= sizeof(key)) {
            pb_free(g);
            return n;
        }
        memcpy(key, g->region->end_key.data, len);
        key[len] = '\0';
        pb_free(g);
    }
}

/* --replicate: the stores of a running cluster, from the scheduler. */

static void find_stores(void)
{
    Schedulerpb__GetAllStoresRequest req = SCHEDULERPB__GET_ALL_STORES_REQUEST__INIT;
    req.exclude_tombstone_stores = 1;
    Schedulerpb__GetAllStoresResponse *resp = NULL;
    uint64_t until = now_ms() + WAIT_MS;
    while (sched_call("GetAllStores", &req.base, (ProtobufCMessage **)&resp) != TKV_OK) {
        if (now_ms() > until)
            die("the scheduler at %s does not answer GetAllStores", sched_addr);
        poll_pause();
    }
    n_stores = 0;
    for (size_t i = 0; i < resp->n_stores && n_stores < STORES; i++) {
        proc_t *p = &stores[n_stores++];
        p->store_id = resp->stores[i]->id;
        snprintf(p->addr, sizeof(p->addr), "%s", resp->stores[i]->address);
        p->up = 1;
    }
    pb_free(resp);
}

static const char usage[] =
    "usage: cluster-check [--bin DIR] [--dir DIR] [--keep]\n"
    "       cluster-check --replicate SCHEDULER_ADDR\n"
    "\n"
    "Starts tinykv-scheduler and 3 tinykv-server stores (from DIR, default\n"
    "build/bin) in a scratch directory (--dir; removed after a success unless\n"
    "--keep), and checks writes and reads through region leaders, the region\n"
    "errors, kill -9 of a leader's store, its restart and catch-up.\n"
    "\n"
    "--replicate: on a running cluster, gives the first region a replica on\n"
    "every store (at most 3) and checks a write and a read go through.\n"
    "\n"
    "exit status: 0 ok, 1 a check failed (what was expected and seen on\n"
    "stderr), 2 bad usage\n";

int main(int argc, char **argv)
{
    int keep = 0;
    const char *replicate_at = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bin") == 0 && i + 1 < argc)
            snprintf(bin_dir, sizeof(bin_dir), "%s", argv[++i]);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            snprintf(work_dir, sizeof(work_dir), "%.390s", argv[++i]);
        else if (strcmp(argv[i], "--keep") == 0)
            keep = 1;
        else if (strcmp(argv[i], "--replicate") == 0 && i + 1 < argc)
            replicate_at = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else {
            fprintf(stderr,
                    "cluster-check: unknown or incomplete option '%s'\n"
                    "(try cluster-check --help)\n",
                    argv[i]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    if (replicate_at != NULL) {
        /* A running cluster: every store (up to 3) gets a replica of the
         * first region, then a write and a read go through. */
        alarm(60);
        signal(SIGALRM, on_alarm);
        snprintf(sched_addr, sizeof(sched_addr), "%s", replicate_at);
        find_stores();
        replicate();
        op_t put = { 1, "__cluster_ready", "yes", "", 0 };
        run_op(&put);
        op_t get = { 0, "__cluster_ready", NULL, "", 0 };
        run_op(&get);
        if (!get.found || strcmp(get.got, "yes") != 0)
            die("__cluster_ready should read back as yes");
        printf("cluster-check: %d stores, the first region replicated on each, serving\n",
               n_stores);
        return 0;
    }
    if (work_dir[0] == '\0') {
        snprintf(work_dir, sizeof(work_dir), "/tmp/tinykv-cluster-check-XXXXXX");
        if (mkdtemp(work_dir) == NULL) {
            fprintf(stderr, "cluster-check: cannot make a scratch directory\n");
            return 1;
        }
    } else {
        mkdir(work_dir, 0755);
    }
    signal(SIGALRM, on_alarm);
    signal(SIGPIPE, SIG_IGN);
    alarm(TOTAL_S);
    uint64_t t0 = now_ms();

    start_scheduler();
    for (int i = 0; i < STORES; i++)
        start_store(i);
    printf("cluster-check: scheduler %s, stores", sched_addr);
    for (int i = 0; i < STORES; i++)
        printf(" %llu@%s", (unsigned long long)stores[i].store_id, stores[i].addr);
    printf("\n");

    replicate();
    printf("cluster-check: the first region has a replica on every store\n");

    static int rounds[KEYS];
    put_keys(0, KEYS / 2, 0);
    check_keys(0, KEYS / 2, rounds, "before any failure");
    size_t regions = count_regions();
    printf("cluster-check: %d keys written and read back; %zu regions\n", KEYS / 2, regions);
    check_region_errors();
    printf("cluster-check: NotLeader (with the leader), EpochNotMatch, KeyNotInRegion, "
           "RegionNotFound and StoreNotMatch come back as region errors\n");

    /* kill -9 the store leading the last key's region, and go on. */
    char probe[32];
    key_of(KEYS / 2 - 1, probe, sizeof(probe));
    int victim = leader_store_of(probe);
    if (victim < 0)
        victim = 0;
    kill_store(victim);
    printf("cluster-check: killed store %d (kill -9), the leader of %s's region\n", victim + 1,
           probe);
    put_keys(KEYS / 2, KEYS, 0);
    for (int i = 0; i < KEYS / 4; i++)
        rounds[i] = 1;
    put_keys(0, KEYS / 4, 1);
    check_keys(0, KEYS, rounds, "with a store down");
    printf("cluster-check: %d more writes and every key read back with store %d down\n",
           KEYS / 2 + KEYS / 4, victim + 1);

    start_store(victim);
    printf("cluster-check: restarted store %d on its data dir\n", victim + 1);
    move_leader(probe, victim);
    check_keys(0, KEYS, rounds, "after the restart");
    printf("cluster-check: store %d caught up: it leads %s's region again and every key reads "
           "back\n",
           victim + 1, probe);

    regions = count_regions();
    printf("cluster-check: ok (%zu regions, %.1f s)\n", regions, (double)(now_ms() - t0) / 1000.0);
    rpc_client_close(sched_client);
    for (int i = 0; i < STORES; i++)
        rpc_client_close(store_clients[i]);
    /* A clean stop: SIGTERM, and each process exits 0. */
    for (int i = 0; i < STORES; i++) {
        int status = 0;
        kill(stores[i].pid, SIGTERM);
        waitpid(stores[i].pid, &status, 0);
        stores[i].pid = 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            die("store %d should stop cleanly on SIGTERM (exit 0); status %d", i + 1, status);
    }
    stop_all();
    if (!keep) {
        char cmd[700];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cluster-check: could not remove %s\n", work_dir);
    }
    return 0;
}
