/*
 * Opening, closing, single-key reads and writes, and snapshots of a leveldb
 * database with column families (engine.h). Batches are in engine_batch.c,
 * iterators in engine_iter.c.
 */
#include <stdlib.h>
#include <string.h>

#include "common/engine_impl.h"

int eng_cf_valid(const char *cf)
{
    return cf != NULL &&
           (strcmp(cf, CF_DEFAULT) == 0 || strcmp(cf, CF_LOCK) == 0 || strcmp(cf, CF_WRITE) == 0);
}

void eng_full_key(tkv_buf_t *out, const char *cf, tkv_slice_t key)
{
    buf_clear(out);
    if (cf != NULL) {
        buf_append(out, cf, strlen(cf));
        buf_append_byte(out, '_');
    }
    buf_append(out, key.data, key.len);
}

/* Turns a leveldb error string into a tkv error, freeing the string. */
static tkv_err_t leveldb_failure(char *errptr, const char *what, const char *path)
{
    tkv_err_t e = tkv_errorf(TKV_ERR_IO, "%s %s: %s", what, path, errptr);
    leveldb_free(errptr);
    return e;
}

tkv_err_t eng_open(const char *path, eng_t **out)
{
    leveldb_options_t *options = leveldb_options_create();
    leveldb_options_set_create_if_missing(options, 1);
    /* Check what we read: a corrupt data directory must be reported, not
     * silently served. */
    leveldb_options_set_paranoid_checks(options, 1);
    char *errptr = NULL;
    leveldb_t *db = leveldb_open(options, path, &errptr);
    if (errptr != NULL) {
        leveldb_options_destroy(options);
        /* leveldb holds an flock on DIR/LOCK while a database is open; its
         * failure is the one error a person can fix by stopping the other
         * user, so it gets a code of its own. */
        if (strncmp(errptr, "IO error: lock ", 15) == 0) {
            tkv_err_t e = tkv_errorf(TKV_ERR_BUSY, "database %s is in use by another process (%s)",
                                     path, errptr);
            leveldb_free(errptr);
            return e;
        }
        return leveldb_failure(errptr, "cannot open database", path);
    }
    eng_t *eng = xcalloc(1, sizeof(*eng));
    eng->db = db;
    eng->options = options;
    eng->read_latest = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(eng->read_latest, 1);
    eng->write_nosync = leveldb_writeoptions_create();
    eng->write_sync = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(eng->write_sync, 1);
    eng->path = strdup(path);
    *out = eng;
    return TKV_OK;
}

void eng_close(eng_t *eng)
{
    if (eng == NULL)
        return;
    (void)eng_sync(eng); /* deferred writes; a failure here has no one to tell */
    leveldb_close(eng->db);
    leveldb_options_destroy(eng->options);
    leveldb_readoptions_destroy(eng->read_latest);
    leveldb_writeoptions_destroy(eng->write_nosync);
    leveldb_writeoptions_destroy(eng->write_sync);
    free(eng->path);
    free(eng);
}

const char *eng_path(const eng_t *eng)
{
    return eng->path;
}

tkv_err_t eng_destroy(const char *path)
{
    leveldb_options_t *options = leveldb_options_create();
    char *errptr = NULL;
    leveldb_destroy_db(options, path, &errptr);
    leveldb_options_destroy(options);
    if (errptr != NULL)
        return leveldb_failure(errptr, "cannot destroy database", path);
    return TKV_OK;
}

static tkv_err_t get_with(eng_t *eng, const leveldb_readoptions_t *ro, const char *cf,
                          tkv_slice_t key, tkv_buf_t *val)
{
    tkv_buf_t full = TKV_BUF_INIT;
    eng_full_key(&full, cf, key);
    size_t vlen = 0;
    char *errptr = NULL;
    char *v = leveldb_get(eng->db, ro, (const char *)full.data, full.len, &vlen, &errptr);
    buf_free(&full);
    if (errptr != NULL)
        return leveldb_failure(errptr, "read failed in", eng->path);
    if (v == NULL)
        return TKV_ERR_NOT_FOUND;
    buf_set(val, v, vlen);
    leveldb_free(v);
    return TKV_OK;
}

tkv_err_t eng_get(eng_t *eng, const char *cf, tkv_slice_t key, tkv_buf_t *val)
{
    return get_with(eng, eng->read_latest, cf, key, val);
}

tkv_err_t eng_get_at(eng_t *eng, const eng_snap_t *snap, const char *cf, tkv_slice_t key,
                     tkv_buf_t *val)
{
    return get_with(eng, snap ? snap->read : eng->read_latest, cf, key, val);
}

tkv_err_t eng_put(eng_t *eng, const char *cf, tkv_slice_t key, tkv_slice_t val)
{
    eng_batch_t *b = eng_batch_new();
    eng_batch_put(b, cf, key, val);
    tkv_err_t e = eng_write(eng, b, 0);
    eng_batch_free(b);
    return e;
}

tkv_err_t eng_delete(eng_t *eng, const char *cf, tkv_slice_t key)
{
    eng_batch_t *b = eng_batch_new();
    eng_batch_delete(b, cf, key);
    tkv_err_t e = eng_write(eng, b, 0);
    eng_batch_free(b);
    return e;
}

tkv_err_t eng_get_msg(eng_t *eng, tkv_slice_t key, const ProtobufCMessageDescriptor *desc,
                      ProtobufCMessage **out)
{
    tkv_buf_t val = TKV_BUF_INIT;
    tkv_err_t e = eng_get(eng, NULL, key, &val);
    if (e != TKV_OK) {
        buf_free(&val);
        return e;
    }
    *out = protobuf_c_message_unpack(desc, NULL, val.len, val.data);
    buf_free(&val);
    if (*out == NULL)
        return tkv_errorf(TKV_ERR_CORRUPT, "value under a %zu-byte meta key in %s is not a %s",
                          key.len, eng->path, desc->name);
    return TKV_OK;
}

tkv_err_t eng_put_msg(eng_t *eng, tkv_slice_t key, const ProtobufCMessage *msg)
{
    eng_batch_t *b = eng_batch_new();
    eng_batch_put_msg(b, key, msg);
    tkv_err_t e = eng_write(eng, b, 0);
    eng_batch_free(b);
    return e;
}

eng_snap_t *eng_snapshot(eng_t *eng)
{
    eng_snap_t *s = xcalloc(1, sizeof(*s));
    s->eng = eng;
    s->snap = leveldb_create_snapshot(eng->db);
    s->read = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(s->read, 1);
    leveldb_readoptions_set_snapshot(s->read, s->snap);
    return s;
}

void eng_snapshot_free(eng_snap_t *s)
{
    if (s == NULL)
        return;
    leveldb_readoptions_destroy(s->read);
    leveldb_release_snapshot(s->eng->db, s->snap);
    free(s);
}
