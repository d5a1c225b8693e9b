/*
 * A write that fails leaves memory as the disk is (graded, 2B and 2C).
 *
 * peer_storage.h promises that its in-memory copies (last index and term,
 * hard state, applied index, truncated state, region) are what the
 * databases hold: they change only after a write succeeded. Code that
 * updates memory first and writes second leaves memory ahead of the disk
 * when the write fails; whoever reads the peer next (a test, statistics, a
 * restart path that trusts memory) sees state that was never written.
 *
 * The failing disk is a file size limit (RLIMIT_FSIZE, with SIGXFSZ
 * ignored): a write() past the limit fails with EFBIG, so leveldb's log
 * append fails and its write reports an I/O error, while reads go on. A
 * limit between the sizes of the two databases' logs fails the writes of one
 * and lets the other's through: that is how each test picks which write
 * fails. After the failure, the limit is lifted and the test compares
 * memory with what the databases answer.
 */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "common/log.h"
#include "common/pb.h"
#include "project2-raft/raft/raft_pb.h"
#include "project2-raft/raftstore/keys.h"
#include "tests/faults/stores.h"
#include "tests/harness/expect.h"

/* Writes to regular files past `bytes` fail from now on (0: every write).
 * ff_disk_heals() lifts it. */
static struct rlimit saved_limit;

static void disk_fails_past(off_t bytes)
{
    signal(SIGXFSZ, SIG_IGN);
    if (getrlimit(RLIMIT_FSIZE, &saved_limit) != 0)
        fail_msg("getrlimit(RLIMIT_FSIZE) failed");
    struct rlimit l = saved_limit;
    l.rlim_cur = (rlim_t)bytes;
    if (setrlimit(RLIMIT_FSIZE, &l) != 0)
        fail_msg("setrlimit(RLIMIT_FSIZE, %lld) failed", (long long)bytes);
}

static void disk_heals(void)
{
    if (setrlimit(RLIMIT_FSIZE, &saved_limit) != 0)
        fail_msg("cannot lift the file size limit again");
}

/* The size of the largest leveldb log file in `dir` (the one being written). */
static off_t log_size(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        fail_msg("cannot open %s", dir);
    off_t best = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".log") != 0)
            continue;
        char path[600];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) == 0 && st.st_size > best)
            best = st.st_size;
    }
    closedir(d);
    return best;
}

/* Grows a database's log by about `bytes` with a raw key no reader looks at
 * (it is in no column family and no region's metadata). */
static void pad(eng_t *db, size_t bytes)
{
    char *junk = xcalloc(1, bytes);
    memset(junk, 'p', bytes);
    const char *key = "zz-test-padding";
    expect_err(eng_put(db, NULL, slice_of(key, strlen(key)), slice_of(junk, bytes)), TKV_OK,
               "padding a log on a healthy disk");
    free(junk);
}

/* Fails unless store i's peer storage in memory is what its databases hold. */
static void expect_memory_is_disk(ff_stores_t *c, int i, const char *after)
{
    const peer_storage_t *ps = peer_storage(ff_peer(c, i));
    tkv_buf_t key = TKV_BUF_INIT;
    RaftServerpb__RaftLocalState *ls = NULL;
    RaftServerpb__RaftApplyState *as = NULL;
    RaftServerpb__RegionLocalState *rs = NULL;
    keys_raft_state_key(&key, 1);
    expect_err(eng_get_msg(ps->raft_db, buf_slice(&key),
                           &raft_serverpb__raft_local_state__descriptor, (ProtobufCMessage **)&ls),
               TKV_OK, "reading a state back");
    keys_apply_state_key(&key, 1);
    expect_err(eng_get_msg(ps->kv_db, buf_slice(&key), &raft_serverpb__raft_apply_state__descriptor,
                           (ProtobufCMessage **)&as),
               TKV_OK, "reading a state back");
    keys_region_state_key(&key, 1);
    expect_err(eng_get_msg(ps->kv_db, buf_slice(&key),
                           &raft_serverpb__region_local_state__descriptor,
                           (ProtobufCMessage **)&rs),
               TKV_OK, "reading a state back");
    buf_free(&key);
    char bad[512] = "";
    size_t n = 0;
#define DIFF(what, mem, disk)                                                                      \
    if ((uint64_t)(mem) != (uint64_t)(disk))                                                       \
    n += (size_t)snprintf(bad + n, sizeof(bad) - n, " %s %llu in memory, %llu on disk;", what,     \
                          (unsigned long long)(mem), (unsigned long long)(disk))
    DIFF("last index", ps->last_index, ls->last_index);
    DIFF("last term", ps->last_term, ls->last_term);
    DIFF("term", ps->hard_state.term, ls->hard_state ? ls->hard_state->term : 0);
    DIFF("vote", ps->hard_state.vote, ls->hard_state ? ls->hard_state->vote : 0);
    DIFF("commit", ps->hard_state.commit, ls->hard_state ? ls->hard_state->commit : 0);
    DIFF("applied index", ps->applied_index, as->applied_index);
    DIFF("truncated index", ps->truncated_index,
         as->truncated_state ? as->truncated_state->index : 0);
    DIFF("truncated term", ps->truncated_term, as->truncated_state ? as->truncated_state->term : 0);
    DIFF("region conf_ver", ps->region->region_epoch->conf_ver,
         rs->region && rs->region->region_epoch ? rs->region->region_epoch->conf_ver : 0);
    DIFF("region end key length", ps->region->end_key.len,
         rs->region ? rs->region->end_key.len : 0);
#undef DIFF
    pb_free(ls);
    pb_free(as);
    pb_free(rs);
    if (n > 0)
        fail_msg("after %s, store %d's peer storage disagrees with its databases:%s memory must "
                 "change only once the write succeeded (peer_storage.h)",
                 after, i, bad);
}

