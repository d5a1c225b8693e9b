/*
 * Fake stores for the client library's tests: TinyKv servers over one
 * shared in-memory "cluster truth" (frame code: owes nothing to the labs,
 * so the client's tests pass on every handout).
 *
 * The truth is the regions as the stores see them (range, epoch, peers,
 * leader), one raw key space, and a small Percolator model (locks and
 * writes) for the Kv* methods. Every store checks a request's context as a
 * replicated store would, in TiKV's order: a peer of the region here
 * (else RegionNotFound), the leader here (else NotLeader with the leader's
 * hint), the epoch (else EpochNotMatch with the current regions), every
 * key inside the region (else KeyNotInRegion). Scans stop at the region's
 * end. A test may also script errors ahead of all that: the next `times`
 * calls of a method on a store get that error.
 *
 * Every call is logged (store, method, context, keys, timestamps), so a
 * test can check where the client went and in which order.
 *
 * Timestamps are TSO values; a lock's TTL runs on their physical part
 * (ts >> 18), as in project 4.
 *
 * Threads: handlers run on the servers' threads; everything is under one
 * mutex. Ownership: fake_new() returns the truth; fake_free() after every
 * server using it is freed.
 */
#ifndef TKV_TESTS_CLIENT_FAKE_STORE_H
#define TKV_TESTS_CLIENT_FAKE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "common/rpc_server.h"
#include "proto/metapb.pb-c.h"

#define FAKE_MAX_REGIONS 16
#define FAKE_MAX_CALLS   512
#define FAKE_MAX_KEYS    256

typedef enum {
    FAKE_ERR_NOT_LEADER_HINT = 1, /* NotLeader naming the true leader */
    FAKE_ERR_NOT_LEADER_NONE,     /* NotLeader without a leader */
    FAKE_ERR_BUSY,                /* ServerIsBusy, no hint */
    FAKE_ERR_STALE_COMMAND,
    FAKE_ERR_REGION_NOT_FOUND,
    FAKE_ERR_KEY_NOT_IN_REGION,
} fake_err_t;

typedef struct {
    uint64_t store_id;
    char method[32];
    uint64_t region_id, conf_ver, version; /* from the request's context */
    uint64_t peer_id, peer_store;
    char keys[256]; /* the request's keys joined by ',' */
    size_t n_keys;
    uint64_t start_ts, commit_ts; /* prewrite/commit/rollback */
    int region_error;             /* answered with a region error */
} fake_call_t;

typedef struct fake_cluster fake_cluster_t;

/* What one server's handlers get as ctx. */
typedef struct {
    fake_cluster_t *fake;
    uint64_t store_id;
} fake_store_t;

fake_cluster_t *fake_new(void);
void fake_free(fake_cluster_t *f);

/* Every TinyKv method the fakes serve (raw, Kv*, RaftCmd); ctx a fake_store_t. */
extern const rpc_method_t fake_store_methods[];

/* The truth about region `id`: [start, end) ("" = unbounded) at epoch
 * (conf_ver, version), one peer per store in stores[0..n) with peer id
 * id*100+store, led from `leader_store`. Replaces a region of that id. */
void fake_set_region(fake_cluster_t *f, uint64_t id, const char *start, const char *end,
                     uint64_t conf_ver, uint64_t version, const uint64_t *stores, size_t n,
                     uint64_t leader_store);
void fake_set_leader(fake_cluster_t *f, uint64_t region_id, uint64_t leader_store);
/* A copy of the truth of region id (pb_free), or NULL. */
Metapb__Region *fake_region(fake_cluster_t *f, uint64_t id);
uint64_t fake_leader(fake_cluster_t *f, uint64_t region_id);

/* The next `times` calls of `method` (NULL: any) on `store_id` (0: any)
 * are answered with `err`. */
void fake_script(fake_cluster_t *f, uint64_t store_id, const char *method, fake_err_t err,
                 int times);

/* The call log. */
size_t fake_n_calls(fake_cluster_t *f);
fake_call_t fake_call(fake_cluster_t *f, size_t i);
void fake_clear_calls(fake_cluster_t *f);

/* The Percolator model, for setting up and checking. */
void fake_put_lock(fake_cluster_t *f, const char *key, const char *primary, uint64_t start_ts,
                   uint64_t ttl_ms, const char *value);
void fake_put_write(fake_cluster_t *f, const char *key, uint64_t start_ts, uint64_t commit_ts,
                    const char *value); /* NULL value: a delete */
size_t fake_n_locks(fake_cluster_t *f);
/* The committed value of key at ts into out (size bytes): 1 found, 0 not. */
int fake_read(fake_cluster_t *f, const char *key, uint64_t ts, char *out, size_t size);

/* The raw key space. */
void fake_raw_put(fake_cluster_t *f, const char *key, const char *value);

/* From now on RawScan and KvScan answer at most n pairs and set `more` when
 * they stopped early, as a store does whose reply would overflow a frame
 * (0: no page limit). */
void fake_set_scan_page(fake_cluster_t *f, size_t n);

#endif
