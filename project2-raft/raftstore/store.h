/*
 * A store: one node's share of the cluster, hosting a peer for each region
 * it holds a replica of. Messages, ticks and commands are routed by region
 * id; store_region_by_key() finds which of its regions holds a key. In
 * projects 2B and 2C the regions are fixed at bootstrap; project 3B makes
 * them split, move and change members through the extension in
 * store_ext.h, which store_config_t.ext hands in.
 *
 * Like the peers it hosts, a store does no I/O of its own except its two
 * leveldb databases, under one data directory:
 *
 *     <data_dir>/raft   raft DB: logs and hard states (keys.h)
 *     <data_dir>/kv     kv DB: user data, apply and region states, store ident
 *
 * Its driver (the simulator in tests, the server runtime in binaries) feeds
 * it with store_step() for each message from another store, store_tick()
 * on a timer, and store_propose() for client commands; the store answers
 * through the transport (messages out) and callbacks (command results).
 * A crash is store_close() without any flushing: everything that matters is
 * already in the databases, and store_open() rebuilds the rest.
 *
 * Ownership: store_open() returns a store the caller closes with
 * store_close(), which answers every waiting callback (StaleCommand) and
 * closes the databases. The config's strings are copied; the transport and
 * PRNG are borrowed for the store's lifetime.
 */
#ifndef TKV_RAFTSTORE_STORE_H
#define TKV_RAFTSTORE_STORE_H

#include "project2-raft/raftstore/peer.h"

typedef struct {
    uint64_t store_id; /* never 0 */
    const char *data_dir;
    peer_config_t peer;
    peer_transport_t transport; /* where store_step()'s counterparts are sent */
    tkv_prng_t *prng;           /* election timeouts; NULL: seeded with store_id */
    /* Project 3B's hooks (store_ext.h) and their argument; NULL: none, and
     * the store refuses what only project 3B can do. */
    const struct store_ext *ext;
    void *ext_arg;
} store_config_t;

typedef struct store store_t;

/* Opens (creating if needed) the databases under cfg->data_dir, checks that
 * they belong to this store id, and starts a peer for every region found.
 * TKV_ERR_INVALID when the directory belongs to another store. */
tkv_err_t store_open(const store_config_t *cfg, store_t **out);
void store_close(store_t *s);

/* Writes a brand-new region's initial state and starts its peer. Every
 * store named in the region does this once, before the cluster runs (as
 * TinyKV's test cluster and its scheduler bootstrap do). */
tkv_err_t store_bootstrap_region(store_t *s, const Metapb__Region *region);

/* A raft_serverpb.RaftMessage from another store (bytes borrowed). Bad
 * bytes, or a message for a peer this store does not host, are refused
 * with an error and change nothing (with project 3B, a message for a
 * region this store was just added to creates its peer). */
tkv_err_t store_step(store_t *s, const uint8_t *data, size_t len);
/* One unit of logical time for every peer. */
void store_tick(store_t *s);
/* Routes a command to its region's peer (header.region_id). `cb` is
 * called exactly once: RegionNotFound if this store has no such region. */
void store_propose(store_t *s, const RaftCmdpb__RaftCmdRequest *req, peer_cb_t cb);
/* Starts an election for a region now. */
tkv_err_t store_campaign(store_t *s, uint64_t region_id);

/* A round (the server runtime; the simulator never opens one): between
 * store_begin_round() and store_end_round(), the inputs above only feed
 * the peers' Raft cores, and store_end_round() handles each touched
 * peer's Ready once. Many messages and proposals then cost one Ready:
 * one log write, one sync and one apply for the lot, instead of one each.
 * Nothing else changes: a Ready is still saved, then sent, then applied. */
void store_begin_round(store_t *s);
void store_end_round(store_t *s);

/* ---- for drivers and tests (borrowed) ---- */
uint64_t store_id(const store_t *s);
eng_t *store_kv_db(store_t *s);
eng_t *store_raft_db(store_t *s);
/* The live peer of region_id, or NULL. */
peer_t *store_peer(store_t *s, uint64_t region_id);
/* The live, initialized peer whose region holds `key`, or NULL. */
peer_t *store_region_by_key(store_t *s, tkv_slice_t key);
/* How many regions (live peers) the store hosts. */
size_t store_n_regions(const store_t *s);

#endif
