/*
 * Inside a transaction of txn_client.h: the write buffer and what the read
 * and commit halves (txn_client.c, txn_commit.c) share. Not a public door.
 */
#ifndef TKV_CLIENT_TXN_IMPL_H
#define TKV_CLIENT_TXN_IMPL_H

#include "client/txn_client.h"
#include "proto/kvrpcpb.pb-c.h"

typedef struct {
    tkv_buf_t key;
    tkv_buf_t value;
    Kvrpcpb__Op op; /* OP_PUT or OP_DEL */
} txn_write_t;

struct txnc {
    rcache_t *cache;          /* borrowed */
    client_config_t lock_cfg; /* the cache's config, attempts = lock_wait_retries */
    uint64_t start_ts;
    txn_write_t *writes; /* sorted by key, one per key */
    size_t n_writes, cap_writes;
    int finished; /* commit was called */
};

/* Index of the buffered write of key, or -1. */
long txn_find_write(const txnc_t *t, tkv_slice_t key);

/* A lock met by a read or a prewrite: resolved (TKV_OK: try again), or
 * waited for when alive (TKV_OK after the wait), counted in lock_bo. */
tkv_err_t txn_handle_lock(txnc_t *t, backoff_t *bo, backoff_t *lock_bo,
                          const Kvrpcpb__LockInfo *lock);

/* Does loc's region hold key? */
int txn_region_holds(const rcache_loc_t *loc, tkv_slice_t key);

#endif
