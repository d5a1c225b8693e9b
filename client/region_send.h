/*
 * Sending one request to one region, and what to do with every region
 * error (frame code). Everything the raw and transactional clients send
 * goes through here.
 *
 * A request of the TinyKv service has a `context` field (kvrpcpb.Context)
 * and its response a `region_error` field (errorpb.Error); the admin
 * command RaftCmd has a `header` on both sides instead. The sender fills
 * the context from the route (region id, epoch, the peer asked), calls the
 * store, and reads the region error:
 *
 *   NotLeader with a leader    the hinted peer is asked next, at once, and
 *                              the cache learns it (a hint naming a peer
 *                              the cached region lacks: route again)
 *   NotLeader, no leader       an election is going on: wait, ask the
 *                              next peer
 *   ServerIsBusy               wait (the store's hint, else our own pace)
 *   StaleCommand               wait, same peer
 *   EpochNotMatch              the cache takes the regions the error
 *                              carries (or forgets the region): route again
 *   KeyNotInRegion, RegionNotFound, StoreNotMatch
 *                              forget the region: route again
 *   cannot reach the store     mark it down, wait, ask another peer
 *
 * "Route again" is TKV_ERR_STALE from rcache_send(): a request for several
 * keys may now span regions, so its caller regroups them. rcache_call()
 * does that for a request of a single key. Every retry and wait counts
 * against the caller's backoff_t, so a request gives up in bounded time
 * (TKV_ERR_TIMEOUT, saying what failed last).
 *
 * Ownership: `req` is borrowed (its context field is set for the call and
 * put back after); on TKV_OK *resp is the caller's (pb_free). `loc` is
 * updated in place as the sender learns (a new leader).
 */
#ifndef TKV_CLIENT_REGION_SEND_H
#define TKV_CLIENT_REGION_SEND_H

#include "client/region_cache.h"

/* `method` of the TinyKv service to loc's region. TKV_OK: *resp has no
 * region error. TKV_ERR_STALE: the route is out of date (the cache has
 * been corrected), route again. Others: give up (the message says why). */
tkv_err_t rcache_send(rcache_t *c, backoff_t *bo, rcache_loc_t *loc, const char *method,
                      ProtobufCMessage *req, ProtobufCMessage **resp);

/* rcache_send() to the region holding `key`, routing again until it gets
 * through. If `served` is not NULL it gets the route that answered (the
 * caller frees it with rcache_loc_free()). */
tkv_err_t rcache_call(rcache_t *c, backoff_t *bo, tkv_slice_t key, const char *method,
                      ProtobufCMessage *req, ProtobufCMessage **resp, rcache_loc_t *served);

#endif
