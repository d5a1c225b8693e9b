/* The clients' list of pairs (kv_list.h). */
#include <stdlib.h>

#include "client/kv_list.h"

void kv_list_push(kv_list_t *l, tkv_slice_t key, tkv_slice_t value)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->items = xrealloc(l->items, l->cap * sizeof(*l->items));
    }
    kv_pair_t *p = &l->items[l->n++];
    buf_init(&p->key);
    buf_init(&p->value);
    buf_set(&p->key, key.data, key.len);
    buf_set(&p->value, value.data, value.len);
}

void kv_list_free(kv_list_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        buf_free(&l->items[i].key);
        buf_free(&l->items[i].value);
    }
    free(l->items);
    l->items = NULL;
    l->n = l->cap = 0;
}
