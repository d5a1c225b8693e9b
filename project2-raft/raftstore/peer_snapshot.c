/*
 * Region snapshots (peer_storage.h, 2C): what a leader sends a follower
 * whose log it has already truncated, and how the follower installs it.
 *
 * A snapshot is the region's applied state: every key of its range in every
 * column family, the region itself and the apply state, packed as
 * raft_serverpb.RaftSnapshotData into the Raft snapshot's opaque data. The
 * metadata (index, term, voters) is what the Raft core reasons about.
 *
 * The store applies commands synchronously as they commit, so the kv DB
 * always holds exactly the state at applied_index: the snapshot is made on
 * the spot, from a consistent engine snapshot, rather than in a background
 * worker as TiKV does.
 *
 * Fail points (common/failpoint.h) let the tests crash a store, or fail its
 * disk, while it makes a snapshot ("snapshot.generate") and around the
 * install ("snapshot.apply" before it writes, "snapshot.apply.kv_written"
 * after its kv write and before the Ready's raft DB write).
 */
#include <stdlib.h>
#include <string.h>

#include "common/failpoint.h"
#include "common/log.h"
#include "project2-raft/raftstore/keys.h"
#include "project2-raft/raftstore/pb_util.h"
#include "project2-raft/raftstore/peer_storage.h"

static const char *const snap_cfs[] = { CF_DEFAULT, CF_LOCK, CF_WRITE };
#define N_SNAP_CFS (sizeof(snap_cfs) / sizeof(snap_cfs[0]))

/* True while `key` is before the region's end (empty end: no end). */
static int before_end(const Metapb__Region *r, tkv_slice_t key)
{
    if (r->end_key.len == 0)
        return 1;
    return slice_compare(key, slice_of(r->end_key.data, r->end_key.len)) < 0;
}

tkv_err_t peer_storage_generate_snapshot(peer_storage_t *ps, raft_snapshot_t *out)
{
    memset(out, 0, sizeof(*out));
    /* Tests make generation fail, or crash the leader making it
     * (common/failpoint.h): the Raft core sends nothing and retries later. */
    failpoint_action_t fp = FAILPOINT("snapshot.generate");
    if (fp != FAILPOINT_NONE)
        return tkv_errorf(TKV_ERR_IO, "region %llu: generating a snapshot: %s",
                          (unsigned long long)ps->region_id,
                          fp == FAILPOINT_CRASH ? "crashed at a fail point"
                                                : "I/O error injected by a fail point");
    uint64_t term = 0;
    tkv_err_t err = peer_storage_term(ps, ps->applied_index, &term);
    if (err != TKV_OK)
        return err;
    const Metapb__Region *region = ps->region;
    eng_snap_t *snap = eng_snapshot(ps->kv_db);
    size_t n = 0, cap = 16;
    RaftServerpb__SnapshotKV *kvs = xmalloc(cap * sizeof(*kvs));
    for (size_t c = 0; c < N_SNAP_CFS && err == TKV_OK; c++) {
        eng_iter_t *it = eng_iter_new(ps->kv_db, snap, snap_cfs[c]);
        for (eng_iter_seek(it, slice_of(region->start_key.data, region->start_key.len));
             eng_iter_valid(it) && before_end(region, eng_iter_key(it)); eng_iter_next(it)) {
            if (n == cap) {
                cap *= 2;
                kvs = xrealloc(kvs, cap * sizeof(*kvs));
            }
            RaftServerpb__SnapshotKV *kv = &kvs[n++];
            raft_serverpb__snapshot_kv__init(kv);
            tkv_slice_t k = eng_iter_key(it), v = eng_iter_value(it);
            kv->cf = (char *)snap_cfs[c];
            kv->key.data = bytes_dup(k.data, k.len);
            kv->key.len = k.len;
            kv->value.data = bytes_dup(v.data, v.len);
            kv->value.len = v.len;
        }
        err = eng_iter_status(it);
        eng_iter_free(it);
    }
    eng_snapshot_free(snap);
    if (err == TKV_OK) {
        RaftServerpb__SnapshotKV **ptrs = xmalloc((n ? n : 1) * sizeof(*ptrs));
        for (size_t i = 0; i < n; i++)
            ptrs[i] = &kvs[i];
        RaftServerpb__RaftTruncatedState ts = RAFT_SERVERPB__RAFT_TRUNCATED_STATE__INIT;
        ts.index = ps->applied_index;
        ts.term = term;
        RaftServerpb__RaftApplyState as = RAFT_SERVERPB__RAFT_APPLY_STATE__INIT;
        as.applied_index = ps->applied_index;
        as.truncated_state = &ts;
        RaftServerpb__RaftSnapshotData d = RAFT_SERVERPB__RAFT_SNAPSHOT_DATA__INIT;
        d.region = (Metapb__Region *)region;
        d.apply_state = &as;
        d.n_data = n;
        d.data = ptrs;
        tkv_buf_t packed = TKV_BUF_INIT;
        pb_pack(&d.base, &packed);
        free(ptrs);
        out->len = packed.len;
        out->data = buf_take(&packed);
        out->metadata.index = ps->applied_index;
        out->metadata.term = term;
        out->metadata.conf_state.n_nodes = region->n_peers;
        out->metadata.conf_state.nodes = xcalloc(region->n_peers + 1, sizeof(uint64_t));
        for (size_t i = 0; i < region->n_peers; i++)
            out->metadata.conf_state.nodes[i] = region->peers[i]->id;
        ps->snapshots_generated++;
        tkv_logf(TKV_LOG_INFO, "peer storage", "region %llu: snapshot at %llu/%llu, %zu keys",
                 (unsigned long long)ps->region_id, (unsigned long long)ps->applied_index,
                 (unsigned long long)term, n);
    }
    for (size_t i = 0; i < n; i++) {
        free(kvs[i].key.data);
        free(kvs[i].value.data);
    }
    free(kvs);
    return err;
}

