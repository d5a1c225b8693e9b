/*
 * The region cache: where each key's region is, who leads it, and how to
 * reach its stores. It is the client library's routing table (frame code).
 *
 * The scheduler knows every region (GetRegion by key: the region and its
 * leader as last reported) and every store's address (GetStore). Asking it
 * for every request would make it the bottleneck, so the cache keeps what
 * it learned, sorted by start key, and is corrected by the stores
 * themselves: a NotLeader error names the new leader, an EpochNotMatch
 * carries the regions as they are now, and region_send.h turns those into
 * the update calls below. A store that cannot be reached is marked down:
 * routes then prefer another peer of the region, which answers NotLeader
 * with a hint if it does not lead, until the store answers again.
 *
 * A cache holds one connection per store (rpc_client.h) and one to the
 * scheduler, opened on first use and reopened after a failure.
 *
 * Direct mode (rcache_new_direct) routes every key to one standalone
 * tinykv-server: one region covering all keys, no scheduler, no TSO, and
 * no retry when the server cannot be reached (there is nowhere else to go).
 *
 * Threads: a cache and everything from it is used by one thread at a time
 * (its connections are blocking clients). Give each thread its own cache.
 *
 * Ownership: the caller owns the cache (rcache_free) and the config it
 * passed is copied. An rcache_loc_t filled by the cache is the caller's, to
 * free with rcache_loc_free(). Connections returned are borrowed until the
 * next call that may drop them (rcache_store_down, rcache_free).
 */
#ifndef TKV_CLIENT_REGION_CACHE_H
#define TKV_CLIENT_REGION_CACHE_H

#include <protobuf-c/protobuf-c.h>
#include <stdint.h>

#include "client/backoff.h"
#include "common/buf.h"
#include "common/rpc_client.h"
#include "proto/metapb.pb-c.h"

typedef struct rcache rcache_t;

/* A route: the region and the peer to ask. */
typedef struct {
    Metapb__Region *region; /* owned deep copy */
    uint64_t peer_id;       /* the peer to ask (the leader if known) */
    uint64_t store_id;      /* its store */
} rcache_loc_t;

/* Counters for tests and tools: what the cache asked the scheduler. */
typedef struct {
    uint64_t sched_get_region; /* GetRegion and GetRegionById calls */
    uint64_t sched_get_store;
    uint64_t sched_tso;
    uint64_t store_connects; /* connections opened to stores */
} rcache_stats_t;

/* A cache that learns from the scheduler at `sched_addr` ("host:port").
 * Connects lazily: an unreachable scheduler fails the first request. */
tkv_err_t rcache_new(const char *sched_addr, const client_config_t *cfg, rcache_t **out);
/* A cache that sends everything to one standalone server at `addr`. */
tkv_err_t rcache_new_direct(const char *addr, const client_config_t *cfg, rcache_t **out);
void rcache_free(rcache_t *c);

const client_config_t *rcache_config(const rcache_t *c);
int rcache_is_direct(const rcache_t *c);
rcache_stats_t rcache_stats(const rcache_t *c);

/* The route for `key`: from the cache, else from the scheduler (retried
 * within `bo` while the scheduler is unreachable or knows no region for
 * the key yet). On TKV_OK the caller frees *out with rcache_loc_free(). */
tkv_err_t rcache_locate(rcache_t *c, tkv_slice_t key, backoff_t *bo, rcache_loc_t *out);
/* The route of region `region_id`, always asked of the scheduler. */
tkv_err_t rcache_locate_id(rcache_t *c, uint64_t region_id, backoff_t *bo, rcache_loc_t *out);
void rcache_loc_free(rcache_loc_t *l);

/* ---- corrections (region_send.c calls these on region errors) -------------- */
/* Forgets region `region_id`: the next locate asks the scheduler. */
void rcache_invalidate(rcache_t *c, uint64_t region_id);
/* Records `r` (copied) with `leader` (may be NULL: keep a known leader if
 * the peer is still there, else the first peer), replacing every cached
 * region it overlaps. */
void rcache_insert(rcache_t *c, const Metapb__Region *r, const Metapb__Peer *leader);
/* Records that `leader` leads region `region_id` (ignored when not cached). */
void rcache_set_leader(rcache_t *c, uint64_t region_id, const Metapb__Peer *leader);

/* ---- stores ------------------------------------------------------------------ */
/* The connection to store `store_id`, opened (after GetStore for its
 * address) if needed. Borrowed. */
tkv_err_t rcache_store_conn(rcache_t *c, uint64_t store_id, rpc_client_t **out);
/* The store failed a call: closes its connection, forgets its address and
 * marks it down until a call to it succeeds again. */
void rcache_store_down(rcache_t *c, uint64_t store_id);
/* A call to the store succeeded: it is up. */
void rcache_store_up(rcache_t *c, uint64_t store_id);
int rcache_store_is_down(const rcache_t *c, uint64_t store_id);
/* Picks the peer of loc->region to ask: loc's own peer unless its store is
 * down, else the first peer on a store not down (loc's own if all are). */
void rcache_pick_peer(const rcache_t *c, rcache_loc_t *loc);

/* ---- the scheduler ------------------------------------------------------------- */
/* Calls `method` of the Scheduler service, reconnecting and retrying
 * within `bo` while it is unreachable. A refusal in the response header
 * (cluster not bootstrapped, unknown store, ...) is TKV_ERR_INVALID, or
 * TKV_ERR_NOT_FOUND for an unknown region or store, with the scheduler's
 * message, and *resp is NULL. The caller frees *resp with pb_free(). */
tkv_err_t rcache_sched_call(rcache_t *c, backoff_t *bo, const char *method,
                            const ProtobufCMessage *req, ProtobufCMessage **resp);
/* A timestamp from the scheduler's TSO as one uint64: (physical << 18) +
 * logical. TKV_ERR_INVALID in direct mode. */
tkv_err_t rcache_tso(rcache_t *c, uint64_t *ts);

#endif
