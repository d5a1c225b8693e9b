/*
 * The scanner (scanner.h). Two iterators run side by side: one over the write
 * CF, whose keys are enc(user key) ++ desc(ts), and one over the lock CF,
 * whose keys are raw user keys. Both orders agree (the encoding keeps byte
 * order), so the next user key to look at is the smaller of the two fronts.
 */
#include <stdlib.h>
#include <string.h>

#include "project4-txn/mvcc/scanner.h"

struct mvcc_scanner {
    /* LAB 4C BEGIN */
    mvcc_txn_t *txn;
    storage_iter_t *writes;
    storage_iter_t *locks;
    tkv_buf_t next; /* the smallest user key not looked at yet */
    int done;
    /* LAB 4C STUB
    int unused;
    LAB 4C END */
};

mvcc_scanner_t *mvcc_scanner_new(mvcc_txn_t *txn, tkv_slice_t start_key)
{
    /* LAB 4C BEGIN */
    mvcc_scanner_t *sc = xcalloc(1, sizeof(*sc));
    sc->txn = txn;
    sc->writes = reader_iter_cf(txn->reader, CF_WRITE);
    sc->locks = reader_iter_cf(txn->reader, CF_LOCK);
    buf_set(&sc->next, start_key.data, start_key.len);
    return sc;
    /* LAB 4C STUB
    (void)txn;
    (void)start_key;
    return xcalloc(1, sizeof(mvcc_scanner_t));
    LAB 4C END */
}

void mvcc_scanner_free(mvcc_scanner_t *sc)
{
    if (sc == NULL)
        return;
    /* LAB 4C BEGIN */
    storage_iter_free(sc->writes);
    storage_iter_free(sc->locks);
    buf_free(&sc->next);
    /* LAB 4C END */
    free(sc);
}

/* LAB 4C BEGIN */
/* The smallest user key >= sc->next with a write record (*has = 0: none). */
static tkv_err_t front_of_writes(mvcc_scanner_t *sc, tkv_buf_t *key, int *has)
{
    tkv_buf_t seek = TKV_BUF_INIT;
    /* Timestamp MAX encodes smallest: the very first version of `next`. */
    mvcc_encode_key(&seek, buf_slice(&sc->next), MVCC_TS_MAX);
    storage_iter_seek(sc->writes, buf_slice(&seek));
    buf_free(&seek);
    /* A read error may end the iteration, or (a damaged block stepped over)
     * leave it valid further on: either way the front is not to be trusted. */
    tkv_err_t err = storage_iter_status(sc->writes);
    *has = err == TKV_OK && storage_iter_valid(sc->writes);
    if (!*has)
        return err;
    buf_clear(key);
    return mvcc_decode_key(storage_iter_key(sc->writes), key, NULL);
}
/* LAB 4C END */

tkv_err_t mvcc_scanner_next(mvcc_scanner_t *sc, tkv_buf_t *key, tkv_buf_t *value, mvcc_lock_t *lock,
                            mvcc_scan_kind_t *kind)
{
    /* LAB 4C BEGIN */
    tkv_buf_t wkey = TKV_BUF_INIT;
    tkv_err_t err = TKV_OK;
    *kind = MVCC_SCAN_DONE;
    while (!sc->done && *kind == MVCC_SCAN_DONE) {
        int has_write, has_lock;
        err = front_of_writes(sc, &wkey, &has_write);
        if (err != TKV_OK)
            break;
        storage_iter_seek(sc->locks, buf_slice(&sc->next));
        has_lock = storage_iter_valid(sc->locks);
        err = storage_iter_status(sc->locks);
        if (err != TKV_OK)
            break;
        if (!has_write && !has_lock) {
            sc->done = 1;
            break;
        }
        /* The candidate is the smaller front; is_locked says whether the lock
         * iterator stands on it. */
        tkv_slice_t lkey = has_lock ? storage_iter_key(sc->locks) : slice_of(NULL, 0);
        int cmp = !has_lock ? -1 : !has_write ? 1 : slice_compare(buf_slice(&wkey), lkey);
        tkv_slice_t cand = cmp <= 0 ? buf_slice(&wkey) : lkey;
        buf_set(key, cand.data, cand.len);
        int is_locked = cmp >= 0;
        /* Whatever happens next, the following round starts just after `key`:
         * key ++ 0x00 is the smallest key greater than key. */
        buf_set(&sc->next, key->data, key->len);
        buf_append_byte(&sc->next, 0);

        if (is_locked) {
            err = mvcc_lock_decode(storage_iter_value(sc->locks), lock);
            if (err != TKV_OK)
                break;
            if (lock->start_ts <= sc->txn->start_ts) {
                *kind = MVCC_SCAN_LOCKED;
                break;
            }
        }
        int found = 0;
        err = mvcc_txn_get_value(sc->txn, buf_slice(key), value, &found);
        if (err != TKV_OK)
            break;
        if (found)
            *kind = MVCC_SCAN_VALUE;
    }
    buf_free(&wkey);
    if (err != TKV_OK)
        *kind = MVCC_SCAN_DONE;
    return err;
    /* LAB 4C STUB
    (void)sc;
    (void)key;
    (void)value;
    (void)lock;
    *kind = MVCC_SCAN_DONE;
    return tkv_not_implemented("mvcc_scanner_next");
    LAB 4C END */
}
