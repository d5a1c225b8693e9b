/*
 * The frame around each Kv* command (txn_cmd.h). The order matters: latches
 * first, snapshot second, so a command decides on data no other command on
 * its keys can change before its own write lands.
 */
#include <stdlib.h>
#include <string.h>

#include "project4-txn/txn_cmd.h"

tkv_err_t txn_cmd_begin(txn_cmd_t *c, storage_t *s, latches_t *l, const Kvrpcpb__Context *ctx,
                        uint64_t start_ts, const tkv_slice_t *keys, size_t n)
{
    memset(c, 0, sizeof(*c));
    c->storage = s;
    c->ctx = ctx;
    c->keys = keys;
    c->n_keys = n;
    if (l != NULL && n > 0) {
        latches_acquire(l, keys, n);
        c->latches = l;
    }
    tkv_err_t err = storage_reader(s, ctx, &c->reader);
    if (err != TKV_OK) {
        c->reader = NULL;
        return err;
    }
    mvcc_txn_init(&c->txn, c->reader, start_ts);
    return TKV_OK;
}

tkv_err_t txn_cmd_apply(txn_cmd_t *c)
{
    return mvcc_txn_write(&c->txn, c->storage, c->ctx);
}

void txn_cmd_end(txn_cmd_t *c)
{
    if (c->reader != NULL) {
        mvcc_txn_free(&c->txn);
        reader_close(c->reader);
        c->reader = NULL;
    }
    if (c->latches != NULL) {
        latches_release(c->latches, c->keys, c->n_keys);
        c->latches = NULL;
    }
}

tkv_slice_t *txn_keys_of(ProtobufCBinaryData *keys, size_t n)
{
    tkv_slice_t *out = xcalloc(n ? n : 1, sizeof(*out));
    for (size_t i = 0; i < n; i++)
        out[i] = slice_of(keys[i].data, keys[i].len);
    return out;
}
