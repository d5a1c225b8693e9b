/*
 * The fake stores of fake_store.h: region checks, scripted errors, the
 * call log, a raw key space and a tiny Percolator.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/pb.h"
#include "proto/errorpb.pb-c.h"
#include "proto/kvrpcpb.pb-c.h"
#include "proto/raft_cmdpb.pb-c.h"
#include "tests/client/fake_store.h"

typedef struct {
    uint64_t store_id;
    char method[32];
    fake_err_t err;
    int times;
} script_t;

typedef struct {
    tkv_buf_t key, primary, value;
    uint64_t start_ts, ttl;
} lock_t;

enum { W_PUT, W_DEL, W_ROLLBACK };

typedef struct {
    tkv_buf_t key, value;
    uint64_t start_ts, commit_ts;
    int kind;
} write_t;

struct fake_cluster {
    pthread_mutex_t mu;
    Metapb__Region *regions[FAKE_MAX_REGIONS];
    uint64_t leader[FAKE_MAX_REGIONS]; /* store */
    size_t n_regions;
    script_t scripts[16];
    size_t n_scripts;
    fake_call_t calls[FAKE_MAX_CALLS];
    size_t n_calls;
    tkv_buf_t raw_keys[FAKE_MAX_KEYS], raw_vals[FAKE_MAX_KEYS]; /* sorted */
    size_t n_raw;
    lock_t locks[FAKE_MAX_KEYS];
    size_t n_locks;
    write_t writes[FAKE_MAX_KEYS];
    size_t n_writes;
    size_t scan_page; /* 0: none; else scans answer at most this many pairs, with `more` */
};

void fake_set_scan_page(fake_cluster_t *f, size_t n)
{
    pthread_mutex_lock(&f->mu);
    f->scan_page = n;
    pthread_mutex_unlock(&f->mu);
}

/* Whether a scan reply holding `n` pairs is full under the page limit. */
static int page_full(const fake_cluster_t *f, size_t n)
{
    return f->scan_page > 0 && n >= f->scan_page;
}

fake_cluster_t *fake_new(void)
{
    fake_cluster_t *f = xcalloc(1, sizeof(*f));
    pthread_mutex_init(&f->mu, NULL);
    return f;
}

static void lock_free(lock_t *l)
{
    buf_free(&l->key);
    buf_free(&l->primary);
    buf_free(&l->value);
}

void fake_free(fake_cluster_t *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n_regions; i++)
        pb_free(f->regions[i]);
    for (size_t i = 0; i < f->n_raw; i++) {
        buf_free(&f->raw_keys[i]);
        buf_free(&f->raw_vals[i]);
    }
    for (size_t i = 0; i < f->n_locks; i++)
        lock_free(&f->locks[i]);
    for (size_t i = 0; i < f->n_writes; i++) {
        buf_free(&f->writes[i].key);
        buf_free(&f->writes[i].value);
    }
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static tkv_slice_t bs(ProtobufCBinaryData b)
{
    return slice_of(b.data, b.len);
}

static ProtobufCBinaryData bin_dup(tkv_slice_t s)
{
    ProtobufCBinaryData b = { s.len, bytes_dup(s.data, s.len) };
    return b;
}

/* ---- regions ----------------------------------------------------------------- */

static long region_index(const fake_cluster_t *f, uint64_t id)
{
    for (size_t i = 0; i < f->n_regions; i++) {
        if (f->regions[i]->id == id)
            return (long)i;
    }
    return -1;
}

static Metapb__Region *make_region(uint64_t id, tkv_slice_t start, tkv_slice_t end,
                                   uint64_t conf_ver, uint64_t version, const uint64_t *stores,
                                   size_t n, const uint64_t *peer_ids)
{
    Metapb__Region *r = xmalloc(sizeof(*r));
    metapb__region__init(r);
    r->id = id;
    r->start_key = bin_dup(start);
    r->end_key = bin_dup(end);
    r->region_epoch = xmalloc(sizeof(*r->region_epoch));
    metapb__region_epoch__init(r->region_epoch);
    r->region_epoch->conf_ver = conf_ver;
    r->region_epoch->version = version;
    r->peers = xcalloc(n ? n : 1, sizeof(*r->peers));
    r->n_peers = n;
    for (size_t i = 0; i < n; i++) {
        r->peers[i] = xmalloc(sizeof(Metapb__Peer));
        metapb__peer__init(r->peers[i]);
        r->peers[i]->id = peer_ids ? peer_ids[i] : id * 100 + stores[i];
        r->peers[i]->store_id = stores[i];
    }
    return r;
}

static void put_region(fake_cluster_t *f, Metapb__Region *r, uint64_t leader_store)
{
    long i = region_index(f, r->id);
    if (i < 0) {
        if (f->n_regions == FAKE_MAX_REGIONS)
            abort(); /* a test with too many regions: a bug in the test */
        i = (long)f->n_regions++;
    } else {
        pb_free(f->regions[i]);
    }
    f->regions[i] = r;
    f->leader[i] = leader_store;
}

