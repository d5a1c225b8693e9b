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
} raft_config_t;

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

/* Takes the queued outgoing messages: *out is a malloc'd array the caller
 * owns (free each with raft_message_free(), then the array with free()). */
void raft_take_msgs(raft_t *r, raft_message_t **out, size_t *n);

const char *raft_role_name(raft_role_t role);

#endif
