/*
 * Cluster state (cluster.h): stores, regions, persistence and the store
 * statistics derived from the regions. The rule for accepting a region
 * heartbeat is not here: it is the student's, in region_heartbeat.c.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pb.h"
#include "project3-multiraft/scheduler/cluster.h"
#include "project3-multiraft/scheduler/sched_keys.h"

struct sched_cluster {
    eng_t *eng;               /* borrowed */
    const tkv_clock_t *clock; /* borrowed */
    sched_config_t cfg;
    Metapb__Cluster *meta;  /* owned; NULL until bootstrapped */
    sched_store_t **stores; /* sorted by id */
    size_t nstores, capstores;
    region_tree_t *regions;
};

sched_config_t sched_config_default(void)
{
    sched_config_t cfg = { 30ULL * 60 * 1000, 3 };
    return cfg;
}

static void store_free(sched_store_t *s)
{
    if (s == NULL)
        return;
    protobuf_c_message_free_unpacked(&s->meta->base, NULL);
    if (s->stats != NULL)
        protobuf_c_message_free_unpacked(&s->stats->base, NULL);
    free(s);
}

/* The index of the first store with id >= id. */
static size_t store_lower(const sched_cluster_t *c, uint64_t id)
{
    size_t lo = 0, hi = c->nstores;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->stores[mid]->meta->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

sched_store_t *cluster_get_store(const sched_cluster_t *c, uint64_t id)
{
    size_t i = store_lower(c, id);
    return (i < c->nstores && c->stores[i]->meta->id == id) ? c->stores[i] : NULL;
}

size_t cluster_store_count(const sched_cluster_t *c)
{
    return c->nstores;
}

sched_store_t *cluster_store_at(const sched_cluster_t *c, size_t i)
{
    return i < c->nstores ? c->stores[i] : NULL;
}

/* Adds or subtracts (sign +1 / -1) region r's share of the statistics of the
 * stores its peers live on. Every accepted region passes through here once
 * with +1 and, when replaced, once with -1, so the sums stay exact. */
static void account_region(sched_cluster_t *c, const sched_region_t *r, int sign)
{
    for (size_t i = 0; i < r->region->n_peers; i++) {
        const Metapb__Peer *p = r->region->peers[i];
        sched_store_t *s = cluster_get_store(c, p->store_id);
        if (s == NULL)
            continue;
        uint64_t size = r->approximate_size;
        int is_leader = r->leader != NULL && r->leader->id == p->id;
        if (sign > 0) {
            s->region_count++;
            s->region_size += size;
            s->leader_count += is_leader;
            s->leader_size += is_leader ? size : 0;
            s->pending_peer_count += region_peer_is_pending(r, p->id);
        } else {
            s->region_count--;
            s->region_size -= size;
            s->leader_count -= is_leader;
            s->leader_size -= is_leader ? size : 0;
            s->pending_peer_count -= region_peer_is_pending(r, p->id);
        }
    }
}

/* Inserts a new store (taking ownership of meta) and counts the regions that
 * already have a peer on it: region heartbeats may name a store before its
 * PutStore arrives. */
static sched_store_t *store_insert(sched_cluster_t *c, Metapb__Store *meta)
{
    if (c->nstores == c->capstores) {
        c->capstores = c->capstores ? c->capstores * 2 : 8;
        c->stores = xrealloc(c->stores, c->capstores * sizeof(*c->stores));
    }
    sched_store_t *s = xcalloc(1, sizeof(*s));
    s->meta = meta;
    s->last_heartbeat_ms = clock_now_ms(c->clock);
    size_t at = store_lower(c, meta->id);
    memmove(c->stores + at + 1, c->stores + at, (c->nstores - at) * sizeof(*c->stores));
    c->stores[at] = s;
    c->nstores++;
    for (size_t i = 0; i < rtree_count(c->regions); i++) {
        const sched_region_t *r = rtree_at(c->regions, i);
        const Metapb__Peer *p = region_store_peer(r, meta->id);
        if (p == NULL)
            continue;
        int is_leader = r->leader != NULL && r->leader->id == p->id;
        s->region_count++;
        s->region_size += r->approximate_size;
        s->leader_count += is_leader;
        s->leader_size += is_leader ? r->approximate_size : 0;
        s->pending_peer_count += region_peer_is_pending(r, p->id);
    }
    return s;
}

static int has_prefix(tkv_slice_t key, const char *prefix)
{
    size_t n = strlen(prefix);
    return key.len >= n && memcmp(key.data, prefix, n) == 0;
}

/* Loads every record under `prefix` and hands each decoded message to
 * `take` (which owns it from then on). */
static tkv_err_t load_prefix(sched_cluster_t *c, const char *prefix,
                             const ProtobufCMessageDescriptor *desc,
                             void (*take)(sched_cluster_t *, ProtobufCMessage *))
{
    eng_iter_t *it = eng_iter_new(c->eng, NULL, NULL);
    tkv_err_t e = TKV_OK;
    for (eng_iter_seek(it, slice_of_str(prefix));
         eng_iter_valid(it) && has_prefix(eng_iter_key(it), prefix); eng_iter_next(it)) {
        tkv_slice_t v = eng_iter_value(it);
        ProtobufCMessage *m = protobuf_c_message_unpack(desc, NULL, v.len, v.data);
        if (m == NULL) {
            e = tkv_errorf(TKV_ERR_CORRUPT, "scheduler database: a record under %s does not decode",
                           prefix);
            break;
        }
        take(c, m);
    }
    if (e == TKV_OK)
        e = eng_iter_status(it);
    eng_iter_free(it);
    return e;
}

static void take_store(sched_cluster_t *c, ProtobufCMessage *m)
{
    store_insert(c, (Metapb__Store *)m);
}

static void take_region(sched_cluster_t *c, ProtobufCMessage *m)
{
    sched_region_t *r = (sched_region_t *)m;
    if (r->region == NULL) {
        region_free(r);
        return;
    }
    rtree_insert(c->regions, r);
    account_region(c, r, +1);
}

tkv_err_t cluster_open(eng_t *eng, const tkv_clock_t *clock, const sched_config_t *cfg,
                       sched_cluster_t **out)
{
    *out = NULL;
    sched_cluster_t *c = xcalloc(1, sizeof(*c));
    c->eng = eng;
    c->clock = clock;
    c->cfg = cfg ? *cfg : sched_config_default();
    c->regions = rtree_new();

    ProtobufCMessage *meta = NULL;
    tkv_err_t e =
        eng_get_msg(eng, slice_of_str(SCHED_KEY_CLUSTER), &metapb__cluster__descriptor, &meta);
    if (e == TKV_OK) {
        c->meta = (Metapb__Cluster *)meta;
        if (c->meta->max_peer_count > 0)
            c->cfg.max_replicas = c->meta->max_peer_count;
    } else if (e != TKV_ERR_NOT_FOUND) {
        cluster_free(c);
        return e;
    }
    /* Stores first, so loading regions counts them into the stores. */
    e = load_prefix(c, SCHED_KEY_STORE_PREFIX, &metapb__store__descriptor, take_store);
    if (e == TKV_OK)
        e = load_prefix(c, SCHED_KEY_REGION_PREFIX,
                        &schedulerpb__region_heartbeat_request__descriptor, take_region);
    if (e != TKV_OK) {
        cluster_free(c);
        return e;
    }
    *out = c;
    return TKV_OK;
}

void cluster_free(sched_cluster_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->nstores; i++)
        store_free(c->stores[i]);
    free(c->stores);
    rtree_free(c->regions);
    if (c->meta != NULL)
        protobuf_c_message_free_unpacked(&c->meta->base, NULL);
    free(c);
}

