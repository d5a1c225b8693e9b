/*
 * Simulated clients for the cluster tests: each one a sequential loop of
 * appends and reads on its own key, retrying each operation until some node
 * answers it, recording everything in a history (tests/harness/history.h)
 * for the client-view and linearizability checks.
 *
 * An append of value v to key K is a put of "K/<seq>" (seq zero-padded, so
 * key order is append order); a read of K is a scan of the prefix "K/"
 * through a Snap command (sim_store.h). One logical operation may take many
 * attempts (timeouts, NotLeader, StaleCommand); it is recorded once, from
 * its first send to the answer that succeeded, and an operation still
 * unanswered when the clients stop stays pending (its outcome unknown).
 * Retrying a put is harmless: the same key gets the same value. With
 * shared keys, clients also overwrite, delete and read keys they all share,
 * so a stale read, a lost delete or a write applied after a later one shows
 * up as a history no order can explain.
 *
 * Routing (as a TinyKV client): each attempt asks the scheduler
 * (mock_sched.h) for the region holding the operation's key and sends the
 * command, with the region's id and epoch, to its leader as last reported
 * (or, not knowing it, to one of its peers). NotLeader with a hint moves
 * to the hinted store; EpochNotMatch, KeyNotInRegion and RegionNotFound
 * ask the scheduler again after a short back-off; a timeout tries the
 * region's next peer. A read scans its prefix region by region: when a
 * Snap's region ends inside the prefix, the scan goes on from that end key
 * in the next region, until the prefix is covered. Without a scheduler the
 * clients use a private one that knows the simulator's bootstrap layout
 * (one region over every key, a peer on every node: sim_store.h).
 *
 * Ownership: kv_clients_start() returns clients the caller frees with
 * kv_clients_free() AFTER freeing the cluster (events in the simulator point
 * at them). The cluster and history are borrowed.
 */
#ifndef TKV_TESTS_HARNESS_KV_CLIENT_H
#define TKV_TESTS_HARNESS_KV_CLIENT_H

#include "tests/harness/history.h"
#include "tests/harness/mock_sched.h"
#include "tests/harness/sim_cluster.h"

typedef struct {
    int clients;         /* clients 0..clients-1, using the cluster's client endpoints */
    uint64_t timeout_ms; /* give up on a node after this long (0: 250) */
    /* Keys "s0".."s<n-1>" every client also puts, deletes and gets (a third
     * of the operations: half gets, 3/8 puts, 1/8 deletes); 0: none. Values
     * are "c<client>.<n>", unique per write and never empty. */
    int shared_keys;
    mock_sched_t *sched; /* where regions are looked up (borrowed); NULL: see above */
} kv_clients_opts_t;

typedef struct kv_clients kv_clients_t;

kv_clients_t *kv_clients_start(sim_cluster_t *c, history_t *h, const kv_clients_opts_t *o);
/* No new operations or retries from now on; what is in flight stays pending. */
void kv_clients_stop(kv_clients_t *k);
void kv_clients_free(kv_clients_t *k);

/* Operations answered so far (all clients). */
uint64_t kv_clients_done(const kv_clients_t *k);
/* The key client i appends to (static storage per client set; borrowed). */
const char *kv_client_key(const kv_clients_t *k, int i);

#endif
