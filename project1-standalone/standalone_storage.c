/*
 * Standalone storage (standalone_storage.h): writes go to leveldb as one
 * atomic batch; a reader is a leveldb snapshot, so everything read through
 * one reader comes from the same moment even while writes continue.
 *
 * Column families are the engine's (common/engine.h): a key prefix, hidden
 * from readers by the engine's iterators.
 */
#include <stdlib.h>
#include <string.h>

#include "project1-standalone/standalone_storage.h"

typedef struct {
    storage_t base;
    char *dir;
    eng_t *eng; /* NULL until started */
    int sync;   /* every write waits until it is on disk (standalone_storage_set_sync) */
} standalone_t;

typedef struct {
    storage_reader_t base;
    eng_t *eng;
    eng_snap_t *snap;
} standalone_reader_t;

static tkv_err_t standalone_start(storage_t *s)
{
    standalone_t *st = (standalone_t *)s;
    if (st->eng != NULL)
        return TKV_OK;
    return eng_open(st->dir, &st->eng);
}

static void standalone_stop(storage_t *s)
{
    standalone_t *st = (standalone_t *)s;
    eng_close(st->eng);
    st->eng = NULL;
}

static void standalone_free(storage_t *s)
{
    standalone_t *st = (standalone_t *)s;
    standalone_stop(s);
    free(st->dir);
    free(st);
}

static tkv_err_t standalone_write(storage_t *s, const Kvrpcpb__Context *ctx,
                                  const storage_modify_t *mods, size_t n)
{
    /* LAB 1 BEGIN */
    standalone_t *st = (standalone_t *)s;
    (void)ctx; /* one database, no regions */
    if (st->eng == NULL)
        return tkv_errorf(TKV_ERR_CLOSED, "standalone storage in %s is not started", st->dir);
    /* Check every modify before writing any, so a bad one writes nothing. */
    for (size_t i = 0; i < n; i++) {
        if (!eng_cf_valid(mods[i].cf))
            return tkv_errorf(TKV_ERR_INVALID, "modify %zu names unknown column family '%s'", i,
                              mods[i].cf ? mods[i].cf : "(null)");
    }
    eng_batch_t *batch = eng_batch_new();
    for (size_t i = 0; i < n; i++) {
        if (mods[i].kind == MODIFY_PUT)
            eng_batch_put(batch, mods[i].cf, mods[i].key, mods[i].value);
        else
            eng_batch_delete(batch, mods[i].cf, mods[i].key);
    }
    tkv_err_t e = eng_write(st->eng, batch, st->sync);
    eng_batch_free(batch);
    return e;
    /* LAB 1 STUB
    (void)s;
    (void)ctx;
    (void)mods;
    (void)n;
    return tkv_not_implemented("standalone_write");
    LAB 1 END */
}

static tkv_err_t reader_get(storage_reader_t *r, const char *cf, tkv_slice_t key, tkv_buf_t *val)
{
    /* LAB 1 BEGIN */
    standalone_reader_t *sr = (standalone_reader_t *)r;
    if (!eng_cf_valid(cf))
        return tkv_errorf(TKV_ERR_INVALID, "unknown column family '%s'", cf ? cf : "(null)");
    return eng_get_at(sr->eng, sr->snap, cf, key, val);
    /* LAB 1 STUB
    (void)r;
    (void)cf;
    (void)key;
    (void)val;
    return tkv_not_implemented("standalone reader_get");
    LAB 1 END */
}

static storage_iter_t *reader_iter(storage_reader_t *r, const char *cf)
{
    standalone_reader_t *sr = (standalone_reader_t *)r;
    return storage_iter_new(sr->eng, sr->snap, cf, slice_of(NULL, 0));
}

static void reader_free(storage_reader_t *r)
{
    standalone_reader_t *sr = (standalone_reader_t *)r;
    eng_snapshot_free(sr->snap);
    free(sr);
}

static const struct storage_reader_ops standalone_reader_ops = {
    .get_cf = reader_get,
    .iter_cf = reader_iter,
    .close = reader_free,
};

static tkv_err_t standalone_reader(storage_t *s, const Kvrpcpb__Context *ctx,
                                   storage_reader_t **out)
{
    /* LAB 1 BEGIN */
    standalone_t *st = (standalone_t *)s;
    (void)ctx;
    if (st->eng == NULL)
        return tkv_errorf(TKV_ERR_CLOSED, "standalone storage in %s is not started", st->dir);
    standalone_reader_t *r = xcalloc(1, sizeof(*r));
    r->base.ops = &standalone_reader_ops;
    r->eng = st->eng;
    r->snap = eng_snapshot(st->eng);
    *out = &r->base;
    return TKV_OK;
    /* LAB 1 STUB
    (void)s;
    (void)ctx;
    (void)standalone_reader_ops;
    *out = NULL;
    return tkv_not_implemented("standalone_reader");
    LAB 1 END */
}

static const struct storage_ops standalone_ops = {
    .start = standalone_start,
    .stop = standalone_stop,
    .free = standalone_free,
    .write = standalone_write,
    .reader = standalone_reader,
};

tkv_err_t standalone_storage_new(const char *dir, storage_t **out)
{
    if (dir == NULL || *dir == '\0')
        return tkv_errorf(TKV_ERR_INVALID, "standalone storage needs a data directory");
    standalone_t *st = xcalloc(1, sizeof(*st));
    st->base.ops = &standalone_ops;
    st->dir = strdup(dir);
    *out = &st->base;
    return TKV_OK;
}

void standalone_storage_set_sync(storage_t *s, int sync)
{
    ((standalone_t *)s)->sync = sync != 0;
}

int standalone_storage_syncs(const storage_t *s)
{
    return ((const standalone_t *)s)->sync;
}
