/*
 * A growable list of key-value pairs: what the clients' scans return.
 *
 * Ownership: the list owns its pairs' bytes; kv_list_free() frees them and
 * leaves an empty list. A list starts zeroed (KV_LIST_INIT).
 */
#ifndef TKV_CLIENT_KV_LIST_H
#define TKV_CLIENT_KV_LIST_H

#include <stddef.h>

#include "common/buf.h"

typedef struct {
    tkv_buf_t key;
    tkv_buf_t value;
} kv_pair_t;

typedef struct {
    kv_pair_t *items;
    size_t n, cap;
} kv_list_t;

#define KV_LIST_INIT                                                                               \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Appends a copy of key and value. */
void kv_list_push(kv_list_t *l, tkv_slice_t key, tkv_slice_t value);
void kv_list_free(kv_list_t *l);

#endif
