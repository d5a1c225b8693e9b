/*
 * What a leader knows about each peer (match and next index, §5.3) and what
 * a candidate knows about each peer's vote, kept in one small array indexed
 * by position, in ascending id order. Clusters are small (3 to 7 nodes), so
 * a sorted array beats any map.
 *
 * The set also says who counts (etcd's quorum package): every member is a
 * voter in the core course. With joint consensus and learners (project3x) a
 * member may be a voter of the incoming configuration (`voter`), of the
 * outgoing one while joint (`voter_out`), both, or a learner that gets the
 * log and never counts. A quorum is then a majority of the voters *and*,
 * while joint, a majority of the outgoing voters.
 */
#ifndef TKV_RAFT_PROGRESS_H
#define TKV_RAFT_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "project2-raft/raft/raft_types.h"

typedef enum {
    RAFT_VOTE_UNKNOWN = 0,
    RAFT_VOTE_GRANTED,
    RAFT_VOTE_REJECTED,
} raft_vote_t;

typedef struct {
    uint64_t id;
    uint64_t match; /* highest index known to be replicated on the peer */
    uint64_t next;  /* index of the next entry to send */
    raft_vote_t vote;
    int voter;           /* counts in the (incoming) configuration */
    int voter_out;       /* joint (3X): counts in the outgoing configuration */
    int learner;         /* 3X: gets the log, never counts */
    int replicating;     /* 1 once the peer acknowledged: stream, do not probe */
    int recent_active;   /* check quorum (2X): heard from since the last check */
    uint64_t read_seq;   /* ReadIndex (2X): the last read round it acknowledged */
    uint64_t lease_tick; /* lease read (2X): the leader's tick of its last acked heartbeat */
    /* Flow control (2X, raft_flow.c). */
    int probe_sent;            /* probing: an append is out, wait for an answer */
    int held_back;             /* an append was not sent while paused */
    uint64_t pending_snapshot; /* snapshot state: the index of the one on its way; 0: none */
    uint64_t snapshot_tick;    /* when it was sent (the leader's tick) */
    uint64_t *inflight;        /* owned ring: last index of each unacked append */
    size_t n_inflight, inflight_head, cap_inflight;
} raft_progress_t;

typedef struct {
    raft_progress_t *items; /* owned; sorted by id */
    size_t n, cap;
    /* Joint (3X): the leader leaves this configuration by itself. */
    int auto_leave;
} raft_progress_set_t;

void prs_init(raft_progress_set_t *s);
void prs_free(raft_progress_set_t *s);
/* Borrowed until the set next changes; NULL when id is not a member. */
raft_progress_t *prs_find(raft_progress_set_t *s, uint64_t id);
/* Adds id as a voter (no-op if present) and returns its progress (borrowed). */
raft_progress_t *prs_add(raft_progress_set_t *s, uint64_t id, uint64_t match, uint64_t next);
/* Returns 1 if id was a member. */
int prs_remove(raft_progress_set_t *s, uint64_t id);
/* A majority of the (incoming) voters. */
size_t prs_quorum(const raft_progress_set_t *s);
/* vals[i] is a value of items[i] (s->n of them): the largest v such that a
 * quorum holds a value >= v (in each half while joint; learners do not
 * count). 0 when there are no voters. */
uint64_t prs_quorum_value(const raft_progress_set_t *s, const uint64_t *vals);
/* The highest index replicated on a quorum. */
uint64_t prs_quorum_match(const raft_progress_set_t *s);

typedef enum {
    RAFT_VOTE_PENDING = 0,
    RAFT_VOTE_WON,
    RAFT_VOTE_LOST,
} raft_vote_result_t;
/* Won: a quorum granted; lost: in some half a majority refused. */
raft_vote_result_t prs_vote_result(const raft_progress_set_t *s);

/* Replaces the members with those of cs (voters, outgoing voters and
 * learners, and whether a joint one is left by itself), every progress at
 * match 0 and `next`. */
void prs_set_conf(raft_progress_set_t *s, const raft_conf_state_t *cs, uint64_t next);
/* Fills *cs (caller frees with raft_conf_state_free()) with the members
 * (and auto_leave). */
void prs_conf_state(const raft_progress_set_t *s, raft_conf_state_t *cs);
/* Whether id votes (in either half). */
int prs_is_voter(raft_progress_set_t *s, uint64_t id);
int prs_is_joint(const raft_progress_set_t *s);

#endif
