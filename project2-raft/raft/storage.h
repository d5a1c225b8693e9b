/*
 * The storage interface the Raft core reads its stable log from, and the
 * in-memory implementation used by tests and examples.
 *
 * Raft never writes to storage: the application persists what a Ready hands
 * it (entries, hard state, snapshot) and then calls rawnode_advance(). Raft
 * only reads, through these six operations. The log in storage starts with a
 * dummy entry at the last compacted index: its term stays known (needed to
 * check the entry after it) but its data is gone.
 *
 * Errors the core understands:
 *   RAFT_ERR_COMPACTED    the index is at or before the dummy entry (use a snapshot)
 *   RAFT_ERR_UNAVAILABLE  the index is past the last entry
 *   RAFT_ERR_SNAP_BUSY    a snapshot is being made; try again later
 */
#ifndef TKV_RAFT_STORAGE_H
#define TKV_RAFT_STORAGE_H

#include "common/err.h"
#include "project2-raft/raft/raft_types.h"

#define RAFT_ERR_COMPACTED   TKV_ERR_STALE
#define RAFT_ERR_UNAVAILABLE TKV_ERR_NOT_FOUND
#define RAFT_ERR_SNAP_BUSY   TKV_ERR_BUSY

typedef struct {
    /* The hard state and conf state saved last; *cs is filled with an owned
     * node list the caller frees with raft_conf_state_free(). */
    tkv_err_t (*initial_state)(void *self, raft_hard_state_t *hs, raft_conf_state_t *cs);
    /* Entries [lo, hi): the longest run from lo whose total raft_entry_size()
     * is at most max_size, but at least one entry when lo < hi (UINT64_MAX:
     * no limit). RAFT_ERR_COMPACTED when lo is at or before the snapshot
     * index, RAFT_ERR_UNAVAILABLE when hi is past the last index + 1. *out
     * is a malloc'd array the caller frees with raft_entries_free(). */
    tkv_err_t (*entries)(void *self, uint64_t lo, uint64_t hi, uint64_t max_size,
                         raft_entry_t **out, size_t *n);
    /* Term of entry i; valid for the dummy entry too. */
    tkv_err_t (*term)(void *self, uint64_t i, uint64_t *term);
    tkv_err_t (*first_index)(void *self, uint64_t *index);
    tkv_err_t (*last_index)(void *self, uint64_t *index);
    /* The most recent snapshot; *out is owned by the caller (raft_snapshot_free). */
    tkv_err_t (*snapshot)(void *self, raft_snapshot_t *out);
} raft_storage_ops_t;

/* A storage is an ops table and the object it works on (borrowed by Raft). */
typedef struct {
    const raft_storage_ops_t *ops;
    void *self;
} raft_storage_t;

/* ---- memory storage ------------------------------------------------------------ */

typedef struct mem_storage mem_storage_t;

/* A fresh storage holding only the dummy entry (index 0, term 0). Caller
 * frees with mem_storage_free(). */
mem_storage_t *mem_storage_new(void);
void mem_storage_free(mem_storage_t *ms);
/* The interface view of `ms`, valid while `ms` lives. */
raft_storage_t mem_storage_as_storage(mem_storage_t *ms);

void mem_storage_set_hard_state(mem_storage_t *ms, const raft_hard_state_t *hs);
/* Replaces the conf state reported by initial_state (copied). */
void mem_storage_set_conf_state(mem_storage_t *ms, const raft_conf_state_t *cs);
/* Appends copies of ents, first dropping any stored entries at or after
 * ents[0].index (a new leader overwrote them). Entries at or before the
 * compacted index are skipped. Fails when ents would leave a gap. */
tkv_err_t mem_storage_append(mem_storage_t *ms, const raft_entry_t *ents, size_t n);
/* Drops entries up to and including `index`; it becomes the dummy entry. */
tkv_err_t mem_storage_compact(mem_storage_t *ms, uint64_t index);
/* Records a snapshot at `index` (which must be stored) with a copy of
 * cs and data; it is what snapshot() returns from now on. */
tkv_err_t mem_storage_create_snapshot(mem_storage_t *ms, uint64_t index,
                                      const raft_conf_state_t *cs, const void *data, size_t len);
/* Replaces the whole log with a snapshot received from a leader (copied).
 * Fails with RAFT_ERR_COMPACTED when it is older than the current one. */
tkv_err_t mem_storage_apply_snapshot(mem_storage_t *ms, const raft_snapshot_t *snap);
/* Makes snapshot() fail with RAFT_ERR_SNAP_BUSY `times` times (tests). */
void mem_storage_set_snapshot_busy(mem_storage_t *ms, int times);

#endif
