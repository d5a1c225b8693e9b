/*
 * The region tree (region_tree.h): two sorted arrays of the same regions,
 * one by start key, one by id. Inserting and removing move O(n) pointers,
 * which for the thousands of regions a course cluster has costs less than
 * balancing a tree; every lookup is a binary search.
 */
#include <stdlib.h>
#include <string.h>

#include "project3-multiraft/scheduler/region_tree.h"

sched_region_t *region_copy(const Schedulerpb__RegionHeartbeatRequest *hb)
{
    if (hb == NULL || hb->region == NULL)
        return NULL;
    /* Packing and unpacking is the one deep copy protobuf-c offers; the
     * header is dropped because it belongs to the request, not the region. */
    Schedulerpb__RegionHeartbeatRequest shallow = *hb;
    shallow.header = NULL;
    size_t n = schedulerpb__region_heartbeat_request__get_packed_size(&shallow);
    uint8_t *bytes = xmalloc(n ? n : 1);
    schedulerpb__region_heartbeat_request__pack(&shallow, bytes);
    sched_region_t *r = schedulerpb__region_heartbeat_request__unpack(NULL, n, bytes);
    free(bytes);
    return r;
}

void region_free(sched_region_t *r)
{
    if (r != NULL)
        schedulerpb__region_heartbeat_request__free_unpacked(r, NULL);
}

uint64_t region_id(const sched_region_t *r)
{
    return r->region->id;
}

tkv_slice_t region_start(const sched_region_t *r)
{
    return slice_of(r->region->start_key.data, r->region->start_key.len);
}

tkv_slice_t region_end(const sched_region_t *r)
{
    return slice_of(r->region->end_key.data, r->region->end_key.len);
}

uint64_t region_version(const sched_region_t *r)
{
    return r->region->region_epoch ? r->region->region_epoch->version : 0;
}

uint64_t region_conf_ver(const sched_region_t *r)
{
    return r->region->region_epoch ? r->region->region_epoch->conf_ver : 0;
}

const Metapb__Peer *region_store_peer(const sched_region_t *r, uint64_t store_id)
{
    for (size_t i = 0; i < r->region->n_peers; i++) {
        if (r->region->peers[i]->store_id == store_id)
            return r->region->peers[i];
    }
    return NULL;
}

int region_peer_is_pending(const sched_region_t *r, uint64_t peer_id)
{
    for (size_t i = 0; i < r->n_pending_peers; i++) {
        if (r->pending_peers[i]->id == peer_id)
            return 1;
    }
    return 0;
}

uint64_t region_leader_store(const sched_region_t *r)
{
    return r->leader ? r->leader->store_id : 0;
}

/* True when `key` is below the end `end` (an empty end is infinity). */
static int before_end(tkv_slice_t key, tkv_slice_t end)
{
    return end.len == 0 || slice_compare(key, end) < 0;
}

int region_contains(const sched_region_t *r, tkv_slice_t key)
{
    return slice_compare(region_start(r), key) <= 0 && before_end(key, region_end(r));
}

struct region_tree {
    sched_region_t **by_key; /* sorted by start key */
    sched_region_t **by_id;  /* sorted by id */
    size_t n, cap;
};

region_tree_t *rtree_new(void)
{
    return xcalloc(1, sizeof(region_tree_t));
}

void rtree_free(region_tree_t *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++)
        region_free(t->by_key[i]);
    free(t->by_key);
    free(t->by_id);
    free(t);
}

size_t rtree_count(const region_tree_t *t)
{
    return t->n;
}

sched_region_t *rtree_at(const region_tree_t *t, size_t i)
{
    return i < t->n ? t->by_key[i] : NULL;
}

/* The first index in by_id whose id is >= id. */
static size_t lower_id(const region_tree_t *t, uint64_t id)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (region_id(t->by_id[mid]) < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The number of regions whose start key is <= key: the region that may hold
 * `key` is the one just before that index. */
static size_t upper_start(const region_tree_t *t, tkv_slice_t key)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (slice_compare(region_start(t->by_key[mid]), key) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

sched_region_t *rtree_get(const region_tree_t *t, uint64_t id)
{
    size_t i = lower_id(t, id);
    return (i < t->n && region_id(t->by_id[i]) == id) ? t->by_id[i] : NULL;
}

sched_region_t *rtree_search(const region_tree_t *t, tkv_slice_t key)
{
    size_t i = upper_start(t, key);
    if (i == 0)
        return NULL;
    sched_region_t *r = t->by_key[i - 1];
    return region_contains(r, key) ? r : NULL;
}

size_t rtree_overlaps(const region_tree_t *t, tkv_slice_t start, tkv_slice_t end,
                      sched_region_t ***out)
{
    *out = NULL;
    size_t i = upper_start(t, start);
    /* The region just before may reach into [start, end). */
    if (i > 0 && before_end(start, region_end(t->by_key[i - 1])))
        i--;
    size_t first = i;
    while (i < t->n && before_end(region_start(t->by_key[i]), end))
        i++;
    size_t n = i - first;
    if (n > 0) {
        *out = xmalloc(n * sizeof(**out));
        memcpy(*out, t->by_key + first, n * sizeof(**out));
    }
    return n;
}

static void insert_at(sched_region_t **arr, size_t n, size_t at, sched_region_t *r)
{
    memmove(arr + at + 1, arr + at, (n - at) * sizeof(*arr));
    arr[at] = r;
}

void rtree_insert(region_tree_t *t, sched_region_t *r)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->by_key = xrealloc(t->by_key, t->cap * sizeof(*t->by_key));
        t->by_id = xrealloc(t->by_id, t->cap * sizeof(*t->by_id));
    }
    insert_at(t->by_key, t->n, upper_start(t, region_start(r)), r);
    insert_at(t->by_id, t->n, lower_id(t, region_id(r)), r);
    t->n++;
}

static void remove_ptr(sched_region_t **arr, size_t n, size_t from, sched_region_t *r)
{
    for (size_t i = from; i < n; i++) {
        if (arr[i] == r) {
            memmove(arr + i, arr + i + 1, (n - i - 1) * sizeof(*arr));
            return;
        }
    }
}

void rtree_remove(region_tree_t *t, sched_region_t *r)
{
    /* Scan from the first region with the same start key: that is r itself
     * in a tree without overlaps, and the scan stays correct even if not. */
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (slice_compare(region_start(t->by_key[mid]), region_start(r)) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    remove_ptr(t->by_key, t->n, lo, r);
    remove_ptr(t->by_id, t->n, lower_id(t, region_id(r)), r);
    t->n--;
}
