/*
 * A store (store.h): its databases, its identity, and the table of peers it
 * routes messages, ticks and commands to; the calls out to project 3B's
 * extension (store_ext.h) where it has one.
 *
 * The table is a plain array searched linearly: a store in the tests hosts
 * at most a few dozen regions, and a linear scan keeps the routing code
 * short enough to read at a glance. A peer that must go (destroyed by 3B)
 * is only marked while the store is busy with an input, and freed at the
 * end of that input (reap()), so no hook ever sees a freed peer.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "project2-raft/raftstore/cmd_resp.h"
#include "project2-raft/raftstore/keys.h"
#include "project2-raft/raftstore/pb_util.h"
#include "project2-raft/raftstore/store_ext.h"

struct store {
    uint64_t id;
    char *dir;
    peer_config_t peer_cfg;
    peer_transport_t transport;
    tkv_prng_t own_prng, *prng;
    eng_t *raft_db, *kv_db;
    peer_t **peers; /* one per region, in no particular order */
    size_t n_peers;
    const store_ext_t *ext; /* borrowed; NULL: project 2 only */
    void *ext_arg, *ext_state;
    int in_round; /* store_begin_round(): Readies wait for store_end_round() */
};

static tkv_err_t make_dir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return tkv_errorf(TKV_ERR_IO, "cannot create directory %s: %s", path, strerror(errno));
    return TKV_OK;
}

/* The store ident says which store a data directory belongs to: opening
 * another store's data would silently merge two replicas into one. */
static tkv_err_t check_ident(store_t *s)
{
    tkv_buf_t key = TKV_BUF_INIT;
    keys_store_ident(&key);
    RaftServerpb__StoreIdent *ident = NULL;
    tkv_err_t err = eng_get_msg(s->kv_db, buf_slice(&key), &raft_serverpb__store_ident__descriptor,
                                (ProtobufCMessage **)&ident);
    if (err == TKV_ERR_NOT_FOUND) {
        RaftServerpb__StoreIdent fresh = RAFT_SERVERPB__STORE_IDENT__INIT;
        fresh.store_id = s->id;
        err = eng_put_msg(s->kv_db, buf_slice(&key), &fresh.base);
    } else if (err == TKV_OK && ident->store_id != s->id) {
        err = tkv_errorf(TKV_ERR_INVALID, "%s belongs to store %llu, not %llu", s->dir,
                         (unsigned long long)ident->store_id, (unsigned long long)s->id);
    }
    pb_free(ident);
    buf_free(&key);
    return err;
}

static void host(store_t *s, peer_t *p)
{
    p->store = s;
    p->ext = s->ext;
    s->peers = xrealloc(s->peers, (s->n_peers + 1) * sizeof(peer_t *));
    s->peers[s->n_peers++] = p;
}

/* Marks the live peer of region_id (if any) destroyed: it is being replaced. */
static void retire(store_t *s, uint64_t region_id)
{
    peer_t *old = store_peer(s, region_id);
    if (old != NULL)
        old->destroyed = 1;
}

tkv_err_t store_open_peer(store_t *s, uint64_t region_id, peer_t **out)
{
    peer_t *p = NULL;
    if (out != NULL)
        *out = NULL;
    tkv_err_t err = peer_create(&s->peer_cfg, s->id, s->raft_db, s->kv_db, region_id, s->transport,
                                s->prng, &p);
    if (err != TKV_OK)
        return err;
    retire(s, region_id);
    host(s, p);
    if (out != NULL)
        *out = p;
    return TKV_OK;
}

tkv_err_t store_open_uninitialized_peer(store_t *s, uint64_t region_id, uint64_t peer_id,
                                        peer_t **out)
{
    peer_t *p = NULL;
    *out = NULL;
    tkv_err_t err = peer_create_uninitialized(&s->peer_cfg, s->id, s->raft_db, s->kv_db, region_id,
                                              peer_id, s->transport, s->prng, &p);
    if (err != TKV_OK)
        return err;
    retire(s, region_id);
    host(s, p);
    *out = p;
    return TKV_OK;
}

