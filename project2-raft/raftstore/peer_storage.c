/*
 * Peer storage (peer_storage.h): loading and saving a region's Raft state,
 * and the read side the Raft core calls.
 *
 * Crash safety rests on two rules. Each Ready's raft DB writes (entries,
 * hard state, where the log ends) go in one batch. And whatever must agree
 * across the two databases is written kv DB first: a snapshot installs its
 * data and apply state before the raft DB hears of it, and log GC deletes
 * entries only after the apply state says they are truncated. So on restart
 * the kv DB is never behind the raft DB in a way we cannot repair, and
 * peer_storage_open() repairs the rest (see recover()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "project2-raft/raft/raft_pb.h"
#include "project2-raft/raftstore/keys.h"
#include "project2-raft/raftstore/pb_util.h"
#include "project2-raft/raftstore/peer_storage.h"

/* ---- encoding the three states --------------------------------------------- */

static void put_raft_state(const peer_storage_t *ps, eng_batch_t *wb)
{
    Eraftpb__HardState hs = ERAFTPB__HARD_STATE__INIT;
    hs.term = ps->hard_state.term;
    hs.vote = ps->hard_state.vote;
    hs.commit = ps->hard_state.commit;
    RaftServerpb__RaftLocalState st = RAFT_SERVERPB__RAFT_LOCAL_STATE__INIT;
    st.hard_state = &hs;
    st.last_index = ps->last_index;
    st.last_term = ps->last_term;
    tkv_buf_t key = TKV_BUF_INIT;
    keys_raft_state_key(&key, ps->region_id);
    eng_batch_put_msg(wb, buf_slice(&key), &st.base);
    buf_free(&key);
}

void peer_storage_put_apply_state(const peer_storage_t *ps, eng_batch_t *kv_wb)
{
    RaftServerpb__RaftTruncatedState ts = RAFT_SERVERPB__RAFT_TRUNCATED_STATE__INIT;
    ts.index = ps->truncated_index;
    ts.term = ps->truncated_term;
    RaftServerpb__RaftApplyState st = RAFT_SERVERPB__RAFT_APPLY_STATE__INIT;
    st.applied_index = ps->applied_index;
    st.truncated_state = &ts;
    tkv_buf_t key = TKV_BUF_INIT;
    keys_apply_state_key(&key, ps->region_id);
    eng_batch_put_msg(kv_wb, buf_slice(&key), &st.base);
    buf_free(&key);
}

void peer_storage_put_region_state(const peer_storage_t *ps, RaftServerpb__PeerState state,
                                   eng_batch_t *kv_wb)
{
    RaftServerpb__RegionLocalState st = RAFT_SERVERPB__REGION_LOCAL_STATE__INIT;
    st.state = state;
    st.region = ps->region;
    tkv_buf_t key = TKV_BUF_INIT;
    keys_region_state_key(&key, ps->region_id);
    eng_batch_put_msg(kv_wb, buf_slice(&key), &st.base);
    buf_free(&key);
}

/* ---- creating and loading ----------------------------------------------------- */

