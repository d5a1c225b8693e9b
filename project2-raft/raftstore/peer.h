/*
 * A peer: this store's replica of one region, driving the Raft core.
 *
 * A peer is a state machine with three inputs (peer_step() for a message
 * from another store, peer_tick() for time, peer_propose() for a command)
 * and three outputs (messages handed to the transport, writes to the two
 * databases, callbacks answering proposals). After every input it handles
 * whatever Ready the Raft core has, completely:
 *
 *   1. persist: snapshot, entries, hard state (peer_storage_save_ready);
 *   2. send: each message encoded as raft_serverpb.RaftMessage bytes;
 *   3. apply: committed entries, in order, each with its apply state in the
 *      same kv DB batch; answer the proposal waiting for it;
 *   4. advance the Raft core.
 *
 * It reads no clock and starts no thread: whoever drives it (the simulator,
 * the server runtime) decides when ticks happen and carries the bytes.
 *
 * Proposals: a command is proposed only on the leader (else the callback
 * gets NotLeader at once) and remembered with the index and term it got.
 * When that index is applied, the callback gets the result if the entry is
 * still ours (same term) and StaleCommand otherwise. If the peer loses
 * leadership or is freed while proposals wait, each gets StaleCommand: the
 * command may or may not apply later, the client must retry. No callback is
 * ever dropped silently, and each is called exactly once.
 *
 * Reads (Get, Snap) go through the log like writes, so a read is answered
 * only once everything committed before it is applied: linearizable. With
 * peer_config_t.read_mode readindex or lease they skip the log instead
 * (peer_read.c): same guarantee, no entry and no sync per read.
 *
 * Ownership: the peer borrows the engines and the transport (they outlive
 * it) and owns its peer storage and Raft node. Callbacks own what they are
 * given (see peer_cb_fn).
 */
#ifndef TKV_RAFTSTORE_PEER_H
#define TKV_RAFTSTORE_PEER_H

#include "common/prng.h"
#include "project2-raft/raftstore/peer_storage.h"
#include "proto/raft_cmdpb.pb-c.h"
#include "proto/raft_serverpb.pb-c.h"

/* How a peer serves a read-only command (Get, Snap; peer_read.c):
 *   PEER_READ_LOG    through the Raft log like a write: one entry and one
 *                    synced write per read;
 *   PEER_READ_INDEX  ReadIndex (2X): a heartbeat round confirms leadership,
 *                    the read is served once the applied index reaches the
 *                    commit index noted when it came in; no log entry;
 *   PEER_READ_LEASE  ReadIndex with the core's lease read: no round while a
 *                    quorum acknowledged a heartbeat within the election
 *                    timeout. Safe only while clocks drift less than the
 *                    margin between the lease and the election timeout.
 * A core without ReadIndex (the 2X stub answers TKV_ERR_NOT_IMPLEMENTED)
 * makes the last two fall back to the log. */
typedef enum { PEER_READ_LOG = 0, PEER_READ_INDEX, PEER_READ_LEASE } peer_read_mode_t;

/* "log", "readindex", "lease"; 0 with *out set, -1 for anything else. */
int peer_read_mode_parse(const char *s, peer_read_mode_t *out);
const char *peer_read_mode_name(peer_read_mode_t m);

/* Tunables, shared by every peer of a store (copied). */
typedef struct {
    int election_tick;  /* ticks without a leader before campaigning (10) */
    int heartbeat_tick; /* a leader's heartbeat period in ticks (2) */
    /* 2C: every raft_log_gc_tick ticks a leader checks its log, and proposes
     * CompactLog once more than raft_log_gc_count_limit applied entries
     * have piled up since the last truncation. 0: never. */
    int raft_log_gc_tick;
    uint64_t raft_log_gc_count_limit;
    uint64_t max_size_per_msg;  /* bytes of entries per MsgAppend; 0: no limit */
    int sync;                   /* fsync writes (the server: yes; tests: no, a crash is a close) */
    peer_read_mode_t read_mode; /* default PEER_READ_LOG; the server's default is readindex */
} peer_config_t;

