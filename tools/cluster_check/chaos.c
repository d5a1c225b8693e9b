/*
 * cluster-check's kill -9 checks under load: several clients write and read
 * while a store, the store leading the clients' region, and the scheduler
 * are each killed with SIGKILL and restarted on their data dirs. At the end
 * no acknowledged write may be missing and the whole history must be
 * linearizable by the project's checker (tests/harness/linearizability.h).
 *
 * The clients are threads, each with its own routing client (client/, one
 * region cache per thread), in a loop until told to stop:
 *
 *   put  chaos-sK (one of SHARED_KEYS keys), a value no one else writes
 *   get  chaos-sK
 *   put  chaos-cC-N (a key of its own, written once)
 *
 * Every operation is recorded with CLOCK_MONOTONIC microseconds taken just
 * before the call and just after the answer (history.h; the interval only
 * grows by the time to take the lock, which the checker tolerates: a wider
 * interval admits more orders, never fewer). Outcomes:
 *
 *   put  answered OK: acknowledged. Anything else (retries spent, timeout,
 *        store unreachable) is UNKNOWN: the write may have been proposed and
 *        may apply later, so it stays pending for the checker (it may take
 *        effect at any time after its call, or never).
 *   get  OK or not found: completed with what it read. Anything else has no
 *        effect and is marked failed.
 *
 * A known limit: the client library retries a put whose first try may
 * have reached a leader that died before answering. Both tries carry the
 * same value, so the put can take effect twice, around another client's
 * write; a reader that saw the first, then the other, then the second
 * would be reported as not linearizable. It takes a read in that window
 * and has not been seen; a report naming one put's value twice around
 * another's is that, not a lost write.
 *
 * Deterministic in what it asks (one seed, printed), not in timing: the
 * threads and the processes race as they do in production.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/raw_client.h"
#include "tests/harness/history.h"
#include "tests/harness/linearizability.h"
#include "tools/cluster_check/cc.h"

#define CLIENTS     4
#define SHARED_KEYS 5
#define OWN_MAX     4096 /* own keys per client at most */
#define PROGRESS    25   /* acknowledged ops per client that prove it serves */

typedef struct {
    int id;
    pthread_t thread;
    uint64_t rng;
    atomic_int ok; /* acknowledged or completed ops so far */
    int own_n;     /* own keys written: chaos-cC-0 .. own_n-1 */
    size_t own_op[OWN_MAX];
    char last_error[256]; /* what the last failure said */
} chaos_client_t;

static history_t *hist;
static pthread_mutex_t hist_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_int stop_clients;
static chaos_client_t clients[CLIENTS];
static atomic_int n_ok, n_unknown, n_failed;

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t record_call(int client, hist_kind_t kind, const char *key, const char *value)
{
    uint64_t t = now_us();
    pthread_mutex_lock(&hist_mu);
    size_t id = history_invoke_str(hist, client, kind, key, value, t);
    pthread_mutex_unlock(&hist_mu);
    return id;
}

static void record_done(size_t id, int found, const tkv_buf_t *v)
{
    uint64_t t = now_us();
    pthread_mutex_lock(&hist_mu);
    history_complete(hist, id, t, found, v ? v->data : NULL, v ? v->len : 0);
    pthread_mutex_unlock(&hist_mu);
}

static void record_failed(size_t id)
{
    uint64_t t = now_us();
    pthread_mutex_lock(&hist_mu);
    history_fail(hist, id, t);
    pthread_mutex_unlock(&hist_mu);
}