void fake_set_region(fake_cluster_t *f, uint64_t id, const char *start, const char *end,
                     uint64_t conf_ver, uint64_t version, const uint64_t *stores, size_t n,
                     uint64_t leader_store)
{
    pthread_mutex_lock(&f->mu);
    put_region(
        f,
        make_region(id, slice_of_str(start), slice_of_str(end), conf_ver, version, stores, n, NULL),
        leader_store);
    pthread_mutex_unlock(&f->mu);
}

void fake_set_leader(fake_cluster_t *f, uint64_t region_id, uint64_t leader_store)
{
    pthread_mutex_lock(&f->mu);
    long i = region_index(f, region_id);
    if (i >= 0)
        f->leader[i] = leader_store;
    pthread_mutex_unlock(&f->mu);
}

Metapb__Region *fake_region(fake_cluster_t *f, uint64_t id)
{
    pthread_mutex_lock(&f->mu);
    long i = region_index(f, id);
    Metapb__Region *r = i >= 0 ? (Metapb__Region *)pb_dup(&f->regions[i]->base) : NULL;
    pthread_mutex_unlock(&f->mu);
    return r;
}

uint64_t fake_leader(fake_cluster_t *f, uint64_t region_id)
{
    pthread_mutex_lock(&f->mu);
    long i = region_index(f, region_id);
    uint64_t s = i >= 0 ? f->leader[i] : 0;
    pthread_mutex_unlock(&f->mu);
    return s;
}

static int in_region(const Metapb__Region *r, tkv_slice_t key)
{
    return slice_compare(bs(r->start_key), key) <= 0 &&
           (r->end_key.len == 0 || slice_compare(key, bs(r->end_key)) < 0);
}

static const Metapb__Peer *peer_on(const Metapb__Region *r, uint64_t store)
{
    for (size_t i = 0; i < r->n_peers; i++) {
        if (r->peers[i]->store_id == store)
            return r->peers[i];
    }
    return NULL;
}

/* ---- scripts and the log ------------------------------------------------------ */

void fake_script(fake_cluster_t *f, uint64_t store_id, const char *method, fake_err_t err,
                 int times)
{
    pthread_mutex_lock(&f->mu);
    if (f->n_scripts < sizeof(f->scripts) / sizeof(f->scripts[0])) {
        script_t *s = &f->scripts[f->n_scripts++];
        s->store_id = store_id;
        snprintf(s->method, sizeof(s->method), "%s", method ? method : "");
        s->err = err;
        s->times = times;
    }
    pthread_mutex_unlock(&f->mu);
}

static fake_err_t scripted(fake_cluster_t *f, uint64_t store, const char *method)
{
    for (size_t i = 0; i < f->n_scripts; i++) {
        script_t *s = &f->scripts[i];
        if (s->times > 0 && (s->store_id == 0 || s->store_id == store) &&
            (s->method[0] == '\0' || strcmp(s->method, method) == 0)) {
            s->times--;
            return s->err;
        }
    }
    return 0;
}

size_t fake_n_calls(fake_cluster_t *f)
{
    pthread_mutex_lock(&f->mu);
    size_t n = f->n_calls;
    pthread_mutex_unlock(&f->mu);
    return n;
}

fake_call_t fake_call(fake_cluster_t *f, size_t i)
{
    pthread_mutex_lock(&f->mu);
    fake_call_t c = i < f->n_calls ? f->calls[i] : (fake_call_t){ 0 };
    pthread_mutex_unlock(&f->mu);
    return c;
}

void fake_clear_calls(fake_cluster_t *f)
{
    pthread_mutex_lock(&f->mu);
    f->n_calls = 0;
    pthread_mutex_unlock(&f->mu);
}

static fake_call_t *log_call(fake_cluster_t *f, uint64_t store, const char *method,
                             const Kvrpcpb__Context *ctx, const tkv_slice_t *keys, size_t n)
{
    static fake_call_t spare;
    if (f->n_calls == FAKE_MAX_CALLS)
        return &spare;
    fake_call_t *c = &f->calls[f->n_calls++];
    memset(c, 0, sizeof(*c));
    c->store_id = store;
    snprintf(c->method, sizeof(c->method), "%s", method);
    if (ctx != NULL) {
        c->region_id = ctx->region_id;
        if (ctx->region_epoch) {
            c->conf_ver = ctx->region_epoch->conf_ver;
            c->version = ctx->region_epoch->version;
        }
        if (ctx->peer) {
            c->peer_id = ctx->peer->id;
            c->peer_store = ctx->peer->store_id;
        }
    }
    c->n_keys = n;
    size_t at = 0;
    for (size_t i = 0; i < n && at + 2 < sizeof(c->keys); i++) {
        int w = snprintf(c->keys + at, sizeof(c->keys) - at, "%s%.*s", i ? "," : "",
                         (int)keys[i].len, (const char *)keys[i].data);
        at += w > 0 ? (size_t)w : 0;
        if (at >= sizeof(c->keys))
            at = sizeof(c->keys) - 1;
    }
    return c;
}

/* ---- the route check ---------------------------------------------------------- */

static Errorpb__Error *new_error(const char *msg)
{
    Errorpb__Error *e = xmalloc(sizeof(*e));
    errorpb__error__init(e);
    e->message = strdup(msg);
    return e;
}

