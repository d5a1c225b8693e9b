/*
 * Snapshots at the store's door (frame): a MsgSnapshot whose data the store
 * could not install is refused by store_step before the Raft core sees it,
 * and the peer stays well.
 *
 * The Raft core treats snapshot data as opaque bytes: it accepts any
 * MsgSnapshot with sane metadata and moves its log to it. If the install
 * then fails (the data does not decode, names a column family that does
 * not exist, another region...), the peer is stuck: its Raft state already
 * claims the snapshot, its storage does not have it, and it stops for good
 * (found by the store fuzzer: SEED=12 FUZZ_STEPS=20000 build/tests/fuzz
 * --run fuzz_store_mutated_traffic, and 40 of the first 100 seeds at that
 * budget). So peer_step() checks the data first
 * (peer_storage_check_snapshot()).
 *
 * Frame code only: the check happens before the Raft core, so this passes
 * on every handout; installing a good snapshot is 2C's business.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/pb.h"
#include "project2-raft/raft/raft_pb.h"
#include "project2-raft/raftstore/peer_storage.h"
#include "tests/faults/stores.h"

#define SNAP_INDEX 10
#define SNAP_TERM  6

/* How a test spoils the snapshot data (or not). */
typedef enum {
    SPOIL_NONE,
    SPOIL_TRUNCATE,     /* the bytes do not decode */
    SPOIL_CF,           /* a pair in column family "defult" */
    SPOIL_REGION_ID,    /* the data is region 7's */
    SPOIL_OUT_OF_RANGE, /* a key past the region's end */
    SPOIL_VOTERS,       /* the metadata names voters the region does not have */
    SPOIL_APPLY_STATE,  /* the apply state is at another index */
} spoil_t;

/* A snapshot of region 1 (peers 1..3, range ["", "m")) at SNAP_INDEX, with
 * one pair, spoiled as asked. Caller frees with raft_snapshot_free(). */
static void make_snapshot(spoil_t how, raft_snapshot_t *out)
{
    memset(out, 0, sizeof(*out));
    Metapb__Peer peers[3];
    Metapb__Peer *pp[3];
    for (int i = 0; i < 3; i++) {
        metapb__peer__init(&peers[i]);
        peers[i].id = peers[i].store_id = (uint64_t)i + 1;
        pp[i] = &peers[i];
    }
    Metapb__RegionEpoch ep = METAPB__REGION_EPOCH__INIT;
    ep.conf_ver = ep.version = 1;
    Metapb__Region region = METAPB__REGION__INIT;
    region.id = how == SPOIL_REGION_ID ? 7 : 1;
    region.region_epoch = &ep;
    region.end_key.data = (uint8_t *)"m";
    region.end_key.len = 1;
    region.n_peers = 3;
    region.peers = pp;
    RaftServerpb__RaftTruncatedState ts = RAFT_SERVERPB__RAFT_TRUNCATED_STATE__INIT;
    ts.index = SNAP_INDEX;
    ts.term = SNAP_TERM;
    RaftServerpb__RaftApplyState as = RAFT_SERVERPB__RAFT_APPLY_STATE__INIT;
    as.applied_index = how == SPOIL_APPLY_STATE ? SNAP_INDEX - 2 : SNAP_INDEX;
    as.truncated_state = &ts;
    RaftServerpb__SnapshotKV kv = RAFT_SERVERPB__SNAPSHOT_KV__INIT;
    kv.cf = how == SPOIL_CF ? "defult" : CF_DEFAULT;
    const char *key = how == SPOIL_OUT_OF_RANGE ? "zebra" : "apple";
    kv.key.data = (uint8_t *)key;
    kv.key.len = strlen(key);
    kv.value.data = (uint8_t *)"red";
    kv.value.len = 3;
    RaftServerpb__SnapshotKV *kvs[1] = { &kv };
    RaftServerpb__RaftSnapshotData d = RAFT_SERVERPB__RAFT_SNAPSHOT_DATA__INIT;
    d.region = &region;
    d.apply_state = &as;
    d.n_data = 1;
    d.data = kvs;
    tkv_buf_t packed = TKV_BUF_INIT;
    pb_pack(&d.base, &packed);
    if (how == SPOIL_TRUNCATE)
        packed.len -= 3; /* the last field's bytes are cut off */
    out->len = packed.len;
    out->data = buf_take(&packed);
    out->metadata.index = SNAP_INDEX;
    out->metadata.term = SNAP_TERM;
    size_t n = how == SPOIL_VOTERS ? 2 : 3;
    out->metadata.conf_state.n_nodes = n;
    out->metadata.conf_state.nodes = xcalloc(3, sizeof(uint64_t));
    for (size_t i = 0; i < n; i++)
        out->metadata.conf_state.nodes[i] = i + 1;
}

