/*
 * The Raft log on its own (raft_log.h): conflicts, up-to-date checks,
 * appends, the unstable/stable split, committed entries and slicing.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/harness/expect.h"
#include "tests/raft/raft_helpers.h"

typedef struct {
    mem_storage_t *ms;
    raft_log_t log;
} log_fixture_t;

/* A log whose storage holds entries of terms st[] and whose unstable part
 * then gets entries of terms ut[]. */
static void make_log(log_fixture_t *f, const uint64_t *st, size_t sn, const uint64_t *ut, size_t un)
{
    f->ms = rt_storage_with_terms(st, sn);
    expect_err(rlog_init(&f->log, mem_storage_as_storage(f->ms)), TKV_OK,
               "rlog_init(&f->log, mem_storage_as_storage(f->ms))");
    for (size_t i = 0; i < un; i++) {
        raft_entry_t e = { RAFT_ENTRY_NORMAL, ut[i], sn + 1 + i, NULL, 0 };
        rlog_append(&f->log, &e, 1);
    }
}

static void free_log(log_fixture_t *f)
{
    rlog_free(&f->log);
    mem_storage_free(f->ms);
}

static raft_entry_t ent(uint64_t index, uint64_t term)
{
    raft_entry_t e = { RAFT_ENTRY_NORMAL, term, index, NULL, 0 };
    return e;
}

static void test_find_conflict(void **state)
{
    (void)state;
    uint64_t terms[] = { 1, 2, 3 };
    struct {
        raft_entry_t ents[4];
        size_t n;
        uint64_t want;
    } cases[] = {
        { { { 0 } }, 0, 0 },
        { { ent(1, 1), ent(2, 2), ent(3, 3) }, 3, 0 },
        { { ent(2, 2), ent(3, 3) }, 2, 0 },
        { { ent(3, 3) }, 1, 0 },
        { { ent(1, 1), ent(2, 2), ent(3, 3), ent(4, 4) }, 4, 4 },
        { { ent(3, 3), ent(4, 4) }, 2, 4 },
        { { ent(4, 4), ent(5, 4) }, 2, 4 },
        { { ent(1, 4), ent(2, 4) }, 2, 1 },
        { { ent(2, 1), ent(3, 4) }, 2, 2 },
        { { ent(3, 1), ent(4, 2) }, 2, 3 },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        log_fixture_t f;
        make_log(&f, NULL, 0, terms, 3);
        uint64_t got = rlog_find_conflict(&f.log, cases[c].ents, cases[c].n);
        if (got != cases[c].want)
            fail_msg("case %zu: conflict at %llu, want %llu", c, (unsigned long long)got,
                     (unsigned long long)cases[c].want);
        free_log(&f);
    }
}

static void test_is_up_to_date(void **state)
{
    (void)state;
    uint64_t terms[] = { 1, 2, 3 };
    struct {
        uint64_t index, term;
        int want;
    } cases[] = {
        { 2, 4, 1 }, { 3, 4, 1 }, { 4, 4, 1 }, { 2, 2, 0 }, { 3, 2, 0 },
        { 4, 2, 0 }, { 2, 3, 0 }, { 3, 3, 1 }, { 4, 3, 1 },
    };
    log_fixture_t f;
    make_log(&f, terms, 3, NULL, 0);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        if (rlog_is_up_to_date(&f.log, cases[c].index, cases[c].term) != cases[c].want)
            fail_msg("case %zu: (%llu, %llu)", c, (unsigned long long)cases[c].index,
                     (unsigned long long)cases[c].term);
    }
    free_log(&f);
}

static void test_append_truncates(void **state)
{
    (void)state;
    uint64_t st[] = { 1, 2 };
    struct {
        raft_entry_t ents[2];
        size_t n;
        uint64_t want_last;
        uint64_t want_terms[3];
        uint64_t want_offset;
    } cases[] = {
        { { ent(3, 2) }, 1, 3, { 1, 2, 2 }, 3 },
        { { ent(1, 2) }, 1, 1, { 2 }, 1 },
        { { ent(2, 3), ent(3, 3) }, 2, 3, { 1, 3, 3 }, 2 },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        log_fixture_t f;
        make_log(&f, st, 2, NULL, 0);
        expect_u64(rlog_append(&f.log, cases[c].ents, cases[c].n), cases[c].want_last,
                   "the last index rlog_append returns in case %zu", c);
        expect_u64(rlog_last_index(&f.log), cases[c].want_last,
                   "the last log index (rlog_last_index(&f.log))");
        for (uint64_t i = 0; i < cases[c].want_last; i++)
            expect_u64(rlog_term_or_zero(&f.log, i + 1), cases[c].want_terms[i],
                       "the term of entry %llu (0: not in the log)", (unsigned long long)(i + 1));
        /* the unstable part starts where the new entries start */
        expect_u64(f.log.offset, cases[c].want_offset,
                   "the log's first unstable index (f.log.offset)");
        free_log(&f);
    }
}

