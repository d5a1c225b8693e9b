/*
 * The Raft log (raft_log.h): stable entries read through the storage
 * interface, unstable ones kept here until the application persists them.
 *
 * Every lookup goes to the unstable part first (it is newer and may have
 * replaced entries that storage still holds), then to storage.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "project2-raft/raft/raft_log.h"

static uint64_t storage_first(const raft_log_t *l)
{
    uint64_t i = 0;
    l->storage.ops->first_index(l->storage.self, &i);
    return i;
}

static uint64_t storage_last(const raft_log_t *l)
{
    uint64_t i = 0;
    l->storage.ops->last_index(l->storage.self, &i);
    return i;
}

tkv_err_t rlog_init(raft_log_t *l, raft_storage_t storage)
{
    memset(l, 0, sizeof(*l));
    l->storage = storage;
    uint64_t first = 0, last = 0;
    tkv_err_t err = storage.ops->first_index(storage.self, &first);
    if (err == TKV_OK)
        err = storage.ops->last_index(storage.self, &last);
    if (err != TKV_OK)
        return err;
    l->offset = last + 1;
    /* LAB 2C BEGIN */
    /* What storage compacted behind a snapshot was committed, and the
     * application's state already holds it. */
    l->committed = first - 1;
    l->applied = first - 1;
    /* LAB 2C END */
    return TKV_OK;
}

void rlog_free(raft_log_t *l)
{
    raft_entries_free(l->ents, l->n);
    raft_snapshot_free(&l->pending);
    memset(l, 0, sizeof(*l));
}

uint64_t rlog_first_index(const raft_log_t *l)
{
    if (!raft_snapshot_is_empty(&l->pending))
        return l->pending.metadata.index + 1;
    return storage_first(l);
}

uint64_t rlog_last_index(const raft_log_t *l)
{
    if (l->n > 0)
        return l->offset + l->n - 1;
    if (!raft_snapshot_is_empty(&l->pending))
        return l->pending.metadata.index;
    return storage_last(l);
}

tkv_err_t rlog_term(const raft_log_t *l, uint64_t i, uint64_t *term)
{
    /* LAB 2A BEGIN */
    *term = 0;
    /* The entry before the first one (the dummy) still has a known term. */
    if (i + 1 < rlog_first_index(l))
        return tkv_errorf(RAFT_ERR_COMPACTED, "term of %llu: compacted", (unsigned long long)i);
    if (i > rlog_last_index(l))
        return tkv_errorf(RAFT_ERR_UNAVAILABLE, "term of %llu: past the last entry %llu",
                          (unsigned long long)i, (unsigned long long)rlog_last_index(l));
    if (i >= l->offset && i < l->offset + l->n) {
        *term = l->ents[i - l->offset].term;
        return TKV_OK;
    }
    if (!raft_snapshot_is_empty(&l->pending) && i == l->pending.metadata.index) {
        *term = l->pending.metadata.term;
        return TKV_OK;
    }
    return l->storage.ops->term(l->storage.self, i, term);
    /* LAB 2A STUB
    (void)l;
    (void)i;
    *term = 0;
    return tkv_not_implemented("rlog_term");
    LAB 2A END */
}

uint64_t rlog_term_or_zero(const raft_log_t *l, uint64_t i)
{
    uint64_t t = 0;
    if (rlog_term(l, i, &t) != TKV_OK)
        return 0;
    return t;
}

uint64_t rlog_last_term(const raft_log_t *l)
{
    return rlog_term_or_zero(l, rlog_last_index(l));
}

int rlog_match_term(const raft_log_t *l, uint64_t i, uint64_t term)
{
    uint64_t t = 0;
    if (rlog_term(l, i, &t) != TKV_OK)
        return 0;
    return t == term;
}

int rlog_is_up_to_date(const raft_log_t *l, uint64_t index, uint64_t term)
{
    /* LAB 2A BEGIN */
    uint64_t last_term = rlog_last_term(l);
    return term > last_term || (term == last_term && index >= rlog_last_index(l));
    /* LAB 2A STUB
    (void)l;
    (void)index;
    (void)term;
    return 0;
    LAB 2A END */
}