tkv_err_t peer_storage_bootstrap(eng_t *raft_db, eng_t *kv_db, const Metapb__Region *region)
{
    tkv_buf_t key = TKV_BUF_INIT, val = TKV_BUF_INIT;
    keys_region_state_key(&key, region->id);
    tkv_err_t err = eng_get(kv_db, NULL, buf_slice(&key), &val);
    buf_free(&key);
    buf_free(&val);
    if (err == TKV_OK)
        return tkv_errorf(TKV_ERR_INVALID, "region %llu is already bootstrapped",
                          (unsigned long long)region->id);
    if (err != TKV_ERR_NOT_FOUND)
        return err;
    peer_storage_t ps = { 0 };
    ps.region_id = region->id;
    ps.region = (Metapb__Region *)region;
    ps.hard_state.term = RAFT_INIT_LOG_TERM;
    ps.hard_state.commit = RAFT_INIT_LOG_INDEX;
    ps.last_index = ps.applied_index = ps.truncated_index = RAFT_INIT_LOG_INDEX;
    ps.last_term = ps.truncated_term = RAFT_INIT_LOG_TERM;
    /* kv DB first: a region exists once its region state does. A crash
     * before the raft DB write is repaired by recover(). */
    eng_batch_t *kv = eng_batch_new(), *raft = eng_batch_new();
    peer_storage_put_apply_state(&ps, kv);
    peer_storage_put_region_state(&ps, RAFT_SERVERPB__PEER_STATE__PEER_NORMAL, kv);
    put_raft_state(&ps, raft);
    err = eng_write(kv_db, kv, 1);
    if (err == TKV_OK)
        err = eng_write(raft_db, raft, 1);
    eng_batch_free(kv);
    eng_batch_free(raft);
    return err;
}

/* A state message of region `region_id`; an error says which region and
 * which state (the engine's message names the database and what failed). */
static tkv_err_t load_msg(eng_t *db, uint64_t region_id, const tkv_buf_t *key,
                          const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
    tkv_err_t err = eng_get_msg(db, buf_slice(key), d, out);
    if (err == TKV_OK || err == TKV_ERR_NOT_FOUND)
        return err;
    char why[400];
    snprintf(why, sizeof(why), "%s", tkv_last_error());
    return tkv_errorf(err, "region %llu: reading its %s: %s", (unsigned long long)region_id,
                      d->short_name, why);
}

/* What peer_storage_open() refuses rather than repairs: states that no
 * crash leaves, only damage. Each is reported with the region, the state
 * and the database, and nothing is written (so nothing is lost: an
 * operator can look at the files). A crash in the middle of a snapshot
 * (`applying`) or before the first raft state is recover()'s business. */
static tkv_err_t check_loaded(const peer_storage_t *ps, int have_raft_state, int applying)
{
    unsigned long long rid = (unsigned long long)ps->region_id;
    if (ps->truncated_index > ps->applied_index)
        return tkv_errorf(TKV_ERR_CORRUPT,
                          "region %llu: its RaftApplyState in %s is truncated at %llu, past "
                          "applied %llu",
                          rid, eng_path(ps->kv_db), (unsigned long long)ps->truncated_index,
                          (unsigned long long)ps->applied_index);
    if (!have_raft_state || applying || ps->last_index < ps->truncated_index)
        return TKV_OK;
    if (ps->hard_state.commit > ps->last_index)
        return tkv_errorf(TKV_ERR_CORRUPT,
                          "region %llu: its RaftLocalState in %s commits %llu, past its last "
                          "index %llu",
                          rid, eng_path(ps->raft_db), (unsigned long long)ps->hard_state.commit,
                          (unsigned long long)ps->last_index);
    /* The log from the truncated point to last_index: every entry there,
     * in order, decoding, with terms that never go down and the last one's
     * term the raft state's. One scan: logs are kept short by GC. */
    tkv_buf_t start = TKV_BUF_INIT;
    keys_raft_log_key(&start, ps->region_id, ps->truncated_index + 1);
    eng_iter_t *it = eng_iter_new(ps->raft_db, NULL, NULL);
    uint64_t want = ps->truncated_index + 1, prev_term = ps->truncated_term;
    tkv_err_t err = TKV_OK;
    for (eng_iter_seek(it, buf_slice(&start)); want <= ps->last_index && eng_iter_valid(it);
         eng_iter_next(it)) {
        uint64_t r = 0, idx = 0;
        if (keys_decode_raft_log_key(eng_iter_key(it), &r, &idx) != TKV_OK || r != ps->region_id ||
            idx != want)
            break; /* a hole: reported below */
        raft_entry_t e = { 0 };
        tkv_slice_t v = eng_iter_value(it);
        err = raft_pb_decode_entry(v.data, v.len, &e);
        if (err == TKV_OK && (e.index != idx || e.term < prev_term))
            err = tkv_errorf(TKV_ERR_CORRUPT, "it says index %llu, term %llu (after term %llu)",
                             (unsigned long long)e.index, (unsigned long long)e.term,
                             (unsigned long long)prev_term);
        prev_term = e.term;
        raft_entry_free(&e);
        if (err != TKV_OK) {
            char why[300];
            snprintf(why, sizeof(why), "%s", tkv_last_error());
            err = tkv_errorf(TKV_ERR_CORRUPT, "region %llu: log entry %llu in %s is damaged: %s",
                             rid, (unsigned long long)want, eng_path(ps->raft_db), why);
            break;
        }
        want++;
    }
    if (err == TKV_OK && eng_iter_status(it) != TKV_OK) {
        char why[400];
        snprintf(why, sizeof(why), "%s", tkv_last_error());
        err = tkv_errorf(TKV_ERR_CORRUPT, "region %llu: reading its log in %s: %s", rid,
                         eng_path(ps->raft_db), why);
    }
    eng_iter_free(it);
    buf_free(&start);
    if (err == TKV_OK && want <= ps->last_index)
        err = tkv_errorf(TKV_ERR_CORRUPT,
                         "region %llu: log entry %llu is missing from %s (its RaftLocalState "
                         "says the log ends at %llu)",
                         rid, (unsigned long long)want, eng_path(ps->raft_db),
                         (unsigned long long)ps->last_index);
    if (err == TKV_OK && ps->last_index > ps->truncated_index && prev_term != ps->last_term)
        err = tkv_errorf(TKV_ERR_CORRUPT,
                         "region %llu: its last log entry %llu in %s has term %llu, its "
                         "RaftLocalState says %llu",
                         rid, (unsigned long long)ps->last_index, eng_path(ps->raft_db),
                         (unsigned long long)prev_term, (unsigned long long)ps->last_term);
    return err;
}

