/*
 * The Raft core's data: log entries, messages, hard state, conf state,
 * snapshots and conf changes, as plain C structs.
 *
 * These mirror common/proto/eraftpb.proto field for field; raft_pb.h converts
 * between the two when a message must cross the wire or land on disk. The
 * core never sees protobuf-c types, so its code reads like the paper.
 *
 * Ownership: every struct owns the memory its pointers point to (entry data,
 * a message's entries, a snapshot's data and node list). The *_free functions
 * release that memory (not the struct itself); the *_copy functions make deep
 * copies that the caller then owns.
 */
#ifndef TKV_RAFT_TYPES_H
#define TKV_RAFT_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* Node id 0 means "nobody": no vote cast, no leader known. */
#define RAFT_NONE 0

typedef enum {
    RAFT_ENTRY_NORMAL = 0,
    RAFT_ENTRY_CONF_CHANGE = 1,
    RAFT_ENTRY_CONF_CHANGE_V2 = 2, /* project3x: data is an encoded ConfChangeV2 */
} raft_entry_type_t;

/* One slot of the replicated log, identified by (term, index). */
typedef struct {
    raft_entry_type_t type;
    uint64_t term;
    uint64_t index;
    uint8_t *data; /* owned; NULL when len is 0 */
    size_t len;
} raft_entry_t;

/* Which nodes vote. */
typedef struct {
    uint64_t *nodes; /* owned; the voters (while joint: the incoming ones) */
    size_t n_nodes;
    /* Joint consensus and learners (project3x); empty in the core course. */
    uint64_t *learners; /* owned; receive the log, never vote */
    size_t n_learners;
    uint64_t *voters_outgoing; /* owned; the old voters while joint, else none */
    size_t n_voters_outgoing;
    /* While joint: the leader proposes leaving by itself (the AUTO and
     * JOINT_IMPLICIT transitions). Part of the configuration, so a node
     * restarted (or given a snapshot) in the middle still leaves. */
    int auto_leave;
} raft_conf_state_t;

typedef struct {
    raft_conf_state_t conf_state;
    uint64_t index; /* last index the snapshot covers; 0: no snapshot */
    uint64_t term;  /* term of that entry */
} raft_snapshot_metadata_t;

typedef struct {
    uint8_t *data; /* owned; opaque to Raft: the state machine's image */
    size_t len;
    raft_snapshot_metadata_t metadata;
} raft_snapshot_t;

/* Same numbers as eraftpb.MessageType. */
typedef enum {
    RAFT_MSG_HUP = 0,
    RAFT_MSG_BEAT = 1,
    RAFT_MSG_PROPOSE = 2,
    RAFT_MSG_APPEND = 3,
    RAFT_MSG_APPEND_RESPONSE = 4,
    RAFT_MSG_REQUEST_VOTE = 5,
    RAFT_MSG_REQUEST_VOTE_RESPONSE = 6,
    RAFT_MSG_SNAPSHOT = 7,
    RAFT_MSG_HEARTBEAT = 8,
    RAFT_MSG_HEARTBEAT_RESPONSE = 9,
    RAFT_MSG_TRANSFER_LEADER = 11,
    RAFT_MSG_TIMEOUT_NOW = 12,
    /* The extensions (project2x). */
    RAFT_MSG_PRE_VOTE = 13,
    RAFT_MSG_PRE_VOTE_RESPONSE = 14,
    RAFT_MSG_READ_INDEX = 15,
    RAFT_MSG_READ_INDEX_RESPONSE = 16,
} raft_msg_type_t;