const sched_config_t *cluster_config(const sched_cluster_t *c)
{
    return &c->cfg;
}

void cluster_set_max_replicas(sched_cluster_t *c, uint32_t n)
{
    c->cfg.max_replicas = n;
}

uint64_t cluster_now_ms(const sched_cluster_t *c)
{
    return clock_now_ms(c->clock);
}

int cluster_is_bootstrapped(const sched_cluster_t *c)
{
    return c->meta != NULL;
}

uint64_t cluster_id(const sched_cluster_t *c)
{
    return c->meta ? c->meta->id : 0;
}

/* ---- stores -------------------------------------------------------------- */

/* The store other than `store` that is up at store's address, or NULL. */
static sched_store_t *address_holder(const sched_cluster_t *c, const Metapb__Store *store)
{
    const char *addr = store->address ? store->address : "";
    for (size_t i = 0; *addr != '\0' && i < c->nstores; i++) {
        const Metapb__Store *s = c->stores[i]->meta;
        if (s->id != store->id && s->state == METAPB__STORE_STATE__STORE_UP && s->address != NULL &&
            strcmp(s->address, addr) == 0)
            return c->stores[i];
    }
    return NULL;
}

/* Why `store` may not be put (TKV_OK if it may). */
static tkv_err_t check_store(const sched_cluster_t *c, const Metapb__Store *store)
{
    if (store == NULL || store->id == 0)
        return tkv_errorf(TKV_ERR_INVALID, "store without an id");
    const sched_store_t *old = cluster_get_store(c, store->id);
    if (old != NULL && old->meta->state == METAPB__STORE_STATE__STORE_TOMBSTONE &&
        store->state != METAPB__STORE_STATE__STORE_TOMBSTONE)
        return tkv_errorf(TKV_ERR_STALE, "store %llu is a tombstone and cannot come back",
                          (unsigned long long)store->id);
    /* A known store moving to the address of another store that is up is
     * not a restart (that comes with a fresh address, or with a new id for
     * a wiped dir): it is a process claiming an id that is not its own.
     * Taking it would mark the store really at that address offline and
     * send the claimed store's traffic to it. */
    const sched_store_t *there = old != NULL ? address_holder(c, store) : NULL;
    if (there != NULL && old->meta->state == METAPB__STORE_STATE__STORE_UP)
        return tkv_errorf(TKV_ERR_INVALID,
                          "store %llu is at %s; %s is store %llu's: a store cannot take another's "
                          "address under its own id",
                          (unsigned long long)store->id,
                          old->meta->address ? old->meta->address : "", store->address,
                          (unsigned long long)there->meta->id);
    return TKV_OK;
}

