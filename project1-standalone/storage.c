/*
 * The Storage interface's dispatch (storage.h) and its one iterator type.
 * Frame code: the operations themselves live in each implementation.
 */
#include <stdlib.h>

#include "project1-standalone/storage.h"

tkv_err_t storage_start(storage_t *s)
{
    return s->ops->start(s);
}

void storage_stop(storage_t *s)
{
    s->ops->stop(s);
}

void storage_free(storage_t *s)
{
    if (s != NULL)
        s->ops->free(s);
}

tkv_err_t storage_write(storage_t *s, const Kvrpcpb__Context *ctx, const storage_modify_t *mods,
                        size_t n)
{
    return s->ops->write(s, ctx, mods, n);
}

tkv_err_t storage_put(storage_t *s, const char *cf, tkv_slice_t key, tkv_slice_t value)
{
    storage_modify_t m = { MODIFY_PUT, cf, key, value };
    return storage_write(s, NULL, &m, 1);
}

tkv_err_t storage_delete(storage_t *s, const char *cf, tkv_slice_t key)
{
    storage_modify_t m = { MODIFY_DELETE, cf, key, { NULL, 0 } };
    return storage_write(s, NULL, &m, 1);
}

tkv_err_t storage_reader(storage_t *s, const Kvrpcpb__Context *ctx, storage_reader_t **out)
{
    return s->ops->reader(s, ctx, out);
}

tkv_err_t reader_get_cf(storage_reader_t *r, const char *cf, tkv_slice_t key, tkv_buf_t *val)
{
    return r->ops->get_cf(r, cf, key, val);
}

storage_iter_t *reader_iter_cf(storage_reader_t *r, const char *cf)
{
    return r->ops->iter_cf(r, cf);
}

void reader_close(storage_reader_t *r)
{
    if (r != NULL)
        r->ops->close(r);
}

struct storage_iter {
    eng_iter_t *it;
    tkv_buf_t end; /* empty: unbounded */
};

storage_iter_t *storage_iter_new(eng_t *eng, const eng_snap_t *snap, const char *cf,
                                 tkv_slice_t end)
{
    storage_iter_t *it = xcalloc(1, sizeof(*it));
    it->it = eng_iter_new(eng, snap, cf);
    buf_set(&it->end, end.data, end.len);
    return it;
}

void storage_iter_free(storage_iter_t *it)
{
    if (it == NULL)
        return;
    eng_iter_free(it->it);
    buf_free(&it->end);
    free(it);
}

void storage_iter_seek(storage_iter_t *it, tkv_slice_t key)
{
    eng_iter_seek(it->it, key);
}

int storage_iter_valid(const storage_iter_t *it)
{
    if (!eng_iter_valid(it->it))
        return 0;
    return it->end.len == 0 || slice_compare(eng_iter_key(it->it), buf_slice(&it->end)) < 0;
}

void storage_iter_next(storage_iter_t *it)
{
    eng_iter_next(it->it);
}

tkv_slice_t storage_iter_key(const storage_iter_t *it)
{
    return eng_iter_key(it->it);
}

tkv_slice_t storage_iter_value(const storage_iter_t *it)
{
    return eng_iter_value(it->it);
}

tkv_err_t storage_iter_status(const storage_iter_t *it)
{
    return eng_iter_status(it->it);
}
