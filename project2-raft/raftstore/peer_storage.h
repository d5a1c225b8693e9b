/*
 * Peer storage: one region's Raft log and state, on disk, seen by the Raft
 * core through its storage interface (project2-raft/raft/storage.h).
 *
 * What lives where (keys.h has the exact keys):
 *
 *   raft DB  the log entries, and RaftLocalState: the hard state and where
 *            the log ends (last index and term).
 *   kv DB    RaftApplyState: the last applied index and the truncated state
 *            (the log is gone up to and including truncated.index), and
 *            RegionLocalState: the region this peer belongs to. Both change
 *            in the same batch as the data they describe.
 *
 *   truncated.index      applied           last_index
 *        |  (dummy)  first |                   |
 *   .....[     ]-----[ entries in raft DB ..........]
 *
 * A new region starts with everything at RAFT_INIT_LOG_INDEX (keys.h): an
 * empty log whose dummy entry has index and term 5.
 *
 * The Raft core only reads (initial state, entries, term, first and last
 * index, snapshot). The peer writes, once per Ready, with
 * peer_storage_save_ready(): snapshot, entries and hard state together.
 *
 * The in-memory copies here are always what the disk holds: they change only
 * after a write succeeded, and a function whose write fails puts back what it
 * had changed (tests/faults/failed_write_test.c fails writes to check it). A
 * write that fails leaves the peer unusable (it must be reopened from disk),
 * as a real store would crash.
 *
 * Ownership: a peer storage borrows both engines (they must outlive it) and
 * is freed with peer_storage_free(). It owns its copy of the region.
 */
#ifndef TKV_RAFTSTORE_PEER_STORAGE_H
#define TKV_RAFTSTORE_PEER_STORAGE_H

#include "common/engine.h"
#include "project2-raft/raft/rawnode.h"
#include "project2-raft/raft/storage.h"
#include "proto/metapb.pb-c.h"
#include "proto/raft_serverpb.pb-c.h"

typedef struct peer_storage {
    eng_t *raft_db, *kv_db; /* borrowed */
    uint64_t region_id;
    Metapb__Region *region; /* owned; the region as last applied */
    int sync;               /* fsync every write (off in tests: a crash there is a close) */

    /* RaftLocalState (raft DB) */
    raft_hard_state_t hard_state;
    uint64_t last_index, last_term;
    /* RaftApplyState (kv DB) */
    uint64_t applied_index;
    uint64_t truncated_index, truncated_term;
    /* 2C: every entry below this index is deleted from the raft DB (0 after
     * opening: an interrupted GC may have left some). Log GC scans from
     * here, not from 0: leveldb keeps a deleted key as a tombstone until a
     * compaction, and a scan from 0 walks past every one earlier GCs left. */
    uint64_t gc_from;

    /* What happened, for tests and statistics. */
    uint64_t snapshots_generated, snapshots_applied;
} peer_storage_t;

/* Writes the state of a brand-new region (log empty at RAFT_INIT_LOG_INDEX)
 * into both databases. TKV_ERR_INVALID if the region already exists there. */
tkv_err_t peer_storage_bootstrap(eng_t *raft_db, eng_t *kv_db, const Metapb__Region *region);

/* Loads region `region_id` from the databases, repairing what a crash in
 * the middle of a snapshot or log GC can leave (see peer_storage.c).
 * TKV_ERR_NOT_FOUND if the region was never bootstrapped or received.
 * Caller frees *out with peer_storage_free(). */
tkv_err_t peer_storage_open(eng_t *raft_db, eng_t *kv_db, uint64_t region_id, int sync,
                            peer_storage_t **out);
void peer_storage_free(peer_storage_t *ps);

/* 3B: the storage of a peer created from a message, before its first
 * snapshot: a region with only its id (no peers, no range, epoch 0/0), an
 * empty log at index 0, nothing applied. A hard state left in the raft DB
 * by an earlier peer of the region here is kept (term and vote), its log
 * forgotten. Nothing is written. Caller frees *out with peer_storage_free(). */
tkv_err_t peer_storage_open_uninitialized(eng_t *raft_db, eng_t *kv_db, uint64_t region_id,
                                          int sync, peer_storage_t **out);

/* 3B: adds to the batches everything that makes the peer's storage
 * disappear: its log and raft state (raft_wb), its apply state (kv_wb).
 * The region state and the data are the caller's to decide. */
