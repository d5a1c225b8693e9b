/*
 * Iterators over one column family (engine.h). The iterator seeks to
 * cf "_" key and stops as soon as a key no longer starts with cf "_", so the
 * caller never sees another family's keys nor the prefix itself.
 */
#include <stdlib.h>
#include <string.h>

#include "common/engine_impl.h"

struct eng_iter {
    leveldb_iterator_t *it;
    tkv_buf_t prefix; /* cf "_", or empty for raw iteration */
    tkv_buf_t scratch;
};

eng_iter_t *eng_iter_new(eng_t *eng, const eng_snap_t *snap, const char *cf)
{
    eng_iter_t *it = xcalloc(1, sizeof(*it));
    it->it = leveldb_create_iterator(eng->db, snap ? snap->read : eng->read_latest);
    if (cf != NULL)
        eng_full_key(&it->prefix, cf, slice_of(NULL, 0));
    return it;
}

void eng_iter_free(eng_iter_t *it)
{
    if (it == NULL)
        return;
    leveldb_iter_destroy(it->it);
    buf_free(&it->prefix);
    buf_free(&it->scratch);
    free(it);
}

void eng_iter_seek(eng_iter_t *it, tkv_slice_t key)
{
    buf_set(&it->scratch, it->prefix.data, it->prefix.len);
    buf_append(&it->scratch, key.data, key.len);
    leveldb_iter_seek(it->it, (const char *)it->scratch.data, it->scratch.len);
}

void eng_iter_seek_first(eng_iter_t *it)
{
    eng_iter_seek(it, slice_of(NULL, 0));
}

int eng_iter_valid(const eng_iter_t *it)
{
    if (!leveldb_iter_valid(it->it))
        return 0;
    size_t klen = 0;
    const char *k = leveldb_iter_key(it->it, &klen);
    return klen >= it->prefix.len &&
           (it->prefix.len == 0 || memcmp(k, it->prefix.data, it->prefix.len) == 0);
}

void eng_iter_next(eng_iter_t *it)
{
    leveldb_iter_next(it->it);
}

tkv_slice_t eng_iter_key(const eng_iter_t *it)
{
    size_t klen = 0;
    const char *k = leveldb_iter_key(it->it, &klen);
    return slice_of(k + it->prefix.len, klen - it->prefix.len);
}

tkv_slice_t eng_iter_value(const eng_iter_t *it)
{
    size_t vlen = 0;
    const char *v = leveldb_iter_value(it->it, &vlen);
    return slice_of(v, vlen);
}

tkv_err_t eng_iter_status(const eng_iter_t *it)
{
    char *errptr = NULL;
    leveldb_iter_get_error(it->it, &errptr);
    if (errptr != NULL) {
        tkv_err_t e = tkv_errorf(TKV_ERR_IO, "iteration failed: %s", errptr);
        leveldb_free(errptr);
        return e;
    }
    return TKV_OK;
}