/* Frees the peers marked destroyed during the last input. */
static void reap(store_t *s)
{
    size_t j = 0;
    for (size_t i = 0; i < s->n_peers; i++) {
        if (s->peers[i]->destroyed)
            peer_free(s->peers[i]);
        else
            s->peers[j++] = s->peers[i];
    }
    s->n_peers = j;
}

/* Every region with a region state in the kv DB gets its peer back. */
static tkv_err_t load_peers(store_t *s)
{
    tkv_buf_t prefix = TKV_BUF_INIT;
    keys_region_meta_prefix(&prefix);
    uint64_t *ids = NULL;
    size_t n = 0;
    eng_iter_t *it = eng_iter_new(s->kv_db, NULL, NULL);
    tkv_err_t err = TKV_OK;
    for (eng_iter_seek(it, buf_slice(&prefix)); eng_iter_valid(it); eng_iter_next(it)) {
        tkv_slice_t k = eng_iter_key(it);
        if (k.len < prefix.len || memcmp(k.data, prefix.data, prefix.len) != 0)
            break;
        uint64_t rid = 0;
        if (keys_decode_region_state_key(k, &rid) != TKV_OK) {
            /* Only region states live here: skipping this one could hide a
             * region, and starting without it would lose it. */
            err = tkv_errorf(TKV_ERR_CORRUPT,
                             "store %llu: %s holds a %zu-byte key under the region state "
                             "prefix that is not a region state key",
                             (unsigned long long)s->id, eng_path(s->kv_db), k.len);
            break;
        }
        /* A tombstone is a peer destroyed here (3B): it stays dead. */
        tkv_slice_t v = eng_iter_value(it);
        RaftServerpb__RegionLocalState *st =
            raft_serverpb__region_local_state__unpack(NULL, v.len, v.data);
        int dead = st != NULL && st->state == RAFT_SERVERPB__PEER_STATE__PEER_TOMBSTONE;
        pb_free(st);
        if (dead)
            continue;
        ids = xrealloc(ids, (n + 1) * sizeof(uint64_t));
        ids[n++] = rid;
    }
    if (err == TKV_OK)
        err = eng_iter_status(it);
    eng_iter_free(it);
    buf_free(&prefix);
    for (size_t i = 0; i < n && err == TKV_OK; i++)
        err = store_open_peer(s, ids[i], NULL);
    free(ids);
    return err;
}

tkv_err_t store_open(const store_config_t *cfg, store_t **out)
{
    *out = NULL;
    if (cfg->store_id == 0 || cfg->data_dir == NULL)
        return tkv_errorf(TKV_ERR_INVALID, "a store needs an id and a data directory");
    store_t *s = xcalloc(1, sizeof(*s));
    s->id = cfg->store_id;
    s->dir = strdup(cfg->data_dir);
    s->peer_cfg = cfg->peer;
    s->transport = cfg->transport;
    prng_seed(&s->own_prng, cfg->store_id);
    s->prng = cfg->prng ? cfg->prng : &s->own_prng;
    s->ext = cfg->ext;
    s->ext_arg = cfg->ext_arg;
    char path[4096];
    tkv_err_t err = make_dir(s->dir);
    if (err == TKV_OK) {
        snprintf(path, sizeof(path), "%s/raft", s->dir);
        err = eng_open(path, &s->raft_db);
    }
    if (err == TKV_OK) {
        snprintf(path, sizeof(path), "%s/kv", s->dir);
        err = eng_open(path, &s->kv_db);
    }
    if (err == TKV_OK) {
        /* Rounds defer the kv DB's syncs: no raft DB write may overtake them. */
        eng_sync_before(s->raft_db, s->kv_db);
        err = check_ident(s);
    }
    if (err == TKV_OK && s->ext != NULL && s->ext->store_open != NULL)
        err = s->ext->store_open(s, s->ext_arg, &s->ext_state);
    if (err == TKV_OK)
        err = load_peers(s);
    if (err != TKV_OK) {
        store_close(s);
        return err;
    }
    *out = s;
    return TKV_OK;
}

