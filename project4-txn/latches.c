/*
 * Latches (latches.h) as a set of held keys under one mutex. The set is a
 * plain array searched linearly: it holds only the keys of commands running
 * right now, a handful at a time.
 */
#include <pthread.h>
#include <stdlib.h>

#include "project4-txn/latches.h"

struct latches {
    pthread_mutex_t mu;
    pthread_cond_t released;
    tkv_buf_t *held;
    size_t n_held;
    size_t cap_held;
    size_t waiting;
};

latches_t *latches_new(void)
{
    latches_t *l = xcalloc(1, sizeof(*l));
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->released, NULL);
    return l;
}

void latches_free(latches_t *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->n_held; i++)
        buf_free(&l->held[i]);
    free(l->held);
    pthread_cond_destroy(&l->released);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

static long find_held(const latches_t *l, tkv_slice_t key)
{
    for (size_t i = 0; i < l->n_held; i++)
        if (slice_equal(buf_slice(&l->held[i]), key))
            return (long)i;
    return -1;
}

static int any_held(const latches_t *l, const tkv_slice_t *keys, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (find_held(l, keys[i]) >= 0)
            return 1;
    return 0;
}

/* Adds each key once (a command may name a key twice). */
static void hold_all(latches_t *l, const tkv_slice_t *keys, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (find_held(l, keys[i]) >= 0)
            continue;
        if (l->n_held == l->cap_held) {
            l->cap_held = l->cap_held ? l->cap_held * 2 : 16;
            l->held = xrealloc(l->held, l->cap_held * sizeof(*l->held));
        }
        buf_init(&l->held[l->n_held]);
        buf_set(&l->held[l->n_held], keys[i].data, keys[i].len);
        l->n_held++;
    }
}

void latches_acquire(latches_t *l, const tkv_slice_t *keys, size_t n)
{
    pthread_mutex_lock(&l->mu);
    while (any_held(l, keys, n)) {
        l->waiting++;
        pthread_cond_wait(&l->released, &l->mu);
        l->waiting--;
    }
    hold_all(l, keys, n);
    pthread_mutex_unlock(&l->mu);
}

int latches_try_acquire(latches_t *l, const tkv_slice_t *keys, size_t n)
{
    pthread_mutex_lock(&l->mu);
    int ok = !any_held(l, keys, n);
    if (ok)
        hold_all(l, keys, n);
    pthread_mutex_unlock(&l->mu);
    return ok;
}

void latches_release(latches_t *l, const tkv_slice_t *keys, size_t n)
{
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < n; i++) {
        long at = find_held(l, keys[i]);
        if (at < 0)
            continue; /* a duplicate already released */
        buf_free(&l->held[at]);
        l->held[at] = l->held[--l->n_held];
    }
    pthread_cond_broadcast(&l->released);
    pthread_mutex_unlock(&l->mu);
}

size_t latches_waiting(latches_t *l)
{
    pthread_mutex_lock(&l->mu);
    size_t n = l->waiting;
    pthread_mutex_unlock(&l->mu);
    return n;
}
