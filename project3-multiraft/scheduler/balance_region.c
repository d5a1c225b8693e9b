/*
 * Balance-region (balance_region.h), project 3C part 2.
 *
 * The decision, as TinyKV makes it:
 *   1. Only suitable stores take part: up (not offline or tombstone) and not
 *      down (heard from within max_store_down_ms).
 *   2. Sources are tried from the largest region size down.
 *   3. On a source, a region to move is looked for among the regions whose
 *      peer there is pending (a replica that is behind is the cheapest to
 *      give up), then those where it is a follower, then those it leads.
 *      A region with fewer peers than max_replicas is skipped: it is short
 *      of replicas, and moving one of them is not balancing.
 *   4. The target is the suitable store with the smallest region size that
 *      does not hold the region already.
 *   5. The move happens only if source size - target size is at least twice
 *      the region's approximate size: otherwise, after the move, the target
 *      could be the bigger one and the next round would move it back.
 * The move is an operator (operator.h): add a peer on the target, then
 * remove the one on the source.
 */
#include <stdlib.h>

#include "project3-multiraft/scheduler/balance_region.h"

/* LAB 3C BEGIN */
static int by_size_desc(const void *a, const void *b)
{
    const sched_store_t *x = *(sched_store_t *const *)a, *y = *(sched_store_t *const *)b;
    if (x->region_size != y->region_size)
        return x->region_size > y->region_size ? -1 : 1;
    return x->meta->id < y->meta->id ? -1 : x->meta->id > y->meta->id;
}

/* How source's peer stands in region r: 0 pending, 1 follower, 2 leader,
 * -1 no peer there. */
static int peer_kind(const sched_region_t *r, uint64_t store_id)
{
    const Metapb__Peer *p = region_store_peer(r, store_id);
    if (p == NULL)
        return -1;
    if (region_peer_is_pending(r, p->id))
        return 0;
    return (r->leader != NULL && r->leader->id == p->id) ? 2 : 1;
}

/* The smallest suitable store (stores[] is sorted largest first) without a
 * peer of r, or NULL. */
static sched_store_t *pick_target(sched_store_t **stores, size_t n, const sched_region_t *r)
{
    for (size_t i = n; i-- > 0;) {
        if (region_store_peer(r, stores[i]->meta->id) == NULL)
            return stores[i];
    }
    return NULL;
}
/* LAB 3C END */

tkv_err_t balance_region_schedule(sched_cluster_t *c, sched_id_alloc_t *ids, sched_operator_t **out)
{
    /* LAB 3C BEGIN */
    *out = NULL;
    size_t n = 0;
    sched_store_t **stores = xmalloc((cluster_store_count(c) + 1) * sizeof(*stores));
    for (size_t i = 0; i < cluster_store_count(c); i++) {
        sched_store_t *s = cluster_store_at(c, i);
        if (cluster_store_is_suitable(c, s))
            stores[n++] = s;
    }
    qsort(stores, n, sizeof(*stores), by_size_desc);

    tkv_err_t e = TKV_OK;
    for (size_t si = 0; si < n && *out == NULL; si++) {
        sched_store_t *source = stores[si];
        for (int kind = 0; kind <= 2 && *out == NULL; kind++) {
            for (size_t ri = 0; ri < cluster_region_count(c) && *out == NULL; ri++) {
                const sched_region_t *r = cluster_region_at(c, ri);
                if (peer_kind(r, source->meta->id) != kind ||
                    r->region->n_peers < cluster_config(c)->max_replicas)
                    continue;
                sched_store_t *target = pick_target(stores, n, r);
                if (target == NULL || source->region_size <= target->region_size ||
                    source->region_size - target->region_size < 2 * r->approximate_size)
                    continue;
                uint64_t peer_id = 0;
                e = idalloc_next(ids, &peer_id);
                if (e != TKV_OK)
                    break;
                *out = operator_move_peer("balance-region", r, source->meta->id, target->meta->id,
                                          peer_id, cluster_now_ms(c));
            }
            if (e != TKV_OK)
                break;
        }
        if (e != TKV_OK)
            break;
    }
    free(stores);
    return e;
    /* LAB 3C STUB
    // Pick a source store, a region on it and a target store as described
    // at the top of this file, then build the move with operator_move_peer()
    // and a new peer id from idalloc_next().
    (void)c;
    (void)ids;
    *out = NULL;
    return tkv_not_implemented("balance_region_schedule");
    LAB 3C END */
}
