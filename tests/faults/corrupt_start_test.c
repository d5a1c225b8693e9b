/*
 * A damaged store found at start (frame): store_open() fails with an error
 * naming the region, the state or log entry and the database, and writes
 * nothing, so nothing is lost; once the damage is undone the store opens.
 *
 * Each case damages one thing a bootstrapped store holds (with the store
 * closed, through the engines directly), then checks the three promises:
 * the error, every key and value of both databases unchanged by the failed
 * open, and a good open after the original bytes are put back. A "repair"
 * that deletes what it cannot read, or a start that takes garbage for
 * defaults (a raft state that does not decode read as empty), fails here.
 *
 * Frame code only (peer_storage_open, the store's start): it holds on
 * every handout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pb.h"
#include "project2-raft/raft/raft_pb.h"
#include "project2-raft/raftstore/keys.h"
#include "tests/faults/stores.h"
#include "tests/harness/expect.h"
#include "tests/harness/damage.h"

typedef struct {
    eng_t *raft, *kv;
} dbs_t;

static void open_dbs(ff_stores_t *c, dbs_t *d)
{
    char path[300];
    snprintf(path, sizeof(path), "%s/raft", c->dir[1]);
    expect_err(eng_open(path, &d->raft), TKV_OK, "opening the raft DB %s", path);
    snprintf(path, sizeof(path), "%s/kv", c->dir[1]);
    expect_err(eng_open(path, &d->kv), TKV_OK, "opening the kv DB %s", path);
}

static void close_dbs(dbs_t *d)
{
    eng_close(d->raft);
    eng_close(d->kv);
}

/* Every key and value of a database, length-prefixed, into out. */
static void dump(eng_t *db, tkv_buf_t *out)
{
    eng_iter_t *it = eng_iter_new(db, NULL, NULL);
    for (eng_iter_seek_first(it); eng_iter_valid(it); eng_iter_next(it)) {
        tkv_slice_t k = eng_iter_key(it), v = eng_iter_value(it);
        buf_append(out, &k.len, sizeof(k.len));
        buf_append(out, k.data, k.len);
        buf_append(out, &v.len, sizeof(v.len));
        buf_append(out, v.data, v.len);
    }
    /* A damaged table stops the iterator: what it read is still compared. */
    eng_iter_free(it);
}

static void dump_both(ff_stores_t *c, tkv_buf_t *out)
{
    dbs_t d;
    open_dbs(c, &d);
    buf_clear(out);
    dump(d.raft, out);
    dump(d.kv, out);
    close_dbs(&d);
}

static void put_local_state(eng_t *raft, uint64_t last_index, uint64_t last_term, uint64_t commit)
{
    Eraftpb__HardState hs = ERAFTPB__HARD_STATE__INIT;
    hs.term = last_term;
    hs.commit = commit;
    RaftServerpb__RaftLocalState st = RAFT_SERVERPB__RAFT_LOCAL_STATE__INIT;
    st.hard_state = &hs;
    st.last_index = last_index;
    st.last_term = last_term;
    tkv_buf_t key = TKV_BUF_INIT;
    keys_raft_state_key(&key, 1);
    expect_err(eng_put_msg(raft, buf_slice(&key), &st.base), TKV_OK, "writing a raft state");
    buf_free(&key);
}

static void put_entry(eng_t *raft, uint64_t index, uint64_t term, size_t size)
{
    raft_entry_t e = { 0 };
    e.index = index;
    e.term = term;
    e.type = RAFT_ENTRY_NORMAL;
    e.len = size;
    e.data = xcalloc(1, size ? size : 1);
    for (size_t i = 0; i < size; i++)
        e.data[i] = (uint8_t)(index * 31 + i * 7);
    uint8_t *bytes = NULL;
    size_t len = 0;
    expect_err(raft_pb_encode_entry(&e, &bytes, &len), TKV_OK, "encoding entry %llu",
               (unsigned long long)index);
    tkv_buf_t key = TKV_BUF_INIT;
    keys_raft_log_key(&key, 1, index);
    expect_err(eng_put(raft, NULL, buf_slice(&key), slice_of(bytes, len)), TKV_OK,
               "writing entry %llu", (unsigned long long)index);
    buf_free(&key);
    free(bytes);
    free(e.data);
}

/* ---- the damage, one per case ------------------------------------------- */

