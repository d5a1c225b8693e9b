/*
 * Building the answers a peer gives to proposals (raft_cmdpb.RaftCmdResponse),
 * including the region errors that tell a client what to do next:
 *
 *   NotLeader       this peer cannot take the command; `leader` is a hint.
 *                   The command was NOT applied.
 *   StaleCommand    the command was overtaken (its log slot went to another
 *                   entry, or this peer lost leadership while it waited). The
 *                   outcome is unknown; the client must retry.
 *   RegionNotFound  this store has no peer of the region.
 *
 * Ownership: every function returns a malloc'd tree the receiver frees with
 * protobuf_c_message_free_unpacked(&resp->base, NULL).
 */
#ifndef TKV_RAFTSTORE_CMD_RESP_H
#define TKV_RAFTSTORE_CMD_RESP_H

#include <stdint.h>

#include "proto/errorpb.pb-c.h"
#include "proto/metapb.pb-c.h"
#include "proto/raft_cmdpb.pb-c.h"

/* An empty successful response, with a header and current_term. */
RaftCmdpb__RaftCmdResponse *cmd_resp_new(uint64_t term);
/* Appends a response slot of `type` (its sub-message allocated) and returns it. */
RaftCmdpb__Response *cmd_resp_add(RaftCmdpb__RaftCmdResponse *resp, RaftCmdpb__CmdType type);

/* Error responses. `leader` may be NULL (unknown); it is copied. */
RaftCmdpb__RaftCmdResponse *cmd_resp_not_leader(uint64_t region_id, const Metapb__Peer *leader,
                                                uint64_t term);
RaftCmdpb__RaftCmdResponse *cmd_resp_stale(uint64_t term, const char *why);
RaftCmdpb__RaftCmdResponse *cmd_resp_region_not_found(uint64_t region_id);
/* A plain error with a message and no specific region error. */
RaftCmdpb__RaftCmdResponse *cmd_resp_error(uint64_t term, const char *msg);

/* The region error of a response, or NULL (borrowed). */
const Errorpb__Error *cmd_resp_region_error(const RaftCmdpb__RaftCmdResponse *resp);

#endif
