/*
 * An in-memory raft_storage_t: the log as an array whose slot 0 is the dummy
 * entry at the last compacted index, plus the hard state and the last
 * snapshot. Tests and the in-memory examples use it; the raftstore has its
 * own storage on leveldb with the same behaviour.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "project2-raft/raft/storage.h"

struct mem_storage {
    raft_hard_state_t hs;
    raft_conf_state_t cs;
    raft_snapshot_t snap;
    raft_entry_t *ents; /* ents[0] is the dummy entry */
    size_t n, cap;
    int snapshot_busy;
};

static uint64_t ms_offset(const mem_storage_t *ms)
{
    return ms->ents[0].index;
}

static uint64_t ms_last(const mem_storage_t *ms)
{
    return ms->ents[0].index + ms->n - 1;
}

static void ms_reserve(mem_storage_t *ms, size_t extra)
{
    if (ms->n + extra <= ms->cap)
        return;
    size_t cap = ms->cap ? ms->cap : 16;
    while (cap < ms->n + extra)
        cap *= 2;
    ms->ents = xrealloc(ms->ents, cap * sizeof(raft_entry_t));
    ms->cap = cap;
}

mem_storage_t *mem_storage_new(void)
{
    mem_storage_t *ms = xcalloc(1, sizeof(*ms));
    ms_reserve(ms, 1);
    memset(&ms->ents[0], 0, sizeof(raft_entry_t));
    ms->n = 1;
    return ms;
}

void mem_storage_free(mem_storage_t *ms)
{
    if (ms == NULL)
        return;
    for (size_t i = 0; i < ms->n; i++)
        raft_entry_free(&ms->ents[i]);
    free(ms->ents);
    raft_conf_state_free(&ms->cs);
    raft_snapshot_free(&ms->snap);
    free(ms);
}

static tkv_err_t ms_initial_state(void *self, raft_hard_state_t *hs, raft_conf_state_t *cs)
{
    mem_storage_t *ms = self;
    *hs = ms->hs;
    raft_conf_state_copy(cs, &ms->cs);
    return TKV_OK;
}

static tkv_err_t ms_entries(void *self, uint64_t lo, uint64_t hi, uint64_t max_size,
                            raft_entry_t **out, size_t *n)
{
    mem_storage_t *ms = self;
    *out = NULL;
    *n = 0;
    if (lo <= ms_offset(ms))
        return tkv_errorf(RAFT_ERR_COMPACTED, "entries from %llu: compacted up to %llu",
                          (unsigned long long)lo, (unsigned long long)ms_offset(ms));
    if (hi > ms_last(ms) + 1 || lo > hi)
        return tkv_errorf(RAFT_ERR_UNAVAILABLE, "entries [%llu, %llu): last is %llu",
                          (unsigned long long)lo, (unsigned long long)hi,
                          (unsigned long long)ms_last(ms));
    size_t count = 0;
    uint64_t size = 0;
    for (uint64_t i = lo; i < hi; i++) {
        size += raft_entry_size(&ms->ents[i - ms_offset(ms)]);
        if (count > 0 && size > max_size)
            break;
        count++;
    }
    *out = raft_entries_copy(&ms->ents[lo - ms_offset(ms)], count);
    *n = count;
    return TKV_OK;
}

static tkv_err_t ms_term(void *self, uint64_t i, uint64_t *term)
{
    mem_storage_t *ms = self;
    *term = 0;
    if (i < ms_offset(ms))
        return tkv_errorf(RAFT_ERR_COMPACTED, "term of %llu: compacted up to %llu",
                          (unsigned long long)i, (unsigned long long)ms_offset(ms));
    if (i > ms_last(ms))
        return tkv_errorf(RAFT_ERR_UNAVAILABLE, "term of %llu: last is %llu", (unsigned long long)i,
                          (unsigned long long)ms_last(ms));
    *term = ms->ents[i - ms_offset(ms)].term;
    return TKV_OK;
}

static tkv_err_t ms_first_index(void *self, uint64_t *index)
{
    *index = ms_offset(self) + 1;
    return TKV_OK;
}

static tkv_err_t ms_last_index(void *self, uint64_t *index)
{
    *index = ms_last(self);
    return TKV_OK;
}

static tkv_err_t ms_snapshot(void *self, raft_snapshot_t *out)
{
    mem_storage_t *ms = self;
    memset(out, 0, sizeof(*out));
    if (ms->snapshot_busy > 0) {
        ms->snapshot_busy--;
        return tkv_errorf(RAFT_ERR_SNAP_BUSY, "snapshot is being generated");
    }
    raft_snapshot_copy(out, &ms->snap);
    return TKV_OK;
}

static const raft_storage_ops_t mem_storage_ops = {
    ms_initial_state, ms_entries, ms_term, ms_first_index, ms_last_index, ms_snapshot,
};

