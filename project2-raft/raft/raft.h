/*
 * The Raft state machine of one node (the etcd/raft design).
 *
 * Everything that happens to a node is a message given to raft_step(): a
 * peer's message, or a local one (MsgHup: start an election, MsgBeat: send
 * heartbeats, MsgPropose: append entries). Time passes only through
 * raft_tick(). What the node wants to say is queued in `msgs`; what it wants
 * persisted or applied stays in `log`. Nothing here reads a clock, sends on a
 * network or touches a disk: rawnode.h turns this state into Ready batches
 * for the code that does.
 *
 * raft_step() dispatches on the node's role to step_leader, step_candidate or
 * step_follower, after handling what every role does the same way: terms
 * (§5.1: a higher term makes us a follower, a lower one is ignored) and votes.
 */
#ifndef TKV_RAFT_RAFT_H
#define TKV_RAFT_RAFT_H

#include "common/err.h"
#include "common/prng.h"
#include "project2-raft/raft/progress.h"
#include "project2-raft/raft/raft_log.h"

typedef enum {
    RAFT_FOLLOWER = 0,
    RAFT_CANDIDATE,
    RAFT_LEADER,
    RAFT_PRE_CANDIDATE, /* pre-vote (project2x): asking whether it could win */
} raft_role_t;

typedef struct {
    uint64_t id; /* this node; never RAFT_NONE */
    /* The cluster for a brand-new node (copied). Ignored when storage
     * already has a conf state with nodes: a restarted node trusts storage. */
    const uint64_t *peers;
    size_t n_peers;
    /* Ticks without hearing from a leader before campaigning; the actual
     * timeout is drawn from [election_tick, 2 * election_tick) each time. */
    int election_tick;
    int heartbeat_tick;        /* a leader sends heartbeats every heartbeat_tick ticks */
    raft_storage_t storage;    /* borrowed for the node's lifetime */
    uint64_t applied;          /* last applied index on restart (0: none) */
    uint64_t max_size_per_msg; /* bytes of entries per MsgAppend; 0: no limit */
    /* Where election timeouts come from (borrowed, must outlive the node;
     * NULL: a private generator seeded with the node id). Seeded on purpose,
     * so a run replays. */
    tkv_prng_t *prng;

    /* The extensions (project2x; docs/project2-raft.md). All off by default,
     * which is TinyKV's behaviour. */
    /* Pre-vote (thesis §9.6): before raising its term, a node asks whether
     * it could win; a partitioned node no longer disrupts the cluster. */
    int pre_vote;
    /* Check quorum: a leader that has not heard from a quorum for an
     * election timeout steps down, and a follower that heard from a leader
     * within an election timeout ignores vote requests (leader stickiness). */
    int check_quorum;
    /* Lease read: a leader answers ReadIndex at once while a quorum
     * acknowledged it within the last election timeout, instead of a
     * heartbeat round per read. Needs check_quorum on every node, and clocks
     * that tick at the same rate (docs/project2-raft.md). */
    int read_lease;
    /* Flow control (etcd's tracker): probe one append at a time, keep at
     * most max_inflight_msgs appends unacknowledged per peer (0: 256), and
     * send nothing to a peer while a snapshot is on its way to it. */
    int flow_control;
    size_t max_inflight_msgs;
    /* A rejected append carries a (term, index) hint, so the leader skips a
     * divergent term per round trip instead of one entry. */
    int fast_backtrack;
} raft_config_t;

/* A read that may now go ahead (ReadIndex, 2X): once the application has
 * applied `index`, reading its state machine is linearizable. `ctx` is the
 * id the application gave the read (owned). */
typedef struct {
    uint64_t index;
    uint8_t *ctx;
    size_t ctx_len;
} raft_read_state_t;

/* A read a leader is confirming with a heartbeat round (raft_read_index.c). */
typedef struct {
    uint64_t seq;   /* the round; a peer's ack of seq s confirms every read up to s */
    uint64_t index; /* the commit index when it came in */
    uint64_t from;  /* who asked: this node, or a follower that forwarded it */
    uint8_t *ctx;   /* owned */
    size_t ctx_len;
} raft_read_request_t;

