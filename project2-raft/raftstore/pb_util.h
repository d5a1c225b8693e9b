/*
 * Small protobuf-c helpers the store needs in many places: deep copies of
 * messages and of the metapb types it keeps around.
 *
 * Ownership: every pointer returned is a fresh unpacked tree the caller frees
 * with protobuf_c_message_free_unpacked(&msg->base, NULL).
 */
#ifndef TKV_RAFTSTORE_PB_UTIL_H
#define TKV_RAFTSTORE_PB_UTIL_H

#include <protobuf-c/protobuf-c.h>

#include "common/buf.h"
#include "proto/metapb.pb-c.h"

/* A deep copy of `msg` (pack, then unpack: protobuf-c has no copy). NULL only
 * when msg is NULL. */
ProtobufCMessage *pb_dup(const ProtobufCMessage *msg);
Metapb__Region *pb_region_dup(const Metapb__Region *r);

/* Packs `msg` into `out`, replacing what it held. */
void pb_pack(const ProtobufCMessage *msg, tkv_buf_t *out);

/* Frees a message tree, ignoring NULL. */
void pb_free(void *msg);

/* The peer of `region` with this id, or on this store (borrowed); NULL if none. */
const Metapb__Peer *pb_region_find_peer(const Metapb__Region *region, uint64_t peer_id);
const Metapb__Peer *pb_region_peer_on_store(const Metapb__Region *region, uint64_t store_id);

#endif
