/*
 * The cluster as the scheduler knows it: the stores (who they are, when they
 * last sent a heartbeat, how many regions and bytes they hold) and the
 * regions (region_tree.h), kept in memory and in a leveldb database so a
 * restarted scheduler starts where it stopped.
 *
 * What the scheduler knows comes only from heartbeats. A store heartbeat
 * says "I am alive" and carries its statistics; a region heartbeat, sent by a
 * region's leader, says what the region looks like now. Heartbeats arrive
 * late and out of order, so a region heartbeat is accepted only if its epoch
 * is not older than what is known (cluster_process_region_heartbeat(), the
 * student part of project 3C, in region_heartbeat.c).
 *
 * Time comes from the clock passed to cluster_open(): never the system clock,
 * so tests run on a virtual one.
 *
 * Not thread-safe: the service (service.h) holds a mutex around every call.
 *
 * Ownership: cluster_open() borrows `eng` and `clock` (both must outlive the
 * cluster) and returns a cluster freed with cluster_free(). Stores and
 * regions returned by lookups are borrowed until the next call that changes
 * the cluster. Messages passed in are copied.
 */
#ifndef TKV_SCHED_CLUSTER_H
#define TKV_SCHED_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/engine.h"
#include "common/err.h"
#include "project3-multiraft/scheduler/region_tree.h"
#include "proto/metapb.pb-c.h"
#include "proto/schedulerpb.pb-c.h"

typedef struct {
    /* A store that sent no heartbeat for this long is down: it gets no new
     * regions and gives none away. TinyKV's default is 30 minutes. */
    uint64_t max_store_down_ms;
    /* Replicas per region; Bootstrap's metapb.Cluster.max_peer_count, when
     * given, overrides it. */
    uint32_t max_replicas;
} sched_config_t;

/* max_store_down_ms 30 min, max_replicas 3. */
sched_config_t sched_config_default(void);

typedef struct {
    Metapb__Store *meta;            /* owned; id, address, state */
    Schedulerpb__StoreStats *stats; /* owned; last heartbeat's statistics, NULL before one */
    uint64_t last_heartbeat_ms;     /* on the cluster's clock */
    /* Counted from the accepted regions, kept up to date on every accepted
     * region heartbeat. */
    uint64_t region_count;
    uint64_t region_size; /* sum of approximate sizes of the regions with a peer here */
    uint64_t leader_count;
    uint64_t leader_size;
    uint64_t pending_peer_count;
} sched_store_t;

typedef struct sched_cluster sched_cluster_t;

/* Opens the cluster stored in `eng` (an empty database is a fresh, not yet
 * bootstrapped cluster). Loaded stores count as heard from now: a restart
 * must not declare every store down at once. */
tkv_err_t cluster_open(eng_t *eng, const tkv_clock_t *clock, const sched_config_t *cfg,
                       sched_cluster_t **out);
void cluster_free(sched_cluster_t *c);

const sched_config_t *cluster_config(const sched_cluster_t *c);
/* Changes the replica count (tests use it as TinyKV's SetMaxReplicas). */
void cluster_set_max_replicas(sched_cluster_t *c, uint32_t n);
uint64_t cluster_now_ms(const sched_cluster_t *c);

/* ---- bootstrap ----------------------------------------------------------- */

int cluster_is_bootstrapped(const sched_cluster_t *c);
/* The cluster id (0 before bootstrap). */
uint64_t cluster_id(const sched_cluster_t *c);
/* Records the cluster, its first store and first region, atomically.
 * TKV_ERR_INVALID if already bootstrapped or the input is incomplete. */
tkv_err_t cluster_bootstrap(sched_cluster_t *c, uint64_t id, const Metapb__Store *store,
                            const Metapb__Region *region);

/* ---- stores -------------------------------------------------------------- */

/* Adds or updates a store's meta (persisted). A new id at the address of
 * another store that is up replaces that store: it becomes offline in the
 * same write (one address is one process; a store restarted with a wiped
 * data dir asks for a new id), and its replicas get rebuilt elsewhere.
 * TKV_ERR_INVALID for id 0; TKV_ERR_STALE for reviving a tombstone. */
tkv_err_t cluster_put_store(sched_cluster_t *c, const Metapb__Store *store);
/* Records a store heartbeat: the time and the statistics.
 * TKV_ERR_NOT_FOUND for an unknown store, TKV_ERR_STALE for a tombstone. */
tkv_err_t cluster_store_heartbeat(sched_cluster_t *c, const Schedulerpb__StoreStats *stats);
sched_store_t *cluster_get_store(const sched_cluster_t *c, uint64_t id);
size_t cluster_store_count(const sched_cluster_t *c);
/* The i-th store in id order. */
sched_store_t *cluster_store_at(const sched_cluster_t *c, size_t i);
/* Down: no heartbeat for max_store_down_ms. */
int cluster_store_is_down(const sched_cluster_t *c, const sched_store_t *s);
/* Suitable for balancing: up (not offline, not tombstone) and not down. */
int cluster_store_is_suitable(const sched_cluster_t *c, const sched_store_t *s);

/* ---- regions ------------------------------------------------------------- */

sched_region_t *cluster_get_region(const sched_cluster_t *c, uint64_t id);
/* The region holding `key`, or NULL. */
sched_region_t *cluster_search_region(const sched_cluster_t *c, tkv_slice_t key);
size_t cluster_region_count(const sched_cluster_t *c);
/* The i-th region in key order. */
sched_region_t *cluster_region_at(const sched_cluster_t *c, size_t i);
/* The regions overlapping [start, end), as rtree_overlaps(): caller frees
 * the array. */
size_t cluster_overlaps(const sched_cluster_t *c, tkv_slice_t start, tkv_slice_t end,
                        sched_region_t ***out);

/* Makes `hb` the known state of its region without any check: removes the
 * region with the same id and every region overlapping its range, inserts a
 * copy of `hb`, updates the store statistics, and persists it all in one
 * atomic batch. If the write fails nothing changes. */
tkv_err_t cluster_put_region(sched_cluster_t *c, const Schedulerpb__RegionHeartbeatRequest *hb);

/* Handles a region heartbeat: TKV_ERR_STALE (and no change, in memory or on
 * disk) when its epoch is older than what is known, otherwise records it
 * with cluster_put_region(). TKV_ERR_INVALID for a heartbeat without region
 * or epoch. Student code: region_heartbeat.c. */
tkv_err_t cluster_process_region_heartbeat(sched_cluster_t *c,
                                           const Schedulerpb__RegionHeartbeatRequest *hb);

#endif