/* What a crash can leave, and how it is set right:
 *  - a snapshot installed in the kv DB (region state PEER_APPLYING) whose
 *    raft DB write may or may not have happened, or a region bootstrapped
 *    or received without any raft state yet: the log restarts empty at the
 *    truncated point. Entries persisted after the snapshot are dropped, which
 *    is safe: they were never acknowledged (messages go out after the
 *    region state is back to PEER_NORMAL);
 *  - log GC interrupted: entries at or before the truncated index linger;
 *    delete them (they are unreachable anyway). */
static tkv_err_t recover(peer_storage_t *ps, int have_raft_state, int applying)
{
    int dirty = 0;
    eng_batch_t *wb = eng_batch_new();
    tkv_err_t err = TKV_OK;
    if (!have_raft_state || applying || ps->last_index < ps->truncated_index) {
        err = peer_storage_delete_log(ps, ps->truncated_index + 1, UINT64_MAX, wb);
        ps->last_index = ps->truncated_index;
        ps->last_term = ps->truncated_term;
        dirty = 1;
    }
    if (ps->hard_state.commit < ps->truncated_index) {
        ps->hard_state.commit = ps->truncated_index;
        dirty = 1;
    }
    if (ps->hard_state.term < ps->last_term) {
        ps->hard_state.term = ps->last_term;
        dirty = 1;
    }
    if (err == TKV_OK && dirty) {
        tkv_logf(TKV_LOG_INFO, "peer storage", "region %llu: raft state repaired to %llu/%llu",
                 (unsigned long long)ps->region_id, (unsigned long long)ps->last_index,
                 (unsigned long long)ps->last_term);
        put_raft_state(ps, wb);
        err = eng_write(ps->raft_db, wb, 1);
    }
    eng_batch_free(wb);
    if (err == TKV_OK && applying) {
        wb = eng_batch_new();
        peer_storage_put_region_state(ps, RAFT_SERVERPB__PEER_STATE__PEER_NORMAL, wb);
        err = eng_write(ps->kv_db, wb, 1);
        eng_batch_free(wb);
    }
    if (err != TKV_OK)
        return err;
    return peer_storage_gc_log(ps, ps->truncated_index);
}

