/*
 * Growable byte buffers and slices (buf.h), and the allocation wrappers the
 * rest of the tree uses.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

static void out_of_memory(size_t n)
{
    fprintf(stderr, "tinykv: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        out_of_memory(n);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p == NULL)
        out_of_memory(count * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        out_of_memory(n);
    return q;
}

void buf_init(tkv_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_free(tkv_buf_t *b)
{
    free(b->data);
    buf_init(b);
}

void buf_clear(tkv_buf_t *b)
{
    b->len = 0;
}

void buf_reserve(tkv_buf_t *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 16;
    while (cap < b->len + extra)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
}

void buf_append(tkv_buf_t *b, const void *data, size_t len)
{
    if (len == 0)
        return;
    buf_reserve(b, len);
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

void buf_append_byte(tkv_buf_t *b, uint8_t byte)
{
    buf_append(b, &byte, 1);
}

void buf_set(tkv_buf_t *b, const void *data, size_t len)
{
    buf_clear(b);
    buf_append(b, data, len);
}

uint8_t *buf_take(tkv_buf_t *b)
{
    uint8_t *p = b->data;
    buf_init(b);
    return p;
}

tkv_slice_t slice_of(const void *data, size_t len)
{
    tkv_slice_t s = { data, len };
    return s;
}

tkv_slice_t slice_of_str(const char *s)
{
    return slice_of(s, strlen(s));
}

tkv_slice_t buf_slice(const tkv_buf_t *b)
{
    return slice_of(b->data, b->len);
}

int slice_compare(tkv_slice_t a, tkv_slice_t b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.data, b.data, n) : 0;
    if (c != 0)
        return c;
    return (a.len > b.len) - (a.len < b.len);
}

int slice_equal(tkv_slice_t a, tkv_slice_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

uint8_t *bytes_dup(const void *data, size_t len)
{
    if (len == 0)
        return NULL;
    uint8_t *p = xmalloc(len);
    memcpy(p, data, len);
    return p;
}
