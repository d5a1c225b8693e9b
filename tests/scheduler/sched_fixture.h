/*
 * What the scheduler tests share: a cluster on a fresh leveldb database and a
 * virtual clock, and builders for the messages they feed it.
 *
 * Regions built here are malloc'd RegionHeartbeatRequests (sched_region_t),
 * freed with region_free(); the builders that change one change it in place.
 * Peer ids are region_id * 100 + store_id, so a peer's id says where it is.
 */
#ifndef TKV_TESTS_SCHEDULER_FIXTURE_H
#define TKV_TESTS_SCHEDULER_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/engine.h"
#include "project3-multiraft/scheduler/cluster.h"
#include "project3-multiraft/scheduler/id_alloc.h"

#define SFIX_MAX_STORES 32

typedef struct {
    char dir[256];
    tkv_vclock_t vc;
    eng_t *eng;
    sched_cluster_t *c;
    sched_id_alloc_t *ids;
    uint64_t next_region_id;       /* for regions the tests make up */
    int down[SFIX_MAX_STORES + 1]; /* stores the test has let go silent */
} sfix_t;

/* cmocka fixtures: a fresh cluster (max_replicas 3), clock at 1,000,000 ms. */
int sfix_setup(void **state);
int sfix_teardown(void **state);
/* Closes and reopens the cluster on the same database: a restart. */
void sfix_reopen(sfix_t *f);

/* A region [start, end) with one peer per store in stores[0..n), led by
 * stores[leader] (-1: no leader), at epoch (conf_ver, version), with the
 * given approximate size. Keys are NUL-terminated strings ("" = unbounded). */
sched_region_t *mk_region(uint64_t id, const char *start, const char *end, uint64_t conf_ver,
                          uint64_t version, const uint64_t *stores, size_t n, int leader,
                          uint64_t size);
/* Same with raw byte keys. */
sched_region_t *mk_region_bytes(uint64_t id, tkv_slice_t start, tkv_slice_t end, uint64_t conf_ver,
                                uint64_t version, const uint64_t *stores, size_t n, int leader,
                                uint64_t size);
void region_set_start(sched_region_t *r, tkv_slice_t key);
/* Marks the peer on `store_id` pending (store_id 0: no pending peers). */
void region_set_pending(sched_region_t *r, uint64_t store_id);
/* Keeps the first n peers (the leader must be among them). */
void region_keep_peers(sched_region_t *r, size_t n);
void region_set_leader(sched_region_t *r, size_t peer_index);

/* Registers store `id` (address "127.0.0.1:<20000+id>") and heartbeats it. */
void sfix_add_store(sfix_t *f, uint64_t id);
/* Heartbeats every store not marked down. */
void sfix_heartbeat_stores(sfix_t *f);
/* Lets store `id` go silent long enough to be down (the clock moves past
 * max_store_down_ms; every other store keeps sending heartbeats). */
void sfix_set_store_down(sfix_t *f, uint64_t id);
void sfix_set_store_state(sfix_t *f, uint64_t id, Metapb__StoreState state);

/* Asserts that the cluster holds a region equal to `want` (all fields). */
void check_region(const sched_region_t *got, const sched_region_t *want);
/* Asserts that the cluster holds exactly these regions, and that every
 * store's statistics are what these regions add up to. */
void check_regions(sfix_t *f, sched_region_t *const *want, size_t n);

/* An operator step's kind by name ("AddPeer", ...), for failure messages. */
const char *sfix_step_name(int kind);

#endif
