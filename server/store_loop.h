/*
 * The store loop: the server's driver of one store_t (frame code).
 *
 * The store is single-threaded by design (project2-raft/raftstore/store.h):
 * a sans-IO state machine fed by store_step(), store_tick() and
 * store_propose(). In the simulator one thread feeds it; in the server many
 * threads have something for it (the transport's loop thread with Raft
 * messages, RPC handler threads with proposals, the scheduler link with
 * answers, the ticker with time). The loop makes the store the one FSM of a
 * batch system (runtime/batch_system.h) with one poller thread:
 *
 *   transport thread --store_loop_step()---------+
 *   RPC handlers ------store_loop_propose()------+--> the store's mailbox --> poller thread:
 *   scheduler link ----store_loop_sched_reply()--+    (bounded: BUSY when      store_step /
 * store_propose / ticker ------------bs_tick_all()-------------+     full)
 * multiraft_scheduler_reply / store_tick, in order
 *
 * So the store only ever runs on the poller thread, and each round drains
 * everything queued. Its outputs go straight out from that thread: Raft
 * messages to the TCP transport (transport_send_encoded), scheduler requests
 * to the scheduler link, proposal answers to the callbacks (which must not
 * block: RPC handlers wait on their own condition, see cluster_storage.h).
 *
 * Rounds: each batch the poller hands over is one store round (store.h):
 * its messages, proposals and ticks only feed the Raft cores, and at its end
 * each touched peer handles one Ready, however much input it had. While the
 * round runs the transport is corked, so what the round sends leaves as one
 * frame per store.
 *
 * Durability: a peer persists its Ready (log entries, hard state; synced
 * when peer_config_t.sync) before it hands the Ready's messages to the
 * transport (peer.h), so a message never promises an entry that is not on
 * disk. The apply writes (one kv DB batch per entry) are synced once at the
 * round's end instead of one by one: the log they replay from is on disk
 * already, and no raft DB write is let ahead of them (common/engine.h,
 * deferred syncs).
 *
 * Ownership: the caller owns the loop (store_loop_free()); it owns the
 * store. The transport and the scheduler sender are borrowed and must
 * outlive the loop's running. Callbacks of proposals run on the poller
 * thread, or in store_loop_stop() (StaleCommand) for proposals still
 * waiting, or at once with ServerIsBusy when the mailbox is full.
 */
#ifndef TKV_SERVER_STORE_LOOP_H
#define TKV_SERVER_STORE_LOOP_H

#include "project2-raft/raftstore/store.h"
#include "project3-multiraft/raftstore/multiraft.h"
#include "runtime/transport.h"

typedef void (*store_loop_sched_fn)(void *arg, uint64_t id, const char *method, const uint8_t *data,
                                    size_t len);

typedef struct {
    uint64_t store_id;
    const char *data_dir; /* copied by store_open */
    peer_config_t peer;
    /* Project 3B: regions that split and move, talking to a scheduler. 0:
     * the store is project 2's. */
    int multiraft;
    multiraft_config_t mr;     /* copied; its sched transport is set by the loop */
    uint32_t tick_ms;          /* Raft's base tick (e.g. 100) */
    size_t mailbox_cap;        /* messages queued for the store before BUSY (0: 16384) */
    transport_t *transport;    /* borrowed: Raft messages out */
    store_loop_sched_fn sched; /* scheduler requests (queue them, never block) */
    void *sched_arg;
} store_loop_config_t;

typedef struct store_loop store_loop_t;

/* Opens the store under cfg->data_dir (store_open()); nothing runs yet. */
tkv_err_t store_loop_open(const store_loop_config_t *cfg, store_loop_t **out);

/* The store, for set-up before store_loop_start() (bootstrap a region) and
 * nothing else: once started, only the poller thread may touch it. */
store_t *store_loop_store(store_loop_t *l);

/* Starts the poller and the ticker. */
tkv_err_t store_loop_start(store_loop_t *l);

/* ---- from any thread ---- */
/* A Raft message for the store (owned by the loop from here on, whatever
 * the result). TKV_ERR_BUSY: the mailbox is full and the message dropped
 * (Raft resends); TKV_ERR_CLOSED: stopping. */
tkv_err_t store_loop_step(store_loop_t *l, RaftServerpb__RaftMessage *msg);
/* The scheduler's answer to request `id` (bytes copied). */
tkv_err_t store_loop_sched_reply(store_loop_t *l, uint64_t id, const char *method,
                                 const uint8_t *data, size_t len);
/* Proposes the packed RaftCmdRequest cmd[0..len) (copied). With
 * header.region_id 0 the command goes to the store's region holding
 * `route_key` (copied), with that region's epoch. `cb` is called exactly
 * once, on the poller thread, or here at once when the command cannot be
 * queued (ServerIsBusy, or StaleCommand when stopping). */
void store_loop_propose(store_loop_t *l, const uint8_t *cmd, size_t len, tkv_slice_t route_key,
                        peer_cb_t cb);
/* Runs fn(store, arg) on the poller thread (fn must not block). TKV_OK:
 * queued, fn will run once (or, if the loop stops first, never: then
 * `cancel(arg)` runs instead, if given). Otherwise it will not run. */
tkv_err_t store_loop_run(store_loop_t *l, void (*fn)(store_t *s, void *arg),
                         void (*cancel)(void *arg), void *arg);

/* Stops the ticker and the poller, after everything queued was served. The
 * store stays open (store_loop_store() is usable again) until free. */
void store_loop_stop(store_loop_t *l);
/* Stops if needed, closes the store (answering waiting proposals with
 * StaleCommand) and frees. NULL is fine. */
void store_loop_free(store_loop_t *l);

#endif
