/*
 * The simulated network: encoded bytes between numbered endpoints, with
 * faults drawn from the simulator's PRNG.
 *
 * Endpoints are numbered 1..n: the cluster's nodes first, then its clients
 * (sim_node.h). sim_net_send() copies the bytes (the sender may free or reuse
 * its buffer at once; the receiver never sees the sender's memory, as over a
 * real wire) and schedules their delivery after a random delay. On the way a
 * message can meet every fault a test configures:
 *
 *   - random loss: a share drop_num/drop_den of all messages vanishes;
 *   - delay and reordering: each message takes delay_min..delay_max ms, and a
 *     share slow_num/slow_den takes up to slow_max_ms more, overtaking
 *     nothing but overtaken by later ones;
 *   - duplicates: a share dup_num/dup_den is delivered twice;
 *   - loss by kind: a classifier callback names each message's class (say,
 *     its Raft message type) and sim_net_drop_class() drops a share of a class;
 *   - partitions: endpoints in different groups cannot talk; checked when a
 *     message is sent and again when it would arrive, so a partition also
 *     cuts what is in flight. "External" endpoints (clients, by default)
 *     ignore partitions, as in TinyKV where clients reach every store;
 *   - filters: caller callbacks that see every message and may drop it;
 *   - down endpoints: a crashed node neither sends nor receives.
 *
 * How a test uses it (normally through the cluster, which owns the net):
 *
 *     sim_net_opts_t o = sim_net_opts_unreliable();      // or sim_net_opts_reliable()
 *     sim_net_set_opts(net, &o);
 *     int left[] = { 1, 2 }, right[] = { 3, 4, 5 };
 *     sim_net_partition2(net, left, 2, right, 3);
 *     sim_run_for(sim, 2000);
 *     sim_net_heal(net);
 *     sim_net_stats_t st = sim_net_stats(net);           // what actually happened
 *
 * Ownership: sim_net_new() returns a network the caller frees with sim_net_free().
 * Deliveries in flight are events on the sim_t that point at the network:
 * free the sim_t first (or never run it again) before sim_net_free(). Bytes
 * handed to callbacks are borrowed for the duration of the call.
 */
#ifndef TKV_TESTS_HARNESS_SIM_NET_H
#define TKV_TESTS_HARNESS_SIM_NET_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "tests/harness/sim.h"
#include "tests/harness/trace.h"

#define SIM_NET_MAX_CLASSES 32
#define SIM_NET_MAX_FILTERS 8

typedef struct sim_net sim_net_t;

/* Hands a message to endpoint `to`. */
typedef void (*sim_net_deliver_fn)(void *ctx, int from, int to, const uint8_t *bytes, size_t len);
/* Non-zero: drop this message. Called when it is sent. */
typedef int (*sim_net_filter_fn)(void *ctx, int from, int to, const uint8_t *bytes, size_t len);
/* The message's class, in [0, SIM_NET_MAX_CLASSES); anything else counts as 0.
 * Called once per sim_net_send(), before any fault is decided. */
typedef int (*sim_net_classify_fn)(void *ctx, int from, int to, const uint8_t *bytes, size_t len);

typedef struct {
    uint64_t delay_min_ms, delay_max_ms; /* every message, uniform, inclusive */
    uint32_t drop_num, drop_den;         /* random loss; den 0 means none */
    uint32_t dup_num, dup_den;           /* duplicates */
    uint32_t slow_num, slow_den;         /* extra delay, reordering messages */
    uint64_t slow_max_ms;
} sim_net_opts_t;

/* Delay 1..5 ms, no loss, no duplicates, no reordering beyond the delay. */
sim_net_opts_t sim_net_opts_reliable(void);
/* TinyKV's "unreliable": 10% loss, 1..5 ms plus a 10% chance of up to 30 ms
 * more, 1% duplicates. */
sim_net_opts_t sim_net_opts_unreliable(void);

typedef struct {
    uint64_t sent;              /* sim_net_send() calls */
    uint64_t delivered;         /* deliveries handed to a receiver (duplicates included) */
    uint64_t duplicated;        /* extra copies scheduled */
    uint64_t slowed;            /* messages given extra delay */
    uint64_t dropped_random;    /* random loss */
    uint64_t dropped_class;     /* sim_net_drop_class() */
    uint64_t dropped_filter;    /* a filter said so */
    uint64_t dropped_partition; /* sender and receiver in different groups */
    uint64_t dropped_down;      /* sender or receiver down */
    uint64_t bytes_sent;
} sim_net_stats_t;

/* A reliable network of `endpoints` endpoints (1..endpoints) on `sim`,
 * handing messages to deliver(ctx, ...). `sim` is borrowed. */
sim_net_t *sim_net_new(sim_t *sim, int endpoints, sim_net_deliver_fn deliver, void *ctx);
void sim_net_free(sim_net_t *net);

int sim_net_endpoints(const sim_net_t *net);
void sim_net_set_opts(sim_net_t *net, const sim_net_opts_t *opts);
sim_net_opts_t sim_net_get_opts(const sim_net_t *net);
/* Records sends, drops and deliveries in `tr` (borrowed; NULL: none). */
void sim_net_set_trace(sim_net_t *net, trace_t *tr);

/* Copies bytes[0..len) and sends them from `from` to `to`. TKV_ERR_INVALID
 * for an endpoint out of range; a lost message is not an error (as on a
 * real network, the sender cannot tell). */
tkv_err_t sim_net_send(sim_net_t *net, int from, int to, const void *bytes, size_t len);

/* ---- partitions ---------------------------------------------------------- */
/* groups[i] is the group of endpoint i+1 (n entries; the rest keep theirs). */
void sim_net_partition(sim_net_t *net, const int *groups, int n);
/* Two groups: endpoints in `a`, endpoints in `b`; others are unchanged. */
void sim_net_partition2(sim_net_t *net, const int *a, int na, const int *b, int nb);
/* Cuts `ep` off from every other non-external endpoint. */
void sim_net_isolate(sim_net_t *net, int ep);
/* Everyone in one group again. */
void sim_net_heal(sim_net_t *net);
/* External endpoints ignore partitions (clients are, by default). */
void sim_net_set_external(sim_net_t *net, int ep, int external);
/* Whether a message from `from` to `to` would pass the partition now. */
int sim_net_connected(const sim_net_t *net, int from, int to);

/* ---- endpoints up and down ----------------------------------------------- */
void sim_net_set_up(sim_net_t *net, int ep, int up);
int sim_net_is_up(const sim_net_t *net, int ep);

/* ---- loss by class, filters ---------------------------------------------- */
void sim_net_set_classifier(sim_net_t *net, sim_net_classify_fn fn, void *ctx);
/* Drops a share num/den of class `cls` (0/1 to stop). */
void sim_net_drop_class(sim_net_t *net, int cls, uint32_t num, uint32_t den);
/* Returns the filter's slot, or -1 when SIM_NET_MAX_FILTERS are in use. */
int sim_net_add_filter(sim_net_t *net, sim_net_filter_fn fn, void *ctx);
void sim_net_remove_filter(sim_net_t *net, int slot);
void sim_net_clear_filters(sim_net_t *net);
/* Sends per class, counted whether or not they were dropped. */
uint64_t sim_net_class_sent(const sim_net_t *net, int cls);

sim_net_stats_t sim_net_stats(const sim_net_t *net);

#endif
