/*
 * Small protobuf-c helpers that every layer needs: protobuf-c can pack,
 * unpack and free a message, but has no deep copy and no "pack into a
 * growable buffer".
 *
 * Ownership: pb_dup() returns a fresh unpacked tree the caller frees with
 * pb_free() (or protobuf_c_message_free_unpacked(msg, NULL)).
 */
#ifndef TKV_COMMON_PB_H
#define TKV_COMMON_PB_H

#include <protobuf-c/protobuf-c.h>

#include "common/buf.h"

/* A deep copy of `msg` (pack, then unpack). NULL only when msg is NULL. */
ProtobufCMessage *pb_dup(const ProtobufCMessage *msg);

/* Packs `msg` into `out`, replacing what it held. */
void pb_pack(const ProtobufCMessage *msg, tkv_buf_t *out);

/* Frees an unpacked message tree, ignoring NULL. */
void pb_free(void *msg);

#endif
