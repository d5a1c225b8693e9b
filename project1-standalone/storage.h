/*
 * The Storage interface: what every key-value layer above talks to.
 *
 * A storage takes writes as batches of modifies (put or delete, each in a
 * column family) applied all together, and serves reads through a reader: a
 * consistent view that can get one key of a column family or iterate one
 * column family in key order. Project 1 implements it on one leveldb
 * database (standalone_storage.h); project 2 implements it again on a Raft
 * group (the replicated store), and the raw API (raw_api.h) and the
 * transaction layer (project 4) work on either without knowing which.
 *
 * A storage is an object with a table of operations, as in a kernel's VFS:
 * storage_t is embedded first in the implementation's own struct.
 *
 * Ownership: the creator of a storage frees it with storage_free() after
 * storage_stop(). A reader belongs to whoever asked for it and is closed with
 * reader_close() before the storage stops. Modifies are borrowed by
 * storage_write() for the duration of the call.
 */
#ifndef TKV_P1_STORAGE_H
#define TKV_P1_STORAGE_H

#include <stddef.h>

#include "common/buf.h"
#include "common/engine.h"
#include "common/err.h"
#include "proto/kvrpcpb.pb-c.h"

typedef enum {
    MODIFY_PUT,
    MODIFY_DELETE,
} modify_kind_t;

/* One change in a write batch. `value` is ignored for deletes. */
typedef struct {
    modify_kind_t kind;
    const char *cf;
    tkv_slice_t key;
    tkv_slice_t value;
} storage_modify_t;

typedef struct storage storage_t;
typedef struct storage_reader storage_reader_t;
typedef struct storage_iter storage_iter_t;

struct storage_ops {
    tkv_err_t (*start)(storage_t *s);
    void (*stop)(storage_t *s);
    void (*free)(storage_t *s);
    tkv_err_t (*write)(storage_t *s, const Kvrpcpb__Context *ctx, const storage_modify_t *mods,
                       size_t n);
    tkv_err_t (*reader)(storage_t *s, const Kvrpcpb__Context *ctx, storage_reader_t **out);
};

struct storage {
    const struct storage_ops *ops;
};

struct storage_reader_ops {
    tkv_err_t (*get_cf)(storage_reader_t *r, const char *cf, tkv_slice_t key, tkv_buf_t *val);
    storage_iter_t *(*iter_cf)(storage_reader_t *r, const char *cf);
    void (*close)(storage_reader_t *r);
};

struct storage_reader {
    const struct storage_reader_ops *ops;
};

/* ---- the storage ------------------------------------------------------- */

tkv_err_t storage_start(storage_t *s);
void storage_stop(storage_t *s);
void storage_free(storage_t *s);

/* Applies mods[0..n) atomically. `ctx` names the region the client
 * addressed (NULL or ignored by standalone storage). An unknown column
 * family is TKV_ERR_INVALID, with a message naming it, and writes nothing. */
tkv_err_t storage_write(storage_t *s, const Kvrpcpb__Context *ctx, const storage_modify_t *mods,
                        size_t n);

/* Convenience for one put or one delete. */
tkv_err_t storage_put(storage_t *s, const char *cf, tkv_slice_t key, tkv_slice_t value);
tkv_err_t storage_delete(storage_t *s, const char *cf, tkv_slice_t key);

/* A reader over a consistent view of the data as of this call. */
tkv_err_t storage_reader(storage_t *s, const Kvrpcpb__Context *ctx, storage_reader_t **out);

/* ---- readers ------------------------------------------------------------- */

/* Fills `val`; TKV_ERR_NOT_FOUND when the key is absent from the family. */
tkv_err_t reader_get_cf(storage_reader_t *r, const char *cf, tkv_slice_t key, tkv_buf_t *val);
/* A new unpositioned iterator over family `cf`; the caller frees it with
 * storage_iter_free() before closing the reader. */
storage_iter_t *reader_iter_cf(storage_reader_t *r, const char *cf);
void reader_close(storage_reader_t *r);

/* ---- iterators ------------------------------------------------------------
 * Every storage in this course keeps data in leveldb, so there is one iterator
 * type: a column family of an engine, as of a snapshot, optionally stopped
 * before `end` (an empty end means no bound). Keys and values returned are
 * borrowed until the iterator moves or is freed.
 *
 * An iterator that stops being valid has either reached the end of its
 * range or met a read error (an I/O failure, a damaged table file): only
 * storage_iter_status() tells which. Every scan checks it before trusting
 * that it saw everything; leveldb may even step over a damaged block and go
 * on with the next one, so the keys seen are not all there were. */

storage_iter_t *storage_iter_new(eng_t *eng, const eng_snap_t *snap, const char *cf,
                                 tkv_slice_t end);
void storage_iter_free(storage_iter_t *it);
void storage_iter_seek(storage_iter_t *it, tkv_slice_t key); /* first key >= key */
int storage_iter_valid(const storage_iter_t *it);
void storage_iter_next(storage_iter_t *it);
tkv_slice_t storage_iter_key(const storage_iter_t *it);
tkv_slice_t storage_iter_value(const storage_iter_t *it);
/* TKV_OK, or the error (TKV_ERR_IO, leveldb's reason in the message) met by
 * any move so far: the keys the iterator produced are then incomplete. */
tkv_err_t storage_iter_status(const storage_iter_t *it);

#endif
