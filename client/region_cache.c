/*
 * The region cache (region_cache.h): regions sorted by start key, stores
 * with their address and connection, and the scheduler calls that fill
 * them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/region_cache.h"
#include "common/pb.h"
#include "proto/schedulerpb.pb-c.h"

typedef struct {
    Metapb__Region *region; /* owned */
    uint64_t peer_id;       /* the leader as far as we know (or the first peer) */
    uint64_t store_id;
} entry_t;

typedef struct {
    uint64_t id;
    char *addr;         /* NULL until asked of the scheduler */
    rpc_client_t *conn; /* NULL until connected */
    int down;
} store_t;

struct rcache {
    client_config_t cfg;
    char *sched_addr; /* NULL in direct mode */
    rpc_client_t *sched;
    entry_t *regions; /* sorted by start key, not overlapping */
    size_t n_regions, cap_regions;
    store_t *stores;
    size_t n_stores, cap_stores;
    rcache_stats_t stats;
};

static tkv_slice_t start_of(const Metapb__Region *r)
{
    return slice_of(r->start_key.data, r->start_key.len);
}

static tkv_slice_t end_of(const Metapb__Region *r)
{
    return slice_of(r->end_key.data, r->end_key.len);
}

/* Does [start, end) of r hold key? An empty end is the end of the key space. */
static int holds(const Metapb__Region *r, tkv_slice_t key)
{
    return slice_compare(start_of(r), key) <= 0 &&
           (r->end_key.len == 0 || slice_compare(key, end_of(r)) < 0);
}

static rcache_t *cache_new(const client_config_t *cfg)
{
    rcache_t *c = xcalloc(1, sizeof(*c));
    c->cfg = cfg ? *cfg : client_config_default();
    return c;
}

tkv_err_t rcache_new(const char *sched_addr, const client_config_t *cfg, rcache_t **out)
{
    *out = NULL;
    if (sched_addr == NULL || sched_addr[0] == '\0')
        return tkv_errorf(TKV_ERR_INVALID, "no scheduler address given");
    rcache_t *c = cache_new(cfg);
    c->sched_addr = strdup(sched_addr);
    *out = c;
    return TKV_OK;
}

tkv_err_t rcache_new_direct(const char *addr, const client_config_t *cfg, rcache_t **out)
{
    *out = NULL;
    if (addr == NULL || addr[0] == '\0')
        return tkv_errorf(TKV_ERR_INVALID, "no server address given");
    rcache_t *c = cache_new(cfg);
    /* One region over every key, on "store 0" at addr: requests go there
     * with no context, as a standalone server expects. */
    Metapb__Region r = METAPB__REGION__INIT;
    Metapb__Peer p = METAPB__PEER__INIT;
    Metapb__Peer *peers[1] = { &p };
    r.n_peers = 1;
    r.peers = peers;
    rcache_insert(c, &r, &p);
    c->stores = xcalloc(1, sizeof(*c->stores));
    c->cap_stores = c->n_stores = 1;
    c->stores[0].addr = strdup(addr);
    *out = c;
    return TKV_OK;
}

void rcache_free(rcache_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_regions; i++)
        pb_free(c->regions[i].region);
    free(c->regions);
    for (size_t i = 0; i < c->n_stores; i++) {
        rpc_client_close(c->stores[i].conn);
        free(c->stores[i].addr);
    }
    free(c->stores);
    rpc_client_close(c->sched);
    free(c->sched_addr);
    free(c);
}

const client_config_t *rcache_config(const rcache_t *c)
{
    return &c->cfg;
}

int rcache_is_direct(const rcache_t *c)
{
    return c->sched_addr == NULL;
}

rcache_stats_t rcache_stats(const rcache_t *c)
{
    return c->stats;
}

void rcache_loc_free(rcache_loc_t *l)
{
    if (l == NULL)
        return;
    pb_free(l->region);
    l->region = NULL;
}

/* ---- the sorted region table ---------------------------------------------------- */

/* Index of the cached region holding key, or -1. */
static long find_key(const rcache_t *c, tkv_slice_t key)
{
    /* The last region starting at or before key is the only candidate. */
    size_t lo = 0, hi = c->n_regions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (slice_compare(start_of(c->regions[mid].region), key) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || !holds(c->regions[lo - 1].region, key))
        return -1;
    return (long)lo - 1;
}

static long find_id(const rcache_t *c, uint64_t id)
{
    for (size_t i = 0; i < c->n_regions; i++) {
        if (c->regions[i].region->id == id)
            return (long)i;
    }
    return -1;
}

