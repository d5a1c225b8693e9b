/*
 * Resolving a lock the client met (frame code): the client side of
 * Percolator's crash recovery.
 *
 * A lock on a key belongs to a transaction that prewrote it and has not
 * yet committed or rolled it back, or that died in between. Its primary
 * key decides: the client asks the primary's region with KvCheckTxnStatus
 * (lock_ts = the lock's start ts, current_ts = a fresh TSO timestamp):
 *
 *   committed (commit_version > 0)   KvResolveLock commits the locks of
 *                                    that transaction in the locked key's
 *                                    region: the read then sees the value
 *   rolled back (now, for an expired TTL, or earlier)
 *                                    KvResolveLock with commit_version 0
 *                                    rolls them back
 *   alive (lock_ttl > 0)             nothing to do yet: TKV_ERR_BUSY, and
 *                                    the caller waits and reads again
 *
 * Ownership: everything is borrowed for the call.
 */
#ifndef TKV_CLIENT_LOCK_RESOLVER_H
#define TKV_CLIENT_LOCK_RESOLVER_H

#include "client/region_cache.h"
#include "proto/kvrpcpb.pb-c.h"

/* TKV_OK: the lock is gone (committed or rolled back), read again.
 * TKV_ERR_BUSY: its transaction is alive. Others: the calls failed. */
tkv_err_t lockr_resolve(rcache_t *c, backoff_t *bo, const Kvrpcpb__LockInfo *lock);

#endif