typedef struct {
    uint64_t id;
    uint64_t term;
    uint64_t vote; /* whom we voted for in `term`; RAFT_NONE if nobody */
    uint64_t lead; /* the leader we know of in `term`; RAFT_NONE if none */
    raft_role_t role;
    raft_log_t log;
    raft_progress_set_t prs; /* every voting member, this node included */

    /* Outgoing messages, owned here until rawnode hands them out. */
    raft_message_t *msgs;
    size_t n_msgs, cap_msgs;

    int election_tick, heartbeat_tick;
    int randomized_election_timeout;
    int election_elapsed;  /* ticks since we last heard from a leader (or, as
                              leader, since the last transfer began) */
    int heartbeat_elapsed; /* leader only */
    uint64_t max_size_per_msg;
    tkv_prng_t own_prng;
    tkv_prng_t *prng;

    /* 3A: the node a leader is handing leadership to (RAFT_NONE: none), and
     * the index of the latest conf change proposed: a new one waits until
     * the application has applied it. */
    uint64_t lead_transferee;
    uint64_t pending_conf_index;

    /* The extensions (project2x), from raft_config_t. */
    int pre_vote, check_quorum;
    /* Check quorum: leader ticks since the last check, in term quorum_term. */
    int quorum_elapsed;
    uint64_t quorum_term;

    /* ReadIndex and lease read (2X, raft_read_index.c). */
    int read_lease;
    uint64_t ticks;             /* raft_tick() calls so far: the lease's clock */
    raft_read_request_t *reads; /* owned; the leader's pending reads, by seq */
    size_t n_reads, cap_reads;
    uint64_t reads_term;     /* the term `reads` belong to */
    uint64_t read_seq;       /* the last round started; never goes back */
    uint64_t lease_off_term; /* a transfer began in this term: no lease reads */
    /* Reads ready to go, owned here until rawnode hands them out. */
    raft_read_state_t *read_states;
    size_t n_read_states, cap_read_states;

    /* Flow control and fast back-tracking (2X, raft_flow.c). */
    int flow_control, fast_backtrack;
    size_t max_inflight_msgs;
    uint64_t flow_term; /* the leadership the progress bookkeeping is for */
} raft_t;

/* A node starting (or restarting) as a follower from what storage holds.
 * Caller frees *out with raft_free(). */
tkv_err_t raft_new(const raft_config_t *cfg, raft_t **out);
void raft_free(raft_t *r);

/* The way in for every message (copied as needed: m stays the caller's).
 * A proposal that cannot be accepted fails with TKV_ERR_NOT_LEADER (this node
 * is not the leader, or is handing leadership over) and is dropped. */
tkv_err_t raft_step(raft_t *r, const raft_message_t *m);
/* One unit of logical time. */
void raft_tick(raft_t *r);

/* Role changes; exposed for tests and for rawnode. */
void raft_become_follower(raft_t *r, uint64_t term, uint64_t lead);
void raft_become_candidate(raft_t *r);
void raft_become_leader(raft_t *r);

raft_hard_state_t raft_hard_state(const raft_t *r);

/* Membership (3A): called when a conf change entry is applied. */
void raft_add_node(raft_t *r, uint64_t id);
void raft_remove_node(raft_t *r, uint64_t id);
/* Joint consensus and learners (3X): whether cc may follow the current
 * configuration (TKV_ERR_INVALID says why not), and applying it. */
tkv_err_t raft_check_conf_change_v2(const raft_t *r, const raft_conf_change_v2_t *cc);
tkv_err_t raft_apply_conf_change_v2(raft_t *r, const raft_conf_change_v2_t *cc);
/* A leader in a joint configuration it should leave by itself, applied,
 * proposes the leaving entry (rawnode_advance() calls it). */
void raft_maybe_auto_leave(raft_t *r);

/* Takes the reads ready to go: *out is a malloc'd array the caller owns
 * (free with raft_read_states_free()). */
void raft_take_read_states(raft_t *r, raft_read_state_t **out, size_t *n);
void raft_read_states_free(raft_read_state_t *rs, size_t n);

/* Takes the queued outgoing messages: *out is a malloc'd array the caller
 * owns (free each with raft_message_free(), then the array with free()). */
void raft_take_msgs(raft_t *r, raft_message_t **out, size_t *n);

const char *raft_role_name(raft_role_t role);

#endif
