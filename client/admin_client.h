/*
 * Looking at the cluster and asking it to change (frame code): what
 * `tinykv-ctl cluster ...` does.
 *
 * Regions and stores come from the scheduler. The scheduler has no call
 * that lists regions, so adminc_regions() walks the key space: GetRegion
 * of "", then of each region's end key, until a region ends at the end.
 *
 * Transfer-leader and split are admin commands of the region's Raft group.
 * The client sends them to the region's leader with the TinyKv method
 * RaftCmd (a raft_cmdpb.RaftCmdRequest whose header names the region, its
 * epoch and the leader, and whose admin_request is TransferLeader or
 * Split); the store proposes them as it does the admin commands it makes
 * itself. A split needs ids for the new region and its peers: the client
 * asks the scheduler (AskSplit) as a store's split checker would. A store
 * that does not serve RaftCmd answers UNKNOWN_METHOD: TKV_ERR_INVALID.
 *
 * Ownership: lists returned are the caller's (adminc_regions_free, pb_free).
 */
#ifndef TKV_CLIENT_ADMIN_CLIENT_H
#define TKV_CLIENT_ADMIN_CLIENT_H

#include "client/region_cache.h"
#include "proto/raft_cmdpb.pb-c.h"
#include "proto/schedulerpb.pb-c.h"

typedef struct {
    Metapb__Region *region; /* owned */
    Metapb__Peer *leader;   /* owned; NULL when the scheduler knows none */
} adminc_region_t;

/* Every region in key order. At most `max` (a guard against a scheduler
 * whose regions do not chain). */
tkv_err_t adminc_regions(rcache_t *c, size_t max, adminc_region_t **out, size_t *n);
void adminc_regions_free(adminc_region_t *r, size_t n);

/* GetAllStores (tombstones left out); the caller pb_free()s *out. */
tkv_err_t adminc_stores(rcache_t *c, Schedulerpb__GetAllStoresResponse **out);

/* Asks region `region_id`'s leader to hand leadership to its peer on
 * `store_id`. TKV_OK once the leader accepted the command; the handover
 * itself follows (watch `cluster regions`). */
tkv_err_t adminc_transfer_leader(rcache_t *c, uint64_t region_id, uint64_t store_id);

/* Splits the region holding `key` at `key`. On TKV_OK, *left and *right
 * (may be NULL) get the two regions as the store reports them (caller
 * pb_free()s). TKV_ERR_INVALID when key already starts a region. */
tkv_err_t adminc_split(rcache_t *c, tkv_slice_t key, Metapb__Region **left, Metapb__Region **right);

#endif
