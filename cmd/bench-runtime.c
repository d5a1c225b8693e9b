/*
 * bench-runtime: how fast the runtime's parts move messages, before any
 * store sits on them.
 *
 * - The batch system (runtime/batch_system.h): sender threads put messages
 *   round-robin into the mailboxes of M FSMs served by N pollers; handle()
 *   only counts. It measures the cost of the mailboxes, the ready queue and
 *   the rounds, the floor under what a store on the runtime can do.
 * - The transport (runtime/transport.h): one thread sends Raft messages of
 *   a given size from one transport to another on loopback, retrying when
 *   the queue is full, until all have arrived. It measures encoding,
 *   batching, framing and the kernel's loopback. The largest size is over
 *   batch_bytes, so it goes in pieces, as a snapshot does.
 *
 * One machine-readable line per figure:
 *     bench-runtime part=batch_system pollers=2 fsms=10000 metric=msgs_per_sec value=123
 *     bench-runtime part=transport msg_bytes=128 metric=mb_per_sec value=45.6
 *
 *     build/bin/bench-runtime [--msgs N]   (messages per batch-system figure,
 *                                           default 2000000; the transport
 *                                           sends N/4 small ones)
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/cli.h"
#include "runtime/batch_system.h"
#include "runtime/transport.h"

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void pause_briefly(void)
{
    struct timespec ts = { 0, 100 * 1000 };
    nanosleep(&ts, NULL);
}

/* ---- the batch system ----------------------------------------------------------- */

static atomic_uint_fast64_t bs_delivered;
static int bs_token; /* every message is a pointer to this: nothing to free */

static void b_handle(void *pctx, void *fsm, uint64_t id, void **msgs, size_t n, uint32_t ticks)
{
    (void)pctx;
    (void)fsm;
    (void)id;
    (void)msgs;
    (void)ticks;
    atomic_fetch_add_explicit(&bs_delivered, n, memory_order_relaxed);
}

static void b_end(void *pctx, const bs_batch_t *b)
{
    (void)pctx;
    (void)b;
}

static void b_free_msg(void *m)
{
    (void)m;
}

static const bs_ops_t bench_ops = { NULL, NULL, b_handle, NULL, b_end, b_free_msg, NULL };

typedef struct {
    bs_system_t *s;
    size_t fsms;
    uint64_t count;
    uint64_t first;
    uint64_t retries;
} bsender_t;

static void *bs_sender(void *arg)
{
    bsender_t *b = arg;
    for (uint64_t i = 0; i < b->count; i++) {
        uint64_t id = (b->first + i) % b->fsms + 1;
        while (bs_send(b->s, id, &bs_token) == TKV_ERR_BUSY) {
            b->retries++;
            sched_yield();
        }
    }
    return NULL;
}

static int bench_batch_system(int pollers, size_t fsms, uint64_t msgs)
{
    enum { SENDERS = 2 };
    bs_config_t cfg;
    bs_config_default(&cfg);
    cfg.n_pollers = pollers;
    bs_system_t *s = NULL;
    if (bs_system_new(&cfg, &bench_ops, NULL, NULL, &s) != TKV_OK) {
        fprintf(stderr, "bench-runtime: %s\n", tkv_last_error());
        return 1;
    }
    for (size_t i = 1; i <= fsms; i++)
        bs_register(s, i, NULL);
    atomic_store(&bs_delivered, 0);
    bs_system_start(s);
    uint64_t t0 = now_ns();
    bsender_t sd[SENDERS];
    pthread_t th[SENDERS];
    for (int i = 0; i < SENDERS; i++) {
        sd[i] = (bsender_t){ s, fsms, msgs / SENDERS, (uint64_t)i * 7919, 0 };
        pthread_create(&th[i], NULL, bs_sender, &sd[i]);
    }
    for (int i = 0; i < SENDERS; i++)
        pthread_join(th[i], NULL);
    uint64_t want = (msgs / SENDERS) * SENDERS;
    while (atomic_load(&bs_delivered) < want)
        pause_briefly();
    uint64_t t1 = now_ns();
    bs_system_shutdown(s);
    bs_stats_t st;
    bs_stats(s, &st);
    double secs = (double)(t1 - t0) / 1e9;
    printf("bench-runtime part=batch_system pollers=%d fsms=%zu metric=msgs_per_sec value=%.0f\n",
           pollers, fsms, (double)want / secs);
    printf("bench-runtime part=batch_system pollers=%d fsms=%zu metric=fsms_per_round "
           "value=%.1f\n",
           pollers, fsms, st.rounds ? (double)st.handled / (double)st.rounds : 0.0);
    printf("bench-runtime part=batch_system pollers=%d fsms=%zu metric=msgs_per_turn value=%.1f\n",
           pollers, fsms, st.handled ? (double)st.msgs / (double)st.handled : 0.0);
    fflush(stdout);
    bs_system_free(s);
    return 0;
}

/* ---- the transport ---------------------------------------------------------------- */

static char peer_addr[64];
static atomic_uint_fast64_t tr_delivered;

