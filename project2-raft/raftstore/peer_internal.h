/*
 * What the parts of a peer share among themselves and nobody else: peer.c
 * (input and Ready, 2B), peer_apply.c (applying entries, 2B/2C), store.c
 * (which creates, routes to and reaps peers) and the stage extension that
 * fills store_ext.h (project 3B). Drivers and tests use peer.h.
 *
 * A peer is created by its store, which fills `store` and `ext` right after
 * peer_create(); every field below is the peer's own unless marked.
 */
#ifndef TKV_RAFTSTORE_PEER_INTERNAL_H
#define TKV_RAFTSTORE_PEER_INTERNAL_H

#include "project2-raft/raftstore/peer.h"

struct store;
struct store_ext;

typedef struct {
    uint64_t index, term;
    peer_cb_t cb;
} peer_proposal_t;

struct peer_read; /* a read waiting for ReadIndex (peer_read.c) */

struct peer {
    uint64_t store_id, peer_id, region_id;
    peer_config_t cfg;
    peer_transport_t transport;
    peer_storage_t *ps;          /* owned */
    rawnode_t *rn;               /* owned */
    struct store *store;         /* borrowed: the store hosting this peer */
    const struct store_ext *ext; /* borrowed: the stage extension, or NULL */
    void *ext_state;             /* the extension's, freed by its peer_free hook */
    /* Waiting proposals, in index order. */
    peer_proposal_t *proposals;
    size_t n_proposals, cap_proposals;
    int was_leader;    /* leader as of the last Ready */
    int gc_elapsed;    /* ticks since the last log GC check */
    int broken;        /* a write failed: the peer refuses all input until reopened */
    int in_ready;      /* handling a Ready: a callback that proposes must not start another */
    int ready_pending; /* its store is in a round: the Ready waits for its end */
    /* 3B: the peer was removed from its region (or replaced): it takes no
     * more input and writes nothing more; its store frees it. */
    int destroyed;
    /* Peers heard from (id and store of a message's sender), for replying
     * to a peer the region does not list yet: a peer created from a message
     * knows no members until its snapshot (3B). A few suffice. */
    struct {
        uint64_t id, store_id;
    } heard[8];
    size_t n_heard;
    /* Reads waiting for ReadIndex, in issue order (peer_read.c's). */
    struct peer_read *reads;
    size_t n_reads, cap_reads;
    uint64_t read_seq;      /* the context number of the last read issued */
    int read_unimplemented; /* the core has no ReadIndex (2X stub): reads use the log */
    peer_read_stats_t read_stats;
    /* Statistics for tests. */
    uint64_t n_compact_proposed;
    uint64_t n_ready_calls; /* peer_handle_ready() calls not deferred to a round's end */
};

/* A peer of `region_id` that knows nothing of its region yet (3B: this
 * store was just added to it, and the first message from its leader
 * arrived): peer id `peer_id`, an empty log, no members. Raft state left
 * from an earlier peer of the region on this store is kept (its vote must
 * hold). Caller frees *out with peer_free(). */
tkv_err_t peer_create_uninitialized(const peer_config_t *cfg, uint64_t store_id, eng_t *raft_db,
                                    eng_t *kv_db, uint64_t region_id, uint64_t peer_id,
                                    peer_transport_t transport, tkv_prng_t *prng, peer_t **out);

/* In a round (store.h): notes that p has work, for store_end_round(), and
 * returns 1; otherwise 0 and the caller handles the Ready now. */
int store_defer_ready(struct store *s, peer_t *p);
/* Handles every Ready the Raft core has (steps 1-4 in peer.h). */
tkv_err_t peer_handle_ready(peer_t *p);
/* Applies committed entries in order (2B), CompactLog included (2C). */
tkv_err_t peer_apply_entries(peer_t *p, const raft_entry_t *ents, size_t n);
/* Calls back every waiting proposal with StaleCommand (`why` in the message). */
void peer_fail_proposals(peer_t *p, const char *why);
/* 2C: on a leader, proposes CompactLog when the log has grown past the limit. */
void peer_maybe_compact_log(peer_t *p);
/* Appends a proposal waiting for the entry just appended to the leader's log. */
void peer_track_proposal(peer_t *p, peer_cb_t cb);
/* Answers `cb` with `resp` (or frees resp if nobody listens). */
void peer_answer(peer_cb_t cb, RaftCmdpb__RaftCmdResponse *resp);
/* Wraps one Raft message in the envelope other stores route by and sends it. */
void peer_send_raft_message(peer_t *p, const raft_message_t *m);

/* ---- peer_read.c: read-only commands through ReadIndex ---- */
/* Takes a read-only command (`req` borrowed) when the read mode and the
 * core allow it: returns 1 and answers `cb` later (exactly once); 0 leaves
 * it to the log path. */
int peer_read_propose(peer_t *p, const RaftCmdpb__RaftCmdRequest *req, peer_cb_t cb);
/* Moves the core's read states onto the waiting reads. Call after every
 * rawnode_step(), before the Ready that would carry them away. */
void peer_read_collect(peer_t *p);
/* Answers the waiting reads whose index is applied; fails those of an
 * older term, a peer no longer leading or a region whose epoch changed.
 * Call after every Ready. */
void peer_read_serve(peer_t *p);
/* Fails reads that waited too long for their confirmation (lost messages,
 * a leader cut off from the others). Once per tick. */
void peer_read_tick(peer_t *p);
/* Answers every waiting read with StaleCommand (`why`) and frees the list. */
void peer_read_fail_all(peer_t *p, const char *why);

#endif
