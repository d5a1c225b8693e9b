/*
 * The replica checker (replica_check.h): what a region lacks and the
 * operator that supplies it.
 */
#include <stdlib.h>

#include "common/log.h"
#include "project3-multiraft/scheduler/replica_check.h"

int replica_store_is_bad(const sched_cluster_t *c, uint64_t store_id)
{
    const sched_store_t *s = cluster_get_store(c, store_id);
    if (s == NULL)
        return 0;
    return s->meta->state != METAPB__STORE_STATE__STORE_UP || cluster_store_is_down(c, s);
}

/* The suitable store with the fewest regions that holds no peer of r, or
 * NULL. */
static const sched_store_t *best_target(const sched_cluster_t *c, const sched_region_t *r)
{
    const sched_store_t *best = NULL;
    for (size_t i = 0; i < cluster_store_count(c); i++) {
        const sched_store_t *s = cluster_store_at(c, i);
        if (!cluster_store_is_suitable(c, s) || region_store_peer(r, s->meta->id) != NULL)
            continue;
        /* Stores come in id order, so a strict < keeps the lowest id. */
        if (best == NULL || s->region_count < best->region_count)
            best = s;
    }
    return best;
}

/* The store of r's first peer on a bad store, or 0. */
static uint64_t bad_peer_store(const sched_cluster_t *c, const sched_region_t *r)
{
    for (size_t i = 0; i < r->region->n_peers; i++) {
        if (replica_store_is_bad(c, r->region->peers[i]->store_id))
            return r->region->peers[i]->store_id;
    }
    return 0;
}

/* The peer to drop from a region with too many: one on a bad store, else a
 * follower on the store with the most regions. */
static uint64_t extra_peer_store(const sched_cluster_t *c, const sched_region_t *r)
{
    uint64_t bad = bad_peer_store(c, r);
    if (bad != 0)
        return bad;
    uint64_t pick = 0, most = 0;
    for (size_t i = 0; i < r->region->n_peers; i++) {
        uint64_t sid = r->region->peers[i]->store_id;
        if (sid == region_leader_store(r))
            continue;
        const sched_store_t *s = cluster_get_store(c, sid);
        uint64_t n = s ? s->region_count : 0;
        if (pick == 0 || n > most) {
            pick = sid;
            most = n;
        }
    }
    return pick;
}

int replica_needs_repair(const sched_cluster_t *c, const sched_region_t *r)
{
    if (r->region->n_peers != cluster_config(c)->max_replicas)
        return 1;
    for (size_t i = 0; i < r->region->n_peers; i++)
        if (replica_store_is_bad(c, r->region->peers[i]->store_id))
            return 1;
    return 0;
}

tkv_err_t replica_check(sched_cluster_t *c, sched_id_alloc_t *ids, const sched_region_t *r,
                        sched_operator_t **out)
{
    *out = NULL;
    if (r == NULL || r->region == NULL)
        return TKV_OK;
    size_t want = cluster_config(c)->max_replicas;
    size_t have = r->region->n_peers;
    uint64_t now = cluster_now_ms(c);

    if (have > want) {
        /* If the leader must go, it hands over to a peer on a good store. */
        uint64_t avoid[16];
        size_t navoid = 0;
        for (size_t i = 0; i < have && navoid < 16; i++) {
            if (replica_store_is_bad(c, r->region->peers[i]->store_id))
                avoid[navoid++] = r->region->peers[i]->store_id;
        }
        uint64_t from = extra_peer_store(c, r);
        if (from != 0)
            *out = operator_remove_peer("remove-extra-replica", r, from, avoid, navoid, now);
        return TKV_OK;
    }
    uint64_t bad = bad_peer_store(c, r);
    const sched_store_t *to = NULL;
    if (bad == 0 && have == want)
        return TKV_OK;
    to = best_target(c, r);
    if (to == NULL)
        return TKV_OK; /* nowhere to put a replica: wait for a store */
    uint64_t peer_id = 0;
    tkv_err_t e = idalloc_next(ids, &peer_id);
    if (e != TKV_OK)
        return e;
    if (bad != 0)
        *out = operator_move_peer("replace-bad-replica", r, bad, to->meta->id, peer_id, now);
    else
        *out = operator_add_peer("add-replica", r, to->meta->id, peer_id, now);
    return TKV_OK;
}