static Metapb__Peer *peer_dup(const Metapb__Peer *p)
{
    return (Metapb__Peer *)pb_dup(&p->base);
}

static Errorpb__Error *not_leader(const fake_cluster_t *f, long ri, int hint)
{
    Errorpb__Error *e = new_error("not leader");
    e->not_leader = xmalloc(sizeof(*e->not_leader));
    errorpb__not_leader__init(e->not_leader);
    e->not_leader->region_id = f->regions[ri]->id;
    const Metapb__Peer *p = peer_on(f->regions[ri], f->leader[ri]);
    if (hint && p != NULL)
        e->not_leader->leader = peer_dup(p);
    return e;
}

static Errorpb__Error *scripted_error(const fake_cluster_t *f, fake_err_t err, long ri,
                                      uint64_t region_id)
{
    Errorpb__Error *e;
    switch (err) {
    case FAKE_ERR_NOT_LEADER_HINT:
    case FAKE_ERR_NOT_LEADER_NONE:
        if (ri < 0)
            return new_error("scripted not leader for an unknown region");
        return not_leader(f, ri, err == FAKE_ERR_NOT_LEADER_HINT);
    case FAKE_ERR_BUSY:
        e = new_error("busy");
        e->server_is_busy = xmalloc(sizeof(*e->server_is_busy));
        errorpb__server_is_busy__init(e->server_is_busy);
        e->server_is_busy->reason = strdup("scripted");
        return e;
    case FAKE_ERR_STALE_COMMAND:
        e = new_error("stale command");
        e->stale_command = xmalloc(sizeof(*e->stale_command));
        errorpb__stale_command__init(e->stale_command);
        return e;
    case FAKE_ERR_REGION_NOT_FOUND:
        e = new_error("region not found");
        e->region_not_found = xmalloc(sizeof(*e->region_not_found));
        errorpb__region_not_found__init(e->region_not_found);
        e->region_not_found->region_id = region_id;
        return e;
    case FAKE_ERR_KEY_NOT_IN_REGION:
        e = new_error("key not in region");
        e->key_not_in_region = xmalloc(sizeof(*e->key_not_in_region));
        errorpb__key_not_in_region__init(e->key_not_in_region);
        e->key_not_in_region->region_id = region_id;
        return e;
    }
    return new_error("unknown scripted error");
}

/* The region error for a request (NULL: serve it, region index in *ri). */
static Errorpb__Error *check_route(fake_cluster_t *f, uint64_t store, const char *method,
                                   const Kvrpcpb__Context *ctx, const tkv_slice_t *keys, size_t n,
                                   long *ri)
{
    uint64_t rid = ctx ? ctx->region_id : 0;
    *ri = region_index(f, rid);
    fake_err_t se = scripted(f, store, method);
    if (se != 0)
        return scripted_error(f, se, *ri, rid);
    if (ctx == NULL || *ri < 0 || peer_on(f->regions[*ri], store) == NULL) {
        Errorpb__Error *e = new_error("region not found");
        e->region_not_found = xmalloc(sizeof(*e->region_not_found));
        errorpb__region_not_found__init(e->region_not_found);
        e->region_not_found->region_id = rid;
        return e;
    }
    const Metapb__Region *r = f->regions[*ri];
    if (f->leader[*ri] != store)
        return not_leader(f, *ri, 1);
    const Metapb__RegionEpoch *ep = ctx->region_epoch;
    if (ep == NULL || ep->version != r->region_epoch->version ||
        ep->conf_ver != r->region_epoch->conf_ver) {
        Errorpb__Error *e = new_error("epoch not match");
        e->epoch_not_match = xmalloc(sizeof(*e->epoch_not_match));
        errorpb__epoch_not_match__init(e->epoch_not_match);
        e->epoch_not_match->current_regions = xcalloc(f->n_regions, sizeof(Metapb__Region *));
        for (size_t i = 0; i < f->n_regions; i++)
            e->epoch_not_match->current_regions[e->epoch_not_match->n_current_regions++] =
                (Metapb__Region *)pb_dup(&f->regions[i]->base);
        return e;
    }
    for (size_t i = 0; i < n; i++) {
        if (!in_region(r, keys[i])) {
            Errorpb__Error *e = new_error("key not in region");
            e->key_not_in_region = xmalloc(sizeof(*e->key_not_in_region));
            errorpb__key_not_in_region__init(e->key_not_in_region);
            e->key_not_in_region->region_id = rid;
            e->key_not_in_region->key = bin_dup(keys[i]);
            return e;
        }
    }
    return NULL;
}

/* Checks and logs; returns the region index, or -1 with *err set. */
static long admit(fake_store_t *s, const char *method, const Kvrpcpb__Context *ctx,
                  const tkv_slice_t *keys, size_t n, Errorpb__Error **err, fake_call_t **call)
{
    fake_cluster_t *f = s->fake;
    long ri = -1;
    *call = log_call(f, s->store_id, method, ctx, keys, n);
    *err = check_route(f, s->store_id, method, ctx, keys, n, &ri);
    (*call)->region_error = *err != NULL;
    return *err ? -1 : ri;
}

/* ---- raw ----------------------------------------------------------------------------- */