tkv_err_t peer_storage_delete_log(peer_storage_t *ps, uint64_t from, uint64_t to,
                                  eng_batch_t *raft_wb)
{
    /* A scan, not a loop over indexes: it finds exactly what is stored,
     * including entries an interrupted GC or snapshot left behind. */
    tkv_buf_t start = TKV_BUF_INIT, end = TKV_BUF_INIT;
    keys_raft_log_key(&start, ps->region_id, from);
    if (to == UINT64_MAX)
        keys_raft_state_key(&end, ps->region_id); /* sorts right after every log key */
    else
        keys_raft_log_key(&end, ps->region_id, to);
    eng_iter_t *it = eng_iter_new(ps->raft_db, NULL, NULL);
    for (eng_iter_seek(it, buf_slice(&start));
         eng_iter_valid(it) && slice_compare(eng_iter_key(it), buf_slice(&end)) < 0;
         eng_iter_next(it))
        eng_batch_delete(raft_wb, NULL, eng_iter_key(it));
    tkv_err_t err = eng_iter_status(it);
    eng_iter_free(it);
    buf_free(&start);
    buf_free(&end);
    return err;
}

tkv_err_t peer_storage_open(eng_t *raft_db, eng_t *kv_db, uint64_t region_id, int sync,
                            peer_storage_t **out)
{
    *out = NULL;
    tkv_buf_t key = TKV_BUF_INIT;
    RaftServerpb__RegionLocalState *rs = NULL;
    RaftServerpb__RaftApplyState *as = NULL;
    RaftServerpb__RaftLocalState *ls = NULL;
    keys_region_state_key(&key, region_id);
    tkv_err_t err = load_msg(kv_db, region_id, &key, &raft_serverpb__region_local_state__descriptor,
                             (ProtobufCMessage **)&rs);
    if (err == TKV_OK && rs->region == NULL)
        err = tkv_errorf(TKV_ERR_CORRUPT, "region %llu: region state without a region",
                         (unsigned long long)region_id);
    if (err == TKV_OK) {
        keys_apply_state_key(&key, region_id);
        err = load_msg(kv_db, region_id, &key, &raft_serverpb__raft_apply_state__descriptor,
                       (ProtobufCMessage **)&as);
        if (err == TKV_ERR_NOT_FOUND)
            err = tkv_errorf(TKV_ERR_CORRUPT, "region %llu: region state but no apply state",
                             (unsigned long long)region_id);
    }
    int have_raft_state = 0, applying = 0;
    if (err == TKV_OK) {
        keys_raft_state_key(&key, region_id);
        err = load_msg(raft_db, region_id, &key, &raft_serverpb__raft_local_state__descriptor,
                       (ProtobufCMessage **)&ls);
        have_raft_state = err == TKV_OK;
        if (err == TKV_ERR_NOT_FOUND)
            err = TKV_OK; /* crashed during bootstrap or first snapshot: recover() */
    }
    buf_free(&key);
    if (err != TKV_OK) {
        pb_free(rs);
        pb_free(as);
        return err;
    }
    peer_storage_t *ps = xcalloc(1, sizeof(*ps));
    ps->raft_db = raft_db;
    ps->kv_db = kv_db;
    ps->region_id = region_id;
    ps->sync = sync;
    ps->region = pb_region_dup(rs->region);
    applying = rs->state == RAFT_SERVERPB__PEER_STATE__PEER_APPLYING;
    ps->applied_index = as->applied_index;
    if (as->truncated_state != NULL) {
        ps->truncated_index = as->truncated_state->index;
        ps->truncated_term = as->truncated_state->term;
    }
    if (ls != NULL) {
        if (ls->hard_state != NULL)
            raft_pb_hard_state_from_pb(ls->hard_state, &ps->hard_state);
        ps->last_index = ls->last_index;
        ps->last_term = ls->last_term;
    }
    pb_free(rs);
    pb_free(as);
    pb_free(ls);
    err = check_loaded(ps, have_raft_state, applying);
    if (err == TKV_OK)
        err = recover(ps, have_raft_state, applying);
    if (err != TKV_OK) {
        peer_storage_free(ps);
        return err;
    }
    *out = ps;
    return TKV_OK;
}