uint64_t rlog_find_conflict(const raft_log_t *l, const raft_entry_t *ents, size_t n)
{
    /* LAB 2A BEGIN */
    for (size_t i = 0; i < n; i++) {
        if (!rlog_match_term(l, ents[i].index, ents[i].term))
            return ents[i].index;
    }
    return 0;
    /* LAB 2A STUB
    (void)l;
    (void)ents;
    (void)n;
    return 0;
    LAB 2A END */
}

int rlog_maybe_append(raft_log_t *l, uint64_t index, uint64_t log_term, uint64_t committed,
                      const raft_entry_t *ents, size_t n, uint64_t *last_new)
{
    /* LAB 2A BEGIN */
    if (!rlog_match_term(l, index, log_term))
        return 0;
    *last_new = index + n;
    /* Entries we already hold with the same term must stay: dropping them
     * could lose entries a delayed, shorter MsgAppend does not carry. */
    uint64_t ci = rlog_find_conflict(l, ents, n);
    if (ci != 0 && ci > l->committed)
        rlog_append(l, ents + (ci - index - 1), (size_t)(index + n - ci + 1));
    uint64_t c = committed < *last_new ? committed : *last_new;
    rlog_commit_to(l, c);
    return 1;
    /* LAB 2A STUB
    (void)l;
    (void)index;
    (void)log_term;
    (void)committed;
    (void)ents;
    (void)n;
    *last_new = 0;
    return 0;
    LAB 2A END */
}

uint64_t rlog_append(raft_log_t *l, const raft_entry_t *ents, size_t n)
{
    /* LAB 2A BEGIN */
    if (n == 0)
        return rlog_last_index(l);
    uint64_t after = ents[0].index;
    if (after < l->offset) {
        /* Replaces entries that may already be in storage: the unstable
         * part now starts here, and storage catches up on the next Ready. */
        raft_entries_free(l->ents, l->n);
        l->ents = NULL;
        l->n = l->cap = 0;
        l->offset = after;
    } else if (after < l->offset + l->n) {
        size_t keep = (size_t)(after - l->offset);
        for (size_t i = keep; i < l->n; i++)
            raft_entry_free(&l->ents[i]);
        l->n = keep;
    }
    if (l->n + n > l->cap) {
        size_t cap = l->cap ? l->cap : 16;
        while (cap < l->n + n)
            cap *= 2;
        l->ents = xrealloc(l->ents, cap * sizeof(raft_entry_t));
        l->cap = cap;
    }
    for (size_t i = 0; i < n; i++)
        raft_entry_copy(&l->ents[l->n++], &ents[i]);
    return rlog_last_index(l);
    /* LAB 2A STUB
    (void)ents;
    (void)n;
    return rlog_last_index(l);
    LAB 2A END */
}

tkv_err_t rlog_slice(const raft_log_t *l, uint64_t lo, uint64_t hi, uint64_t max_size,
                     raft_entry_t **out, size_t *n)
{
    /* LAB 2A BEGIN */
    *out = NULL;
    *n = 0;
    if (lo > hi || hi > rlog_last_index(l) + 1)
        return tkv_errorf(RAFT_ERR_UNAVAILABLE, "slice [%llu, %llu) of a log ending at %llu",
                          (unsigned long long)lo, (unsigned long long)hi,
                          (unsigned long long)rlog_last_index(l));
    if (lo < rlog_first_index(l))
        return tkv_errorf(RAFT_ERR_COMPACTED, "slice from %llu: first index is %llu",
                          (unsigned long long)lo, (unsigned long long)rlog_first_index(l));
    if (lo == hi)
        return TKV_OK;
    raft_entry_t *res = NULL;
    size_t count = 0;
    uint64_t size = 0;
    if (lo < l->offset) {
        uint64_t shi = hi < l->offset ? hi : l->offset;
        tkv_err_t err = l->storage.ops->entries(l->storage.self, lo, shi, max_size, &res, &count);
        if (err != TKV_OK)
            return err;
        for (size_t i = 0; i < count; i++)
            size += raft_entry_size(&res[i]);
        if (count < shi - lo || hi <= l->offset) {
            *out = res;
            *n = count;
            return TKV_OK; /* cut by the size limit, or all from storage */
        }
    }
    uint64_t ulo = lo > l->offset ? lo : l->offset;
    res = xrealloc(res, (count + (size_t)(hi - ulo)) * sizeof(raft_entry_t));
    for (uint64_t i = ulo; i < hi; i++) {
        const raft_entry_t *e = &l->ents[i - l->offset];
        size += raft_entry_size(e);
        if (count > 0 && size > max_size)
            break;
        raft_entry_copy(&res[count++], e);
    }
    *out = res;
    *n = count;
    return TKV_OK;
    /* LAB 2A STUB
    (void)l;
    (void)lo;
    (void)hi;
    (void)max_size;
    *out = NULL;
    *n = 0;
    return tkv_not_implemented("rlog_slice");
    LAB 2A END */
}