static void *client_main(void *arg)
{
    chaos_client_t *c = arg;
    client_config_t cfg = client_config_default();
    rcache_t *cache = NULL;
    if (rcache_new(sched_addr, &cfg, &cache) != TKV_OK) {
        snprintf(c->last_error, sizeof(c->last_error), "rcache_new: %s", tkv_last_error());
        return NULL;
    }
    for (int n = 0; !atomic_load(&stop_clients); n++) {
        char key[64], value[64];
        uint64_t r = next_rand(&c->rng) % 100;
        int own = r >= 85 && c->own_n < OWN_MAX;
        if (own)
            snprintf(key, sizeof(key), "chaos-c%d-%05d", c->id, c->own_n);
        else
            snprintf(key, sizeof(key), "chaos-s%d", (int)(next_rand(&c->rng) % SHARED_KEYS));
        snprintf(value, sizeof(value), "c%d-n%d", c->id, n);
        if (own || r < 45) {
            size_t id = record_call(c->id, HIST_PUT, key, value);
            if (own)
                c->own_op[c->own_n++] = id;
            tkv_err_t e = rawc_put(cache, "", slice_of_str(key), slice_of_str(value));
            if (e == TKV_OK) {
                record_done(id, 0, NULL);
                atomic_fetch_add(&c->ok, 1);
                atomic_fetch_add(&n_ok, 1);
            } else {
                /* Unknown: left pending in the history. */
                snprintf(c->last_error, sizeof(c->last_error), "put %s: %s", key, tkv_last_error());
                atomic_fetch_add(&n_unknown, 1);
            }
        } else {
            size_t id = record_call(c->id, HIST_GET, key, NULL);
            tkv_buf_t v = TKV_BUF_INIT;
            tkv_err_t e = rawc_get(cache, "", slice_of_str(key), &v);
            if (e == TKV_OK || e == TKV_ERR_NOT_FOUND) {
                record_done(id, e == TKV_OK, &v);
                atomic_fetch_add(&c->ok, 1);
                atomic_fetch_add(&n_ok, 1);
            } else {
                snprintf(c->last_error, sizeof(c->last_error), "get %s: %s", key, tkv_last_error());
                record_failed(id);
                atomic_fetch_add(&n_failed, 1);
            }
            buf_free(&v);
        }
    }
    rcache_free(cache);
    return NULL;
}

/* Bounded poll: every client has PROGRESS more acknowledged ops than at
 * `mark`, which proves the cluster serves all of them again. */