static size_t raw_lower(const fake_cluster_t *f, tkv_slice_t key)
{
    size_t i = 0;
    while (i < f->n_raw && slice_compare(buf_slice(&f->raw_keys[i]), key) < 0)
        i++;
    return i;
}

static void raw_put_locked(fake_cluster_t *f, tkv_slice_t key, tkv_slice_t value)
{
    size_t i = raw_lower(f, key);
    if (i == f->n_raw || !slice_equal(buf_slice(&f->raw_keys[i]), key)) {
        if (f->n_raw == FAKE_MAX_KEYS)
            abort();
        memmove(&f->raw_keys[i + 1], &f->raw_keys[i], (f->n_raw - i) * sizeof(tkv_buf_t));
        memmove(&f->raw_vals[i + 1], &f->raw_vals[i], (f->n_raw - i) * sizeof(tkv_buf_t));
        f->n_raw++;
        buf_init(&f->raw_keys[i]);
        buf_init(&f->raw_vals[i]);
        buf_set(&f->raw_keys[i], key.data, key.len);
    }
    buf_set(&f->raw_vals[i], value.data, value.len);
}

void fake_raw_put(fake_cluster_t *f, const char *key, const char *value)
{
    pthread_mutex_lock(&f->mu);
    raw_put_locked(f, slice_of_str(key), slice_of_str(value));
    pthread_mutex_unlock(&f->mu);
}

static tkv_err_t h_raw_put(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    fake_store_t *s = ctx;
    const Kvrpcpb__RawPutRequest *req = (const void *)rq;
    Kvrpcpb__RawPutResponse *resp = (void *)rp;
    tkv_slice_t k = bs(req->key);
    fake_call_t *call;
    pthread_mutex_lock(&s->fake->mu);
    if (admit(s, "RawPut", req->context, &k, 1, &resp->region_error, &call) >= 0)
        raw_put_locked(s->fake, k, bs(req->value));
    pthread_mutex_unlock(&s->fake->mu);
    return TKV_OK;
}

static tkv_err_t h_raw_get(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    fake_store_t *s = ctx;
    fake_cluster_t *f = s->fake;
    const Kvrpcpb__RawGetRequest *req = (const void *)rq;
    Kvrpcpb__RawGetResponse *resp = (void *)rp;
    tkv_slice_t k = bs(req->key);
    fake_call_t *call;
    pthread_mutex_lock(&f->mu);
    if (admit(s, "RawGet", req->context, &k, 1, &resp->region_error, &call) >= 0) {
        size_t i = raw_lower(f, k);
        if (i < f->n_raw && slice_equal(buf_slice(&f->raw_keys[i]), k))
            resp->value = bin_dup(buf_slice(&f->raw_vals[i]));
        else
            resp->not_found = 1;
    }
    pthread_mutex_unlock(&f->mu);
    return TKV_OK;
}

