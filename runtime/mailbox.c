/*
 * The mailbox of mailbox.h: a growable ring of message pointers.
 */
#include <stdlib.h>

#include "common/buf.h"
#include "runtime/mailbox.h"

#define RING_START 8

bs_mailbox_t *mb_new(uint64_t id, void *fsm, size_t cap, int is_control)
{
    bs_mailbox_t *mb = xcalloc(1, sizeof(*mb));
    pthread_mutex_init(&mb->mu, NULL);
    mb->id = id;
    mb->fsm = fsm;
    mb->cap = cap;
    mb->is_control = is_control;
    mb->state = MB_IDLE;
    return mb;
}

void mb_free(bs_mailbox_t *mb, void (*free_msg)(void *))
{
    if (mb == NULL)
        return;
    mb_drop_all(mb, free_msg);
    free(mb->ring);
    pthread_mutex_destroy(&mb->mu);
    free(mb);
}

/* Doubles the ring (not past cap), keeping the messages in order from 0. */
static void ring_grow(bs_mailbox_t *mb)
{
    size_t size = mb->ring_size == 0 ? RING_START : mb->ring_size * 2;
    if (size > mb->cap)
        size = mb->cap;
    void **ring = xmalloc(size * sizeof(*ring));
    for (size_t i = 0; i < mb->len; i++)
        ring[i] = mb->ring[(mb->head + i) % mb->ring_size];
    free(mb->ring);
    mb->ring = ring;
    mb->ring_size = size;
    mb->head = 0;
}

int mb_push(bs_mailbox_t *mb, void *msg)
{
    if (mb->len >= mb->cap)
        return -1;
    if (mb->len == mb->ring_size)
        ring_grow(mb);
    mb->ring[(mb->head + mb->len) % mb->ring_size] = msg;
    mb->len++;
    return 0;
}

size_t mb_take(bs_mailbox_t *mb, void **out, size_t max)
{
    size_t n = mb->len < max ? mb->len : max;
    for (size_t i = 0; i < n; i++) {
        out[i] = mb->ring[mb->head];
        mb->head = (mb->head + 1) % mb->ring_size;
    }
    mb->len -= n;
    return n;
}

void mb_drop_all(bs_mailbox_t *mb, void (*free_msg)(void *))
{
    while (mb->len > 0) {
        void *msg = mb->ring[mb->head];
        mb->head = (mb->head + 1) % mb->ring_size;
        mb->len--;
        if (free_msg != NULL)
            free_msg(msg);
    }
}