static tkv_err_t t_resolve(void *arg, uint64_t store, char *addr, size_t size)
{
    (void)arg;
    if (store != 2)
        return tkv_errorf(TKV_ERR_NOT_FOUND, "no store %llu", (unsigned long long)store);
    snprintf(addr, size, "%s", peer_addr);
    return TKV_OK;
}

static void t_deliver(void *arg, RaftServerpb__RaftMessage *m)
{
    (void)arg;
    raft_serverpb__raft_message__free_unpacked(m, NULL);
    atomic_fetch_add_explicit(&tr_delivered, 1, memory_order_relaxed);
}

static int bench_transport(size_t msg_bytes, uint64_t msgs)
{
    transport_config_t cfg;
    transport_config_default(&cfg);
    cfg.resolve = t_resolve;
    cfg.deliver = t_deliver;
    transport_t *a = NULL, *b = NULL;
    if (transport_new(&cfg, &a) != TKV_OK || transport_new(&cfg, &b) != TKV_OK ||
        transport_listen(b, "127.0.0.1", 0) != TKV_OK) {
        fprintf(stderr, "bench-runtime: %s\n", tkv_last_error());
        transport_free(a);
        transport_free(b);
        return 1;
    }
    cli_format_addr("127.0.0.1", transport_port(b), peer_addr, sizeof(peer_addr));
    transport_start(a);
    transport_start(b);
    atomic_store(&tr_delivered, 0);
    uint8_t *pad = xcalloc(1, msg_bytes ? msg_bytes : 1);
    RaftServerpb__RaftMessage m = RAFT_SERVERPB__RAFT_MESSAGE__INIT;
    m.start_key.data = pad;
    m.start_key.len = msg_bytes;
    uint64_t t0 = now_ns(), retries = 0;
    for (uint64_t i = 0; i < msgs; i++) {
        m.region_id = i + 1;
        while (transport_send(a, 2, &m) == TKV_ERR_BUSY) {
            retries++;
            pause_briefly();
        }
    }
    while (atomic_load(&tr_delivered) < msgs)
        pause_briefly();
    uint64_t t1 = now_ns();
    transport_stats_t st;
    transport_stats(a, &st);
    double secs = (double)(t1 - t0) / 1e9;
    printf("bench-runtime part=transport msg_bytes=%zu metric=msgs_per_sec value=%.0f\n", msg_bytes,
           (double)msgs / secs);
    printf("bench-runtime part=transport msg_bytes=%zu metric=frames_per_sec value=%.0f\n",
           msg_bytes, (double)st.sent_frames / secs);
    printf("bench-runtime part=transport msg_bytes=%zu metric=mb_per_sec value=%.1f\n", msg_bytes,
           (double)st.sent_bytes / secs / 1e6);
    printf("bench-runtime part=transport msg_bytes=%zu metric=full_queue_retries value=%llu\n",
           msg_bytes, (unsigned long long)retries);
    fflush(stdout);
    free(pad);
    transport_free(a);
    transport_free(b);
    return 0;
}

static const char usage[] =
    "usage: bench-runtime [--msgs N]\n"
    "\n"
    "Measures the runtime's parts before any store sits on them: messages per\n"
    "second through the batch system (1 and 2 pollers, 100 and 10000 FSMs), and\n"
    "megabytes per second through the Raft transport on loopback (128 B, 4 KB\n"
    "and 4 MB messages). One line per figure, for example\n"
    "  bench-runtime part=batch_system pollers=2 fsms=10000 metric=msgs_per_sec value=123\n"
    "\n"
    "  --msgs N   messages per batch-system figure (default 2000000, >= 100); the\n"
    "             transport sends N/4 small ones\n"
    "  --help     this text\n"
    "\n"
    "Exit status: 0 when every figure was measured, 1 when a run failed, 2 on\n"
    "bad usage.\n";

int main(int argc, char **argv)
{
    uint64_t msgs = 2000000;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if (cli_is_flag(argv[i], "--msgs")) {
            if ((v = cli_flag_value(argc, argv, &i, "--msgs")) == NULL)
                return cli_usage_error("bench-runtime", "--msgs needs a number");
            if (cli_parse_u64(v, 100, UINT64_MAX / 2, &msgs) != 0)
                return cli_usage_error("bench-runtime", "--msgs wants a number >= 100, not '%s'",
                                       v);
        } else {
            return cli_usage_error("bench-runtime", "unknown argument '%s'", argv[i]);
        }
    }
    int pollers[] = { 1, 2 };
    size_t fsms[] = { 100, 10000 };
    for (size_t p = 0; p < 2; p++) {
        for (size_t f = 0; f < 2; f++) {
            if (bench_batch_system(pollers[p], fsms[f], msgs) != 0)
                return 1;
        }
    }
    if (bench_transport(128, msgs / 4) != 0 || bench_transport(4096, msgs / 16) != 0 ||
        bench_transport(4u << 20, msgs / 50000 + 8) != 0)
        return 1;
    return 0;
}
