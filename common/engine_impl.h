/*
 * What engine.c, engine_batch.c and engine_iter.c share: the structs behind
 * engine.h's opaque types and the key-prefix rule. Not for use outside them.
 */
#ifndef TKV_COMMON_ENGINE_IMPL_H
#define TKV_COMMON_ENGINE_IMPL_H

#include <leveldb/c.h>

#include "common/engine.h"

struct eng {
    leveldb_t *db;
    leveldb_options_t *options;
    leveldb_readoptions_t *read_latest;
    leveldb_writeoptions_t *write_nosync;
    leveldb_writeoptions_t *write_sync;
    char *path;
    /* Deferred syncs (engine.h): synced writes go out unsynced while
     * `defer` is set and leave `dirty` for eng_sync(); `sync_first` is the
     * engine synced before any synced write of this one. */
    int defer, dirty;
    eng_t *sync_first;
    uint64_t writes; /* successful eng_write() calls (eng_write_count) */
};

struct eng_snap {
    eng_t *eng;
    const leveldb_snapshot_t *snap;
    leveldb_readoptions_t *read;
};

struct eng_batch {
    leveldb_writebatch_t *wb;
    size_t count;
    tkv_buf_t scratch; /* prefixed keys are built here */
};

/* Stores cf "_" key in `out` (or the key alone when cf is NULL). */
void eng_full_key(tkv_buf_t *out, const char *cf, tkv_slice_t key);

#endif
