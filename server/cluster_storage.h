/*
 * The Storage interface (project1-standalone/storage.h) on the server's
 * replicated store (frame code), so the raw API and the transactional API
 * run on a multi-region Raft store without knowing it.
 *
 * It does what project2-raft/raftstore/raft_storage.h does in the
 * simulator, for a store owned by another thread: a write becomes one
 * RaftCmdRequest of Put/Delete requests and a reader a Snap request, packed
 * and handed to the store loop (store_loop.h); the calling RPC handler
 * thread then waits on its own condition until the command's callback fires
 * on the store thread, at most `timeout_ms`. A command not answered in time
 * may still apply later: the caller gets ServerIsBusy and retries (writes
 * here are idempotent puts and deletes; the transaction layer's are
 * guarded by its own checks).
 *
 * Region errors. The command names the region of the request's Context
 * (region_id, region_epoch, peer, term), checked by the store (project
 * 3B's epoch and key-range checks: NotLeader with the leader's hint,
 * EpochNotMatch, KeyNotInRegion, RegionNotFound, StaleCommand). Without a
 * Context, the store's region holding the request's key. Whatever went
 * wrong is kept, per calling thread, as a region error for the handler to
 * put in its response: see cluster_call_t. A full mailbox or a timeout is
 * ServerIsBusy.
 *
 * Ownership: the loop is borrowed and must outlive the storage and every
 * reader. A cluster_call_t lives on the handler's stack around one call.
 */
#ifndef TKV_SERVER_CLUSTER_STORAGE_H
#define TKV_SERVER_CLUSTER_STORAGE_H

#include "project1-standalone/storage.h"
#include "proto/errorpb.pb-c.h"
#include "server/store_loop.h"

tkv_err_t cluster_storage_new(store_loop_t *loop, int timeout_ms, storage_t **out);

/* Proposes any command (the RaftCmd method: admin commands) and waits for
 * its answer, region error or not: TKV_OK with *out the caller's, or
 * TKV_ERR_TIMEOUT. */
tkv_err_t cluster_storage_command(storage_t *s, const RaftCmdpb__RaftCmdRequest *cmd,
                                  RaftCmdpb__RaftCmdResponse **out);

/* One RPC's view of the storage, on the handler's thread: what key routes
 * a request without a Context, and what came back. */
typedef struct {
    tkv_slice_t route_key;        /* in: borrowed for the call */
    Errorpb__Error *region_error; /* out: the first region error, owned */
    int have_region;              /* out: a reader was made; its region's range: */
    tkv_buf_t region_start, region_end;
} cluster_call_t;

/* Installs `c` as this thread's current call (NULL: none). Storage calls
 * without a current call route by an empty key and keep no error. */
void cluster_call_begin(cluster_call_t *c, tkv_slice_t route_key);
/* Uninstalls it and frees what it holds, except region_error when *keep
 * is given (then the caller owns it). */
void cluster_call_end(cluster_call_t *c, Errorpb__Error **keep);

/* A KeyNotInRegion error for `key` (for handlers whose scans start outside
 * the region they read). The caller owns it. */
Errorpb__Error *cluster_key_not_in_region(tkv_slice_t key, const tkv_buf_t *start,
                                          const tkv_buf_t *end);

#endif