static void lead(ff_stores_t *c)
{
    (void)store_campaign(c->s[1], 1);
    ff_deliver(c, 100);
    if (!peer_is_leader(ff_peer(c, 1)))
        fail_msg("the only peer of region 1 did not become leader after campaigning");
}

static void put_ok(ff_stores_t *c, const char *key)
{
    RaftCmdpb__RaftCmdResponse *resp = NULL;
    ff_command(c, 1, key, "v", &resp);
    if (ff_resp_error(resp) != NULL)
        fail_msg("Put %s failed on a healthy disk: %s", key, ff_resp_error(resp));
    pb_free(resp);
}

/* 2B: the raft DB write of a Ready (new entry, hard state) fails. */
static void test_failed_raft_write(void **state)
{
    (void)state;
    tkv_log_set_level(TKV_LOG_ERROR);
    ff_stores_t c;
    ff_open(&c, 1, "");
    lead(&c);
    put_ok(&c, "a");
    disk_fails_past(0);
    RaftCmdpb__RaftCmdResponse *resp = NULL;
    ff_command(&c, 1, "b", "v", &resp);
    disk_heals();
    if (ff_resp_error(resp) == NULL)
        fail_msg("a Put whose raft DB write failed (disk full) was answered as a success");
    pb_free(resp);
    expect_memory_is_disk(&c, 1, "a failed raft DB write of a new entry");
    ff_close(&c);
}

/* Proposes CompactLog at the applied index on store 1's leader and
 * delivers; returns that index. */
static uint64_t compact(ff_stores_t *c)
{
    const peer_storage_t *ps = peer_storage(ff_peer(c, 1));
    uint64_t applied = ps->applied_index, term = 0;
    expect_err(peer_storage_term((peer_storage_t *)ps, applied, &term), TKV_OK,
               "the term of applied entry %llu", (unsigned long long)applied);
    RaftCmdpb__CompactLogRequest cl = RAFT_CMDPB__COMPACT_LOG_REQUEST__INIT;
    cl.compact_index = applied;
    cl.compact_term = term;
    RaftCmdpb__AdminRequest admin = RAFT_CMDPB__ADMIN_REQUEST__INIT;
    admin.cmd_type = RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_COMPACT_LOG;
    admin.compact_log = &cl;
    RaftCmdpb__RaftRequestHeader h = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    h.region_id = 1;
    RaftCmdpb__RaftCmdRequest req = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    req.header = &h;
    req.admin_request = &admin;
    peer_cb_t none = { NULL, NULL };
    store_propose(c->s[1], &req, none);
    ff_deliver(c, 100);
    return applied;
}

static void put_some(ff_stores_t *c, int from, int n)
{
    char key[16];
    for (int i = from; i < from + n; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        put_ok(c, key);
    }
}

/* 2C: a CompactLog entry whose apply (the kv DB write) fails: the raft DB
 * took the entry, the kv DB refused the new truncated state. First one on
 * a healthy disk, which must truncate. */
