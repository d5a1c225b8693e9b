/*
 * What the peer storage tests share: a raft DB and a kv DB in a scratch
 * directory, a region bootstrapped in them, and helpers to build entries and
 * persist them as a Ready would.
 */
#ifndef TKV_TESTS_RAFTSTORE_PS_FIXTURE_H
#define TKV_TESTS_RAFTSTORE_PS_FIXTURE_H

#include "project2-raft/raftstore/peer_storage.h"
#include "tests/harness/test.h"

typedef struct {
    char dir[200];
    eng_t *raft_db, *kv_db;
    peer_storage_t *ps;
} ps_fixture_t;

/* Region 1 over the whole key space, peers 1..3 on stores 1..3. Caller
 * frees with pb_free(). */
Metapb__Region *ps_test_region(void);

/* cmocka fixtures: a bootstrapped, opened peer storage; everything removed. */
int ps_setup(void **state);
int ps_teardown(void **state);
/* Frees the peer storage and closes both databases, then opens them all
 * again from disk: a crash and restart. */
void ps_reopen(ps_fixture_t *f);

/* Persists entries [lo, hi) with term `term` (data "e<index>") and, when
 * commit is not 0, a hard state (term, 0, commit), as one Ready. */
void ps_save_entries(peer_storage_t *ps, uint64_t lo, uint64_t hi, uint64_t term, uint64_t commit);
/* The entries the Raft core would read for [lo, hi); the test fails on error. */
void ps_expect_entries(peer_storage_t *ps, uint64_t lo, uint64_t hi, uint64_t term);

#endif
