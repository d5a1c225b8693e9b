/*
 * A Storage write batch (project1-standalone/storage.h) as the requests of
 * one RaftCmdRequest: every storage_t on a replicated store — raft_storage.c
 * in the simulator, server/cluster_storage.c in tinykv-server — turns its
 * modifies into Put and Delete requests this way before it proposes them.
 *
 * Ownership: the requests point into `mods` (borrowed: they must outlive the
 * command); modify_cmd_free() frees the arrays modify_cmd_build() made.
 */
#ifndef TKV_RAFTSTORE_MODIFY_CMD_H
#define TKV_RAFTSTORE_MODIFY_CMD_H

#include "project1-standalone/storage.h"
#include "proto/raft_cmdpb.pb-c.h"

typedef struct {
    RaftCmdpb__Request **requests; /* cmd.requests */
    size_t n_requests;             /* cmd.n_requests */
    RaftCmdpb__Request *reqs;
    RaftCmdpb__PutRequest *puts;
    RaftCmdpb__DeleteRequest *dels;
} modify_cmd_t;

/* TKV_ERR_INVALID, building nothing, if a modify names an unknown column
 * family; n == 0 builds an empty list. */
tkv_err_t modify_cmd_build(modify_cmd_t *m, const storage_modify_t *mods, size_t n);
void modify_cmd_free(modify_cmd_t *m);

#endif