tkv_err_t peer_storage_open_uninitialized(eng_t *raft_db, eng_t *kv_db, uint64_t region_id,
                                          int sync, peer_storage_t **out)
{
    *out = NULL;
    tkv_buf_t key = TKV_BUF_INIT;
    keys_raft_state_key(&key, region_id);
    RaftServerpb__RaftLocalState *ls = NULL;
    tkv_err_t err = load_msg(raft_db, region_id, &key, &raft_serverpb__raft_local_state__descriptor,
                             (ProtobufCMessage **)&ls);
    buf_free(&key);
    if (err != TKV_OK && err != TKV_ERR_NOT_FOUND)
        return err;
    peer_storage_t *ps = xcalloc(1, sizeof(*ps));
    ps->raft_db = raft_db;
    ps->kv_db = kv_db;
    ps->region_id = region_id;
    ps->sync = sync;
    Metapb__RegionEpoch ep = METAPB__REGION_EPOCH__INIT;
    Metapb__Region r = METAPB__REGION__INIT;
    r.id = region_id;
    r.region_epoch = &ep;
    ps->region = pb_region_dup(&r);
    if (ls != NULL && ls->hard_state != NULL) {
        /* Term and vote hold for whoever we were; the old log does not. */
        ps->hard_state.term = ls->hard_state->term;
        ps->hard_state.vote = ls->hard_state->vote;
    }
    pb_free(ls);
    *out = ps;
    return TKV_OK;
}

tkv_err_t peer_storage_clear_meta(peer_storage_t *ps, eng_batch_t *kv_wb, eng_batch_t *raft_wb)
{
    tkv_buf_t key = TKV_BUF_INIT;
    tkv_err_t err = peer_storage_delete_log(ps, 0, UINT64_MAX, raft_wb);
    keys_raft_state_key(&key, ps->region_id);
    eng_batch_delete(raft_wb, NULL, buf_slice(&key));
    keys_apply_state_key(&key, ps->region_id);
    eng_batch_delete(kv_wb, NULL, buf_slice(&key));
    buf_free(&key);
    return err;
}

void peer_storage_free(peer_storage_t *ps)
{
    if (ps == NULL)
        return;
    pb_free(ps->region);
    free(ps);
}

/* ---- the Raft core's read side ------------------------------------------------ */

uint64_t peer_storage_first_index(const peer_storage_t *ps)
{
    return ps->truncated_index + 1;
}

static tkv_err_t read_entry(peer_storage_t *ps, uint64_t i, raft_entry_t *e)
{
    tkv_buf_t key = TKV_BUF_INIT, val = TKV_BUF_INIT;
    keys_raft_log_key(&key, ps->region_id, i);
    tkv_err_t err = eng_get(ps->raft_db, NULL, buf_slice(&key), &val);
    if (err == TKV_OK)
        err = raft_pb_decode_entry(val.data, val.len, e);
    else if (err == TKV_ERR_NOT_FOUND)
        err = tkv_errorf(TKV_ERR_CORRUPT, "region %llu: entry %llu missing from the raft DB",
                         (unsigned long long)ps->region_id, (unsigned long long)i);
    buf_free(&key);
    buf_free(&val);
    return err;
}