typedef struct {
    raft_msg_type_t type;
    uint64_t to;
    uint64_t from;
    uint64_t term;
    uint64_t log_term; /* term of the entry at `index` */
    uint64_t index;
    raft_entry_t *entries; /* owned array of n_entries */
    size_t n_entries;
    uint64_t commit;
    raft_snapshot_t snapshot; /* metadata.index 0: none */
    int reject;
    uint64_t reject_hint; /* on a rejected append: the follower's last index */
    /* Owned; opaque bytes: a read request's id (MsgReadIndex and the
     * heartbeats confirming it), or RAFT_CONTEXT_TRANSFER on the votes of a
     * leader transfer. NULL when context_len is 0. */
    uint8_t *context;
    size_t context_len;
} raft_message_t;

/* The context of the vote requests of a campaign started by MsgTimeoutNow:
 * a leader's lease (check quorum) does not hold them off. */
#define RAFT_CONTEXT_TRANSFER "CampaignTransfer"

/* What a node persists before it answers any message. All zero: empty. */
typedef struct {
    uint64_t term;
    uint64_t vote;
    uint64_t commit;
} raft_hard_state_t;

typedef enum {
    RAFT_CONF_ADD_NODE = 0,
    RAFT_CONF_REMOVE_NODE = 1,
    RAFT_CONF_ADD_LEARNER_NODE = 2, /* project3x, in a ConfChangeV2 only */
} raft_conf_change_type_t;

typedef struct {
    raft_conf_change_type_t type;
    uint64_t node_id;
    uint8_t *context; /* owned; opaque to Raft */
    size_t context_len;
} raft_conf_change_t;

/* A short name for a message type, e.g. "MsgAppend". Static storage. */
const char *raft_msg_type_name(raft_msg_type_t t);

/* The bytes an entry counts for when a batch is cut at a size limit. */
uint64_t raft_entry_size(const raft_entry_t *e);

void raft_entry_copy(raft_entry_t *dst, const raft_entry_t *src);
void raft_entry_free(raft_entry_t *e);
/* A malloc'd array of deep copies (caller frees with raft_entries_free); NULL when n is 0. */
raft_entry_t *raft_entries_copy(const raft_entry_t *src, size_t n);
/* Frees the entries' data and the array itself. */
void raft_entries_free(raft_entry_t *ents, size_t n);

void raft_conf_state_copy(raft_conf_state_t *dst, const raft_conf_state_t *src);
void raft_conf_state_free(raft_conf_state_t *cs);
void raft_snapshot_copy(raft_snapshot_t *dst, const raft_snapshot_t *src);
void raft_snapshot_free(raft_snapshot_t *s);
int raft_snapshot_is_empty(const raft_snapshot_t *s);

void raft_message_copy(raft_message_t *dst, const raft_message_t *src);
void raft_message_free(raft_message_t *m);
/* Replaces m's context with a copy of len bytes of data. */
void raft_message_set_context(raft_message_t *m, const void *data, size_t len);

int raft_hard_state_is_empty(const raft_hard_state_t *hs);
int raft_hard_state_equal(const raft_hard_state_t *a, const raft_hard_state_t *b);

void raft_conf_change_free(raft_conf_change_t *cc);

/* ---- ConfChangeV2 (project3x): several changes at once, through a joint
 * configuration (Raft thesis §4.3, etcd's ConfChangeV2). ---- */
typedef enum {
    RAFT_TRANSITION_AUTO = 0,           /* simple if one voter changes, else joint, auto-left */
    RAFT_TRANSITION_JOINT_IMPLICIT = 1, /* joint, left by the leader itself */
    RAFT_TRANSITION_JOINT_EXPLICIT = 2, /* joint, left by proposing a change with none */
} raft_conf_transition_t;

typedef struct {
    raft_conf_change_type_t type;
    uint64_t node_id;
} raft_conf_change_single_t;

typedef struct {
    raft_conf_transition_t transition;
    raft_conf_change_single_t *changes; /* owned; none: leave the joint configuration */
    size_t n_changes;
    uint8_t *context; /* owned; opaque to Raft */
    size_t context_len;
} raft_conf_change_v2_t;

void raft_conf_change_v2_free(raft_conf_change_v2_t *cc);

#endif
