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

static const struct {
    ff_spoil_t how;
    const char *what;
    const char *says; /* a word the error must contain */
} cases[] = {
    { FF_SPOIL_TRUNCATE, "data that does not decode", "decode" },
    { FF_SPOIL_CF, "a pair in column family 'defult'", "defult" },
    { FF_SPOIL_REGION_ID, "region 7's data", "region 7" },
    { FF_SPOIL_OUT_OF_RANGE, "a key past the region's end", "outside" },
    { FF_SPOIL_VOTERS, "voters that are not the region's peers", "voters" },
    { FF_SPOIL_APPLY_STATE, "an apply state at another index", "apply state" },
};

static void test_bad_snapshot_refused_peer_stays_well(void **state)
{
    (void)state;
    tkv_log_set_level(TKV_LOG_ERROR);
    ff_stores_t c;
    ff_open(&c, 3, "m");
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        raft_snapshot_t snap;
        ff_make_snapshot(cases[k].how, &snap);
        tkv_buf_t bytes = TKV_BUF_INIT;
        ff_snapshot_envelope(&snap, &bytes);
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
    ff_make_snapshot(FF_SPOIL_NONE, &good);
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