void store_close(store_t *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_peers; i++)
        peer_free(s->peers[i]);
    free(s->peers);
    if (s->ext != NULL && s->ext->store_close != NULL && s->ext_state != NULL)
        s->ext->store_close(s->ext_state);
    if (s->kv_db != NULL)
        eng_close(s->kv_db);
    if (s->raft_db != NULL)
        eng_close(s->raft_db);
    free(s->dir);
    free(s);
}

tkv_err_t store_bootstrap_region(store_t *s, const Metapb__Region *region)
{
    if (pb_region_peer_on_store(region, s->id) == NULL)
        return tkv_errorf(TKV_ERR_INVALID, "region %llu has no peer on store %llu",
                          (unsigned long long)region->id, (unsigned long long)s->id);
    tkv_err_t err = peer_storage_bootstrap(s->raft_db, s->kv_db, region);
    if (err != TKV_OK)
        return err;
    return store_open_peer(s, region->id, NULL);
}

peer_t *store_peer(store_t *s, uint64_t region_id)
{
    for (size_t i = 0; i < s->n_peers; i++)
        if (s->peers[i]->region_id == region_id && !s->peers[i]->destroyed)
            return s->peers[i];
    return NULL;
}

static int key_in(const Metapb__Region *r, tkv_slice_t key)
{
    if (slice_compare(key, slice_of(r->start_key.data, r->start_key.len)) < 0)
        return 0;
    return r->end_key.len == 0 || slice_compare(key, slice_of(r->end_key.data, r->end_key.len)) < 0;
}

peer_t *store_region_by_key(store_t *s, tkv_slice_t key)
{
    for (size_t i = 0; i < s->n_peers; i++) {
        peer_t *p = s->peers[i];
        if (!p->destroyed && peer_is_initialized(p) && key_in(peer_region(p), key))
            return p;
    }
    return NULL;
}

size_t store_n_regions(const store_t *s)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n_peers; i++)
        n += !s->peers[i]->destroyed;
    return n;
}

static tkv_err_t route_message(store_t *s, const RaftServerpb__RaftMessage *msg)
{
    if (msg->to_peer == NULL || msg->to_peer->store_id != s->id)
        return tkv_errorf(TKV_ERR_INVALID, "store %llu: message for another store",
                          (unsigned long long)s->id);
    if (msg->region_id == 0 || msg->message == NULL)
        return tkv_errorf(TKV_ERR_INVALID, "store %llu: message names no region or carries nothing",
                          (unsigned long long)s->id);
    peer_t *p = store_peer(s, msg->region_id);
    if (p != NULL && s->ext != NULL && s->ext->filter_message != NULL &&
        s->ext->filter_message(s, p, msg))
        return TKV_OK;
    if (p == NULL) {
        if (s->ext != NULL && s->ext->on_unknown_region != NULL)
            return s->ext->on_unknown_region(s, msg);
        /* Creating a peer from a message (a region this store was just
         * added to) comes with membership changes, in project 3B. */
        return tkv_errorf(TKV_ERR_NOT_FOUND, "store %llu: no peer of region %llu",
                          (unsigned long long)s->id, (unsigned long long)msg->region_id);
    }
    return peer_step(p, msg);
}

tkv_err_t store_step(store_t *s, const uint8_t *data, size_t len)
{
    RaftServerpb__RaftMessage *msg = raft_serverpb__raft_message__unpack(NULL, len, data);
    if (msg == NULL)
        return tkv_errorf(TKV_ERR_CORRUPT, "store %llu: %zu bytes are not a RaftMessage",
                          (unsigned long long)s->id, len);
    tkv_err_t err = route_message(s, msg);
    pb_free(msg);
    reap(s);
    return err;
}

