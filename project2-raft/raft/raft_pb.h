/*
 * Converting the Raft core's plain structs (raft_types.h) to and from the
 * eraftpb protobuf messages (common/proto/eraftpb.proto), and to and from
 * bytes: how they cross the network and land on disk.
 *
 * Ownership:
 *  - raft_pb_*_to_pb() returns a malloc'd protobuf-c tree the caller frees
 *    with the generated eraftpb__*__free_unpacked(pb, NULL) (every part of it
 *    is malloc'd, as unpacking would have done).
 *  - raft_pb_*_from_pb() fills a plain struct with copies; free it with the
 *    matching raft_*_free(). The protobuf-c input stays the caller's.
 *  - raft_pb_encode_*() returns malloc'd bytes (caller frees with free()).
 *  - raft_pb_decode_*() fails with TKV_ERR_CORRUPT on bytes that do not parse.
 */
#ifndef TKV_RAFT_PB_H
#define TKV_RAFT_PB_H

#include "common/err.h"
#include "project2-raft/raft/raft_types.h"
#include "proto/eraftpb.pb-c.h"

Eraftpb__Entry *raft_pb_entry_to_pb(const raft_entry_t *e);
void raft_pb_entry_from_pb(const Eraftpb__Entry *pb, raft_entry_t *out);
Eraftpb__Snapshot *raft_pb_snapshot_to_pb(const raft_snapshot_t *s);
void raft_pb_snapshot_from_pb(const Eraftpb__Snapshot *pb, raft_snapshot_t *out);
Eraftpb__Message *raft_pb_message_to_pb(const raft_message_t *m);
void raft_pb_message_from_pb(const Eraftpb__Message *pb, raft_message_t *out);
Eraftpb__HardState *raft_pb_hard_state_to_pb(const raft_hard_state_t *hs);
void raft_pb_hard_state_from_pb(const Eraftpb__HardState *pb, raft_hard_state_t *out);
Eraftpb__ConfState *raft_pb_conf_state_to_pb(const raft_conf_state_t *cs);
void raft_pb_conf_state_from_pb(const Eraftpb__ConfState *pb, raft_conf_state_t *out);
Eraftpb__ConfChange *raft_pb_conf_change_to_pb(const raft_conf_change_t *cc);
void raft_pb_conf_change_from_pb(const Eraftpb__ConfChange *pb, raft_conf_change_t *out);

tkv_err_t raft_pb_encode_message(const raft_message_t *m, uint8_t **out, size_t *len);
tkv_err_t raft_pb_decode_message(const uint8_t *data, size_t len, raft_message_t *out);
tkv_err_t raft_pb_encode_entry(const raft_entry_t *e, uint8_t **out, size_t *len);
tkv_err_t raft_pb_decode_entry(const uint8_t *data, size_t len, raft_entry_t *out);
tkv_err_t raft_pb_encode_hard_state(const raft_hard_state_t *hs, uint8_t **out, size_t *len);
tkv_err_t raft_pb_decode_hard_state(const uint8_t *data, size_t len, raft_hard_state_t *out);
tkv_err_t raft_pb_encode_snapshot(const raft_snapshot_t *s, uint8_t **out, size_t *len);
tkv_err_t raft_pb_decode_snapshot(const uint8_t *data, size_t len, raft_snapshot_t *out);
tkv_err_t raft_pb_encode_conf_change(const raft_conf_change_t *cc, uint8_t **out, size_t *len);
tkv_err_t raft_pb_decode_conf_change(const uint8_t *data, size_t len, raft_conf_change_t *out);
/* ConfChangeV2 (project3x); decoding fills *out (free: raft_conf_change_v2_free()). */
tkv_err_t raft_pb_encode_conf_change_v2(const raft_conf_change_v2_t *cc, uint8_t **out,
                                        size_t *len);
tkv_err_t raft_pb_decode_conf_change_v2(const uint8_t *data, size_t len,
                                        raft_conf_change_v2_t *out);

#endif