tkv_err_t peer_storage_clear_meta(peer_storage_t *ps, eng_batch_t *kv_wb, eng_batch_t *raft_wb);
/* 3B: deletes of every key in [start, end) (empty end: no end) of every
 * column family, added to kv_wb. */
tkv_err_t peer_storage_clear_range(eng_t *kv_db, tkv_slice_t start, tkv_slice_t end,
                                   eng_batch_t *kv_wb);

/* The Raft core's view of this storage, valid while `ps` lives. */
raft_storage_t peer_storage_as_raft_storage(peer_storage_t *ps);

uint64_t peer_storage_first_index(const peer_storage_t *ps);
/* Term of entry i, as the Raft core sees it (RAFT_ERR_COMPACTED before the
 * dummy entry, RAFT_ERR_UNAVAILABLE past the last one). */
tkv_err_t peer_storage_term(peer_storage_t *ps, uint64_t i, uint64_t *term);

/* ---- writing (the peer's side) ---------------------------------------- */

/* Adds entries (in index order, contiguous) to `raft_wb`: they replace any
 * stored entries at the same indexes, and stored entries past the new last
 * index are deleted (a new leader overwrote that tail). Updates last
 * index/term to be saved with the raft state. Entries at or before the
 * truncated index are skipped. */
tkv_err_t peer_storage_append(peer_storage_t *ps, const raft_entry_t *ents, size_t n,
                              eng_batch_t *raft_wb);

/* Persists what a Ready asks for: its snapshot (if any, with
 * peer_storage_apply_snapshot()), its entries and its hard state, the raft
 * DB part in ONE write batch, so a crash keeps all of it or none of it.
 * Sets *applied_snapshot when a snapshot was installed. */
tkv_err_t peer_storage_save_ready(peer_storage_t *ps, const raft_ready_t *rd,
                                  int *applied_snapshot);

/* Checks a snapshot received from another peer before the Raft core sees it
 * (peer_step() calls it on every MsgSnapshot): its data decodes as
 * RaftSnapshotData of region `region_id`, whose peers are the snapshot's
 * voters and whose apply state (if any) is at the snapshot's index, and
 * every pair is in a known column family and inside the region's range.
 * Once the core has taken a snapshot, an install that fails leaves the peer
 * broken; refused here, the peer stays well and the leader sends another.
 * TKV_ERR_CORRUPT with a message naming the snapshot and what is wrong.
 * Nothing about the data's meaning is checked (no checksum travels). */
tkv_err_t peer_storage_check_snapshot(uint64_t region_id, const raft_snapshot_t *snap);

/* Installs a snapshot received from the leader: the region's data in the kv
 * DB (none for an uninitialized peer, 3B) is replaced by the snapshot's, with the apply and region
 * state, in one kv write (done here, first); the old log is deleted and the raft state moved to the
 * snapshot in `raft_wb` (written by the caller). A snapshot older than what is applied is refused
 * with RAFT_ERR_COMPACTED. */
tkv_err_t peer_storage_apply_snapshot(peer_storage_t *ps, const raft_snapshot_t *snap,
                                      eng_batch_t *raft_wb);

/* Adds the apply state (applied index and truncated state as they are in
 * memory) to a kv batch. */
void peer_storage_put_apply_state(const peer_storage_t *ps, eng_batch_t *kv_wb);
/* Adds the region state (`state`, the current region) to a kv batch. */
void peer_storage_put_region_state(const peer_storage_t *ps, RaftServerpb__PeerState state,
                                   eng_batch_t *kv_wb);

/* Adds deletes of every stored entry with from <= index < to (UINT64_MAX: no
 * end) to `raft_wb`. */
tkv_err_t peer_storage_delete_log(peer_storage_t *ps, uint64_t from, uint64_t to,
                                  eng_batch_t *raft_wb);

/* Raft log GC (2C): deletes every stored entry of this region with index <=
 * `upto` from the raft DB (the apply state already says they are gone). */
tkv_err_t peer_storage_gc_log(peer_storage_t *ps, uint64_t upto);

/* Builds a snapshot of the region as applied now (what the leader sends to
 * a follower whose log it no longer has): data of every column family in the
 * region's range and the apply state, as raft_serverpb.RaftSnapshotData.
 * Caller frees *out with raft_snapshot_free(). */
tkv_err_t peer_storage_generate_snapshot(peer_storage_t *ps, raft_snapshot_t *out);

#endif
