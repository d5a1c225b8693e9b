/*
 * How a cluster store comes up (frame code): who it is, and whether it
 * starts the cluster.
 *
 *   <data_dir>/store.ident       "tinykv-store cluster=C store=S": written
 *                                once, at first start, with the store id
 *                                the scheduler handed out (AllocId); the
 *                                cluster id is added once known. A restart
 *                                reuses them; a data dir of another cluster
 *                                (the scheduler answers with another cluster
 *                                id) is refused with both ids named.
 *   <data_dir>/bootstrap.region  the first region this store proposed to
 *                                start the cluster with, kept from just
 *                                before the Bootstrap call until the region
 *                                is on disk, so a crash in between is
 *                                finished on restart, never half-done.
 *
 * First store of a new cluster (IsBootstrapped false): it takes a region id
 * and a peer id (AllocId), writes bootstrap.region (the whole key space, one
 * peer, on itself), and calls Bootstrap with it. Whoever loses a race to
 * bootstrap (ALREADY_BOOTSTRAPPED) drops its proposal and joins. Then every
 * store registers its addresses (PutStore): `addr` for clients, `raft_addr`
 * (metapb.Store.peer_address) for the other stores' transports. The caller writes the region to
 * the store when asked (server_boot_t.bootstrap) and calls
 * server_boot_done().
 *
 * Ownership: server_boot_t.bootstrap is the caller's (pb_free()).
 */
#ifndef TKV_SERVER_SERVER_BOOT_H
#define TKV_SERVER_SERVER_BOOT_H

#include "proto/metapb.pb-c.h"
#include "server/sched_link.h"

typedef struct {
    uint64_t cluster_id, store_id;
    Metapb__Region *bootstrap; /* the region to write to the store, or NULL */
} server_boot_t;

/* Everything above, retrying an unreachable scheduler for up to wait_ms.
 * TKV_ERR_INVALID (with the reason) for a data dir of another cluster;
 * TKV_ERR_NET when the scheduler never answered. */
tkv_err_t server_boot(sched_link_t *link, const char *data_dir, const char *addr,
                      const char *raft_addr, int wait_ms, server_boot_t *out);

/* The bootstrap region is on disk: drops bootstrap.region. */
tkv_err_t server_boot_done(const char *data_dir);

#endif
