/*
 * KvCheckTxnStatus on the primary, then KvResolveLock where the lock is
 * (lock_resolver.h).
 */
#include "client/lock_resolver.h"
#include "client/region_send.h"
#include "common/pb.h"

/* A KeyError of a resolve call as an error code and message. */
static tkv_err_t key_error(const char *what, const Kvrpcpb__KeyError *ke)
{
    if (ke == NULL)
        return TKV_OK;
    const char *why = ke->abort && ke->abort[0]           ? ke->abort
                      : ke->retryable && ke->retryable[0] ? ke->retryable
                      : ke->locked                        ? "the key is locked"
                                                          : "write conflict";
    return tkv_errorf(TKV_ERR_IO, "%s failed: %s", what, why);
}

tkv_err_t lockr_resolve(rcache_t *c, backoff_t *bo, const Kvrpcpb__LockInfo *lock)
{
    uint64_t now = 0;
    tkv_err_t e = rcache_tso(c, &now);
    if (e != TKV_OK)
        return e;
    Kvrpcpb__CheckTxnStatusRequest creq = KVRPCPB__CHECK_TXN_STATUS_REQUEST__INIT;
    creq.primary_key = lock->primary_lock;
    creq.lock_ts = lock->lock_version;
    creq.current_ts = now;
    Kvrpcpb__CheckTxnStatusResponse *cresp = NULL;
    e = rcache_call(c, bo, slice_of(lock->primary_lock.data, lock->primary_lock.len),
                    "KvCheckTxnStatus", &creq.base, (ProtobufCMessage **)&cresp, NULL);
    if (e != TKV_OK)
        return e;
    uint64_t commit_ts = cresp->commit_version;
    int alive = cresp->lock_ttl > 0 && commit_ts == 0;
    pb_free(cresp);
    if (alive)
        return tkv_errorf(TKV_ERR_BUSY, "the key is locked by transaction %llu, still running",
                          (unsigned long long)lock->lock_version);

    Kvrpcpb__ResolveLockRequest rreq = KVRPCPB__RESOLVE_LOCK_REQUEST__INIT;
    rreq.start_version = lock->lock_version;
    rreq.commit_version = commit_ts;
    Kvrpcpb__ResolveLockResponse *rresp = NULL;
    e = rcache_call(c, bo, slice_of(lock->key.data, lock->key.len), "KvResolveLock", &rreq.base,
                    (ProtobufCMessage **)&rresp, NULL);
    if (e != TKV_OK)
        return e;
    e = key_error("KvResolveLock", rresp->error);
    pb_free(rresp);
    return e;
}