static void garbage_under(eng_t *db, const tkv_buf_t *key)
{
    const char junk[] = "\xff\xff\xff\xff not a protobuf";
    expect_err(eng_put(db, NULL, buf_slice(key), slice_of(junk, sizeof(junk) - 1)), TKV_OK,
               "writing garbage over a state");
}

static void damage_raft_state(dbs_t *d)
{
    tkv_buf_t key = TKV_BUF_INIT;
    keys_raft_state_key(&key, 1);
    garbage_under(d->raft, &key);
    buf_free(&key);
}

static void damage_apply_state(dbs_t *d)
{
    tkv_buf_t key = TKV_BUF_INIT;
    keys_apply_state_key(&key, 1);
    garbage_under(d->kv, &key);
    buf_free(&key);
}

static void damage_region_state(dbs_t *d)
{
    tkv_buf_t key = TKV_BUF_INIT;
    keys_region_state_key(&key, 1);
    garbage_under(d->kv, &key);
    buf_free(&key);
}

static void damage_stray_region_key(dbs_t *d)
{
    tkv_buf_t key = TKV_BUF_INIT;
    keys_region_state_key(&key, 1);
    buf_append_byte(&key, 0x07); /* under the prefix, but no region state key */
    garbage_under(d->kv, &key);
    buf_free(&key);
}

static void damage_missing_entries(dbs_t *d)
{
    put_local_state(d->raft, 8, 5, 5); /* says the log ends at 8; it holds nothing */
}

static void damage_entry(dbs_t *d)
{
    for (uint64_t i = 6; i <= 8; i++)
        put_entry(d->raft, i, 5, 16);
    put_local_state(d->raft, 8, 5, 5);
    tkv_buf_t key = TKV_BUF_INIT;
    keys_raft_log_key(&key, 1, 7);
    garbage_under(d->raft, &key);
    buf_free(&key);
}

static void damage_last_term(dbs_t *d)
{
    for (uint64_t i = 6; i <= 8; i++)
        put_entry(d->raft, i, 5, 16);
    put_local_state(d->raft, 8, 6, 5); /* the last entry's term is 5 */
}

static void damage_commit(dbs_t *d)
{
    put_local_state(d->raft, 5, 5, 40); /* commits past the log's end */
}

static void damage_truncated(dbs_t *d)
{
    RaftServerpb__RaftTruncatedState ts = RAFT_SERVERPB__RAFT_TRUNCATED_STATE__INIT;
    ts.index = 9;
    ts.term = 5;
    RaftServerpb__RaftApplyState as = RAFT_SERVERPB__RAFT_APPLY_STATE__INIT;
    as.applied_index = 5;
    as.truncated_state = &ts;
    tkv_buf_t key = TKV_BUF_INIT;
    keys_apply_state_key(&key, 1);
    expect_err(eng_put_msg(d->kv, buf_slice(&key), &as.base), TKV_OK, "writing an apply state");
    buf_free(&key);
}

/* A long log written to a table file (leveldb writes one when it reopens
 * its log), then a data block of that table overwritten. */
static void damage_raft_table(dbs_t *d, ff_stores_t *c)
{
    for (uint64_t i = 6; i <= 400; i++)
        put_entry(d->raft, i, 5, 200);
    put_local_state(d->raft, 400, 5, 5);
    close_dbs(d);
    open_dbs(c, d); /* the log becomes a table */
    close_dbs(d);
    char path[300];
    snprintf(path, sizeof(path), "%s/raft", c->dir[1]);
    if (tkv_damage_tables(path, 50, 64) < 1)
        fail_msg("no table file to damage in %s", path);
    open_dbs(c, d);
}

typedef struct {
    const char *what;
    void (*damage)(dbs_t *d);
    const char *says[3]; /* words the error must contain */
} damage_case_t;

