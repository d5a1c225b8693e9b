/*
 * The storage engine: a leveldb database with column families.
 *
 * leveldb has one flat key space. TinyKV needs three column families
 * (default, lock, write: see project 4) and, in the replicated store, a place
 * for its own metadata. Both live in that one key space:
 *
 *   - a key in column family `cf` is stored as  cf "_" key   ("lock_abc");
 *   - a raw key (cf == NULL) is stored as it is. Raw keys are for metadata
 *     (Raft state, apply state...) and, by convention, start with a byte
 *     below 'a' (see project2-raft/raftstore/keys.h) so they never collide
 *     with a column family.
 *
 * Iterators over a column family hide the prefix and stop at its end, so a
 * caller sees only its own keys, in byte order.
 *
 * Ownership: eng_open() returns a handle the caller closes with eng_close().
 * Values are returned in caller-owned tkv_buf_t's. Batches, snapshots and
 * iterators are owned by whoever created them and freed with their _free();
 * an iterator or snapshot must be freed before its engine is closed.
 */
#ifndef TKV_COMMON_ENGINE_H
#define TKV_COMMON_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "common/buf.h"
#include "common/err.h"

#define CF_DEFAULT "default"
#define CF_LOCK    "lock"
#define CF_WRITE   "write"

typedef struct eng eng_t;
typedef struct eng_batch eng_batch_t;
typedef struct eng_snap eng_snap_t;
typedef struct eng_iter eng_iter_t;

/* True for "default", "lock" and "write". */
int eng_cf_valid(const char *cf);

/* Opens (creating if needed) the database in directory `path`.
 * TKV_ERR_BUSY when another process has it open; TKV_ERR_IO with leveldb's
 * reason for anything else (missing parent, corrupt files...). */
tkv_err_t eng_open(const char *path, eng_t **out);
void eng_close(eng_t *eng);
/* The directory it was opened in (borrowed, for messages). */
const char *eng_path(const eng_t *eng);
/* Deletes a closed database's files. */
tkv_err_t eng_destroy(const char *path);

/* ---- single-key access; cf NULL means a raw key. ------------------------- */

/* Fills `val` (replacing its content); TKV_ERR_NOT_FOUND when absent. */
tkv_err_t eng_get(eng_t *eng, const char *cf, tkv_slice_t key, tkv_buf_t *val);
tkv_err_t eng_put(eng_t *eng, const char *cf, tkv_slice_t key, tkv_slice_t val);
/* Deleting a missing key is not an error. */
tkv_err_t eng_delete(eng_t *eng, const char *cf, tkv_slice_t key);

/* Protobuf messages under raw keys. *out is caller-owned: free it with
 * protobuf_c_message_free_unpacked(*out, NULL). TKV_ERR_NOT_FOUND when
 * absent, TKV_ERR_CORRUPT when the bytes are not a `desc` message. */
tkv_err_t eng_get_msg(eng_t *eng, tkv_slice_t key, const ProtobufCMessageDescriptor *desc,
                      ProtobufCMessage **out);
tkv_err_t eng_put_msg(eng_t *eng, tkv_slice_t key, const ProtobufCMessage *msg);

/* ---- write batches: applied atomically by eng_write(). ------------------- */

eng_batch_t *eng_batch_new(void);
void eng_batch_free(eng_batch_t *b);
void eng_batch_clear(eng_batch_t *b);
/* Number of puts and deletes added since creation or the last clear. */
size_t eng_batch_count(const eng_batch_t *b);
void eng_batch_put(eng_batch_t *b, const char *cf, tkv_slice_t key, tkv_slice_t val);
void eng_batch_delete(eng_batch_t *b, const char *cf, tkv_slice_t key);
void eng_batch_put_msg(eng_batch_t *b, tkv_slice_t key, const ProtobufCMessage *msg);
/* `sync`: wait until the write is on disk (what Raft needs before it answers). */
tkv_err_t eng_write(eng_t *eng, eng_batch_t *b, int sync);
/* How many writes (eng_write, eng_put, eng_delete...) have changed `eng`
 * since it was opened: a reader may keep what it read until this moves. */
uint64_t eng_write_count(const eng_t *eng);

/* ---- deferred syncs: many synced writes for the price of one sync --------
 *
 * While eng_defer_syncs(eng, 1) holds, a synced write of `eng` is written
 * unsynced (in order, visible to reads, kept by a killed process) and only
 * reaches the disk at the next eng_sync(eng). eng_sync_before(a, b) adds the
 * ordering rule that makes this safe for a store: before any synced write of
 * `a`, the deferred writes of `b` are synced. The server runtime defers the
 * kv DB's syncs for a round (apply writes one batch per entry) with
 * eng_sync_before(raft DB, kv DB): no Raft log write, a log GC's deletions
 * included, ever reaches the disk ahead of an apply state written before
 * it, so a power cut loses only applies the log still holds. Neither takes
 * ownership; the engine named must outlive the rule (or set it to NULL). */
void eng_defer_syncs(eng_t *eng, int on);
void eng_sync_before(eng_t *eng, eng_t *first);
/* Makes every deferred write of `eng` durable (nothing to do if none). */
tkv_err_t eng_sync(eng_t *eng);
/* Whether `eng` holds deferred writes not synced yet. */
int eng_unsynced(const eng_t *eng);

/* ---- consistent reads ------------------------------------------------------ */

/* A point-in-time view: reads through it ignore later writes. */
eng_snap_t *eng_snapshot(eng_t *eng);
void eng_snapshot_free(eng_snap_t *snap);
/* eng_get() as of `snap` (NULL: latest). */
tkv_err_t eng_get_at(eng_t *eng, const eng_snap_t *snap, const char *cf, tkv_slice_t key,
                     tkv_buf_t *val);

/* An iterator over one column family (cf NULL: every raw key, prefixes
 * included), as of `snap` (NULL: latest). It starts unpositioned: seek first.
 * Keys and values it returns are borrowed until the next move or free. */
eng_iter_t *eng_iter_new(eng_t *eng, const eng_snap_t *snap, const char *cf);
void eng_iter_free(eng_iter_t *it);
void eng_iter_seek(eng_iter_t *it, tkv_slice_t key); /* first key >= key */
void eng_iter_seek_first(eng_iter_t *it);
int eng_iter_valid(const eng_iter_t *it);
void eng_iter_next(eng_iter_t *it);
tkv_slice_t eng_iter_key(const eng_iter_t *it);
tkv_slice_t eng_iter_value(const eng_iter_t *it);
/* TKV_OK, or TKV_ERR_IO if iteration stopped on an error. */
tkv_err_t eng_iter_status(const eng_iter_t *it);

#endif