/* The RaftMessage store 1's leader would send store 2 with that snapshot. */
static void envelope(const raft_snapshot_t *snap, tkv_buf_t *out)
{
    raft_message_t m;
    memset(&m, 0, sizeof(m));
    m.type = RAFT_MSG_SNAPSHOT;
    m.from = 1;
    m.to = 2;
    m.term = SNAP_TERM;
    m.snapshot = *snap; /* borrowed: freed by the caller */
    Metapb__Peer from = METAPB__PEER__INIT, to = METAPB__PEER__INIT;
    from.id = from.store_id = 1;
    to.id = to.store_id = 2;
    Metapb__RegionEpoch ep = METAPB__REGION_EPOCH__INIT;
    ep.conf_ver = ep.version = 1;
    RaftServerpb__RaftMessage env = RAFT_SERVERPB__RAFT_MESSAGE__INIT;
    env.region_id = 1;
    env.from_peer = &from;
    env.to_peer = &to;
    env.region_epoch = &ep;
    env.end_key.data = (uint8_t *)"m";
    env.end_key.len = 1;
    env.message = raft_pb_message_to_pb(&m);
    pb_pack(&env.base, out);
    eraftpb__message__free_unpacked(env.message, NULL);
}

static const struct {
    spoil_t how;
    const char *what;
    const char *says; /* a word the error must contain */
} cases[] = {
    { SPOIL_TRUNCATE, "data that does not decode", "decode" },
    { SPOIL_CF, "a pair in column family 'defult'", "defult" },
    { SPOIL_REGION_ID, "region 7's data", "region 7" },
    { SPOIL_OUT_OF_RANGE, "a key past the region's end", "outside" },
    { SPOIL_VOTERS, "voters that are not the region's peers", "voters" },
    { SPOIL_APPLY_STATE, "an apply state at another index", "apply state" },
};

static void test_bad_snapshot_refused_peer_stays_well(void **state)
{
    (void)state;
    tkv_log_set_level(TKV_LOG_ERROR);
    ff_stores_t c;
    ff_open(&c, 3, "m");
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        raft_snapshot_t snap;
        make_snapshot(cases[k].how, &snap);
        tkv_buf_t bytes = TKV_BUF_INIT;
        envelope(&snap, &bytes);
        uint64_t term_before = peer_term(ff_peer(&c, 2));
        tkv_err_t err = store_step(c.s[2], bytes.data, bytes.len);
        char why[512];
        snprintf(why, sizeof(why), "%s", tkv_last_error());
        buf_free(&bytes);
        raft_snapshot_free(&snap);
        peer_t *p = ff_peer(&c, 2);
        if (peer_is_broken(p))
            fail_msg("a MsgSnapshot with %s broke the peer (store_step said %s: %s); it should "
                     "be refused before the Raft core takes it, and the peer stay well",
                     cases[k].what, tkv_strerror(err), why);
        if (err != TKV_ERR_CORRUPT)
            fail_msg("a MsgSnapshot with %s: expected TKV_ERR_CORRUPT from store_step, got %s "
                     "(%s)",
                     cases[k].what, tkv_strerror(err), err == TKV_OK ? "accepted" : why);
        if (strstr(why, "snapshot") == NULL || strstr(why, cases[k].says) == NULL)
            fail_msg("a MsgSnapshot with %s: the error should name the snapshot and say '%s'; "
                     "it says \"%s\"",
                     cases[k].what, cases[k].says, why);
        if (peer_term(p) != term_before)
            fail_msg("a refused MsgSnapshot with %s still moved the peer's term from %llu to "
                     "%llu: the Raft core saw it",
                     cases[k].what, (unsigned long long)term_before,
                     (unsigned long long)peer_term(p));
    }
    /* The check must not refuse the real thing. */
    raft_snapshot_t good;
    make_snapshot(SPOIL_NONE, &good);
    tkv_err_t err = peer_storage_check_snapshot(1, &good);
    raft_snapshot_free(&good);
    if (err != TKV_OK)
        fail_msg("a well-formed snapshot of region 1 is refused: %s", tkv_last_error());
    ff_close(&c);
}

const tkv_test_t snapshot_door_tests[] = {
    { "frame", "bad_snapshot_refused_peer_stays_well", 0,
      "a MsgSnapshot the store could not install is refused with a clear error, and the "
      "peer is not broken",
      test_bad_snapshot_refused_peer_stays_well },
    { 0 },
};
