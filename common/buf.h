/*
 * Byte strings: an owned, growable buffer (tkv_buf_t) and a borrowed view
 * (tkv_slice_t).
 *
 * Keys and values are arbitrary bytes (zero bytes included), so they travel
 * as pointer + length, never as C strings. A tkv_buf_t owns its memory: the
 * one who holds it calls buf_free(). A tkv_slice_t owns nothing: it is valid
 * as long as whatever it points into.
 */
#ifndef TKV_COMMON_BUF_H
#define TKV_COMMON_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t *data; /* NULL while empty and never grown */
    size_t len;
    size_t cap;
} tkv_buf_t;

typedef struct {
    const uint8_t *data;
    size_t len;
} tkv_slice_t;

#define TKV_BUF_INIT                                                                               \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void buf_init(tkv_buf_t *b);
void buf_free(tkv_buf_t *b);
/* Keeps the memory, forgets the bytes. */
void buf_clear(tkv_buf_t *b);
/* Makes room for `extra` more bytes. Aborts the process on out-of-memory:
 * there is nothing a key-value store can do without memory. */
void buf_reserve(tkv_buf_t *b, size_t extra);
void buf_append(tkv_buf_t *b, const void *data, size_t len);
void buf_append_byte(tkv_buf_t *b, uint8_t byte);
/* Replaces the content with a copy of data[0..len). */
void buf_set(tkv_buf_t *b, const void *data, size_t len);
/* Gives up ownership: returns the bytes (caller frees with free()) and leaves
 * `b` empty. */
uint8_t *buf_take(tkv_buf_t *b);

tkv_slice_t slice_of(const void *data, size_t len);
tkv_slice_t slice_of_str(const char *s);
tkv_slice_t buf_slice(const tkv_buf_t *b);
/* memcmp order; a shorter prefix sorts first. */
int slice_compare(tkv_slice_t a, tkv_slice_t b);
int slice_equal(tkv_slice_t a, tkv_slice_t b);

/* A malloc'd copy of data[0..len) (caller frees); NULL only when len is 0. */
uint8_t *bytes_dup(const void *data, size_t len);
/* malloc/calloc/realloc that abort on out-of-memory (see buf_reserve). */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);

#endif
