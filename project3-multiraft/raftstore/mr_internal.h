/*
 * What the files of project 3B's store share (multiraft.h is the door):
 *
 *   multiraft.c      the hook table, per-store and per-peer state
 *   region_check.c   epoch and key-range checks, region errors      (3B: yours)
 *   admin_propose.c  TransferLeader, ChangePeer, Split at propose    (3B: yours)
 *   admin_apply.c    conf changes and splits at apply                (3B: yours)
 *   peer_life.c      peers created from messages, destroyed, tombstones (3B: yours)
 *   split_check.c    measuring a region and finding its split key
 *   sched_client.c   heartbeats, AskSplit, operators from the scheduler
 */
#ifndef TKV_MULTIRAFT_INTERNAL_H
#define TKV_MULTIRAFT_INTERNAL_H

#include "project2-raft/raftstore/cmd_resp.h"
#include "project2-raft/raftstore/pb_util.h"
#include "project3-multiraft/raftstore/multiraft.h"

/* A split waiting for its ids from the scheduler. */
typedef struct {
    uint64_t id; /* the AskSplit request's */
    uint64_t region_id;
    Metapb__RegionEpoch epoch; /* the region's when asked: the split is proposed with it */
    tkv_buf_t key;
} mr_ask_t;

/* Per store (store_ext_state()). */
typedef struct {
    store_t *store;                /* borrowed */
    const multiraft_config_t *cfg; /* borrowed */
    uint64_t next_req_id;
    mr_ask_t *asks;
    size_t n_asks;
    int store_hb_elapsed;
    multiraft_stats_t stats;
} mr_store_t;

/* Per peer (peer_t.ext_state), made on first use. */
typedef struct {
    int split_elapsed, hb_elapsed;
    int was_leader;
    int report_now; /* something changed: heartbeat at the next tick */
    uint64_t ask_age;
} mr_peer_t;

mr_store_t *mr_store(store_t *s);
mr_peer_t *mr_peer(peer_t *p);

/* ---- region_check.c ---- */
RaftCmdpb__RaftCmdResponse *mr_check_proposal(peer_t *p, const RaftCmdpb__RaftCmdRequest *req);
/* The epoch rule: which of conf_ver/version a command must match. NULL ok. */
RaftCmdpb__RaftCmdResponse *mr_check_epoch(peer_t *p, const Metapb__Region *region,
                                           const RaftCmdpb__RaftCmdRequest *req);
/* Every key of a data command inside the region. NULL ok. */
RaftCmdpb__RaftCmdResponse *mr_check_keys(peer_t *p, const Metapb__Region *region,
                                          const RaftCmdpb__RaftCmdRequest *req);
int mr_key_in_region(const Metapb__Region *r, const uint8_t *key, size_t len);
/* Region errors (malloc'd trees, as cmd_resp.h). */
RaftCmdpb__RaftCmdResponse *mr_resp_epoch_not_match(uint64_t term, const char *why,
                                                    const Metapb__Region *const *regions, size_t n);
RaftCmdpb__RaftCmdResponse *mr_resp_key_not_in_region(uint64_t term, const uint8_t *key, size_t len,
                                                      const Metapb__Region *region);
RaftCmdpb__RaftCmdResponse *mr_resp_admin(uint64_t term, RaftCmdpb__AdminCmdType type);

/* ---- admin_propose.c ---- */
void mr_propose_admin(peer_t *p, const RaftCmdpb__RaftCmdRequest *req, peer_cb_t cb);

/* ---- admin_apply.c ---- */
int mr_apply_entry(peer_t *p, const raft_entry_t *e, tkv_err_t *err);
/* The waiting proposal for entry e, if any (earlier ones answered stale). */
int mr_take_proposal(peer_t *p, const raft_entry_t *e, peer_cb_t *out);
/* Writes `wb` plus the apply state at e->index; restores applied on failure. */
tkv_err_t mr_write_applied(peer_t *p, const raft_entry_t *e, eng_batch_t *wb);
/* Replaces the peer's region in memory (after its state was written). */
void mr_set_region(peer_t *p, const Metapb__Region *region);

/* ---- peer_life.c ---- */
tkv_err_t mr_on_unknown_region(store_t *s, const RaftServerpb__RaftMessage *msg);
int mr_filter_message(store_t *s, peer_t *p, const RaftServerpb__RaftMessage *msg);
/* Destroys the peer: tombstone region state, data (if initialized) and raft
 * state gone; the store frees it after the current input. */
tkv_err_t mr_destroy_peer(peer_t *p, const char *why);
/* The region state stored for region_id (caller frees), or NULL. */
RaftServerpb__RegionLocalState *mr_load_region_state(store_t *s, uint64_t region_id);

/* ---- split_check.c ---- */
/* Approximate bytes (keys + values, every CF) in the region, and the first
 * key past `split_size` bytes (empty if the region is not past max_size). */
tkv_err_t mr_split_check(eng_t *kv_db, const Metapb__Region *region, uint64_t max_size,
                         uint64_t split_size, uint64_t *size, tkv_buf_t *split_key);

/* ---- sched_client.c ---- */
void mr_on_tick(store_t *s, peer_t *p);
void mr_on_store_tick(store_t *s);
/* Reports the region to the scheduler soon (after a change). */
void mr_report_soon(peer_t *p);
tkv_err_t mr_ask_split(store_t *s, peer_t *p, tkv_slice_t key);

#endif
