/*
 * Project 1's Storage interface (project1-standalone/storage.h) on a
 * replicated store: the raw API, and later the transactional API, run on a
 * Raft group without knowing it.
 *
 *   storage_write   becomes one RaftCmdRequest of Put/Delete requests,
 *                   proposed to the region's peer on this store and answered
 *                   once applied;
 *   storage_reader  proposes a Snap request: once it applies, everything
 *                   committed before it is in the kv DB, and the reader
 *                   reads a consistent engine snapshot taken at that point.
 *
 * The Storage calls are synchronous, but the store is a sans-IO state
 * machine that only moves when its driver feeds it. So a raft storage is
 * given a `wait` function by whoever drives the store (the simulator in
 * tests, the server's event loop): it must keep the world running until
 * *done becomes non-zero and return TKV_OK, or give up with TKV_ERR_TIMEOUT.
 *
 * Errors: a region error becomes an error code with its message —
 * NotLeader: TKV_ERR_NOT_LEADER (nothing was written; ask the leader named
 * in the message), StaleCommand: TKV_ERR_STALE (it may or may not have
 * applied: retry), RegionNotFound: TKV_ERR_NOT_FOUND — and the region error
 * itself is kept for raft_storage_region_error(), for servers that put it in
 * the response's region_error field.
 *
 * Ownership: the store is borrowed and must outlive the storage and every
 * reader; the caller frees the storage with storage_free(). start and stop
 * do nothing: the store's owner opens and closes it.
 */
#ifndef TKV_RAFTSTORE_RAFT_STORAGE_H
#define TKV_RAFTSTORE_RAFT_STORAGE_H

#include "project1-standalone/storage.h"
#include "project2-raft/raftstore/store.h"
#include "proto/errorpb.pb-c.h"

typedef tkv_err_t (*raft_storage_wait_fn)(void *arg, const int *done);

typedef struct {
    store_t *store; /* borrowed */
    raft_storage_wait_fn wait;
    void *wait_arg;
} raft_storage_config_t;

tkv_err_t raft_storage_new(const raft_storage_config_t *cfg, storage_t **out);

/* The region error of the last write or reader call that failed with one,
 * or NULL. Borrowed until the next call on this storage. */
const Errorpb__Error *raft_storage_region_error(storage_t *s);

#endif
