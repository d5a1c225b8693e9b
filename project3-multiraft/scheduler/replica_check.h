/*
 * The replica checker: keeps every region at max_replicas healthy peers
 * (frame code; it runs beside the student's balance-region of 3C).
 *
 * A real cluster starts with one region holding one peer on the first
 * store; stores that join later hold nothing, and a store that dies or is
 * wiped takes its replicas with it. Nothing in the stores repairs that: the
 * scheduler must. On every accepted region heartbeat of a region that has
 * no operator in flight, replica_check() looks at the region and decides at
 * most one repair, in this order:
 *
 *   1. too many peers (an operator that timed out between its add and its
 *      remove leaves one): remove one, a peer on a bad store first;
 *   2. a peer on a bad store (down: no store heartbeat for
 *      max_store_down_ms; offline: replaced by a new store at its address,
 *      see cluster_put_store(); tombstone): move it to the best target,
 *      adding the new peer before removing the bad one;
 *   3. fewer peers than max_replicas: add one on the best target.
 *
 * The best target is a suitable store (cluster_store_is_suitable()) with no
 * peer of the region, the one with the fewest regions (ties: lowest id). A
 * repair never lowers a region's peer count below what it is: new peers
 * come first, so a second failure during the repair finds no smaller
 * quorum than before.
 */
#ifndef TKV_SCHED_REPLICA_CHECK_H
#define TKV_SCHED_REPLICA_CHECK_H

#include "common/err.h"
#include "project3-multiraft/scheduler/cluster.h"
#include "project3-multiraft/scheduler/id_alloc.h"
#include "project3-multiraft/scheduler/operator.h"

/* A peer on this store is to be replaced: known and down, offline or a
 * tombstone. A store the cluster does not know is not bad (it may not have
 * registered yet). */
int replica_store_is_bad(const sched_cluster_t *c, uint64_t store_id);

/* True when replica_check() would repair `r`: a peer on a bad store, or a
 * peer count other than max_replicas. The balancer leaves such a region
 * to the replica checker (service.c): a move started on it can get stuck
 * (a leader transfer needs votes the dead peer cannot give) and would hold
 * off the repair for the operator's whole timeout. */
int replica_needs_repair(const sched_cluster_t *c, const sched_region_t *r);

/* Decides one repair for region `r`. *out is the operator (caller frees it
 * with free() or hands it to opctl_add()), or NULL when the region is
 * whole or nothing can be done yet (no store to move to). New peer ids come
 * from `ids`; an error from it is returned with *out NULL. */
tkv_err_t replica_check(sched_cluster_t *c, sched_id_alloc_t *ids, const sched_region_t *r,
                        sched_operator_t **out);

#endif