static void remove_at(rcache_t *c, size_t i)
{
    pb_free(c->regions[i].region);
    memmove(&c->regions[i], &c->regions[i + 1], (c->n_regions - i - 1) * sizeof(entry_t));
    c->n_regions--;
}

void rcache_invalidate(rcache_t *c, uint64_t region_id)
{
    if (rcache_is_direct(c))
        return;
    long i = find_id(c, region_id);
    if (i >= 0)
        remove_at(c, (size_t)i);
}

static const Metapb__Peer *peer_by_id(const Metapb__Region *r, uint64_t id)
{
    for (size_t i = 0; i < r->n_peers; i++) {
        if (r->peers[i]->id == id)
            return r->peers[i];
    }
    return NULL;
}

/* Do [a) and [b) overlap? */
static int overlaps(const Metapb__Region *a, const Metapb__Region *b)
{
    int a_before_b = a->end_key.len != 0 && slice_compare(end_of(a), start_of(b)) <= 0;
    int b_before_a = b->end_key.len != 0 && slice_compare(end_of(b), start_of(a)) <= 0;
    return !a_before_b && !b_before_a;
}

void rcache_insert(rcache_t *c, const Metapb__Region *r, const Metapb__Peer *leader)
{
    uint64_t keep_peer = 0;
    long old = find_id(c, r->id);
    if (old >= 0)
        keep_peer = c->regions[old].peer_id;
    for (size_t i = c->n_regions; i-- > 0;) {
        if (c->regions[i].region->id == r->id || overlaps(c->regions[i].region, r))
            remove_at(c, i);
    }
    entry_t e = { (Metapb__Region *)pb_dup(&r->base), 0, 0 };
    const Metapb__Peer *p = NULL;
    if (leader != NULL && leader->store_id != 0)
        p = peer_by_id(r, leader->id);
    if (p == NULL && leader != NULL && rcache_is_direct(c))
        p = leader;
    if (p == NULL && keep_peer != 0)
        p = peer_by_id(r, keep_peer);
    if (p == NULL && r->n_peers > 0)
        p = r->peers[0];
    if (p != NULL) {
        e.peer_id = p->id;
        e.store_id = p->store_id;
    }
    size_t at = 0;
    while (at < c->n_regions && slice_compare(start_of(c->regions[at].region), start_of(r)) < 0)
        at++;
    if (c->n_regions == c->cap_regions) {
        c->cap_regions = c->cap_regions ? 2 * c->cap_regions : 8;
        c->regions = xrealloc(c->regions, c->cap_regions * sizeof(entry_t));
    }
    memmove(&c->regions[at + 1], &c->regions[at], (c->n_regions - at) * sizeof(entry_t));
    c->regions[at] = e;
    c->n_regions++;
}

void rcache_set_leader(rcache_t *c, uint64_t region_id, const Metapb__Peer *leader)
{
    long i = find_id(c, region_id);
    if (i < 0 || leader == NULL)
        return;
    c->regions[i].peer_id = leader->id;
    c->regions[i].store_id = leader->store_id;
}

static void loc_from(const entry_t *e, rcache_loc_t *out)
{
    out->region = (Metapb__Region *)pb_dup(&e->region->base);
    out->peer_id = e->peer_id;
    out->store_id = e->store_id;
}

/* ---- the scheduler ------------------------------------------------------------- */

/* The header's error of a scheduler response, or NULL. */
static const Schedulerpb__Error *header_error(const ProtobufCMessage *m)
{
    const ProtobufCFieldDescriptor *f =
        protobuf_c_message_descriptor_get_field_by_name(m->descriptor, "header");
    if (f == NULL)
        return NULL;
    const Schedulerpb__ResponseHeader *h =
        *(const Schedulerpb__ResponseHeader *const *)((const char *)m + f->offset);
    return h != NULL ? h->error : NULL;
}