/* Records `store` in `b` and in memory (after the write succeeded). */
static void store_key(tkv_buf_t *key, uint64_t id)
{
    sched_key_with_id(key, SCHED_KEY_STORE_PREFIX, id);
}

static void store_apply(sched_cluster_t *c, const Metapb__Store *store)
{
    Metapb__Store *copy = (Metapb__Store *)pb_dup(&store->base);
    sched_store_t *old = cluster_get_store(c, store->id);
    if (old != NULL) {
        protobuf_c_message_free_unpacked(&old->meta->base, NULL);
        old->meta = copy;
    } else {
        store_insert(c, copy);
    }
}

tkv_err_t cluster_put_store(sched_cluster_t *c, const Metapb__Store *store)
{
    tkv_err_t e = check_store(c, store);
    if (e != TKV_OK)
        return e;
    /* One address is one process: a new id there means the process that
     * had the old id is gone (its data dir was wiped, and it asked for a
     * new id). The old store goes offline in the same batch, so its
     * replicas get rebuilt (replica_check.h) without waiting for it to
     * count as down. A store coming back with its own id changes nothing. */
    sched_store_t *old = address_holder(c, store);
    Metapb__Store *gone = NULL;
    if (old != NULL) {
        gone = (Metapb__Store *)pb_dup(&old->meta->base);
        gone->state = METAPB__STORE_STATE__STORE_OFFLINE;
    }
    eng_batch_t *b = eng_batch_new();
    tkv_buf_t key = TKV_BUF_INIT;
    store_key(&key, store->id);
    eng_batch_put_msg(b, buf_slice(&key), &store->base);
    if (gone != NULL) {
        store_key(&key, gone->id);
        eng_batch_put_msg(b, buf_slice(&key), &gone->base);
    }
    buf_free(&key);
    e = eng_write(c->eng, b, 0);
    eng_batch_free(b);
    if (e == TKV_OK) {
        store_apply(c, store);
        if (gone != NULL) {
            tkv_logf(TKV_LOG_WARN, "scheduler",
                     "store %llu now serves %s: store %llu there is replaced (offline)",
                     (unsigned long long)store->id, store->address, (unsigned long long)gone->id);
            store_apply(c, gone);
        }
    }
    if (gone != NULL)
        protobuf_c_message_free_unpacked(&gone->base, NULL);
    return e;
}