tkv_err_t peer_storage_term(peer_storage_t *ps, uint64_t i, uint64_t *term)
{
    *term = 0;
    if (i == ps->truncated_index) {
        *term = ps->truncated_term;
        return TKV_OK;
    }
    if (i < ps->truncated_index)
        return tkv_errorf(RAFT_ERR_COMPACTED, "region %llu: entry %llu is compacted (to %llu)",
                          (unsigned long long)ps->region_id, (unsigned long long)i,
                          (unsigned long long)ps->truncated_index);
    if (i > ps->last_index)
        return tkv_errorf(RAFT_ERR_UNAVAILABLE, "region %llu: entry %llu is past the last %llu",
                          (unsigned long long)ps->region_id, (unsigned long long)i,
                          (unsigned long long)ps->last_index);
    if (i == ps->last_index) {
        *term = ps->last_term;
        return TKV_OK;
    }
    raft_entry_t e = { 0 };
    tkv_err_t err = read_entry(ps, i, &e);
    if (err == TKV_OK)
        *term = e.term;
    raft_entry_free(&e);
    return err;
}

static tkv_err_t ops_initial_state(void *self, raft_hard_state_t *hs, raft_conf_state_t *cs)
{
    peer_storage_t *ps = self;
    *hs = ps->hard_state;
    const Metapb__Region *r = ps->region;
    memset(cs, 0, sizeof(*cs)); /* no learners nor joint configuration here */
    cs->n_nodes = r->n_peers;
    cs->nodes = r->n_peers ? xmalloc(r->n_peers * sizeof(uint64_t)) : NULL;
    for (size_t i = 0; i < r->n_peers; i++)
        cs->nodes[i] = r->peers[i]->id;
    return TKV_OK;
}

static tkv_err_t ops_entries(void *self, uint64_t lo, uint64_t hi, uint64_t max_size,
                             raft_entry_t **out, size_t *n)
{
    peer_storage_t *ps = self;
    *out = NULL;
    *n = 0;
    if (lo <= ps->truncated_index)
        return tkv_errorf(RAFT_ERR_COMPACTED, "region %llu: entries from %llu are compacted",
                          (unsigned long long)ps->region_id, (unsigned long long)lo);
    if (hi > ps->last_index + 1)
        return tkv_errorf(RAFT_ERR_UNAVAILABLE, "region %llu: entries to %llu are past %llu",
                          (unsigned long long)ps->region_id, (unsigned long long)hi,
                          (unsigned long long)ps->last_index);
    if (lo >= hi)
        return TKV_OK;
    /* One scan over the contiguous keys rather than a lookup per entry. */
    tkv_buf_t start = TKV_BUF_INIT;
    keys_raft_log_key(&start, ps->region_id, lo);
    eng_iter_t *it = eng_iter_new(ps->raft_db, NULL, NULL);
    /* Grown as needed: a size limit usually cuts a long range short. */
    size_t cap = hi - lo < 64 ? (size_t)(hi - lo) : 64;
    raft_entry_t *ents = xcalloc(cap, sizeof(raft_entry_t));
    size_t count = 0;
    uint64_t size = 0;
    int cut = 0; /* stopped at the size limit, not at hi */
    tkv_err_t err = TKV_OK;
    for (eng_iter_seek(it, buf_slice(&start)); eng_iter_valid(it) && lo + count < hi;
         eng_iter_next(it)) {
        uint64_t rid = 0, idx = 0;
        if (keys_decode_raft_log_key(eng_iter_key(it), &rid, &idx) != TKV_OK ||
            rid != ps->region_id || idx != lo + count)
            break; /* a hole: reported below */
        if (count == cap) {
            cap *= 2;
            ents = xrealloc(ents, cap * sizeof(raft_entry_t));
            memset(ents + count, 0, (cap - count) * sizeof(raft_entry_t));
        }
        tkv_slice_t v = eng_iter_value(it);
        err = raft_pb_decode_entry(v.data, v.len, &ents[count]);
        if (err != TKV_OK)
            break;
        /* At least one entry; after that, none that would pass the limit
         * (the slice contract of storage.h, as memory storage keeps it). */
        uint64_t esize = raft_entry_size(&ents[count]);
        if (count > 0 && size + esize > max_size) {
            raft_entry_free(&ents[count]);
            cut = 1;
            break;
        }
        size += esize;
        count++;
    }
    if (err == TKV_OK)
        err = eng_iter_status(it);
    eng_iter_free(it);
    buf_free(&start);
    if (err == TKV_OK && lo + count < hi && !cut)
        err = tkv_errorf(TKV_ERR_CORRUPT, "region %llu: entry %llu missing from the raft DB",
                         (unsigned long long)ps->region_id, (unsigned long long)(lo + count));
    if (err != TKV_OK) {
        raft_entries_free(ents, count);
        return err;
    }
    *out = ents;
    *n = count;
    return TKV_OK;
}