raft_storage_t mem_storage_as_storage(mem_storage_t *ms)
{
    raft_storage_t s = { &mem_storage_ops, ms };
    return s;
}

void mem_storage_set_hard_state(mem_storage_t *ms, const raft_hard_state_t *hs)
{
    ms->hs = *hs;
}

void mem_storage_set_conf_state(mem_storage_t *ms, const raft_conf_state_t *cs)
{
    raft_conf_state_free(&ms->cs);
    raft_conf_state_copy(&ms->cs, cs);
}

tkv_err_t mem_storage_append(mem_storage_t *ms, const raft_entry_t *ents, size_t n)
{
    if (n == 0)
        return TKV_OK;
    uint64_t first = ms_offset(ms) + 1;
    uint64_t last = ents[0].index + n - 1;
    if (last < first)
        return TKV_OK; /* all of them are already compacted */
    if (ents[0].index < first) {
        size_t skip = (size_t)(first - ents[0].index);
        ents += skip;
        n -= skip;
    }
    if (ents[0].index > ms_last(ms) + 1)
        return tkv_errorf(TKV_ERR_INVALID, "append at %llu leaves a gap after %llu",
                          (unsigned long long)ents[0].index, (unsigned long long)ms_last(ms));
    size_t keep = (size_t)(ents[0].index - ms_offset(ms));
    for (size_t i = keep; i < ms->n; i++)
        raft_entry_free(&ms->ents[i]);
    ms->n = keep;
    ms_reserve(ms, n);
    for (size_t i = 0; i < n; i++)
        raft_entry_copy(&ms->ents[ms->n++], &ents[i]);
    return TKV_OK;
}

tkv_err_t mem_storage_compact(mem_storage_t *ms, uint64_t index)
{
    if (index <= ms_offset(ms))
        return tkv_errorf(RAFT_ERR_COMPACTED, "compact to %llu: already compacted to %llu",
                          (unsigned long long)index, (unsigned long long)ms_offset(ms));
    if (index > ms_last(ms))
        return tkv_errorf(RAFT_ERR_UNAVAILABLE, "compact to %llu: last is %llu",
                          (unsigned long long)index, (unsigned long long)ms_last(ms));
    size_t drop = (size_t)(index - ms_offset(ms));
    for (size_t i = 0; i < drop; i++)
        raft_entry_free(&ms->ents[i]);
    /* The new dummy keeps its index and term but no data. */
    raft_entry_free(&ms->ents[drop]);
    memmove(ms->ents, ms->ents + drop, (ms->n - drop) * sizeof(raft_entry_t));
    ms->n -= drop;
    return TKV_OK;
}

tkv_err_t mem_storage_create_snapshot(mem_storage_t *ms, uint64_t index,
                                      const raft_conf_state_t *cs, const void *data, size_t len)
{
    if (index <= ms->snap.metadata.index)
        return tkv_errorf(RAFT_ERR_COMPACTED, "snapshot at %llu: have one at %llu",
                          (unsigned long long)index, (unsigned long long)ms->snap.metadata.index);
    if (index > ms_last(ms) || index < ms_offset(ms))
        return tkv_errorf(RAFT_ERR_UNAVAILABLE, "snapshot at %llu: log holds [%llu, %llu]",
                          (unsigned long long)index, (unsigned long long)ms_offset(ms),
                          (unsigned long long)ms_last(ms));
    raft_snapshot_free(&ms->snap);
    ms->snap.metadata.index = index;
    ms->snap.metadata.term = ms->ents[index - ms_offset(ms)].term;
    if (cs != NULL)
        raft_conf_state_copy(&ms->snap.metadata.conf_state, cs);
    ms->snap.data = bytes_dup(data, len);
    ms->snap.len = len;
    return TKV_OK;
}

tkv_err_t mem_storage_apply_snapshot(mem_storage_t *ms, const raft_snapshot_t *snap)
{
    if (snap->metadata.index <= ms->snap.metadata.index)
        return tkv_errorf(RAFT_ERR_COMPACTED, "apply snapshot at %llu: have one at %llu",
                          (unsigned long long)snap->metadata.index,
                          (unsigned long long)ms->snap.metadata.index);
    raft_snapshot_free(&ms->snap);
    raft_snapshot_copy(&ms->snap, snap);
    for (size_t i = 0; i < ms->n; i++)
        raft_entry_free(&ms->ents[i]);
    ms->n = 1;
    memset(&ms->ents[0], 0, sizeof(raft_entry_t));
    ms->ents[0].index = snap->metadata.index;
    ms->ents[0].term = snap->metadata.term;
    mem_storage_set_conf_state(ms, &snap->metadata.conf_state);
    return TKV_OK;
}

void mem_storage_set_snapshot_busy(mem_storage_t *ms, int times)
{
    ms->snapshot_busy = times;
}