tkv_err_t cluster_store_heartbeat(sched_cluster_t *c, const Schedulerpb__StoreStats *stats)
{
    if (stats == NULL)
        return tkv_errorf(TKV_ERR_INVALID, "store heartbeat without statistics");
    sched_store_t *s = cluster_get_store(c, stats->store_id);
    if (s == NULL)
        return tkv_errorf(TKV_ERR_NOT_FOUND, "store %llu is not known: PutStore first",
                          (unsigned long long)stats->store_id);
    if (s->meta->state == METAPB__STORE_STATE__STORE_TOMBSTONE)
        return tkv_errorf(TKV_ERR_STALE, "store %llu is a tombstone",
                          (unsigned long long)stats->store_id);
    if (s->stats != NULL)
        protobuf_c_message_free_unpacked(&s->stats->base, NULL);
    s->stats = (Schedulerpb__StoreStats *)pb_dup(&stats->base);
    s->last_heartbeat_ms = clock_now_ms(c->clock);
    return TKV_OK;
}

int cluster_store_is_down(const sched_cluster_t *c, const sched_store_t *s)
{
    uint64_t now = clock_now_ms(c->clock);
    return now > s->last_heartbeat_ms && now - s->last_heartbeat_ms >= c->cfg.max_store_down_ms;
}

int cluster_store_is_suitable(const sched_cluster_t *c, const sched_store_t *s)
{
    return s->meta->state == METAPB__STORE_STATE__STORE_UP && !cluster_store_is_down(c, s);
}

/* ---- regions ------------------------------------------------------------- */

sched_region_t *cluster_get_region(const sched_cluster_t *c, uint64_t id)
{
    return rtree_get(c->regions, id);
}

sched_region_t *cluster_search_region(const sched_cluster_t *c, tkv_slice_t key)
{
    return rtree_search(c->regions, key);
}

size_t cluster_region_count(const sched_cluster_t *c)
{
    return rtree_count(c->regions);
}

sched_region_t *cluster_region_at(const sched_cluster_t *c, size_t i)
{
    return rtree_at(c->regions, i);
}

size_t cluster_overlaps(const sched_cluster_t *c, tkv_slice_t start, tkv_slice_t end,
                        sched_region_t ***out)
{
    return rtree_overlaps(c->regions, start, end, out);
}

