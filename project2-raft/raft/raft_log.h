/*
 * The Raft log as one node sees it: entries already in storage (stable),
 * entries received or proposed but not yet persisted (unstable), and the
 * commit and apply positions.
 *
 *     storage (stable)            unstable
 *   [dummy| 1 ... stabled]  [offset ......... last]
 *                  applied <= committed <= last
 *
 * A snapshot received from the leader but not yet persisted also lives here
 * (`pending`): it replaces everything before it, so while it is pending the
 * first index is pending.index + 1.
 *
 * The log copies what it is given and hands out copies: every raft_entry_t
 * array it returns is owned by the caller (raft_entries_free()).
 */
#ifndef TKV_RAFT_LOG_H
#define TKV_RAFT_LOG_H

#include "project2-raft/raft/storage.h"

typedef struct {
    raft_storage_t storage; /* borrowed; holds the stable entries */
    /* Unstable entries: ents[i] has index offset + i. */
    raft_entry_t *ents;
    size_t n, cap;
    uint64_t offset;
    raft_snapshot_t pending; /* unstable snapshot; empty when metadata.index is 0 */
    uint64_t committed;      /* highest index known to be on a quorum */
    uint64_t applied;        /* highest index the application applied */
} raft_log_t;

/* Starts after whatever `storage` holds: committed and applied both at the
 * storage's first index - 1 (the snapshot, if any). */
tkv_err_t rlog_init(raft_log_t *l, raft_storage_t storage);
void rlog_free(raft_log_t *l);

uint64_t rlog_first_index(const raft_log_t *l);
uint64_t rlog_last_index(const raft_log_t *l);
/* Term of entry i: RAFT_ERR_COMPACTED before first - 1, RAFT_ERR_UNAVAILABLE
 * after last (*term is 0 then). */
tkv_err_t rlog_term(const raft_log_t *l, uint64_t i, uint64_t *term);
/* rlog_term() with errors read as term 0. */
uint64_t rlog_term_or_zero(const raft_log_t *l, uint64_t i);
uint64_t rlog_last_term(const raft_log_t *l);
int rlog_match_term(const raft_log_t *l, uint64_t i, uint64_t term);
/* True when a log ending at (term, index) is at least as up to date as ours
 * (§5.4.1): a later last term, or the same last term and no shorter. */
int rlog_is_up_to_date(const raft_log_t *l, uint64_t index, uint64_t term);

/* The index of the first of ents[] that is new or conflicts with ours (same
 * index, different term); 0 when all of them are already in the log. */
uint64_t rlog_find_conflict(const raft_log_t *l, const raft_entry_t *ents, size_t n);
/* The follower side of MsgAppend: if our entry at `index` has `log_term`,
 * append ents (dropping what conflicts), commit up to min(committed, last new
 * index), set *last_new and return 1; else return 0 and change nothing. */
int rlog_maybe_append(raft_log_t *l, uint64_t index, uint64_t log_term, uint64_t committed,
                      const raft_entry_t *ents, size_t n, uint64_t *last_new);
/* Appends copies of ents to the unstable part, first dropping any entries at
 * or after ents[0].index. Returns the new last index. */
uint64_t rlog_append(raft_log_t *l, const raft_entry_t *ents, size_t n);

/* Copies of entries [lo, hi), from storage and the unstable part: the longest
 * run from lo whose total raft_entry_size() is at most max_size, but at least
 * one entry when lo < hi (an entry larger than max_size comes alone).
 * UINT64_MAX: no limit. RAFT_ERR_COMPACTED when lo is before the first index,
 * RAFT_ERR_UNAVAILABLE when hi is past the last index + 1 or lo > hi.
 * Caller frees *out with raft_entries_free(). */
tkv_err_t rlog_slice(const raft_log_t *l, uint64_t lo, uint64_t hi, uint64_t max_size,
                     raft_entry_t **out, size_t *n);
/* Committed entries the application has not applied yet (copies). */
tkv_err_t rlog_next_ents(const raft_log_t *l, raft_entry_t **out, size_t *n);
int rlog_has_next_ents(const raft_log_t *l);
/* The unstable entries, borrowed until the log next changes. */
const raft_entry_t *rlog_unstable_entries(const raft_log_t *l, size_t *n);

void rlog_commit_to(raft_log_t *l, uint64_t index);
void rlog_applied_to(raft_log_t *l, uint64_t index);
/* Advances committed to max_index if that entry has `term` (a leader only
 * commits entries of its own term by counting replicas, §5.4.2). */
int rlog_maybe_commit(raft_log_t *l, uint64_t max_index, uint64_t term);
/* Entries up to (index, term) are now in storage: forget them here. */
void rlog_stable_to(raft_log_t *l, uint64_t index, uint64_t term);

/* ---- snapshots (2C) ---- */
/* Replaces the log with `snap` (copied) as the pending snapshot. */
void rlog_restore(raft_log_t *l, const raft_snapshot_t *snap);
/* The pending snapshot at `index` is now in storage. */
void rlog_stable_snap_to(raft_log_t *l, uint64_t index);
/* The pending snapshot, borrowed; NULL when there is none. */
const raft_snapshot_t *rlog_pending_snapshot(const raft_log_t *l);

#endif