tkv_err_t peer_storage_clear_range(eng_t *kv_db, tkv_slice_t start, tkv_slice_t end,
                                   eng_batch_t *wb)
{
    tkv_err_t err = TKV_OK;
    for (size_t c = 0; c < N_SNAP_CFS && err == TKV_OK; c++) {
        eng_iter_t *it = eng_iter_new(kv_db, NULL, snap_cfs[c]);
        for (eng_iter_seek(it, start);
             eng_iter_valid(it) && (end.len == 0 || slice_compare(eng_iter_key(it), end) < 0);
             eng_iter_next(it))
            eng_batch_delete(wb, snap_cfs[c], eng_iter_key(it));
        err = eng_iter_status(it);
        eng_iter_free(it);
    }
    return err;
}

/* A name from the network, fit to print: at most 16 bytes, odd ones as '?'. */
static void printable(const char *s, char *out, size_t n)
{
    size_t i = 0;
    for (; s != NULL && s[i] != '\0' && i + 1 < n && i < 16; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    out[i] = '\0';
}

static int in_range(const Metapb__Region *r, const ProtobufCBinaryData *key)
{
    tkv_slice_t k = slice_of(key->data, key->len);
    return slice_compare(k, slice_of(r->start_key.data, r->start_key.len)) >= 0 && before_end(r, k);
}

#define SNAP_BAD(...) tkv_errorf(TKV_ERR_CORRUPT, __VA_ARGS__)

/* The checks of peer_storage_check_snapshot() on decoded data. */
static tkv_err_t check_snapshot_data(uint64_t region_id, const raft_snapshot_t *snap,
                                     const RaftServerpb__RaftSnapshotData *d)
{
    unsigned long long rid = (unsigned long long)region_id;
    unsigned long long at = (unsigned long long)snap->metadata.index;
    const Metapb__Region *r = d->region;
    if (r == NULL)
        return SNAP_BAD("region %llu: snapshot at %llu names no region", rid, at);
    if (r->id != region_id)
        return SNAP_BAD("region %llu: snapshot at %llu is of region %llu", rid, at,
                        (unsigned long long)r->id);
    if (r->end_key.len > 0 && slice_compare(slice_of(r->start_key.data, r->start_key.len),
                                            slice_of(r->end_key.data, r->end_key.len)) >= 0)
        return SNAP_BAD("region %llu: snapshot at %llu has a region that ends before it starts",
                        rid, at);
    /* The Raft core takes its voters from the metadata, the store from the
     * region: if they disagreed, the two would count different quorums. */
    const raft_conf_state_t *cs = &snap->metadata.conf_state;
    int same = cs->n_nodes == r->n_peers;
    for (size_t i = 0; same && i < r->n_peers; i++) {
        same = r->peers[i] != NULL && r->peers[i]->id != 0;
        for (size_t j = 0; same && j < i; j++)
            same = r->peers[j]->id != r->peers[i]->id;
        int found = 0;
        for (size_t j = 0; same && !found && j < cs->n_nodes; j++)
            found = cs->nodes[j] == r->peers[i]->id;
        same = same && found;
    }
    if (!same)
        return SNAP_BAD("region %llu: snapshot at %llu: its region's %zu peers are not its %zu "
                        "voters",
                        rid, at, r->n_peers, cs->n_nodes);
    const RaftServerpb__RaftApplyState *as = d->apply_state;
    if (as != NULL &&
        (as->applied_index != snap->metadata.index ||
         (as->truncated_state != NULL && (as->truncated_state->index != snap->metadata.index ||
                                          as->truncated_state->term != snap->metadata.term))))
        return SNAP_BAD("region %llu: snapshot at %llu: its apply state says %llu", rid, at,
                        (unsigned long long)as->applied_index);
    for (size_t i = 0; i < d->n_data; i++) {
        const RaftServerpb__SnapshotKV *e = d->data[i];
        if (!eng_cf_valid(e->cf)) {
            char cf[20];
            printable(e->cf, cf, sizeof(cf));
            return SNAP_BAD("region %llu: snapshot at %llu: pair %zu names column family '%s'", rid,
                            at, i, cf);
        }
        if (!in_range(r, &e->key))
            return SNAP_BAD("region %llu: snapshot at %llu: pair %zu (%zu-byte key in %s) is "
                            "outside the region",
                            rid, at, i, e->key.len, e->cf);
    }
    return TKV_OK;
}

tkv_err_t peer_storage_check_snapshot(uint64_t region_id, const raft_snapshot_t *snap)
{
    RaftServerpb__RaftSnapshotData *d = (RaftServerpb__RaftSnapshotData *)protobuf_c_message_unpack(
        &raft_serverpb__raft_snapshot_data__descriptor, NULL, snap->len, snap->data);
    if (d == NULL)
        return SNAP_BAD("region %llu: snapshot at %llu: its %zu bytes of data do not decode",
                        (unsigned long long)region_id, (unsigned long long)snap->metadata.index,
                        snap->len);
    tkv_err_t err = check_snapshot_data(region_id, snap, d);
    pb_free(d);
    return err;
}

/* LAB 2C BEGIN */
/* Deletes every key of `region`'s range, in every column family. A region
 * without peers is an uninitialized peer's (3B): it holds no data yet. */
static tkv_err_t clear_region_data(eng_t *kv_db, const Metapb__Region *region, eng_batch_t *wb)
{
    if (region->n_peers == 0)
        return TKV_OK;
    return peer_storage_clear_range(kv_db, slice_of(region->start_key.data, region->start_key.len),
                                    slice_of(region->end_key.data, region->end_key.len), wb);
}
/* LAB 2C END */

/* The install itself (peer_storage_apply_snapshot() wraps it in fail points). */
static tkv_err_t install_snapshot(peer_storage_t *ps, const raft_snapshot_t *snap,
                                  eng_batch_t *raft_wb)
{
    /* LAB 2C BEGIN */
    uint64_t index = snap->metadata.index, term = snap->metadata.term;
    if (index < ps->applied_index)
        return tkv_errorf(RAFT_ERR_COMPACTED,
                          "region %llu: snapshot at %llu is older than applied %llu",
                          (unsigned long long)ps->region_id, (unsigned long long)index,
                          (unsigned long long)ps->applied_index);
    RaftServerpb__RaftSnapshotData *d = (RaftServerpb__RaftSnapshotData *)protobuf_c_message_unpack(
        &raft_serverpb__raft_snapshot_data__descriptor, NULL, snap->len, snap->data);
    if (d == NULL || d->region == NULL || d->region->id != ps->region_id) {
        pb_free(d);
        return tkv_errorf(TKV_ERR_CORRUPT, "region %llu: snapshot at %llu does not decode",
                          (unsigned long long)ps->region_id, (unsigned long long)index);
    }
    /* kv DB first, in one batch: old data out, snapshot data in, and the
     * states that say so. PEER_APPLYING marks the install as unfinished
     * until the raft DB catches up (peer_storage_save_ready()). */
    eng_batch_t *kv = eng_batch_new();
    tkv_err_t err = clear_region_data(ps->kv_db, ps->region, kv);
    for (size_t i = 0; i < d->n_data && err == TKV_OK; i++) {
        const RaftServerpb__SnapshotKV *e = d->data[i];
        if (!eng_cf_valid(e->cf)) {
            err = tkv_errorf(TKV_ERR_CORRUPT, "region %llu: snapshot names column family '%s'",
                             (unsigned long long)ps->region_id, e->cf);
            break;
        }
        eng_batch_put(kv, e->cf, slice_of(e->key.data, e->key.len),
                      slice_of(e->value.data, e->value.len));
    }
    if (err == TKV_OK) {
        /* The states as they will be, staged from a copy: memory moves only
         * once the write succeeded (peer_storage.h). */
        peer_storage_t next = *ps;
        next.region = d->region;
        next.applied_index = next.truncated_index = index;
        next.truncated_term = term;
        peer_storage_put_apply_state(&next, kv);
        peer_storage_put_region_state(&next, RAFT_SERVERPB__PEER_STATE__PEER_APPLYING, kv);
        err = eng_write(ps->kv_db, kv, ps->sync);
    }
    if (err == TKV_OK) {
        pb_free(ps->region);
        ps->region = pb_region_dup(d->region);
        ps->applied_index = ps->truncated_index = index;
        ps->truncated_term = term;
    }
    eng_batch_free(kv);
    pb_free(d);
    if (err != TKV_OK)
        return err;
    /* The raft DB: the whole old log goes; the log is now empty at the snapshot. */
    err = peer_storage_delete_log(ps, 0, UINT64_MAX, raft_wb);
    ps->last_index = index;
    ps->last_term = term;
    if (ps->hard_state.commit < index)
        ps->hard_state.commit = index;
    ps->snapshots_applied++;
    tkv_logf(TKV_LOG_INFO, "peer storage", "region %llu: installed snapshot at %llu/%llu",
             (unsigned long long)ps->region_id, (unsigned long long)index,
             (unsigned long long)term);
    return err;
    /* LAB 2C STUB
    // Decode the RaftSnapshotData. In ONE kv DB batch: delete the region's old
    // data in every CF (peer_storage_clear_range; an uninitialized peer, whose
    // region has no peers yet, has none), write the snapshot's, and the new
    // apply state (applied and truncated at the snapshot) and region state
    // (PEER_APPLYING); write it. Then
    // into raft_wb: delete the whole old log (peer_storage_delete_log), and set
    // last index/term to the snapshot's.
    (void)ps;
    (void)snap;
    (void)raft_wb;
    return tkv_not_implemented("peer_storage_apply_snapshot");
    LAB 2C END */
}

tkv_err_t peer_storage_apply_snapshot(peer_storage_t *ps, const raft_snapshot_t *snap,
                                      eng_batch_t *raft_wb)
{
    /* Tests make the install fail as a disk would, or crash the store, just
     * before it and between its kv write and the caller's raft DB write
     * (common/failpoint.h). A crashed store writes nothing more (the engine
     * drops its writes); a failed install stops the peer. */
    failpoint_action_t fp = FAILPOINT("snapshot.apply");
    if (fp != FAILPOINT_NONE)
        return tkv_errorf(TKV_ERR_IO, "region %llu: installing the snapshot at %llu: %s",
                          (unsigned long long)ps->region_id,
                          (unsigned long long)snap->metadata.index,
                          fp == FAILPOINT_CRASH ? "crashed at a fail point"
                                                : "I/O error injected by a fail point");
    tkv_err_t err = install_snapshot(ps, snap, raft_wb);
    if (err != TKV_OK)
        return err;
    if (FAILPOINT("snapshot.apply.kv_written") == FAILPOINT_ERROR)
        return tkv_errorf(TKV_ERR_IO,
                          "region %llu: snapshot at %llu in the kv DB, then the raft DB part "
                          "failed: I/O error injected by a fail point",
                          (unsigned long long)ps->region_id,
                          (unsigned long long)snap->metadata.index);
    return TKV_OK;
}
