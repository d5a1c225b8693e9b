/*
 * The store's local key layout: where a store keeps what it knows about
 * itself and its regions, beside the user's data.
 *
 * A store has two leveldb databases (see docs/project2-raft.md (the store half)):
 *
 *   raft DB  the Raft log and the hard state: written on every Ready, read
 *            back only by Raft itself;
 *   kv DB    the state machine: user data in the column families, plus the
 *            apply state and region state, which must change in the same
 *            batch as the data they describe.
 *
 * Every key here is a raw key (engine.h) starting with 0x01, below the
 * lowercase letters that start column-family keys ("default_", "lock_",
 * "write_"), so metadata and user data can never collide, and all metadata
 * sorts before all data. Numbers are big-endian so keys sort by them:
 *
 *   key                                    DB    value
 *   01 01                                  kv    raft_serverpb.StoreIdent
 *   01 02 <region id> 01 <log index>       raft  eraftpb.Entry (one log entry)
 *   01 02 <region id> 02                   raft  raft_serverpb.RaftLocalState
 *   01 02 <region id> 03                   kv    raft_serverpb.RaftApplyState
 *   01 03 <region id> 01                   kv    raft_serverpb.RegionLocalState
 *
 * All of a region's log entries sit between keys_raft_log_key(id, 0) and
 * keys_raft_log_key(id, UINT64_MAX), in index order, so they can be scanned
 * and deleted as a range.
 *
 * Ownership: every function fills a caller-owned tkv_buf_t, replacing what
 * it held.
 */
#ifndef TKV_RAFTSTORE_KEYS_H
#define TKV_RAFTSTORE_KEYS_H

#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"

#define KEYS_LOCAL_PREFIX   0x01
#define KEYS_STORE_IDENT    0x01
#define KEYS_REGION_RAFT    0x02
#define KEYS_REGION_META    0x03
#define KEYS_RAFT_LOG       0x01
#define KEYS_RAFT_STATE     0x02
#define KEYS_APPLY_STATE    0x03
#define KEYS_REGION_STATE   0x01
#define KEYS_LOG_KEY_LEN    19 /* 01 02 id(8) 01 index(8) */
#define KEYS_REGION_KEY_LEN 11 /* 01 0x id(8) suffix */

/* The first index of a region's log, as written when the region is created:
 * a new region starts with a log "truncated" at 5, as TiKV does, so a
 * snapshot is always distinguishable from an empty log. */
#define RAFT_INIT_LOG_INDEX 5
#define RAFT_INIT_LOG_TERM  5

void keys_store_ident(tkv_buf_t *out);
void keys_raft_log_key(tkv_buf_t *out, uint64_t region_id, uint64_t index);
void keys_raft_state_key(tkv_buf_t *out, uint64_t region_id);
void keys_apply_state_key(tkv_buf_t *out, uint64_t region_id);
void keys_region_state_key(tkv_buf_t *out, uint64_t region_id);

/* The prefix every region-state key starts with (to find all regions). */
void keys_region_meta_prefix(tkv_buf_t *out);

/* Reads back a log key: TKV_ERR_CORRUPT if `key` is not one. */
tkv_err_t keys_decode_raft_log_key(tkv_slice_t key, uint64_t *region_id, uint64_t *index);
/* Reads the region id of a region-state key: TKV_ERR_CORRUPT if it is not one. */
tkv_err_t keys_decode_region_state_key(tkv_slice_t key, uint64_t *region_id);

#endif
