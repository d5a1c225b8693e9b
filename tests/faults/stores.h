/*
 * The faults suite's fixture: up to three stores in this process, each with
 * its databases in a scratch directory, holding region 1 (peers 1..n on
 * stores 1..n). Their transports feed a queue the test delivers in order,
 * so a test decides exactly which message arrives when. No clock: the
 * tests campaign and deliver by hand.
 *
 * Ownership: ff_open() fills a caller-owned ff_stores_t; ff_close() closes
 * the stores, removes their directories and frees the queue.
 */
#ifndef TKV_TESTS_FAULTS_STORES_H
#define TKV_TESTS_FAULTS_STORES_H

#include "common/buf.h"
#include "common/prng.h"
#include "project2-raft/raftstore/peer_internal.h"
#include "project2-raft/raftstore/store.h"
#include "tests/harness/test.h"

#define FF_MAX_STORES 3

typedef struct {
    uint64_t to;
    tkv_buf_t bytes;
} ff_envelope_t;

typedef struct {
    int n;
    char dir[FF_MAX_STORES + 1][256];
    store_t *s[FF_MAX_STORES + 1];
    ff_envelope_t *queue;
    size_t n_queue, cap_queue;
    tkv_prng_t rng;
} ff_stores_t;

/* Opens n stores and bootstraps region 1 on each: its range ends at
 * `end_key` ("" for no end). */
void ff_open(ff_stores_t *c, int n, const char *end_key);
/* Closes and opens store i again (the queue keeps what was in flight). */
void ff_close_store(ff_stores_t *c, int i);
tkv_err_t ff_open_store(ff_stores_t *c, int i);
void ff_close(ff_stores_t *c);

/* Delivers queued messages in order until none is left (at most `max`);
 * messages to a store that is closed are dropped. */
void ff_deliver(ff_stores_t *c, int max);

/* Store i's peer of region 1 (fails the test when there is none). */
peer_t *ff_peer(ff_stores_t *c, int i);

/* A Put (value NULL: a Get) of `key` proposed on store i, then the queue
 * delivered; the answer lands in *resp (caller frees with pb_free). Fails
 * the test when no answer came. Returns 1. */
int ff_command(ff_stores_t *c, int i, const char *key, const char *value,
               RaftCmdpb__RaftCmdResponse **resp);

/* The error message of a command's answer, or NULL when it succeeded. */
const char *ff_resp_error(const RaftCmdpb__RaftCmdResponse *resp);

#define FF_SNAP_INDEX 10
#define FF_SNAP_TERM  6

/* How a test spoils the snapshot data (or not). */
typedef enum {
    FF_SPOIL_NONE,
    FF_SPOIL_TRUNCATE,     /* the bytes do not decode */
    FF_SPOIL_CF,           /* a pair in column family "defult" */
    FF_SPOIL_REGION_ID,    /* the data is region 7's */
    FF_SPOIL_OUT_OF_RANGE, /* a key past the region's end */
    FF_SPOIL_VOTERS,       /* the metadata names voters the region does not have */
    FF_SPOIL_APPLY_STATE,  /* the apply state is at another index */
} ff_spoil_t;

/* A snapshot of region 1 as ff_open(c, 3, "m") bootstraps it (peers 1..3,
 * range ["", "m")) at FF_SNAP_INDEX, term FF_SNAP_TERM, with one pair
 * (default "apple" = "red"), spoiled as asked. Caller frees with
 * raft_snapshot_free(). */
void ff_make_snapshot(ff_spoil_t how, raft_snapshot_t *out);
/* The RaftMessage with which store 1's leader would send store 2 `snap`
 * (borrowed), into *out. */
void ff_snapshot_envelope(const raft_snapshot_t *snap, tkv_buf_t *out);

#endif
