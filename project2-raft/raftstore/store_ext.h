/*
 * The seam between project 2's store and project 3B (frame code).
 *
 * Project 2's store hosts regions that never change shape: their peers and
 * ranges are fixed at bootstrap. Project 3B makes them change (leader
 * transfer, membership change, split) and lives in a later stage's folder
 * (project3-multiraft/raftstore/), which project 2 may not include. So the
 * store calls out through this table of hooks at the few points where 3B
 * changes what happens, and whoever opens a store hands the table in
 * (store_config_t.ext). With no table (project 2's tests and handout) the
 * store keeps its project-2 behaviour: admin commands other than CompactLog
 * and conf-change entries are refused with a clear error, and messages for
 * regions it does not host are dropped with one.
 *
 *   hook               when                              3B does
 *   check_proposal     before a command is proposed     epoch, key range, term checks
 *   propose_admin      an admin command (not CompactLog) TransferLeader, ChangePeer, Split
 *   apply_entry        a committed entry, before 2B's    admin and conf-change entries
 *                      apply sees it                     whole; data commands that fail
 *                                                        the epoch or key check again
 *   on_unknown_region  message for no hosted peer        create the peer from the message
 *   filter_message     message for a hosted peer        stale-epoch and tombstone handling
 *   on_tick            after every peer tick             split checks, heartbeats
 *   on_store_tick      once per store tick, after the    store heartbeats (a store
 *                      peers' ticks                      with no peer is alive too)
 *
 * Every hook may be NULL (then the project-2 behaviour holds at that
 * point). Hooks run on the store's thread, inside the store's own calls;
 * they may use the store functions below but must not free a peer: a peer
 * that must go is marked (peer_internal.h: destroyed) and its store frees
 * it once the current input is done.
 *
 * Ownership: the table and its `arg` are borrowed for the store's life.
 * Per-store state made by store_open is freed by store_close; per-peer
 * state (peer_t.ext_state) by peer_free.
 */
#ifndef TKV_RAFTSTORE_STORE_EXT_H
#define TKV_RAFTSTORE_STORE_EXT_H

#include "project2-raft/raftstore/peer_internal.h"
#include "project2-raft/raftstore/store.h"

typedef struct store_ext {
    const char *name; /* for logs: "project 3B" */
    /* Per-store state, made when the store opens (before any peer) and
     * freed when it closes (after every peer). */
    tkv_err_t (*store_open)(store_t *s, void *arg, void **state);
    void (*store_close)(void *state);
    void (*peer_free)(peer_t *p);

    /* NULL accepts `req`; else the error answer (the caller sends it). */
    RaftCmdpb__RaftCmdResponse *(*check_proposal)(peer_t *p, const RaftCmdpb__RaftCmdRequest *req);
    /* Answers `cb` exactly once (maybe at once, maybe after it applies). */
    void (*propose_admin)(peer_t *p, const RaftCmdpb__RaftCmdRequest *req, peer_cb_t cb);

    /* A committed entry the peer has not applied. Non-zero: the hook
     * applied it completely (its writes and the apply state in one batch,
     * the proposal answered) and 2B's apply must not see it; *err is set
     * if that failed (the peer then stops, as on any storage error). Zero:
     * a data command in range and epoch, or CompactLog, for 2B/2C. */
    int (*apply_entry)(peer_t *p, const raft_entry_t *e, tkv_err_t *err);

    /* A message for a region with no live peer here (msg borrowed). */
    tkv_err_t (*on_unknown_region)(store_t *s, const RaftServerpb__RaftMessage *msg);
    /* Non-zero: the message was dealt with and must not be stepped. */
    int (*filter_message)(store_t *s, peer_t *p, const RaftServerpb__RaftMessage *msg);
    void (*on_tick)(store_t *s, peer_t *p);
    void (*on_store_tick)(store_t *s);
} store_ext_t;

/* ---- what a store offers its extension ---- */
/* The state store_open made (NULL if none). */
void *store_ext_state(store_t *s);
const peer_config_t *store_peer_config(const store_t *s);
/* Every peer the store holds, in no particular order, including peers
 * marked destroyed during the current input (check peer_is_destroyed()).
 * Borrowed until the store's next input; hooks may add peers meanwhile. */
peer_t *const *store_peers(store_t *s, size_t *n);
/* Opens the peer of a region whose state is in the kv DB and starts
 * hosting it; any live peer of that region here is marked destroyed first. */
tkv_err_t store_open_peer(store_t *s, uint64_t region_id, peer_t **out);
/* Starts hosting an uninitialized peer (peer_create_uninitialized()). */
tkv_err_t store_open_uninitialized_peer(store_t *s, uint64_t region_id, uint64_t peer_id,
                                        peer_t **out);
/* Sends bytes to another store through the store's transport. */
void store_send(store_t *s, uint64_t to_store, const uint8_t *data, size_t len);
/* The peer that owns `p` (for hooks called with a peer). */
store_t *peer_store(const peer_t *p);

#endif