static tkv_err_t ops_term(void *self, uint64_t i, uint64_t *term)
{
    return peer_storage_term(self, i, term);
}

static tkv_err_t ops_first_index(void *self, uint64_t *index)
{
    *index = peer_storage_first_index(self);
    return TKV_OK;
}

static tkv_err_t ops_last_index(void *self, uint64_t *index)
{
    *index = ((peer_storage_t *)self)->last_index;
    return TKV_OK;
}

static tkv_err_t ops_snapshot(void *self, raft_snapshot_t *out)
{
    return peer_storage_generate_snapshot(self, out);
}

static const raft_storage_ops_t peer_storage_ops = {
    ops_initial_state, ops_entries, ops_term, ops_first_index, ops_last_index, ops_snapshot,
};

raft_storage_t peer_storage_as_raft_storage(peer_storage_t *ps)
{
    raft_storage_t s = { &peer_storage_ops, ps };
    return s;
}

/* ---- writing -------------------------------------------------------------------- */

tkv_err_t peer_storage_append(peer_storage_t *ps, const raft_entry_t *ents, size_t n,
                              eng_batch_t *raft_wb)
{
    /* LAB 2B BEGIN */
    /* Entries the log no longer holds (compacted by a snapshot) are skipped. */
    size_t skip = 0;
    while (skip < n && ents[skip].index <= ps->truncated_index)
        skip++;
    ents += skip;
    n -= skip;
    if (n == 0)
        return TKV_OK;
    if (ents[0].index > ps->last_index + 1)
        return tkv_errorf(TKV_ERR_INVALID, "region %llu: appending %llu leaves a gap after %llu",
                          (unsigned long long)ps->region_id, (unsigned long long)ents[0].index,
                          (unsigned long long)ps->last_index);
    tkv_buf_t key = TKV_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        uint8_t *data = NULL;
        size_t len = 0;
        tkv_err_t err = raft_pb_encode_entry(&ents[i], &data, &len);
        if (err != TKV_OK) {
            buf_free(&key);
            return err;
        }
        keys_raft_log_key(&key, ps->region_id, ents[i].index);
        eng_batch_put(raft_wb, NULL, buf_slice(&key), slice_of(data, len));
        free(data);
    }
    /* A shorter log from a new leader: the old tail must not survive, or a
     * restart would read entries that were overwritten. */
    uint64_t new_last = ents[n - 1].index;
    for (uint64_t i = new_last + 1; i <= ps->last_index; i++) {
        keys_raft_log_key(&key, ps->region_id, i);
        eng_batch_delete(raft_wb, NULL, buf_slice(&key));
    }
    buf_free(&key);
    ps->last_index = new_last;
    ps->last_term = ents[n - 1].term;
    return TKV_OK;
    /* LAB 2B STUB
    // Put each entry under keys_raft_log_key (raft_pb_encode_entry), delete the
    // stored entries past the new last index, and update last_index/last_term.
    (void)ps;
    (void)ents;
    (void)n;
    (void)raft_wb;
    return tkv_not_implemented("peer_storage_append");
    LAB 2B END */
}