tkv_err_t rcache_sched_call(rcache_t *c, backoff_t *bo, const char *method,
                            const ProtobufCMessage *req, ProtobufCMessage **resp)
{
    *resp = NULL;
    if (rcache_is_direct(c))
        return tkv_errorf(TKV_ERR_INVALID,
                          "%s needs the scheduler: give --scheduler (direct mode talks to one "
                          "standalone server)",
                          method);
    for (;;) {
        tkv_err_t e = TKV_OK;
        if (c->sched == NULL)
            e = rpc_client_connect(c->sched_addr, c->cfg.timeout_ms, &c->sched);
        if (e == TKV_OK)
            e = rpc_client_call(c->sched, &schedulerpb__scheduler__descriptor, method, req, resp);
        if (e == TKV_OK)
            break;
        if (e != TKV_ERR_NET && e != TKV_ERR_TIMEOUT && e != TKV_ERR_CLOSED && e != TKV_ERR_CORRUPT)
            return e;
        /* The connection is given up after these: reconnect next try. */
        rpc_client_close(c->sched);
        c->sched = NULL;
        char why[512];
        snprintf(why, sizeof(why), "scheduler %s: %s", c->sched_addr, tkv_last_error());
        tkv_err_t be = backoff_wait(bo, why);
        if (be != TKV_OK)
            return e == TKV_ERR_TIMEOUT ? be : TKV_ERR_NET; /* the message says it all */
    }
    const Schedulerpb__Error *err = header_error(*resp);
    if (err != NULL && err->type != SCHEDULERPB__ERROR_TYPE__ERR_OK) {
        tkv_err_t code = err->type == SCHEDULERPB__ERROR_TYPE__ERR_REGION_NOT_FOUND
                             ? TKV_ERR_NOT_FOUND
                             : TKV_ERR_INVALID;
        if (strstr(err->message, "is not known") != NULL)
            code = TKV_ERR_NOT_FOUND;
        tkv_errorf(code, "scheduler refused %s: %s", method,
                   err->message[0] ? err->message : "(no reason given)");
        pb_free(*resp);
        *resp = NULL;
        return code;
    }
    return TKV_OK;
}

tkv_err_t rcache_tso(rcache_t *c, uint64_t *ts)
{
    *ts = 0;
    backoff_t bo;
    backoff_init(&bo, &c->cfg);
    Schedulerpb__TsoRequest req = SCHEDULERPB__TSO_REQUEST__INIT;
    req.count = 1;
    Schedulerpb__TsoResponse *resp = NULL;
    c->stats.sched_tso++;
    tkv_err_t e = rcache_sched_call(c, &bo, "Tso", &req.base, (ProtobufCMessage **)&resp);
    if (e != TKV_OK)
        return e;
    if (resp->timestamp == NULL || resp->timestamp->physical <= 0) {
        pb_free(resp);
        return tkv_errorf(TKV_ERR_CORRUPT, "the scheduler's Tso answer has no timestamp");
    }
    *ts = ((uint64_t)resp->timestamp->physical << 18) + (uint64_t)resp->timestamp->logical;
    pb_free(resp);
    return TKV_OK;
}

/* Asks the scheduler for a region (by key when by_id is 0) and caches it. */
static tkv_err_t ask_region(rcache_t *c, tkv_slice_t key, uint64_t id, backoff_t *bo,
                            rcache_loc_t *out)
{
    for (;;) {
        Schedulerpb__GetRegionResponse *resp = NULL;
        tkv_err_t e;
        c->stats.sched_get_region++;
        if (id != 0) {
            Schedulerpb__GetRegionByIdRequest req = SCHEDULERPB__GET_REGION_BY_ID_REQUEST__INIT;
            req.region_id = id;
            e = rcache_sched_call(c, bo, "GetRegionById", &req.base, (ProtobufCMessage **)&resp);
        } else {
            Schedulerpb__GetRegionRequest req = SCHEDULERPB__GET_REGION_REQUEST__INIT;
            req.region_key.data = (uint8_t *)key.data;
            req.region_key.len = key.len;
            e = rcache_sched_call(c, bo, "GetRegion", &req.base, (ProtobufCMessage **)&resp);
        }
        if (e != TKV_OK)
            return e;
        if (resp->region != NULL && resp->region->region_epoch != NULL &&
            (id != 0 || holds(resp->region, key))) {
            rcache_insert(c, resp->region, resp->leader);
            long i = find_id(c, resp->region->id);
            loc_from(&c->regions[i], out);
            pb_free(resp);
            return TKV_OK;
        }
        pb_free(resp);
        /* No region yet (the cluster is starting, or a split is being
         * reported): the scheduler learns from heartbeats, so wait. */
        char why[128];
        if (id != 0)
            snprintf(why, sizeof(why), "the scheduler knows no region %llu",
                     (unsigned long long)id);
        else
            snprintf(why, sizeof(why), "the scheduler knows no region for the key");
        e = id != 0 ? tkv_errorf(TKV_ERR_NOT_FOUND, "%s", why) : backoff_wait(bo, why);
        if (e != TKV_OK)
            return e;
    }
}