static void test_maybe_append(void **state)
{
    (void)state;
    uint64_t terms[] = { 1, 2, 3 };
    uint64_t commit = 1;
    struct {
        uint64_t log_term, index, committed;
        raft_entry_t ents[2];
        size_t n;
        int ok;
        uint64_t last_new, want_commit;
        uint64_t check_index, check_term;
    } cases[] = {
        /* previous entry does not match */
        { 2, 3, 3, { ent(4, 4) }, 1, 0, 0, 1, 0, 0 },
        { 3, 4, 3, { ent(5, 4) }, 1, 0, 0, 1, 0, 0 },
        /* matches: commit to min(committed, last new) */
        { 3, 3, 3, { { 0 } }, 0, 1, 3, 3, 0, 0 },
        { 3, 3, 4, { { 0 } }, 0, 1, 3, 3, 0, 0 },
        { 3, 3, 2, { { 0 } }, 0, 1, 3, 2, 0, 0 },
        { 3, 3, 0, { { 0 } }, 0, 1, 3, 1, 0, 0 },
        { 3, 3, 3, { ent(4, 4) }, 1, 1, 4, 3, 4, 4 },
        { 3, 3, 4, { ent(4, 4) }, 1, 1, 4, 4, 4, 4 },
        { 3, 3, 5, { ent(4, 4), ent(5, 4) }, 2, 1, 5, 5, 5, 4 },
        /* a conflict truncates */
        { 2, 2, 3, { ent(3, 4) }, 1, 1, 3, 3, 3, 4 },
        { 1, 1, 3, { ent(2, 4), ent(3, 4) }, 2, 1, 3, 3, 2, 4 },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        log_fixture_t f;
        make_log(&f, NULL, 0, terms, 3);
        f.log.committed = commit;
        uint64_t last_new = 0;
        int ok = rlog_maybe_append(&f.log, cases[c].index, cases[c].log_term, cases[c].committed,
                                   cases[c].ents, cases[c].n, &last_new);
        if (ok != cases[c].ok)
            fail_msg("case %zu: ok %d", c, ok);
        if (ok)
            expect_u64(last_new, cases[c].last_new,
                       "the last new index rlog_maybe_append reports (last_new)");
        expect_u64(f.log.committed, cases[c].want_commit,
                   "the log's commit index (f.log.committed)");
        if (cases[c].check_index)
            expect_u64(rlog_term_or_zero(&f.log, cases[c].check_index), cases[c].check_term,
                       "the term of entry %llu in case %zu (0: not in the log)",
                       (unsigned long long)cases[c].check_index, c);
        free_log(&f);
    }
}

static void test_maybe_append_keeps_matching_suffix(void **state)
{
    (void)state;
    /* A delayed, shorter append must not cut entries we already have. */
    uint64_t terms[] = { 1, 1, 1, 1 };
    log_fixture_t f;
    make_log(&f, NULL, 0, terms, 4);
    raft_entry_t e = ent(2, 1);
    uint64_t last_new;
    expect_true(rlog_maybe_append(&f.log, 1, 1, 0, &e, 1, &last_new),
                "rlog_maybe_append of entry 2 after (index 1, term 1), which the log holds, must "
                "be accepted");
    expect_u64(last_new, 2, "the last new index rlog_maybe_append reports (last_new)");
    expect_u64(rlog_last_index(&f.log), 4, "the last log index (rlog_last_index(&f.log))");
    free_log(&f);
}

