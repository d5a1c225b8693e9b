/*
 * Helpers over the metapb types the store keeps around: copies of regions
 * and peer lookups. The generic message helpers (pb_dup, pb_pack, pb_free)
 * are in common/pb.h, which this header includes.
 *
 * Ownership: every pointer returned is a fresh unpacked tree the caller frees
 * with protobuf_c_message_free_unpacked(&msg->base, NULL).
 */
#ifndef TKV_RAFTSTORE_PB_UTIL_H
#define TKV_RAFTSTORE_PB_UTIL_H

#include <protobuf-c/protobuf-c.h>

#include "common/buf.h"
#include "common/pb.h"
#include "proto/metapb.pb-c.h"

Metapb__Region *pb_region_dup(const Metapb__Region *r);

/* The peer of `region` with this id, or on this store (borrowed); NULL if none. */
const Metapb__Peer *pb_region_find_peer(const Metapb__Region *region, uint64_t peer_id);
const Metapb__Peer *pb_region_peer_on_store(const Metapb__Region *region, uint64_t store_id);

#endif