static const damage_case_t cases[] = {
    { "a RaftLocalState that does not decode",
      damage_raft_state,
      { "region 1", "RaftLocalState", "/raft" } },
    { "a RaftApplyState that does not decode",
      damage_apply_state,
      { "region 1", "RaftApplyState", "/kv" } },
    { "a RegionLocalState that does not decode",
      damage_region_state,
      { "region 1", "RegionLocalState", "/kv" } },
    { "a stray key under the region state prefix",
      damage_stray_region_key,
      { "region state", "/kv", "key" } },
    { "a raft state whose log entries are missing",
      damage_missing_entries,
      { "region 1", "entry 6", "/raft" } },
    { "a log entry that does not decode", damage_entry, { "region 1", "entry 7", "/raft" } },
    { "a last entry whose term is not the raft state's",
      damage_last_term,
      { "region 1", "term", "/raft" } },
    { "a commit index past the last index", damage_commit, { "region 1", "commit", "/raft" } },
    { "a truncated index past the applied index",
      damage_truncated,
      { "region 1", "truncated", "/kv" } },
    { "a damaged table file in the raft DB", NULL, { "region 1", "/raft", "orrupt" } },
};

static void run_case(const damage_case_t *k)
{
    ff_stores_t c;
    ff_open(&c, 1, "");
    ff_close_store(&c, 1);
    tkv_buf_t good = TKV_BUF_INIT, before = TKV_BUF_INIT, after = TKV_BUF_INIT;
    dump_both(&c, &good);
    dbs_t d;
    open_dbs(&c, &d);
    if (k->damage != NULL)
        k->damage(&d);
    else
        damage_raft_table(&d, &c);
    close_dbs(&d);
    dump_both(&c, &before);
    tkv_err_t err = ff_open_store(&c, 1);
    char why[600];
    snprintf(why, sizeof(why), "%s", tkv_last_error());
    if (err == TKV_OK)
        fail_msg("a store with %s opened without error: it must refuse to start", k->what);
    for (int w = 0; w < 3; w++)
        if (k->says[w] != NULL && strstr(why, k->says[w]) == NULL)
            fail_msg("a store with %s: the error should name '%s'; it says \"%s\"", k->what,
                     k->says[w], why);
    dump_both(&c, &after);
    if (after.len != before.len || memcmp(after.data, before.data, before.len) != 0)
        fail_msg("a store with %s changed its databases while refusing to start (%zu bytes of "
                 "keys and values before, %zu after): a failed start must lose nothing",
                 k->what, before.len, after.len);
    if (k->damage != NULL) {
        /* Undo the damage: the store opens on what was there. */
        char path[300];
        snprintf(path, sizeof(path), "%s/raft", c.dir[1]);
        expect_err(eng_destroy(path), TKV_OK, "removing %s to put it back", path);
        snprintf(path, sizeof(path), "%s/kv", c.dir[1]);
        expect_err(eng_destroy(path), TKV_OK, "removing %s to put it back", path);
        open_dbs(&c, &d);
        /* `good` is the raft DB's pairs, then the kv DB's: the raft DB's
         * keys all start with 01 02, the kv DB's with 01 01, 01 03 or a
         * column family, so each goes back where it came from. */
        for (size_t at = 0; at < good.len;) {
            size_t kl, vl;
            memcpy(&kl, good.data + at, sizeof(kl));
            const uint8_t *kp = good.data + at + sizeof(kl);
            memcpy(&vl, kp + kl, sizeof(vl));
            const uint8_t *vp = kp + kl + sizeof(vl);
            eng_t *db = kl >= 2 && kp[0] == KEYS_LOCAL_PREFIX && kp[1] == KEYS_REGION_RAFT &&
                                (kl == KEYS_LOG_KEY_LEN || kp[10] == KEYS_RAFT_STATE)
                            ? d.raft
                            : d.kv;
            expect_err(eng_put(db, NULL, slice_of(kp, kl), slice_of(vp, vl)), TKV_OK,
                       "putting a pair back");
            at = (size_t)(vp + vl - good.data);
        }
        close_dbs(&d);
        if (ff_open_store(&c, 1) != TKV_OK)
            fail_msg("with %s put back as it was, the store still does not open: %s", k->what,
                     tkv_last_error());
    }
    buf_free(&good);
    buf_free(&before);
    buf_free(&after);
    ff_close(&c);
}

static void test_corrupt_start_refused(void **state)
{
    (void)state;
    tkv_log_set_level(TKV_LOG_ERROR);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i]);
}

const tkv_test_t corrupt_start_tests[] = {
    { "frame", "corrupt_store_refuses_to_start_and_loses_nothing", 0,
      "damaged raft or kv state at start is a clear error naming it, and the databases stay "
      "as they were",
      test_corrupt_start_refused },
    { 0 },
};