tkv_err_t rcache_locate(rcache_t *c, tkv_slice_t key, backoff_t *bo, rcache_loc_t *out)
{
    out->region = NULL;
    long i = find_key(c, key);
    if (i >= 0) {
        loc_from(&c->regions[i], out);
        rcache_pick_peer(c, out);
        return TKV_OK;
    }
    tkv_err_t e = ask_region(c, key, 0, bo, out);
    if (e == TKV_OK)
        rcache_pick_peer(c, out);
    return e;
}

tkv_err_t rcache_locate_id(rcache_t *c, uint64_t region_id, backoff_t *bo, rcache_loc_t *out)
{
    out->region = NULL;
    tkv_err_t e = ask_region(c, slice_of(NULL, 0), region_id, bo, out);
    if (e == TKV_OK)
        rcache_pick_peer(c, out);
    return e;
}

/* ---- stores ---------------------------------------------------------------------- */

static store_t *store_of(rcache_t *c, uint64_t id)
{
    for (size_t i = 0; i < c->n_stores; i++) {
        if (c->stores[i].id == id)
            return &c->stores[i];
    }
    if (c->n_stores == c->cap_stores) {
        c->cap_stores = c->cap_stores ? 2 * c->cap_stores : 4;
        c->stores = xrealloc(c->stores, c->cap_stores * sizeof(store_t));
    }
    store_t *s = &c->stores[c->n_stores++];
    memset(s, 0, sizeof(*s));
    s->id = id;
    return s;
}

int rcache_store_is_down(const rcache_t *c, uint64_t store_id)
{
    for (size_t i = 0; i < c->n_stores; i++) {
        if (c->stores[i].id == store_id)
            return c->stores[i].down;
    }
    return 0;
}

void rcache_store_down(rcache_t *c, uint64_t store_id)
{
    store_t *s = store_of(c, store_id);
    rpc_client_close(s->conn);
    s->conn = NULL;
    s->down = 1;
    /* A store that comes back may listen elsewhere: ask again. */
    if (!rcache_is_direct(c)) {
        free(s->addr);
        s->addr = NULL;
    }
}

void rcache_store_up(rcache_t *c, uint64_t store_id)
{
    store_of(c, store_id)->down = 0;
}

void rcache_pick_peer(const rcache_t *c, rcache_loc_t *loc)
{
    if (!rcache_store_is_down(c, loc->store_id))
        return;
    for (size_t i = 0; i < loc->region->n_peers; i++) {
        const Metapb__Peer *p = loc->region->peers[i];
        if (!rcache_store_is_down(c, p->store_id)) {
            loc->peer_id = p->id;
            loc->store_id = p->store_id;
            return;
        }
    }
}

tkv_err_t rcache_store_conn(rcache_t *c, uint64_t store_id, rpc_client_t **out)
{
    *out = NULL;
    store_t *s = store_of(c, store_id);
    if (s->conn != NULL) {
        *out = s->conn;
        return TKV_OK;
    }
    if (s->addr == NULL) {
        backoff_t bo;
        backoff_init(&bo, &c->cfg);
        Schedulerpb__GetStoreRequest req = SCHEDULERPB__GET_STORE_REQUEST__INIT;
        req.store_id = store_id;
        Schedulerpb__GetStoreResponse *resp = NULL;
        c->stats.sched_get_store++;
        tkv_err_t e = rcache_sched_call(c, &bo, "GetStore", &req.base, (ProtobufCMessage **)&resp);
        if (e != TKV_OK)
            return e;
        if (resp->store == NULL || resp->store->address[0] == '\0') {
            pb_free(resp);
            return tkv_errorf(TKV_ERR_NOT_FOUND, "the scheduler has no address for store %llu",
                              (unsigned long long)store_id);
        }
        /* store_of() may have moved the array: find s again. */
        s = store_of(c, store_id);
        s->addr = strdup(resp->store->address);
        pb_free(resp);
    }
    tkv_err_t e = rpc_client_connect(s->addr, c->cfg.timeout_ms, &s->conn);
    if (e != TKV_OK) {
        s->conn = NULL;
        return rcache_is_direct(c)
                   ? e
                   : client_wrap_error(e, "store %llu", (unsigned long long)store_id);
    }
    c->stats.store_connects++;
    *out = s->conn;
    return TKV_OK;
}
