/*
 * The peer storage test fixture (ps_fixture.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project2-raft/raftstore/pb_util.h"
#include "tests/harness/expect.h"
#include "tests/raftstore/ps_fixture.h"

Metapb__Region *ps_test_region(void)
{
    Metapb__RegionEpoch ep = METAPB__REGION_EPOCH__INIT;
    ep.conf_ver = 1;
    ep.version = 1;
    Metapb__Peer p[3], *pp[3];
    for (int i = 0; i < 3; i++) {
        metapb__peer__init(&p[i]);
        p[i].id = (uint64_t)i + 1;
        p[i].store_id = (uint64_t)i + 1;
        pp[i] = &p[i];
    }
    Metapb__Region r = METAPB__REGION__INIT;
    r.id = 1;
    r.region_epoch = &ep;
    r.n_peers = 3;
    r.peers = pp;
    return pb_region_dup(&r);
}

static void open_all(ps_fixture_t *f)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/raft", f->dir);
    expect_err(eng_open(path, &f->raft_db), TKV_OK, "eng_open(path, &f->raft_db)");
    snprintf(path, sizeof(path), "%s/kv", f->dir);
    expect_err(eng_open(path, &f->kv_db), TKV_OK, "eng_open(path, &f->kv_db)");
}

int ps_setup(void **state)
{
    ps_fixture_t *f = calloc(1, sizeof(*f));
    tkv_tmpdir(f->dir, sizeof(f->dir));
    open_all(f);
    Metapb__Region *r = ps_test_region();
    expect_err(peer_storage_bootstrap(f->raft_db, f->kv_db, r), TKV_OK,
               "peer_storage_bootstrap(f->raft_db, f->kv_db, r)");
    pb_free(r);
    expect_err(peer_storage_open(f->raft_db, f->kv_db, 1, 0, &f->ps), TKV_OK,
               "peer_storage_open(f->raft_db, f->kv_db, 1, 0, &f->ps)");
    *state = f;
    return 0;
}

static void close_all(ps_fixture_t *f)
{
    peer_storage_free(f->ps);
    f->ps = NULL;
    if (f->raft_db)
        eng_close(f->raft_db);
    if (f->kv_db)
        eng_close(f->kv_db);
    f->raft_db = f->kv_db = NULL;
}

int ps_teardown(void **state)
{
    ps_fixture_t *f = *state;
    if (f == NULL)
        return 0;
    close_all(f);
    tkv_rmdir(f->dir);
    free(f);
    return 0;
}

void ps_reopen(ps_fixture_t *f)
{
    close_all(f);
    open_all(f);
    tkv_err_t err = peer_storage_open(f->raft_db, f->kv_db, 1, 0, &f->ps);
    if (err != TKV_OK)
        fail_msg("reopening the peer storage: %s: %s", tkv_strerror(err), tkv_last_error());
}

void ps_save_entries(peer_storage_t *ps, uint64_t lo, uint64_t hi, uint64_t term, uint64_t commit)
{
    raft_ready_t rd;
    memset(&rd, 0, sizeof(rd));
    rd.n_entries = (size_t)(hi - lo);
    rd.entries = calloc(rd.n_entries + 1, sizeof(raft_entry_t));
    for (uint64_t i = lo; i < hi; i++) {
        raft_entry_t *e = &rd.entries[i - lo];
        char data[32];
        int n = snprintf(data, sizeof(data), "e%llu", (unsigned long long)i);
        e->index = i;
        e->term = term;
        e->data = (uint8_t *)strdup(data);
        e->len = (size_t)n;
    }
    if (commit != 0) {
        rd.hard_state.term = term;
        rd.hard_state.commit = commit;
    }
    int snap = 0;
    tkv_err_t err = peer_storage_save_ready(ps, &rd, &snap);
    if (err != TKV_OK)
        fail_msg("saving entries [%llu, %llu): %s: %s", (unsigned long long)lo,
                 (unsigned long long)hi, tkv_strerror(err), tkv_last_error());
    expect_u64(snap, 0,
               "peer_storage_save_ready's snapshot flag for a Ready of entries [%llu, %llu) "
               "without a snapshot",
               (unsigned long long)lo, (unsigned long long)hi);
    raft_ready_free(&rd);
}

void ps_expect_entries(peer_storage_t *ps, uint64_t lo, uint64_t hi, uint64_t term)
{
    raft_storage_t s = peer_storage_as_raft_storage(ps);
    raft_entry_t *ents = NULL;
    size_t n = 0;
    tkv_err_t err = s.ops->entries(s.self, lo, hi, UINT64_MAX, &ents, &n);
    if (err != TKV_OK)
        fail_msg("entries [%llu, %llu): %s: %s", (unsigned long long)lo, (unsigned long long)hi,
                 tkv_strerror(err), tkv_last_error());
    expect_u64(n, hi - lo, "entries read back from [%llu, %llu)", (unsigned long long)lo,
               (unsigned long long)hi);
    for (size_t i = 0; i < n; i++) {
        char data[32];
        int len = snprintf(data, sizeof(data), "e%llu", (unsigned long long)(lo + i));
        expect_u64(ents[i].index, lo + i, "the index of entry %zu read back from [%llu, %llu)", i,
                   (unsigned long long)lo, (unsigned long long)hi);
        expect_u64(ents[i].term, term, "the term of entry %llu read back",
                   (unsigned long long)(lo + i));
        expect_bytes(ents[i].data, ents[i].len, data, (size_t)len,
                     "the data of entry %llu read back", (unsigned long long)(lo + i));
    }
    raft_entries_free(ents, n);
}
