/*
 * The scheduler's picture of the regions: every region it has accepted a
 * heartbeat for, kept in a sorted array ordered by start key (for "which
 * region holds this key" and "which regions does this range overlap") and a
 * second array ordered by id (for "what do we know about region 7").
 *
 * Accepted regions never overlap each other: whoever inserts a region first
 * removes every region it overlaps (cluster_put_region() does). With that
 * invariant a binary search on start keys answers both key questions in
 * O(log n + overlaps).
 *
 * A region as the scheduler knows it is the last accepted heartbeat: region
 * meta, leader, pending peers and approximate size, which is exactly a
 * RegionHeartbeatRequest without its header, so that message is the type.
 *
 * Ownership: the tree owns the regions inserted into it and frees them in
 * rtree_free(); rtree_remove() hands a region back to the caller. Pointers
 * returned by lookups are borrowed until the region is removed.
 */
#ifndef TKV_SCHED_REGION_TREE_H
#define TKV_SCHED_REGION_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "proto/schedulerpb.pb-c.h"

typedef Schedulerpb__RegionHeartbeatRequest sched_region_t;

/* A deep copy of `hb` without its header (NULL if hb->region is NULL).
 * Caller frees with region_free(). */
sched_region_t *region_copy(const Schedulerpb__RegionHeartbeatRequest *hb);
void region_free(sched_region_t *r);

uint64_t region_id(const sched_region_t *r);
tkv_slice_t region_start(const sched_region_t *r);
tkv_slice_t region_end(const sched_region_t *r); /* empty: to the end of the key space */
uint64_t region_version(const sched_region_t *r);
uint64_t region_conf_ver(const sched_region_t *r);
/* The peer of `r` on `store_id`, or NULL. Borrowed from r. */
const Metapb__Peer *region_store_peer(const sched_region_t *r, uint64_t store_id);
/* True when `peer_id` is listed as pending (still catching up). */
int region_peer_is_pending(const sched_region_t *r, uint64_t peer_id);
/* The store of the leader, 0 when the leader is unknown. */
uint64_t region_leader_store(const sched_region_t *r);
/* True when `key` is in [start, end). */
int region_contains(const sched_region_t *r, tkv_slice_t key);

typedef struct region_tree region_tree_t;

region_tree_t *rtree_new(void);
/* Frees the tree and every region in it. */
void rtree_free(region_tree_t *t);
size_t rtree_count(const region_tree_t *t);
/* The i-th region in start-key order (i < rtree_count()). */
sched_region_t *rtree_at(const region_tree_t *t, size_t i);
sched_region_t *rtree_get(const region_tree_t *t, uint64_t id);
/* The region whose range holds `key`, or NULL if none does. */
sched_region_t *rtree_search(const region_tree_t *t, tkv_slice_t key);
/* Every region overlapping [start, end) (empty end: to the end), in key
 * order. Returns how many; *out is a malloc'd array of borrowed pointers
 * (caller frees the array, not the regions), NULL when there are none. */
size_t rtree_overlaps(const region_tree_t *t, tkv_slice_t start, tkv_slice_t end,
                      sched_region_t ***out);
/* Takes ownership of `r`. Its id and range must be free: remove what it
 * overlaps first. */
void rtree_insert(region_tree_t *t, sched_region_t *r);
/* Takes `r` out of the tree (it must be in it); the caller owns it again. */
void rtree_remove(region_tree_t *t, sched_region_t *r);

#endif
