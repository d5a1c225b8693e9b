/*
 * The raw (untransactional) client: RawPut, RawGet, RawDelete and RawScan
 * routed by region through a region cache (frame code).
 *
 * Each call is retried through region errors and dead stores as
 * region_send.h says, within one backoff_t of the cache's config. A scan
 * crosses regions: it reads a region from the start key (again from just
 * after the last key while the store says `more`), then goes on from the
 * region's end key, until it has `limit` pairs or the key space ends. A
 * store that answers keys past its region's end has them cut off; the
 * next region serves them.
 *
 * `cf` is a column family name, "" or NULL for the default one.
 *
 * Errors: TKV_ERR_NOT_FOUND (get of a missing key), TKV_ERR_IO (the store
 * reported a storage failure: the message is its text), TKV_ERR_TIMEOUT or
 * TKV_ERR_NET (retries spent: the message says what failed last), and the
 * errors of rcache_sched_call().
 *
 * Ownership: the cache is borrowed; *value and *out are the caller's
 * (buf_free, kv_list_free), filled only on TKV_OK.
 */
#ifndef TKV_CLIENT_RAW_CLIENT_H
#define TKV_CLIENT_RAW_CLIENT_H

#include <stdint.h>

#include "client/kv_list.h"
#include "client/region_cache.h"

tkv_err_t rawc_put(rcache_t *c, const char *cf, tkv_slice_t key, tkv_slice_t value);
tkv_err_t rawc_get(rcache_t *c, const char *cf, tkv_slice_t key, tkv_buf_t *value);
tkv_err_t rawc_delete(rcache_t *c, const char *cf, tkv_slice_t key);
/* Up to `limit` pairs with start <= key (< end when end is not empty), in
 * key order, appended to *out. */
tkv_err_t rawc_scan(rcache_t *c, const char *cf, tkv_slice_t start, tkv_slice_t end, uint32_t limit,
                    kv_list_t *out);

#endif