static void wait_progress(const char *after)
{
    int mark[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        mark[i] = atomic_load(&clients[i].ok);
    uint64_t until = now_ms() + WAIT_MS;
    for (;;) {
        int slow = -1;
        for (int i = 0; i < CLIENTS && slow < 0; i++)
            if (atomic_load(&clients[i].ok) < mark[i] + PROGRESS)
                slow = i;
        if (slow < 0)
            return;
        if (now_ms() > until)
            die("%s: every client should get %d more operations acknowledged within %d ms; "
                "client %d got %d (its last failure: %s)",
                after, PROGRESS, WAIT_MS, slow, atomic_load(&clients[slow].ok) - mark[slow],
                clients[slow].last_error[0] ? clients[slow].last_error : "none");
        poll_pause();
    }
}

/* The final value of every key, read after the clients stopped, is part of
 * the history (client CLIENTS) and must show every acknowledged write. */
static void read_back(void)
{
    int reader = CLIENTS;
    for (int k = 0; k < SHARED_KEYS; k++) {
        char key[32];
        snprintf(key, sizeof(key), "chaos-s%d", k);
        size_t id = record_call(reader, HIST_GET, key, NULL);
        op_t op = { 0, key, NULL, "", 0 };
        run_op(&op);
        tkv_buf_t v = TKV_BUF_INIT;
        buf_set(&v, op.got, strlen(op.got));
        record_done(id, op.found, &v);
        buf_free(&v);
        /* An acknowledged put that began after the put whose value is read
         * ended was overwritten by an older one: it is lost. */
        const hist_op_t *src = NULL;
        for (size_t i = 0; op.found && i < history_len(hist); i++) {
            const hist_op_t *h = history_op(hist, i);
            if (h->kind == HIST_PUT && h->value.len == strlen(op.got) &&
                memcmp(h->value.data, op.got, h->value.len) == 0 &&
                memcmp(h->key.data, key, h->key.len) == 0 && h->key.len == strlen(key))
                src = h;
        }
        if (op.found && src == NULL)
            die("%s reads back as %s, a value no client wrote to it", key, op.got);
        for (size_t i = 0; i < history_len(hist); i++) {
            const hist_op_t *h = history_op(hist, i);
            if (h->kind != HIST_PUT || h->status != HIST_OK || h->key.len != strlen(key) ||
                memcmp(h->key.data, key, h->key.len) != 0)
                continue;
            if (src == NULL)
                die("acknowledged write lost: %s was put (#%zu, acknowledged) but reads back as "
                    "not found",
                    key, h->id);
            if (src->ret != HIST_NEVER && h->call > src->ret)
                die("acknowledged write lost: %s reads back as %s (#%zu, done at %llu us), but "
                    "#%zu put %.*s later (called at %llu us) and was acknowledged",
                    key, op.got, src->id, (unsigned long long)src->ret, h->id, (int)h->value.len,
                    (char *)h->value.data, (unsigned long long)h->call);
        }
    }
    for (int c = 0; c < CLIENTS; c++)
        for (int n = 0; n < clients[c].own_n; n++) {
            const hist_op_t *put = history_op(hist, clients[c].own_op[n]);
            char key[64], value[64];
            snprintf(key, sizeof(key), "%.*s", (int)put->key.len, (char *)put->key.data);
            snprintf(value, sizeof(value), "%.*s", (int)put->value.len, (char *)put->value.data);
            int acked = put->status == HIST_OK;
            size_t id = record_call(reader, HIST_GET, key, NULL);
            op_t op = { 0, key, NULL, "", 0 };
            run_op(&op);
            tkv_buf_t v = TKV_BUF_INIT;
            buf_set(&v, op.got, strlen(op.got));
            record_done(id, op.found, &v);
            buf_free(&v);
            if (acked && (!op.found || strcmp(op.got, value) != 0))
                die("acknowledged write lost: %s was put as %s and acknowledged; it reads %s", key,
                    value, op.found ? op.got : "(not found)");
            if (op.found && strcmp(op.got, value) != 0)
                die("%s should read as %s (its only write) or be absent; it reads %s", key, value,
                    op.got);
        }
}

/* The store index leading `key`'s region, bounded poll (-1: none in time). */
static int leader_of(const char *key)
{
    uint64_t until = now_ms() + WAIT_MS;
    for (;;) {
        int i = leader_store_of(key);
        if (i >= 0 && stores[i].up)
            return i;
        if (now_ms() > until)
            die("the region of %s should have a leader the scheduler knows within %d ms", key,
                WAIT_MS);
        poll_pause();
    }
}

void check_chaos(uint64_t seed)
{
    uint64_t t0 = now_ms();
    hist = history_new();
    atomic_store(&stop_clients, 0);
    for (int i = 0; i < CLIENTS; i++) {
        clients[i].id = i;
        clients[i].rng = seed * 2654435761u + (uint64_t)i * 40503u + 1;
        if (pthread_create(&clients[i].thread, NULL, client_main, &clients[i]) != 0)
            die("cannot start client thread %d", i);
    }
    printf("cluster-check: chaos: %d clients writing and reading (seed %llu; --seed to replay)\n",
           CLIENTS, (unsigned long long)seed);
    wait_progress("with every process up");

    /* (a) a store that does not lead the clients' region. */
    int lead = leader_of("chaos-s0");
    int victim = (lead + 1) % STORES;
    kill_store(victim);
    printf("cluster-check: chaos: killed store %d (kill -9, a follower of chaos-s0's region)\n",
           victim + 1);
    wait_progress("with a follower store killed");
    start_store(victim);
    wait_progress("after the follower store's restart");

    /* (b) the store leading the clients' region. */
    lead = leader_of("chaos-s0");
    kill_store(lead);
    printf("cluster-check: chaos: killed store %d (kill -9, the leader of chaos-s0's region)\n",
           lead + 1);
    wait_progress("with the leader's store killed (a new leader must be elected)");
    start_store(lead);
    wait_progress("after the leader's store restarted");

    /* (c) the scheduler: the clients' caches and the stores go on. */
    kill_scheduler();
    printf("cluster-check: chaos: killed the scheduler (kill -9)\n");
    wait_progress("with the scheduler killed");
    start_scheduler(sched_addr);
    wait_progress("after the scheduler restarted on its data dir");

    atomic_store(&stop_clients, 1);
    for (int i = 0; i < CLIENTS; i++)
        pthread_join(clients[i].thread, NULL);
    read_back();

    tkv_buf_t why = TKV_BUF_INIT;
    lin_verdict_t v = lin_check(hist, NULL, &why);
    if (v != LIN_OK)
        die("the history of %zu operations should be linearizable; the checker says %s:\n%.*s",
            history_len(hist), lin_verdict_name(v), (int)why.len, (char *)why.data);
    buf_free(&why);
    printf("cluster-check: chaos: %zu operations (%d acknowledged, %d puts unknown, %d gets "
           "failed), no acknowledged write lost, linearizable (%.1f s)\n",
           history_len(hist), atomic_load(&n_ok), atomic_load(&n_unknown), atomic_load(&n_failed),
           (double)(now_ms() - t0) / 1000.0);
    history_free(hist);
    hist = NULL;
}
