/*
 * The split checker: how big is a region, and where would it split?
 *
 * TiKV keeps an approximate size per region from its engine's properties
 * and runs the check in a background worker. Here the kv DB is small and
 * the store single-threaded, so the leader simply walks its range every
 * split_check_tick ticks: every key and value of every column family
 * counts. The split key is the first key of the default column family (or,
 * for transactional data, of the write column family) at which the bytes
 * seen so far pass region_split_size, so the old region keeps about that
 * much and the new one the rest; it is never the region's start key, so
 * both halves are non-empty.
 *
 * Transactional data (project4-txn/mvcc/mvcc_codec.h) keeps a user key u
 * in two shapes: its lock under u itself (CF_LOCK), its values and writes
 * under the memcomparable encoding of u followed by a timestamp. One region
 * must hold all of them, and clients route u by its raw bytes. The two
 * orders agree for every u when the boundary is at most 8 bytes
 * long with no zero byte (the encoding only differs from the raw bytes
 * after the first 8, or in its zero padding). So a key of the MVCC shape
 * splits at the first 8 bytes of its user key (at most), and where that is
 * not past the region's start (many keys sharing an 8-byte prefix) the
 * region waits for a later candidate rather than split a key's data. A
 * key of any other shape (raw data) is a split point as it is.
 */
#include <string.h>

#include "common/codec.h"

#include "project3-multiraft/raftstore/mr_internal.h"

static const char *const cfs[] = { CF_DEFAULT, CF_LOCK, CF_WRITE };

static int before_end(const Metapb__Region *r, tkv_slice_t key)
{
    return r->end_key.len == 0 || slice_compare(key, slice_of(r->end_key.data, r->end_key.len)) < 0;
}

/* Where a region may split at key k, into `at` (see the top of the file):
 * 0 when k is a version of a user key with no boundary that keeps it
 * whole. */
static int split_point(tkv_slice_t k, tkv_buf_t *at)
{
    tkv_buf_t user = TKV_BUF_INIT;
    size_t used = 0;
    int mvcc = k.len > 8 && codec_decode_bytes(k, &user, &used) == TKV_OK && used == k.len - 8;
    if (!mvcc) {
        buf_free(&user);
        buf_set(at, k.data, k.len);
        return 1;
    }
    size_t n = user.len < 8 ? user.len : 8;
    int ok = n > 0 && memchr(user.data, 0, n) == NULL;
    if (ok)
        buf_set(at, user.data, n);
    buf_free(&user);
    return ok;
}

tkv_err_t mr_split_check(eng_t *kv_db, const Metapb__Region *region, uint64_t max_size,
                         uint64_t split_size, uint64_t *size, tkv_buf_t *split_key)
{
    *size = 0;
    buf_set(split_key, NULL, 0);
    tkv_buf_t cand_default = TKV_BUF_INIT, cand_write = TKV_BUF_INIT, at = TKV_BUF_INIT;
    tkv_slice_t start = slice_of(region->start_key.data, region->start_key.len);
    tkv_err_t err = TKV_OK;
    for (size_t c = 0; c < sizeof(cfs) / sizeof(cfs[0]) && err == TKV_OK; c++) {
        tkv_buf_t *cand = c == 0 ? &cand_default : c == 2 ? &cand_write : NULL;
        uint64_t cf_bytes = 0;
        eng_iter_t *it = eng_iter_new(kv_db, NULL, cfs[c]);
        for (eng_iter_seek(it, start); eng_iter_valid(it) && before_end(region, eng_iter_key(it));
             eng_iter_next(it)) {
            tkv_slice_t k = eng_iter_key(it), v = eng_iter_value(it);
            cf_bytes += k.len + v.len;
            if (cand != NULL && cand->len == 0 && cf_bytes > split_size && split_point(k, &at) &&
                slice_compare(buf_slice(&at), start) > 0 && before_end(region, buf_slice(&at)))
                buf_set(cand, at.data, at.len);
        }
        *size += cf_bytes;
        err = eng_iter_status(it);
        eng_iter_free(it);
    }
    if (err == TKV_OK && *size > max_size) {
        const tkv_buf_t *pick = cand_default.len ? &cand_default : &cand_write;
        buf_set(split_key, pick->data, pick->len);
    }
    buf_free(&cand_default);
    buf_free(&cand_write);
    buf_free(&at);
    return err;
}
