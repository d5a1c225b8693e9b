/*
 * Where the scheduler keeps its state in its leveldb database.
 *
 * Everything is a raw key under the prefix "S/" (a byte below 'a', the
 * engine's convention for metadata):
 *
 *   S/cluster             metapb.Cluster      written once, by Bootstrap
 *   S/store/<id, 8B BE>   metapb.Store        one per store
 *   S/region/<id, 8B BE>  RegionHeartbeatRequest without header: the last
 *                         accepted heartbeat of that region
 *   S/tso                 Timestamp           the TSO's saved upper bound
 *   S/alloc_id            AllocIdResponse     the id allocator's saved end
 *
 * Big-endian ids keep a prefix scan in id order.
 */
#ifndef TKV_SCHED_KEYS_H
#define TKV_SCHED_KEYS_H

#include <stdint.h>

#include "common/buf.h"

#define SCHED_KEY_CLUSTER       "S/cluster"
#define SCHED_KEY_STORE_PREFIX  "S/store/"
#define SCHED_KEY_REGION_PREFIX "S/region/"
#define SCHED_KEY_TSO           "S/tso"
#define SCHED_KEY_ALLOC_ID      "S/alloc_id"

/* Fills `out` (replacing its content) with prefix + big-endian id. */
void sched_key_with_id(tkv_buf_t *out, const char *prefix, uint64_t id);

#endif