void store_tick(store_t *s)
{
    /* Indexes, not pointers: a tick may add peers (a split) at the end. */
    for (size_t i = 0; i < s->n_peers; i++) {
        peer_t *p = s->peers[i];
        if (p->destroyed)
            continue;
        peer_tick(p);
        if (!p->destroyed && s->ext != NULL && s->ext->on_tick != NULL)
            s->ext->on_tick(s, p);
    }
    if (s->ext != NULL && s->ext->on_store_tick != NULL)
        s->ext->on_store_tick(s);
    reap(s);
}

void store_propose(store_t *s, const RaftCmdpb__RaftCmdRequest *req, peer_cb_t cb)
{
    uint64_t rid = req->header != NULL ? req->header->region_id : 0;
    peer_t *p = store_peer(s, rid);
    if (p == NULL) {
        peer_answer(cb, cmd_resp_region_not_found(rid));
        return;
    }
    peer_propose(p, req, cb);
    reap(s);
}

tkv_err_t store_campaign(store_t *s, uint64_t region_id)
{
    peer_t *p = store_peer(s, region_id);
    if (p == NULL)
        return tkv_errorf(TKV_ERR_NOT_FOUND, "store %llu: no peer of region %llu",
                          (unsigned long long)s->id, (unsigned long long)region_id);
    return peer_campaign(p);
}

uint64_t store_id(const store_t *s)
{
    return s->id;
}

eng_t *store_kv_db(store_t *s)
{
    return s->kv_db;
}

eng_t *store_raft_db(store_t *s)
{
    return s->raft_db;
}

/* ---- rounds ---- */

void store_begin_round(store_t *s)
{
    s->in_round = 1;
    /* Applying writes the kv DB once per entry: sync those once, at the end.
     * The log they came from is synced already (a Ready is saved before it
     * is applied), so a power cut loses only applies the log replays; and
     * the raft DB syncs the kv DB before any write of its own (store_open). */
    eng_defer_syncs(s->kv_db, 1);
}

int store_defer_ready(store_t *s, peer_t *p)
{
    if (s == NULL || !s->in_round)
        return 0;
    p->ready_pending = 1;
    return 1;
}

void store_end_round(store_t *s)
{
    s->in_round = 0;
    /* Indexes, not pointers: a Ready may add peers (a split) at the end,
     * and those handle their own Readies at once, the round being over. */
    for (size_t i = 0; i < s->n_peers; i++) {
        peer_t *p = s->peers[i];
        if (!p->ready_pending)
            continue;
        p->ready_pending = 0;
        if (!p->destroyed)
            (void)peer_handle_ready(p); /* a failure marks the peer broken, logged */
        peer_read_serve(p);             /* ReadIndex reads whose index the round applied */
    }
    eng_defer_syncs(s->kv_db, 0);
    /* A failed sync stays due: the next raft DB write tries it first, and
     * the peer whose write that is stops on the error. */
    if (eng_sync(s->kv_db) != TKV_OK)
        tkv_logf(TKV_LOG_ERROR, "store", "store %llu: syncing the kv DB failed: %s",
                 (unsigned long long)s->id, tkv_last_error());
    reap(s);
}

/* ---- for the extension (store_ext.h) ---- */

void *store_ext_state(store_t *s)
{
    return s->ext_state;
}

const peer_config_t *store_peer_config(const store_t *s)
{
    return &s->peer_cfg;
}

peer_t *const *store_peers(store_t *s, size_t *n)
{
    *n = s->n_peers;
    return s->peers;
}

void store_send(store_t *s, uint64_t to_store, const uint8_t *data, size_t len)
{
    if (s->transport.send != NULL)
        s->transport.send(s->transport.arg, to_store, data, len);
}

store_t *peer_store(const peer_t *p)
{
    return p->store;
}