tkv_err_t peer_storage_save_ready(peer_storage_t *ps, const raft_ready_t *rd, int *applied_snapshot)
{
    *applied_snapshot = 0;
    /* LAB 2B BEGIN */
    eng_batch_t *wb = eng_batch_new();
    /* Remember what is on disk: if the write fails, memory must not claim more. */
    uint64_t old_last = ps->last_index, old_last_term = ps->last_term;
    raft_hard_state_t old_hs = ps->hard_state;
    tkv_err_t err = TKV_OK;
    if (!raft_snapshot_is_empty(&rd->snapshot)) {
        err = peer_storage_apply_snapshot(ps, &rd->snapshot, wb);
        if (err == TKV_OK)
            *applied_snapshot = 1;
    }
    if (err == TKV_OK)
        err = peer_storage_append(ps, rd->entries, rd->n_entries, wb);
    if (err == TKV_OK && !raft_hard_state_is_empty(&rd->hard_state))
        ps->hard_state = rd->hard_state;
    /* A vote alone must reach the disk too: after a restart, voting again
     * in the same term could elect two leaders. */
    int changed = ps->last_index != old_last || ps->last_term != old_last_term ||
                  !raft_hard_state_equal(&ps->hard_state, &old_hs) || eng_batch_count(wb) > 0;
    int raft_written = 0;
    if (err == TKV_OK && changed) {
        put_raft_state(ps, wb);
        err = eng_write(ps->raft_db, wb, ps->sync);
        raft_written = err == TKV_OK;
    }
    if (err == TKV_OK && *applied_snapshot) {
        /* The raft DB now agrees with the snapshot: the install is complete. */
        eng_batch_t *kv = eng_batch_new();
        peer_storage_put_region_state(ps, RAFT_SERVERPB__PEER_STATE__PEER_NORMAL, kv);
        err = eng_write(ps->kv_db, kv, ps->sync);
        eng_batch_free(kv);
    }
    /* The raft DB kept its old state: so does memory. (A snapshot's kv DB
     * write stays: the region, applied and truncated state in memory are
     * what the kv DB holds, and peer_storage_open() finishes the install.) */
    if (err != TKV_OK && !raft_written) {
        ps->last_index = old_last;
        ps->last_term = old_last_term;
        ps->hard_state = old_hs;
    }
    eng_batch_free(wb);
    return err;
    /* LAB 2B STUB
    // One raft DB batch: the snapshot (2C, peer_storage_apply_snapshot), the
    // entries (peer_storage_append), the hard state, then the RaftLocalState
    // (put_raft_state). Write it only if something changed, a vote included.
    // After a snapshot install, write its region state back to PEER_NORMAL.
    (void)ps;
    (void)rd;
    return tkv_not_implemented("peer_storage_save_ready");
    LAB 2B END */
}

tkv_err_t peer_storage_gc_log(peer_storage_t *ps, uint64_t upto)
{
    /* LAB 2C BEGIN */
    if (upto > ps->truncated_index)
        return tkv_errorf(TKV_ERR_INVALID, "region %llu: GC to %llu past the truncated index %llu",
                          (unsigned long long)ps->region_id, (unsigned long long)upto,
                          (unsigned long long)ps->truncated_index);
    if (upto < ps->gc_from)
        return TKV_OK; /* deleted already */
    eng_batch_t *wb = eng_batch_new();
    tkv_err_t err = peer_storage_delete_log(ps, ps->gc_from, upto + 1, wb);
    if (err == TKV_OK && eng_batch_count(wb) > 0)
        err = eng_write(ps->raft_db, wb, ps->sync);
    if (err == TKV_OK)
        ps->gc_from = upto + 1;
    eng_batch_free(wb);
    return err;
    /* LAB 2C STUB
    // Delete every stored entry from ps->gc_from up to and including `upto`
    // (peer_storage_delete_log) in one raft DB write, then move gc_from past
    // them.
    (void)ps;
    (void)upto;
    return TKV_OK;
    LAB 2C END */
}