static void test_failed_compact_apply(void **state)
{
    (void)state;
    tkv_log_set_level(TKV_LOG_ERROR);
    ff_stores_t c;
    ff_open(&c, 1, "");
    lead(&c);
    put_some(&c, 0, 10);
    peer_t *p = ff_peer(&c, 1);
    const peer_storage_t *ps = peer_storage(p);
    uint64_t at = compact(&c);
    if (ps->truncated_index != at)
        fail_msg("on a healthy disk, CompactLog at %llu left the truncated index at %llu",
                 (unsigned long long)at, (unsigned long long)ps->truncated_index);
    put_some(&c, 10, 10);
    char kv_dir[300], raft_dir[300];
    snprintf(kv_dir, sizeof(kv_dir), "%s/kv", c.dir[1]);
    snprintf(raft_dir, sizeof(raft_dir), "%s/raft", c.dir[1]);
    pad(ps->kv_db, 256 * 1024);
    off_t raft_log = log_size(raft_dir), kv_log = log_size(kv_dir);
    if (kv_log <= raft_log + 64 * 1024)
        fail_msg("the padded kv DB log (%lld bytes) is not past the raft DB log (%lld)",
                 (long long)kv_log, (long long)raft_log);
    uint64_t applied = ps->applied_index;
    disk_fails_past(raft_log + 32 * 1024); /* the raft DB may write, the kv DB may not */
    (void)compact(&c);
    disk_heals();
    if (!peer_is_broken(p) && ps->applied_index > applied)
        fail_msg("a CompactLog whose kv DB write failed (disk full) still applied");
    expect_memory_is_disk(&c, 1, "a failed kv DB write of a CompactLog");
    ff_close(&c);
}

/* 2C, first on a healthy disk: the snapshot installs (so that the failing
 * cases below test a real install, not one that never started). */
static void snapshot_installs(void)
{
    ff_stores_t c;
    ff_open(&c, 3, "m");
    raft_snapshot_t snap;
    ff_make_snapshot(FF_SPOIL_NONE, &snap);
    tkv_buf_t bytes = TKV_BUF_INIT;
    ff_snapshot_envelope(&snap, &bytes);
    raft_snapshot_free(&snap);
    tkv_err_t err = store_step(c.s[2], bytes.data, bytes.len);
    buf_free(&bytes);
    const peer_storage_t *ps = peer_storage(ff_peer(&c, 2));
    if (err != TKV_OK || ps->applied_index != FF_SNAP_INDEX)
        fail_msg("on a healthy disk, a snapshot at %d was not installed (store_step: %s; applied "
                 "index %llu)",
                 FF_SNAP_INDEX, err == TKV_OK ? "OK" : tkv_last_error(),
                 (unsigned long long)ps->applied_index);
    expect_memory_is_disk(&c, 2, "a snapshot install on a healthy disk");
    ff_close(&c);
}

/* 2C: a snapshot install whose kv DB write fails, then one whose kv DB write
 * succeeds and whose raft DB write fails. */
static void snapshot_with_failing(int fail_kv)
{
    ff_stores_t c;
    ff_open(&c, 3, "m");
    const peer_storage_t *ps = peer_storage(ff_peer(&c, 2));
    char kv_dir[300], raft_dir[300];
    snprintf(kv_dir, sizeof(kv_dir), "%s/kv", c.dir[2]);
    snprintf(raft_dir, sizeof(raft_dir), "%s/raft", c.dir[2]);
    pad(fail_kv ? ps->kv_db : ps->raft_db, 256 * 1024);
    off_t other = log_size(fail_kv ? raft_dir : kv_dir);
    raft_snapshot_t snap;
    ff_make_snapshot(FF_SPOIL_NONE, &snap);
    tkv_buf_t bytes = TKV_BUF_INIT;
    ff_snapshot_envelope(&snap, &bytes);
    raft_snapshot_free(&snap);
    disk_fails_past(other + 32 * 1024);
    tkv_err_t err = store_step(c.s[2], bytes.data, bytes.len);
    disk_heals();
    buf_free(&bytes);
    if (err == TKV_OK && !peer_is_broken(ff_peer(&c, 2)))
        fail_msg("a snapshot whose %s DB write failed (disk full) was installed without error",
                 fail_kv ? "kv" : "raft");
    expect_memory_is_disk(&c, 2,
                          fail_kv ? "a snapshot install whose kv DB write failed"
                                  : "a snapshot install whose raft DB write failed");
    ff_close(&c);
}

static void test_failed_snapshot_install(void **state)
{
    (void)state;
    tkv_log_set_level(TKV_LOG_ERROR);
    snapshot_installs();
    snapshot_with_failing(1);
    snapshot_with_failing(0);
}

const tkv_test_t failed_write_tests[] = {
    { "project2b", "failed_raft_write_leaves_memory_as_on_disk", 1,
      "when a Ready's raft DB write fails, the peer storage in memory stays what the disk holds",
      test_failed_raft_write },
    { "project2c", "failed_compact_apply_leaves_memory_as_on_disk", 1,
      "when a CompactLog's kv DB write fails, the truncated state in memory stays what the disk "
      "holds",
      test_failed_compact_apply },
    { "project2c", "failed_snapshot_install_leaves_memory_as_on_disk", 1,
      "when a snapshot's kv DB or raft DB write fails, the peer storage in memory stays what "
      "the disk holds",
      test_failed_snapshot_install },
    { 0 },
};
