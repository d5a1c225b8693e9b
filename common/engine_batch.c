/*
 * Write batches (engine.h): puts and deletes, across column families and raw
 * keys, that reach the database together or not at all. The Raft store leans
 * on this: entries and hard state in one batch, applied data and apply state
 * in another, so a crash never leaves one without the other.
 */
#include <stdlib.h>

#include "common/engine_impl.h"
#include "common/failpoint.h"

eng_batch_t *eng_batch_new(void)
{
    eng_batch_t *b = xcalloc(1, sizeof(*b));
    b->wb = leveldb_writebatch_create();
    return b;
}

void eng_batch_free(eng_batch_t *b)
{
    if (b == NULL)
        return;
    leveldb_writebatch_destroy(b->wb);
    buf_free(&b->scratch);
    free(b);
}

void eng_batch_clear(eng_batch_t *b)
{
    leveldb_writebatch_clear(b->wb);
    b->count = 0;
}

size_t eng_batch_count(const eng_batch_t *b)
{
    return b->count;
}

void eng_batch_put(eng_batch_t *b, const char *cf, tkv_slice_t key, tkv_slice_t val)
{
    eng_full_key(&b->scratch, cf, key);
    leveldb_writebatch_put(b->wb, (const char *)b->scratch.data, b->scratch.len,
                           (const char *)val.data, val.len);
    b->count++;
}

void eng_batch_delete(eng_batch_t *b, const char *cf, tkv_slice_t key)
{
    eng_full_key(&b->scratch, cf, key);
    leveldb_writebatch_delete(b->wb, (const char *)b->scratch.data, b->scratch.len);
    b->count++;
}

void eng_batch_put_msg(eng_batch_t *b, tkv_slice_t key, const ProtobufCMessage *msg)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    uint8_t *packed = xmalloc(n);
    protobuf_c_message_pack(msg, packed);
    eng_batch_put(b, NULL, key, slice_of(packed, n));
    free(packed);
}

tkv_err_t eng_write(eng_t *eng, eng_batch_t *b, int sync)
{
    /* Tests make the N-th write fail, or crash the process just before it
     * (common/failpoint.h): a dead process's writes never reach the disk. */
    failpoint_action_t fp = FAILPOINT("engine.write");
    if (fp == FAILPOINT_ERROR)
        return tkv_errorf(TKV_ERR_IO, "write of %zu changes to %s failed: injected by fail point",
                          b->count, eng->path);
    if (fp == FAILPOINT_CRASH)
        return TKV_OK;
    if (sync && eng->defer) {
        sync = 0;
        eng->dirty = 1;
    } else if (sync && eng->sync_first != NULL) {
        tkv_err_t e = eng_sync(eng->sync_first);
        if (e != TKV_OK)
            return e;
    }
    char *errptr = NULL;
    leveldb_write(eng->db, sync ? eng->write_sync : eng->write_nosync, b->wb, &errptr);
    if (errptr != NULL) {
        tkv_err_t e = tkv_errorf(TKV_ERR_IO, "write of %zu changes to %s failed: %s", b->count,
                                 eng->path, errptr);
        leveldb_free(errptr);
        return e;
    }
    eng->writes++;
    return TKV_OK;
}

uint64_t eng_write_count(const eng_t *eng)
{
    return eng->writes;
}

void eng_defer_syncs(eng_t *eng, int on)
{
    eng->defer = on;
}

void eng_sync_before(eng_t *eng, eng_t *first)
{
    eng->sync_first = first;
}

tkv_err_t eng_sync(eng_t *eng)
{
    if (!eng->dirty)
        return TKV_OK;
    /* An empty synced write: leveldb syncs its log, and with it every write
     * before this one. */
    leveldb_writebatch_t *empty = leveldb_writebatch_create();
    char *errptr = NULL;
    leveldb_write(eng->db, eng->write_sync, empty, &errptr);
    leveldb_writebatch_destroy(empty);
    if (errptr != NULL) {
        tkv_err_t e = tkv_errorf(TKV_ERR_IO, "sync of %s failed: %s", eng->path, errptr);
        leveldb_free(errptr);
        return e;
    }
    eng->dirty = 0;
    return TKV_OK;
}

int eng_unsynced(const eng_t *eng)
{
    return eng->dirty;
}