tkv_err_t rlog_next_ents(const raft_log_t *l, raft_entry_t **out, size_t *n)
{
    /* LAB 2A BEGIN */
    uint64_t lo = l->applied + 1;
    if (lo < rlog_first_index(l))
        lo = rlog_first_index(l);
    if (l->committed + 1 <= lo) {
        *out = NULL;
        *n = 0;
        return TKV_OK;
    }
    return rlog_slice(l, lo, l->committed + 1, UINT64_MAX, out, n);
    /* LAB 2A STUB
    (void)l;
    *out = NULL;
    *n = 0;
    return tkv_not_implemented("rlog_next_ents");
    LAB 2A END */
}

int rlog_has_next_ents(const raft_log_t *l)
{
    uint64_t lo = l->applied + 1;
    if (lo < rlog_first_index(l))
        lo = rlog_first_index(l);
    return l->committed + 1 > lo;
}

const raft_entry_t *rlog_unstable_entries(const raft_log_t *l, size_t *n)
{
    *n = l->n;
    return l->ents;
}

void rlog_commit_to(raft_log_t *l, uint64_t index)
{
    /* Commit never moves back, and never past what we hold. */
    uint64_t last = rlog_last_index(l);
    if (index > last)
        index = last;
    if (index > l->committed)
        l->committed = index;
}

void rlog_applied_to(raft_log_t *l, uint64_t index)
{
    if (index > l->applied && index <= l->committed)
        l->applied = index;
}

int rlog_maybe_commit(raft_log_t *l, uint64_t max_index, uint64_t term)
{
    /* LAB 2A BEGIN */
    if (max_index > l->committed && rlog_term_or_zero(l, max_index) == term) {
        rlog_commit_to(l, max_index);
        return 1;
    }
    return 0;
    /* LAB 2A STUB
    (void)l;
    (void)max_index;
    (void)term;
    return 0;
    LAB 2A END */
}

void rlog_stable_to(raft_log_t *l, uint64_t index, uint64_t term)
{
    /* LAB 2A BEGIN */
    /* Only if the entry is still the one that was persisted: a newer
     * leader may have replaced it while the Ready was being handled. */
    if (index < l->offset || index >= l->offset + l->n)
        return;
    if (l->ents[index - l->offset].term != term)
        return;
    size_t drop = (size_t)(index - l->offset + 1);
    for (size_t i = 0; i < drop; i++)
        raft_entry_free(&l->ents[i]);
    memmove(l->ents, l->ents + drop, (l->n - drop) * sizeof(raft_entry_t));
    l->n -= drop;
    l->offset = index + 1;
    /* LAB 2A STUB
    (void)l;
    (void)index;
    (void)term;
    LAB 2A END */
}

void rlog_restore(raft_log_t *l, const raft_snapshot_t *snap)
{
    /* LAB 2C BEGIN */
    raft_entries_free(l->ents, l->n);
    l->ents = NULL;
    l->n = l->cap = 0;
    l->offset = snap->metadata.index + 1;
    raft_snapshot_free(&l->pending);
    raft_snapshot_copy(&l->pending, snap);
    l->committed = snap->metadata.index;
    /* LAB 2C STUB
    (void)l;
    (void)snap;
    LAB 2C END */
}

void rlog_stable_snap_to(raft_log_t *l, uint64_t index)
{
    if (!raft_snapshot_is_empty(&l->pending) && l->pending.metadata.index == index)
        raft_snapshot_free(&l->pending);
    if (l->applied < index)
        l->applied = index; /* the application applied the snapshot's state */
}

const raft_snapshot_t *rlog_pending_snapshot(const raft_log_t *l)
{
    return raft_snapshot_is_empty(&l->pending) ? NULL : &l->pending;
}