static tkv_err_t h_raw_delete(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    fake_store_t *s = ctx;
    fake_cluster_t *f = s->fake;
    const Kvrpcpb__RawDeleteRequest *req = (const void *)rq;
    Kvrpcpb__RawDeleteResponse *resp = (void *)rp;
    tkv_slice_t k = bs(req->key);
    fake_call_t *call;
    pthread_mutex_lock(&f->mu);
    if (admit(s, "RawDelete", req->context, &k, 1, &resp->region_error, &call) >= 0) {
        size_t i = raw_lower(f, k);
        if (i < f->n_raw && slice_equal(buf_slice(&f->raw_keys[i]), k)) {
            buf_free(&f->raw_keys[i]);
            buf_free(&f->raw_vals[i]);
            memmove(&f->raw_keys[i], &f->raw_keys[i + 1], (f->n_raw - i - 1) * sizeof(tkv_buf_t));
            memmove(&f->raw_vals[i], &f->raw_vals[i + 1], (f->n_raw - i - 1) * sizeof(tkv_buf_t));
            f->n_raw--;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return TKV_OK;
}

static Kvrpcpb__KvPair *pair_new(tkv_slice_t k, tkv_slice_t v)
{
    Kvrpcpb__KvPair *p = xmalloc(sizeof(*p));
    kvrpcpb__kv_pair__init(p);
    p->key = bin_dup(k);
    p->value = bin_dup(v);
    return p;
}

static tkv_err_t h_raw_scan(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    fake_store_t *s = ctx;
    fake_cluster_t *f = s->fake;
    const Kvrpcpb__RawScanRequest *req = (const void *)rq;
    Kvrpcpb__RawScanResponse *resp = (void *)rp;
    tkv_slice_t k = bs(req->start_key);
    fake_call_t *call;
    pthread_mutex_lock(&f->mu);
    long ri = admit(s, "RawScan", req->context, &k, 1, &resp->region_error, &call);
    if (ri >= 0) {
        resp->kvs = xcalloc(f->n_raw + 1, sizeof(*resp->kvs));
        for (size_t i = raw_lower(f, k); i < f->n_raw && resp->n_kvs < req->limit; i++) {
            if (!in_region(f->regions[ri], buf_slice(&f->raw_keys[i])))
                break; /* a store scans its own region only */
            if (page_full(f, resp->n_kvs)) {
                resp->more = 1; /* as a store whose reply would not fit a frame */
                break;
            }
            resp->kvs[resp->n_kvs++] =
                pair_new(buf_slice(&f->raw_keys[i]), buf_slice(&f->raw_vals[i]));
        }
    }
    pthread_mutex_unlock(&f->mu);
    return TKV_OK;
}

/* ---- Percolator ------------------------------------------------------------------- */

static long find_lock(const fake_cluster_t *f, tkv_slice_t key)
{
    for (size_t i = 0; i < f->n_locks; i++) {
        if (slice_equal(buf_slice(&f->locks[i].key), key))
            return (long)i;
    }
    return -1;
}

static void del_lock(fake_cluster_t *f, size_t i)
{
    lock_free(&f->locks[i]);
    f->locks[i] = f->locks[--f->n_locks];
}

static void add_lock(fake_cluster_t *f, tkv_slice_t key, tkv_slice_t primary, uint64_t ts,
                     uint64_t ttl, tkv_slice_t value)
{
    if (f->n_locks == FAKE_MAX_KEYS)
        abort();
    lock_t *l = &f->locks[f->n_locks++];
    memset(l, 0, sizeof(*l));
    buf_set(&l->key, key.data, key.len);
    buf_set(&l->primary, primary.data, primary.len);
    buf_set(&l->value, value.data, value.len);
    l->start_ts = ts;
    l->ttl = ttl;
}

static void add_write(fake_cluster_t *f, tkv_slice_t key, uint64_t start_ts, uint64_t commit_ts,
                      int kind, tkv_slice_t value)
{
    if (f->n_writes == FAKE_MAX_KEYS)
        abort();
    write_t *w = &f->writes[f->n_writes++];
    memset(w, 0, sizeof(*w));
    buf_set(&w->key, key.data, key.len);
    buf_set(&w->value, value.data, value.len);
    w->start_ts = start_ts;
    w->commit_ts = commit_ts;
    w->kind = kind;
}

void fake_put_lock(fake_cluster_t *f, const char *key, const char *primary, uint64_t start_ts,
                   uint64_t ttl_ms, const char *value)
{
    pthread_mutex_lock(&f->mu);
    add_lock(f, slice_of_str(key), slice_of_str(primary), start_ts, ttl_ms,
             slice_of_str(value ? value : ""));
    pthread_mutex_unlock(&f->mu);
}

void fake_put_write(fake_cluster_t *f, const char *key, uint64_t start_ts, uint64_t commit_ts,
                    const char *value)
{
    pthread_mutex_lock(&f->mu);
    add_write(f, slice_of_str(key), start_ts, commit_ts, value ? W_PUT : W_DEL,
              slice_of_str(value ? value : ""));
    pthread_mutex_unlock(&f->mu);
}

size_t fake_n_locks(fake_cluster_t *f)
{
    pthread_mutex_lock(&f->mu);
    size_t n = f->n_locks;
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* The newest put/delete of key committed at or before ts (NULL: none). */
static const write_t *latest(const fake_cluster_t *f, tkv_slice_t key, uint64_t ts)
{
    const write_t *best = NULL;
    for (size_t i = 0; i < f->n_writes; i++) {
        const write_t *w = &f->writes[i];
        if (w->kind != W_ROLLBACK && w->commit_ts <= ts && slice_equal(buf_slice(&w->key), key) &&
            (best == NULL || w->commit_ts > best->commit_ts))
            best = w;
    }
    return best;
}

static const write_t *write_of_txn(const fake_cluster_t *f, tkv_slice_t key, uint64_t start_ts)
{
    for (size_t i = 0; i < f->n_writes; i++) {
        if (f->writes[i].start_ts == start_ts && slice_equal(buf_slice(&f->writes[i].key), key))
            return &f->writes[i];
    }
    return NULL;
}

int fake_read(fake_cluster_t *f, const char *key, uint64_t ts, char *out, size_t size)
{
    pthread_mutex_lock(&f->mu);
    const write_t *w = latest(f, slice_of_str(key), ts);
    int found = w != NULL && w->kind == W_PUT;
    if (found)
        snprintf(out, size, "%.*s", (int)w->value.len, (const char *)w->value.data);
    pthread_mutex_unlock(&f->mu);
    return found;
}

static Kvrpcpb__KeyError *locked_error(const lock_t *l)
{
    Kvrpcpb__KeyError *ke = xmalloc(sizeof(*ke));
    kvrpcpb__key_error__init(ke);
    ke->locked = xmalloc(sizeof(*ke->locked));
    kvrpcpb__lock_info__init(ke->locked);
    ke->locked->primary_lock = bin_dup(buf_slice(&l->primary));
    ke->locked->lock_version = l->start_ts;
    ke->locked->key = bin_dup(buf_slice(&l->key));
    ke->locked->lock_ttl = l->ttl;
    return ke;
}

static Kvrpcpb__KeyError *text_error(int retryable, const char *msg)
{
    Kvrpcpb__KeyError *ke = xmalloc(sizeof(*ke));
    kvrpcpb__key_error__init(ke);
    if (retryable)
        ke->retryable = strdup(msg);
    else
        ke->abort = strdup(msg);
    return ke;
}

static tkv_err_t h_kv_get(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    fake_store_t *s = ctx;
    fake_cluster_t *f = s->fake;
    const Kvrpcpb__GetRequest *req = (const void *)rq;
    Kvrpcpb__GetResponse *resp = (void *)rp;
    tkv_slice_t k = bs(req->key);
    fake_call_t *call;
    pthread_mutex_lock(&f->mu);
    if (admit(s, "KvGet", req->context, &k, 1, &resp->region_error, &call) >= 0) {
        call->start_ts = req->version;
        long li = find_lock(f, k);
        const write_t *w = latest(f, k, req->version);
        if (li >= 0 && f->locks[li].start_ts <= req->version)
            resp->error = locked_error(&f->locks[li]);
        else if (w != NULL && w->kind == W_PUT)
            resp->value = bin_dup(buf_slice(&w->value));
        else
            resp->not_found = 1;
    }
    pthread_mutex_unlock(&f->mu);
    return TKV_OK;
}

static int cmp_slices(const void *a, const void *b)
{
    return slice_compare(*(const tkv_slice_t *)a, *(const tkv_slice_t *)b);
}

static tkv_err_t h_kv_scan(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    fake_store_t *s = ctx;
    fake_cluster_t *f = s->fake;
    const Kvrpcpb__ScanRequest *req = (const void *)rq;
    Kvrpcpb__ScanResponse *resp = (void *)rp;
    tkv_slice_t k = bs(req->start_key);
    fake_call_t *call;
    pthread_mutex_lock(&f->mu);
    long ri = admit(s, "KvScan", req->context, &k, 1, &resp->region_error, &call);
    if (ri >= 0) {
        call->start_ts = req->version;
        /* Every key with a lock or a write, sorted, distinct. */
        tkv_slice_t *keys = xcalloc(f->n_locks + f->n_writes + 1, sizeof(*keys));
        size_t n = 0;
        for (size_t i = 0; i < f->n_locks; i++)
            keys[n++] = buf_slice(&f->locks[i].key);
        for (size_t i = 0; i < f->n_writes; i++)
            keys[n++] = buf_slice(&f->writes[i].key);
        qsort(keys, n, sizeof(*keys), cmp_slices);
        resp->pairs = xcalloc(n + 1, sizeof(*resp->pairs));
        for (size_t i = 0; i < n && resp->n_pairs < req->limit; i++) {
            if ((i > 0 && slice_equal(keys[i], keys[i - 1])) || slice_compare(keys[i], k) < 0)
                continue;
            if (!in_region(f->regions[ri], keys[i]))
                break;
            if (page_full(f, resp->n_pairs)) {
                resp->more = 1;
                break;
            }
            long li = find_lock(f, keys[i]);
            const write_t *w = latest(f, keys[i], req->version);
            if (li >= 0 && f->locks[li].start_ts <= req->version) {
                Kvrpcpb__KvPair *p = pair_new(keys[i], slice_of(NULL, 0));
                p->error = locked_error(&f->locks[li]);
                resp->pairs[resp->n_pairs++] = p;
            } else if (w != NULL && w->kind == W_PUT) {
                resp->pairs[resp->n_pairs++] = pair_new(keys[i], buf_slice(&w->value));
            }
        }
        free(keys);
    }
    pthread_mutex_unlock(&f->mu);
    return TKV_OK;
}

static tkv_err_t h_kv_prewrite(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    fake_store_t *s = ctx;
    fake_cluster_t *f = s->fake;
    const Kvrpcpb__PrewriteRequest *req = (const void *)rq;
    Kvrpcpb__PrewriteResponse *resp = (void *)rp;
    size_t n = req->n_mutations;
    tkv_slice_t *keys = xcalloc(n + 1, sizeof(*keys));
    for (size_t i = 0; i < n; i++)
        keys[i] = bs(req->mutations[i]->key);
    fake_call_t *call;
    pthread_mutex_lock(&f->mu);
    if (admit(s, "KvPrewrite", req->context, keys, n, &resp->region_error, &call) >= 0) {
        call->start_ts = req->start_version;
        resp->errors = xcalloc(n + 1, sizeof(*resp->errors));
        /* All or nothing: check every key, then lock them. */
        for (size_t i = 0; i < n; i++) {
            long li = find_lock(f, keys[i]);
            const write_t *newest = NULL;
            for (size_t w = 0; w < f->n_writes; w++) {
                const write_t *x = &f->writes[w];
                if (slice_equal(buf_slice(&x->key), keys[i]) &&
                    x->commit_ts >= req->start_version &&
                    (newest == NULL || x->commit_ts > newest->commit_ts))
                    newest = x;
            }
            if (newest != NULL) {
                Kvrpcpb__KeyError *ke = xmalloc(sizeof(*ke));
                kvrpcpb__key_error__init(ke);
                ke->conflict = xmalloc(sizeof(*ke->conflict));
                kvrpcpb__write_conflict__init(ke->conflict);
                ke->conflict->start_ts = req->start_version;
                ke->conflict->conflict_ts = newest->commit_ts;
                ke->conflict->key = bin_dup(keys[i]);
                ke->conflict->primary = bin_dup(bs(req->primary_lock));
                resp->errors[resp->n_errors++] = ke;
            } else if (li >= 0 && f->locks[li].start_ts != req->start_version) {
                resp->errors[resp->n_errors++] = locked_error(&f->locks[li]);
            }
        }
        for (size_t i = 0; resp->n_errors == 0 && i < n; i++) {
            if (find_lock(f, keys[i]) < 0)
                add_lock(f, keys[i], bs(req->primary_lock), req->start_version, req->lock_ttl,
                         req->mutations[i]->op == KVRPCPB__OP__OP_DEL
                             ? slice_of_str("\001deleted")
                             : bs(req->mutations[i]->value));
        }
    }
    pthread_mutex_unlock(&f->mu);
    free(keys);
    return TKV_OK;
}

/* Turns the lock on key (of txn start_ts) into a commit write. */
static void commit_lock(fake_cluster_t *f, size_t li, uint64_t commit_ts)
{
    lock_t *l = &f->locks[li];
    int del = slice_equal(buf_slice(&l->value), slice_of_str("\001deleted"));
    add_write(f, buf_slice(&l->key), l->start_ts, commit_ts, del ? W_DEL : W_PUT,
              del ? slice_of(NULL, 0) : buf_slice(&l->value));
    del_lock(f, li);
}

static void rollback_lock(fake_cluster_t *f, size_t li)
{
    add_write(f, buf_slice(&f->locks[li].key), f->locks[li].start_ts, f->locks[li].start_ts,
              W_ROLLBACK, slice_of(NULL, 0));
    del_lock(f, li);
}

static tkv_err_t h_kv_commit(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    fake_store_t *s = ctx;
    fake_cluster_t *f = s->fake;
    const Kvrpcpb__CommitRequest *req = (const void *)rq;
    Kvrpcpb__CommitResponse *resp = (void *)rp;
    size_t n = req->n_keys;
    tkv_slice_t *keys = xcalloc(n + 1, sizeof(*keys));
    for (size_t i = 0; i < n; i++)
        keys[i] = bs(req->keys[i]);
    fake_call_t *call;
    pthread_mutex_lock(&f->mu);
    if (admit(s, "KvCommit", req->context, keys, n, &resp->region_error, &call) >= 0) {
        call->start_ts = req->start_version;
        call->commit_ts = req->commit_version;
        for (size_t i = 0; i < n && resp->error == NULL; i++) {
            long li = find_lock(f, keys[i]);
            const write_t *w = write_of_txn(f, keys[i], req->start_version);
            if (li >= 0 && f->locks[li].start_ts == req->start_version)
                commit_lock(f, (size_t)li, req->commit_version);
            else if (w == NULL || w->kind == W_ROLLBACK)
                resp->error = text_error(1, "lock not found: the transaction was rolled back");
        }
    }
    pthread_mutex_unlock(&f->mu);
    free(keys);
    return TKV_OK;
}

static tkv_err_t h_kv_rollback(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    fake_store_t *s = ctx;
    fake_cluster_t *f = s->fake;
    const Kvrpcpb__BatchRollbackRequest *req = (const void *)rq;
    Kvrpcpb__BatchRollbackResponse *resp = (void *)rp;
    size_t n = req->n_keys;
    tkv_slice_t *keys = xcalloc(n + 1, sizeof(*keys));
    for (size_t i = 0; i < n; i++)
        keys[i] = bs(req->keys[i]);
    fake_call_t *call;
    pthread_mutex_lock(&f->mu);
    if (admit(s, "KvBatchRollback", req->context, keys, n, &resp->region_error, &call) >= 0) {
        call->start_ts = req->start_version;
        for (size_t i = 0; i < n; i++) {
            long li = find_lock(f, keys[i]);
            if (li >= 0 && f->locks[li].start_ts == req->start_version)
                rollback_lock(f, (size_t)li);
            else if (write_of_txn(f, keys[i], req->start_version) == NULL)
                add_write(f, keys[i], req->start_version, req->start_version, W_ROLLBACK,
                          slice_of(NULL, 0));
        }
    }
    pthread_mutex_unlock(&f->mu);
    free(keys);
    return TKV_OK;
}

static tkv_err_t h_kv_check(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    fake_store_t *s = ctx;
    fake_cluster_t *f = s->fake;
    const Kvrpcpb__CheckTxnStatusRequest *req = (const void *)rq;
    Kvrpcpb__CheckTxnStatusResponse *resp = (void *)rp;
    tkv_slice_t k = bs(req->primary_key);
    fake_call_t *call;
    pthread_mutex_lock(&f->mu);
    if (admit(s, "KvCheckTxnStatus", req->context, &k, 1, &resp->region_error, &call) >= 0) {
        call->start_ts = req->lock_ts;
        long li = find_lock(f, k);
        const write_t *w = write_of_txn(f, k, req->lock_ts);
        if (li >= 0 && f->locks[li].start_ts == req->lock_ts) {
            if ((req->lock_ts >> 18) + f->locks[li].ttl <= (req->current_ts >> 18)) {
                rollback_lock(f, (size_t)li);
                resp->action = KVRPCPB__ACTION__TTL_EXPIRE_ROLLBACK;
            } else {
                resp->lock_ttl = f->locks[li].ttl;
            }
        } else if (w != NULL) {
            resp->commit_version = w->kind == W_ROLLBACK ? 0 : w->commit_ts;
        } else {
            add_write(f, k, req->lock_ts, req->lock_ts, W_ROLLBACK, slice_of(NULL, 0));
            resp->action = KVRPCPB__ACTION__LOCK_NOT_EXIST_ROLLBACK;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return TKV_OK;
}

static tkv_err_t h_kv_resolve(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    fake_store_t *s = ctx;
    fake_cluster_t *f = s->fake;
    const Kvrpcpb__ResolveLockRequest *req = (const void *)rq;
    Kvrpcpb__ResolveLockResponse *resp = (void *)rp;
    fake_call_t *call;
    pthread_mutex_lock(&f->mu);
    long ri = admit(s, "KvResolveLock", req->context, NULL, 0, &resp->region_error, &call);
    if (ri >= 0) {
        call->start_ts = req->start_version;
        call->commit_ts = req->commit_version;
        for (size_t i = f->n_locks; i-- > 0;) {
            if (f->locks[i].start_ts != req->start_version ||
                !in_region(f->regions[ri], buf_slice(&f->locks[i].key)))
                continue;
            if (req->commit_version != 0)
                commit_lock(f, i, req->commit_version);
            else
                rollback_lock(f, i);
        }
    }
    pthread_mutex_unlock(&f->mu);
    return TKV_OK;
}

/* ---- admin ---------------------------------------------------------------------------- */

static tkv_err_t h_raft_cmd(void *ctx, const ProtobufCMessage *rq, ProtobufCMessage *rp)
{
    fake_store_t *s = ctx;
    fake_cluster_t *f = s->fake;
    const RaftCmdpb__RaftCmdRequest *req = (const void *)rq;
    RaftCmdpb__RaftCmdResponse *resp = (void *)rp;
    resp->header = xmalloc(sizeof(*resp->header));
    raft_cmdpb__raft_response_header__init(resp->header);
    Kvrpcpb__Context c = KVRPCPB__CONTEXT__INIT;
    if (req->header != NULL) {
        c.region_id = req->header->region_id;
        c.region_epoch = req->header->region_epoch;
        c.peer = req->header->peer;
    }
    const RaftCmdpb__AdminRequest *a = req->admin_request;
    tkv_slice_t key = a && a->split ? bs(a->split->split_key) : slice_of(NULL, 0);
    fake_call_t *call;
    pthread_mutex_lock(&f->mu);
    long ri = admit(s, "RaftCmd", req->header ? &c : NULL, a && a->split ? &key : NULL,
                    a && a->split ? 1 : 0, &resp->header->error, &call);
    if (ri >= 0 && a != NULL) {
        resp->admin_response = xmalloc(sizeof(*resp->admin_response));
        raft_cmdpb__admin_response__init(resp->admin_response);
        resp->admin_response->cmd_type = a->cmd_type;
        Metapb__Region *r = f->regions[ri];
        if (a->transfer_leader && a->transfer_leader->peer) {
            f->leader[ri] = a->transfer_leader->peer->store_id;
        } else if (a->split && a->split->n_new_peer_ids == r->n_peers) {
            uint64_t stores[8] = { 0 };
            size_t n = r->n_peers < 8 ? r->n_peers : 8;
            for (size_t i = 0; i < n; i++)
                stores[i] = r->peers[i]->store_id;
            uint64_t ver = r->region_epoch->version + 1, conf = r->region_epoch->conf_ver;
            Metapb__Region *right = make_region(a->split->new_region_id, key, bs(r->end_key), conf,
                                                ver, stores, n, a->split->new_peer_ids);
            uint64_t old_peers[8] = { 0 };
            for (size_t i = 0; i < n; i++)
                old_peers[i] = r->peers[i]->id;
            Metapb__Region *left =
                make_region(r->id, bs(r->start_key), key, conf, ver, stores, n, old_peers);
            uint64_t leader = f->leader[ri];
            put_region(f, left, leader);
            put_region(f, right, leader);
            RaftCmdpb__SplitResponse *sr = xmalloc(sizeof(*sr));
            raft_cmdpb__split_response__init(sr);
            sr->regions = xcalloc(2, sizeof(*sr->regions));
            sr->regions[0] = (Metapb__Region *)pb_dup(&left->base);
            sr->regions[1] = (Metapb__Region *)pb_dup(&right->base);
            sr->n_regions = 2;
            resp->admin_response->split = sr;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return TKV_OK;
}

const rpc_method_t fake_store_methods[] = {
    { "RawPut", h_raw_put, NULL },
    { "RawGet", h_raw_get, NULL },
    { "RawDelete", h_raw_delete, NULL },
    { "RawScan", h_raw_scan, NULL },
    { "KvGet", h_kv_get, NULL },
    { "KvScan", h_kv_scan, NULL },
    { "KvPrewrite", h_kv_prewrite, NULL },
    { "KvCommit", h_kv_commit, NULL },
    { "KvBatchRollback", h_kv_rollback, NULL },
    { "KvCheckTxnStatus", h_kv_check, NULL },
    { "KvResolveLock", h_kv_resolve, NULL },
    { "RaftCmd", h_raft_cmd, NULL },
    { NULL, NULL, NULL },
};