/* Defaults as listed above. */
peer_config_t peer_config_default(void);

/* The answer to a proposal. `resp` is the callee's (free it with
 * protobuf_c_message_free_unpacked(&resp->base, NULL)). `snap` is set only
 * when the command held a Snap request and it succeeded: a view of the kv DB
 * as of the command, the callee's, freed with eng_snapshot_free() before
 * the store closes. */
typedef void (*peer_cb_fn)(void *arg, RaftCmdpb__RaftCmdResponse *resp, eng_snap_t *snap);
typedef struct {
    peer_cb_fn fn; /* NULL: nobody listens (e.g. CompactLog) */
    void *arg;
} peer_cb_t;

/* Where messages go: `send` gets the encoded raft_serverpb.RaftMessage for
 * a peer on store `to_store`, borrowed for the call. It must not call back
 * into the store (queue the bytes instead). */
typedef struct {
    void (*send)(void *arg, uint64_t to_store, const uint8_t *data, size_t len);
    void *arg;
} peer_transport_t;

/* The peer's state is private (peer_internal.h): drivers and tests see it
 * through the door below. */
typedef struct peer peer_t;

/* Opens this store's peer of `region_id` from the databases (bootstrapped or
 * received before; peer_storage_open()). `prng` (borrowed) draws election
 * timeouts. Caller frees *out with peer_free(). */
tkv_err_t peer_create(const peer_config_t *cfg, uint64_t store_id, eng_t *raft_db, eng_t *kv_db,
                      uint64_t region_id, peer_transport_t transport, tkv_prng_t *prng,
                      peer_t **out);
/* Answers every waiting proposal with StaleCommand, then frees the peer. */
void peer_free(peer_t *p);

/* A message for this peer (borrowed). */
tkv_err_t peer_step(peer_t *p, const RaftServerpb__RaftMessage *msg);
void peer_tick(peer_t *p);
/* Proposes `req` (borrowed); `cb` is called exactly once, maybe before this
 * returns (an error, or a single-node region that commits at once). */
void peer_propose(peer_t *p, const RaftCmdpb__RaftCmdRequest *req, peer_cb_t cb);
/* Starts an election now (tests, and a region's first leader). */
tkv_err_t peer_campaign(peer_t *p);

int peer_is_leader(const peer_t *p);
/* The leader this peer knows of (borrowed from the region), or NULL. */
const Metapb__Peer *peer_leader(const peer_t *p);
const Metapb__Region *peer_region(const peer_t *p);

/* ---- what drivers and tests may read (borrowed, valid until the next input) ---- */
uint64_t peer_id(const peer_t *p);
uint64_t peer_region_id(const peer_t *p);
uint64_t peer_store_id(const peer_t *p);
/* The Raft core's current term, and the peer's storage (applied index,
 * truncated state, statistics). */
uint64_t peer_term(const peer_t *p);
const peer_storage_t *peer_storage(const peer_t *p);
/* The Raft state machine, read only (tests check membership and transfers). */
const raft_t *peer_raft(const peer_t *p);
/* How this peer's read-only commands went (tests, peer_read.c). */
typedef struct {
    uint64_t by_index; /* answered through ReadIndex (or the lease) */
    uint64_t by_log;   /* fell back to the log (no ReadIndex in the core, a new leader) */
    uint64_t failed;   /* answered with an error while waiting (step-down, epoch, timeout) */
    size_t waiting;    /* taken by ReadIndex and not answered yet */
} peer_read_stats_t;
peer_read_stats_t peer_read_stats(const peer_t *p);
/* 2C: CompactLog commands this peer proposed (tests). */
uint64_t peer_n_compact_proposed(const peer_t *p);
/* Whether the peer knows its region (a peer created from a message knows
 * only the region id until a snapshot arrives, 3B). */
int peer_is_initialized(const peer_t *p);
/* The peer was destroyed (removed from its region, 3B): its store drops it. */
int peer_is_destroyed(const peer_t *p);
/* True once a write failed: the peer refuses all input until reopened. */
int peer_is_broken(const peer_t *p);

#endif