static void test_unstable_and_stable(void **state)
{
    (void)state;
    uint64_t st[] = { 1, 1 };
    uint64_t ut[] = { 2, 2 };
    log_fixture_t f;
    make_log(&f, st, 2, ut, 2);
    size_t n;
    const raft_entry_t *u = rlog_unstable_entries(&f.log, &n);
    expect_u64(n, 2, "entries returned (n)");
    expect_u64(u[0].index, 3, "unstable entry [0]'s index (u[0].index)");
    /* stable_to with a term that no longer matches is ignored */
    rlog_stable_to(&f.log, 3, 1);
    rlog_unstable_entries(&f.log, &n);
    expect_u64(n, 2, "entries returned (n)");
    rlog_stable_to(&f.log, 3, 2);
    u = rlog_unstable_entries(&f.log, &n);
    expect_u64(n, 1, "entries returned (n)");
    expect_u64(u[0].index, 4, "unstable entry [0]'s index (u[0].index)");
    expect_u64(f.log.offset, 4, "the log's first unstable index (f.log.offset)");
    rlog_stable_to(&f.log, 4, 2);
    rlog_unstable_entries(&f.log, &n);
    expect_u64(n, 0, "entries returned (n)");
    expect_u64(f.log.offset, 5, "the log's first unstable index (f.log.offset)");
    /* the entries are still readable (from storage once it has them) */
    raft_entry_t es[2] = { ent(3, 2), ent(4, 2) };
    expect_err(mem_storage_append(f.ms, es, 2), TKV_OK, "mem_storage_append(f.ms, es, 2)");
    expect_u64(rlog_last_index(&f.log), 4, "the last log index (rlog_last_index(&f.log))");
    expect_u64(rlog_term_or_zero(&f.log, 4), 2, "the term of entry 4 (0: not in the log)");
    free_log(&f);
}

static void test_next_ents(void **state)
{
    (void)state;
    uint64_t st[] = { 1, 1, 1 };
    uint64_t ut[] = { 1, 1 };
    struct {
        uint64_t applied, committed;
        size_t want_n;
        uint64_t want_first;
    } cases[] = {
        { 0, 5, 5, 1 }, { 1, 4, 3, 2 }, { 3, 5, 2, 4 }, { 4, 4, 0, 0 }, { 2, 2, 0, 0 },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        log_fixture_t f;
        make_log(&f, st, 3, ut, 2);
        rlog_commit_to(&f.log, cases[c].committed);
        rlog_applied_to(&f.log, cases[c].applied);
        expect_u64(rlog_has_next_ents(&f.log), cases[c].want_n > 0,
                   "rlog_has_next_ents (1 when committed entries wait to be applied) in case %zu",
                   c);
        raft_entry_t *ents;
        size_t n;
        expect_err(rlog_next_ents(&f.log, &ents, &n), TKV_OK, "rlog_next_ents(&f.log, &ents, &n)");
        expect_u64(n, cases[c].want_n, "entries returned (n)");
        if (n)
            expect_u64(ents[0].index, cases[c].want_first, "entry [0]'s index (ents[0].index)");
        raft_entries_free(ents, n);
        free_log(&f);
    }
}

static void test_slice(void **state)
{
    (void)state;
    /* storage 1..5, unstable 6..8; every entry carries 10 bytes */
    mem_storage_t *ms = mem_storage_new();
    for (uint64_t i = 1; i <= 5; i++) {
        raft_entry_t e = { RAFT_ENTRY_NORMAL, 1, i, (uint8_t *)"0123456789", 10 };
        expect_err(mem_storage_append(ms, &e, 1), TKV_OK, "mem_storage_append(ms, &e, 1)");
    }
    raft_log_t l;
    expect_err(rlog_init(&l, mem_storage_as_storage(ms)), TKV_OK,
               "rlog_init(&l, mem_storage_as_storage(ms))");
    for (uint64_t i = 6; i <= 8; i++) {
        raft_entry_t e = { RAFT_ENTRY_NORMAL, 2, i, (uint8_t *)"0123456789", 10 };
        rlog_append(&l, &e, 1);
    }
    uint64_t one = raft_entry_size(&(raft_entry_t){ RAFT_ENTRY_NORMAL, 1, 1, NULL, 10 });
    struct {
        uint64_t lo, hi, max;
        tkv_err_t err;
        size_t want_n;
    } cases[] = {
        { 1, 9, UINT64_MAX, TKV_OK, 8 },
        { 4, 7, UINT64_MAX, TKV_OK, 3 },
        { 6, 9, UINT64_MAX, TKV_OK, 3 },
        { 3, 3, UINT64_MAX, TKV_OK, 0 },
        { 1, 10, UINT64_MAX, RAFT_ERR_UNAVAILABLE, 0 },
        { 4, 9, 0, TKV_OK, 1 },           /* at least one entry */
        { 4, 9, one * 2, TKV_OK, 2 },     /* cut inside storage */
        { 4, 9, one * 3, TKV_OK, 3 },     /* cut across the boundary */
        { 4, 9, one * 4 + 1, TKV_OK, 4 }, /* cut in the unstable part */
        { 6, 9, one * 2, TKV_OK, 2 },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        raft_entry_t *ents;
        size_t n;
        tkv_err_t err = rlog_slice(&l, cases[c].lo, cases[c].hi, cases[c].max, &ents, &n);
        if (err != cases[c].err || n != cases[c].want_n)
            fail_msg("case %zu: rlog_slice(lo %llu, hi %llu, max_size %llu; one entry is %llu "
                     "bytes, entries 1-5 stable, 6-8 unstable): expected %s and %zu entries, "
                     "saw %s and %zu",
                     c, (unsigned long long)cases[c].lo, (unsigned long long)cases[c].hi,
                     (unsigned long long)cases[c].max, (unsigned long long)one,
                     tkv_err_name(cases[c].err), cases[c].want_n, tkv_err_name(err), n);
        for (size_t i = 0; i < n; i++) {
            expect_u64(ents[i].index, cases[c].lo + i, "entry [i]'s index (ents[i].index)");
            expect_u64(ents[i].term, ents[i].index <= 5 ? 1 : 2, "entry [i]'s term (ents[i].term)");
            expect_bytes(ents[i].data, ents[i].len, "0123456789", 10,
                         "the data of entry %llu read back", (unsigned long long)ents[i].index);
        }
        raft_entries_free(ents, n);
    }
    rlog_free(&l);
    mem_storage_free(ms);
}

