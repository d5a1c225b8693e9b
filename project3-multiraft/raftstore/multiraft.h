/*
 * Project 3B: regions that change shape. This folder fills the seam of
 * project 2's store (project2-raft/raftstore/store_ext.h) so that a store's
 * regions can move their leader (TransferLeader), change members
 * (ChangePeer: add and remove peers, peers created from a message and
 * destroyed with a tombstone), and split (a split checker, ids from the
 * scheduler, an atomic split apply), with every command checked against
 * the region's epoch when it is proposed and again when it is applied.
 *
 * How it is wired: whoever opens a store (the simulator's node adapter in
 * tests, the server) sets
 *
 *     store_config_t cfg = { ..., .ext = &multiraft_store_ext, .ext_arg = &mr_cfg };
 *
 * with a multiraft_config_t that outlives the store. Without it the store
 * is project 2's and refuses what is here.
 *
 * The scheduler is reached through a transport (mr_sched_transport_t) so
 * the same store talks to a simulated scheduler in tests and to the real
 * tinykv-scheduler over TCP: requests are packed schedulerpb messages named
 * by their Scheduler RPC method; the answer comes back through
 * multiraft_scheduler_reply() with the request's id.
 *
 * Ownership: the config and transport are borrowed for the store's life.
 */
#ifndef TKV_MULTIRAFT_H
#define TKV_MULTIRAFT_H

#include "project2-raft/raftstore/store_ext.h"

/* One request to the scheduler: method is a Scheduler RPC name
 * ("RegionHeartbeat", "StoreHeartbeat", "AskSplit"), data its packed
 * request (borrowed for the call). It must not call back into the store:
 * queue the bytes, answer later with multiraft_scheduler_reply(). */
typedef struct {
    void (*send)(void *arg, uint64_t store_id, uint64_t id, const char *method, const uint8_t *data,
                 size_t len);
    void *arg;
} mr_sched_transport_t;

typedef struct {
    /* Split checks: every split_check_tick ticks a leader measures its
     * region; past region_max_size bytes it asks to split at the key where
     * region_split_size bytes are behind it. 0 ticks: never. */
    int split_check_tick;
    uint64_t region_max_size, region_split_size;
    /* A leader reports each of its regions every heartbeat_tick ticks (and
     * at once after a change); the store reports itself every
     * store_heartbeat_tick ticks. 0: never. */
    int heartbeat_tick, store_heartbeat_tick;
    mr_sched_transport_t sched; /* send NULL: no scheduler */
} multiraft_config_t;

/* Defaults: checks every 10 ticks, split past 144 MiB at 96 MiB (TinyKV's),
 * heartbeats every 10 and 100 ticks, no scheduler. */
multiraft_config_t multiraft_config_default(void);

extern const store_ext_t multiraft_store_ext;

/* The scheduler's answer to request `id` (bytes borrowed). Unknown ids and
 * bad bytes are ignored: a late answer to a store that restarted. */
void multiraft_scheduler_reply(store_t *s, uint64_t id, const char *method, const uint8_t *data,
                               size_t len);

/* Asks region `region_id`'s leader on this store to split at `key` now
 * (tests and tinykv-ctl): the ids come from the scheduler, as for a split
 * the checker found. TKV_ERR_NOT_FOUND without such a region here. */
tkv_err_t multiraft_ask_split(store_t *s, uint64_t region_id, tkv_slice_t key);

/* Statistics for tests. */
typedef struct {
    uint64_t splits_asked, splits_applied, peers_created, peers_destroyed, tombstones_sent;
} multiraft_stats_t;
multiraft_stats_t multiraft_stats(store_t *s);

#endif