tkv_err_t cluster_put_region(sched_cluster_t *c, const Schedulerpb__RegionHeartbeatRequest *hb)
{
    sched_region_t *r = region_copy(hb);
    if (r == NULL)
        return tkv_errorf(TKV_ERR_INVALID, "region heartbeat without a region");
    /* An empty or inverted range would break the tree's "no overlaps"
     * invariant; it can only come from a broken or hostile sender. */
    if (region_end(r).len > 0 && slice_compare(region_start(r), region_end(r)) >= 0) {
        uint64_t id = region_id(r);
        region_free(r);
        return tkv_errorf(TKV_ERR_INVALID, "region %llu: start key is not below end key",
                          (unsigned long long)id);
    }

    /* The victims: whatever this region replaces, by id or by range. */
    sched_region_t **victims = NULL;
    size_t n = rtree_overlaps(c->regions, region_start(r), region_end(r), &victims);
    sched_region_t *origin = rtree_get(c->regions, region_id(r));
    int origin_listed = 0;
    for (size_t i = 0; i < n; i++)
        origin_listed |= victims[i] == origin;
    if (origin != NULL && !origin_listed) {
        victims = xrealloc(victims, (n + 1) * sizeof(*victims));
        victims[n++] = origin;
    }

    eng_batch_t *b = eng_batch_new();
    tkv_buf_t key = TKV_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        sched_key_with_id(&key, SCHED_KEY_REGION_PREFIX, region_id(victims[i]));
        eng_batch_delete(b, NULL, buf_slice(&key));
    }
    sched_key_with_id(&key, SCHED_KEY_REGION_PREFIX, region_id(r));
    eng_batch_put_msg(b, buf_slice(&key), &r->base);
    /* Not synced: a region lost in a machine crash is simply reported again
     * by its leader's next heartbeat. */
    tkv_err_t e = eng_write(c->eng, b, 0);
    eng_batch_free(b);
    buf_free(&key);
    if (e != TKV_OK) {
        free(victims);
        region_free(r);
        return e;
    }
    for (size_t i = 0; i < n; i++) {
        account_region(c, victims[i], -1);
        rtree_remove(c->regions, victims[i]);
        region_free(victims[i]);
    }
    free(victims);
    rtree_insert(c->regions, r);
    account_region(c, r, +1);
    return TKV_OK;
}

/* ---- bootstrap ----------------------------------------------------------- */

tkv_err_t cluster_bootstrap(sched_cluster_t *c, uint64_t id, const Metapb__Store *store,
                            const Metapb__Region *region)
{
    if (c->meta != NULL)
        return tkv_errorf(TKV_ERR_INVALID, "cluster %llu is already bootstrapped",
                          (unsigned long long)c->meta->id);
    if (id == 0 || store == NULL || region == NULL)
        return tkv_errorf(TKV_ERR_INVALID, "bootstrap needs a cluster id, a store and a region");
    if (rtree_count(c->regions) > 0)
        return tkv_errorf(TKV_ERR_INVALID, "bootstrap: regions are already known");
    tkv_err_t e = check_store(c, store);
    if (e != TKV_OK)
        return e;
    Metapb__Cluster meta = METAPB__CLUSTER__INIT;
    meta.id = id;
    meta.max_peer_count = c->cfg.max_replicas;
    Schedulerpb__RegionHeartbeatRequest hb = SCHEDULERPB__REGION_HEARTBEAT_REQUEST__INIT;
    hb.region = (Metapb__Region *)region;

    /* Cluster, store and region in one synced batch: a crash leaves either
     * a bootstrapped cluster or an empty one. */
    eng_batch_t *b = eng_batch_new();
    tkv_buf_t key = TKV_BUF_INIT;
    eng_batch_put_msg(b, slice_of_str(SCHED_KEY_CLUSTER), &meta.base);
    store_key(&key, store->id);
    eng_batch_put_msg(b, buf_slice(&key), &store->base);
    sched_key_with_id(&key, SCHED_KEY_REGION_PREFIX, region->id);
    eng_batch_put_msg(b, buf_slice(&key), &hb.base);
    e = eng_write(c->eng, b, 0);
    eng_batch_free(b);
    buf_free(&key);
    if (e != TKV_OK)
        return e;
    c->meta = (Metapb__Cluster *)pb_dup(&meta.base);
    store_apply(c, store);
    sched_region_t *r = region_copy(&hb);
    rtree_insert(c->regions, r);
    account_region(c, r, +1);
    tkv_logf(TKV_LOG_INFO, "scheduler", "cluster %llu bootstrapped with store %llu",
             (unsigned long long)id, (unsigned long long)store->id);
    return TKV_OK;
}