static void test_commit_to_never_decreases(void **state)
{
    (void)state;
    uint64_t terms[] = { 1, 2, 3 };
    log_fixture_t f;
    make_log(&f, terms, 3, NULL, 0);
    rlog_commit_to(&f.log, 3);
    expect_u64(f.log.committed, 3, "the log's commit index (f.log.committed)");
    rlog_commit_to(&f.log, 1);
    expect_u64(f.log.committed, 3, "the log's commit index (f.log.committed)");
    expect_false(rlog_maybe_commit(&f.log, 2, 2),
                 "rlog_maybe_commit(2, term 2) below the commit index 3 returned true (commit "
                 "never moves back)");
    free_log(&f);
    make_log(&f, terms, 3, NULL, 0);
    expect_false(rlog_maybe_commit(&f.log, 3, 2),
                 "rlog_maybe_commit(3, term 2) when entry 3 has term 3 returned true (only an "
                 "entry of the given term commits)");
    expect_true(rlog_maybe_commit(&f.log, 3, 3),
                "rlog_maybe_commit(3, term 3), entry 3 being of term 3, must commit");
    expect_u64(f.log.committed, 3, "the log's commit index (f.log.committed)");
    free_log(&f);
}

static void test_term_lookup(void **state)
{
    (void)state;
    uint64_t st[] = { 1, 2 };
    uint64_t ut[] = { 3 };
    log_fixture_t f;
    make_log(&f, st, 2, ut, 1);
    uint64_t t;
    expect_err(rlog_term(&f.log, 0, &t), TKV_OK, "rlog_term(&f.log, 0, &t)");
    expect_u64(t, 0, "the term rlog_term reports");
    expect_err(rlog_term(&f.log, 2, &t), TKV_OK, "rlog_term(&f.log, 2, &t)");
    expect_u64(t, 2, "the term of entry 2 (stable)");
    expect_err(rlog_term(&f.log, 3, &t), TKV_OK, "rlog_term(&f.log, 3, &t)");
    expect_u64(t, 3, "the term of entry 3 (unstable)");
    expect_err(rlog_term(&f.log, 4, &t), RAFT_ERR_UNAVAILABLE, "rlog_term(&f.log, 4, &t)");
    expect_u64(t, 0, "the term rlog_term reports");
    free_log(&f);
}

const tkv_test_t raft_log_tests[] = {
    { "project2a", "log_find_conflict", 2, "find_conflict names the first new or clashing entry",
      test_find_conflict },
    { "project2a", "log_is_up_to_date", 2, "is_up_to_date compares last term, then length",
      test_is_up_to_date },
    { "project2a", "log_append_truncates", 2, "append replaces entries from the first new index on",
      test_append_truncates },
    { "project2a", "log_maybe_append", 3,
      "maybe_append checks the previous entry, appends and commits min(commit, last new)",
      test_maybe_append },
    { "project2a", "log_maybe_append_keeps_matching_suffix", 1,
      "a shorter matching append does not truncate the log",
      test_maybe_append_keeps_matching_suffix },
    { "project2a", "log_unstable_and_stable", 2,
      "stable_to moves entries out of the unstable part only if the term matches",
      test_unstable_and_stable },
    { "project2a", "log_next_ents", 2, "next_ents returns committed entries not yet applied",
      test_next_ents },
    { "project2a", "log_slice", 3,
      "slice reads across storage and unstable entries and honours the size limit", test_slice },
    { "project2a", "log_commit_never_decreases", 1,
      "commit only moves forward and only to entries of the given term",
      test_commit_to_never_decreases },
    { "project2a", "log_term_lookup", 1, "term lookup across storage and unstable entries",
      test_term_lookup },
    { 0 },
};
