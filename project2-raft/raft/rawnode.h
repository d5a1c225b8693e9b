/*
 * RawNode: the Raft core as the application drives it.
 *
 * The application owns time, the network, the disk and the state machine;
 * the core owns the protocol. They meet here. The application calls
 * rawnode_tick() on a timer, rawnode_step() with every message that arrives,
 * rawnode_propose() with commands, and, whenever rawnode_has_ready() says
 * so, handles one Ready:
 *
 *     tick / step / propose
 *              |
 *              v
 *     rawnode_ready(&rd) -----> 1. persist rd.hard_state, rd.entries, rd.snapshot
 *                               2. send rd.messages
 *                               3. apply rd.snapshot, then rd.committed_entries
 *     rawnode_advance(&rd) <--- 4. tell the core it is all done
 *     raft_ready_free(&rd)
 *
 * The contract of one Ready:
 *  - Persist before sending: a message may promise what the hard state and
 *    entries say (a vote, an acknowledged entry), so they must be durable
 *    first. Entries are appended in index order and replace any stored
 *    entries at the same indexes and after (a new leader overwrote them).
 *  - Messages may be sent in any order and may be lost; the core retries.
 *  - Read states (ReadIndex, 2X) are served once the application has
 *    applied their index.
 *  - Committed entries are applied in order, exactly once. A conf change
 *    entry is applied by decoding it (raft_pb_decode_conf_change()) and
 *    calling rawnode_apply_conf_change().
 *  - A non-empty snapshot replaces the state machine and the stored log.
 *  - Exactly one Ready is outstanding: call rawnode_advance() with it before
 *    asking for the next one. Between ready and advance, the application may
 *    still tick, step and propose.
 *
 * Ownership: a Ready owns everything in it (copies); the application frees
 * it with raft_ready_free() after rawnode_advance().
 */
#ifndef TKV_RAFT_RAWNODE_H
#define TKV_RAFT_RAWNODE_H

#include "project2-raft/raft/raft.h"

/* Volatile state, for the application's information (who leads). */
typedef struct {
    uint64_t lead;
    raft_role_t role;
} raft_soft_state_t;

typedef struct {
    int has_soft_state; /* soft_state changed since the last Ready */
    raft_soft_state_t soft_state;
    /* All zero when it has not changed: nothing to persist. */
    raft_hard_state_t hard_state;
    raft_entry_t *entries; /* to append to stable storage */
    size_t n_entries;
    raft_snapshot_t snapshot;        /* to persist and apply; empty: none */
    raft_entry_t *committed_entries; /* to apply, in order */
    size_t n_committed_entries;
    raft_message_t *messages; /* to send, after persisting */
    size_t n_messages;
    /* Reads confirmed by ReadIndex (2X): serve each once `index` is applied. */
    raft_read_state_t *read_states;
    size_t n_read_states;
} raft_ready_t;

typedef struct {
    raft_t *raft; /* the state machine; tests may read it */
    raft_soft_state_t prev_soft;
    raft_hard_state_t prev_hard;
} rawnode_t;

/* Caller frees *out with rawnode_free(). The config is copied. */
tkv_err_t rawnode_new(const raft_config_t *cfg, rawnode_t **out);
void rawnode_free(rawnode_t *rn);

void rawnode_tick(rawnode_t *rn);
/* Campaigns now, as if the election timeout had passed. */
tkv_err_t rawnode_campaign(rawnode_t *rn);
/* Proposes a normal entry with a copy of data. TKV_ERR_NOT_LEADER if this
 * node cannot take proposals. */
tkv_err_t rawnode_propose(rawnode_t *rn, const void *data, size_t len);
/* Proposes a conf change entry (the change encoded as eraftpb.ConfChange). */
tkv_err_t rawnode_propose_conf_change(rawnode_t *rn, const raft_conf_change_t *cc);
/* Applies a committed conf change; fills *cs (caller frees with
 * raft_conf_state_free()) with the resulting membership, if cs is not NULL. */
tkv_err_t rawnode_apply_conf_change(rawnode_t *rn, const raft_conf_change_t *cc,
                                    raft_conf_state_t *cs);
/* Joint consensus and learners (project3x): proposes a ConfChangeV2 entry,
 * refusing (TKV_ERR_INVALID) one the current configuration cannot take (no
 * voter left, a change while joint, a voter demoted to learner). */
tkv_err_t rawnode_propose_conf_change_v2(rawnode_t *rn, const raft_conf_change_v2_t *cc);
/* Applies a committed ConfChangeV2 entry (decoded with
 * raft_pb_decode_conf_change_v2()); fills *cs as rawnode_apply_conf_change(). */
tkv_err_t rawnode_apply_conf_change_v2(rawnode_t *rn, const raft_conf_change_v2_t *cc,
                                       raft_conf_state_t *cs);
/* A message from a peer (local message types are refused). m stays the caller's. */
tkv_err_t rawnode_step(rawnode_t *rn, const raft_message_t *m);
/* A linearizable read without a log entry (ReadIndex, 2X): ctx (copied) names
 * it. When the leader has confirmed it, a Ready carries a read state with
 * this ctx and an index: serve the read once that index is applied. A node
 * that knows no leader fails with TKV_ERR_NOT_LEADER; a leader that has not
 * committed an entry of its term yet with TKV_ERR_BUSY (retry). A read may
 * also be lost (a message dropped, the leader deposed): retry after a
 * timeout, with a fresh ctx. A core without 2X (its stub) fails with
 * TKV_ERR_NOT_IMPLEMENTED, so a store can fall back to the log. */
tkv_err_t rawnode_read_index(rawnode_t *rn, const void *ctx, size_t len);
/* Asks the leader to hand leadership to `transferee`. */
void rawnode_transfer_leader(rawnode_t *rn, uint64_t transferee);

int rawnode_has_ready(const rawnode_t *rn);
/* Fills *rd with what the application must do now (see the contract above).
 * The messages move out of the core; everything else is copied. */
tkv_err_t rawnode_ready(rawnode_t *rn, raft_ready_t *rd);
/* The application has done everything in rd. */
void rawnode_advance(rawnode_t *rn, const raft_ready_t *rd);
void raft_ready_free(raft_ready_t *rd);

#endif
