/*
 * Latches: the commands of project 4 that touch the same keys run one after
 * the other; commands on disjoint keys run side by side.
 *
 * A command reads a snapshot, decides, then writes; two prewrites of one key
 * racing through that read-decide-write window could both see "no lock" and
 * both lock the key. Holding a latch on every key a command touches, from
 * before it takes its snapshot until after its write lands, closes the window.
 *
 * The latches are an exact set of the keys currently held (no hashing, so
 * disjoint keys never wait for each other), guarded by one mutex. A command
 * takes all its keys at once or waits for all of them (on one condition
 * variable), so two commands can never each hold part of what the other wants:
 * no deadlock, whatever order the keys come in. Duplicate keys in one command
 * are fine.
 *
 * Ownership: latches_new()'s caller frees with latches_free() when no command
 * holds or waits. Keys passed in are copied; the caller keeps its own.
 */
#ifndef TKV_P4_LATCHES_H
#define TKV_P4_LATCHES_H

#include <stddef.h>

#include "common/buf.h"

typedef struct latches latches_t;

latches_t *latches_new(void);
void latches_free(latches_t *l);

/* Blocks until no other command holds any of keys[0..n), then holds them all. */
void latches_acquire(latches_t *l, const tkv_slice_t *keys, size_t n);
/* Holds all of keys[0..n) and returns 1 if none is held; otherwise holds
 * nothing and returns 0. */
int latches_try_acquire(latches_t *l, const tkv_slice_t *keys, size_t n);
/* Lets go of keys[0..n) (exactly what the matching acquire took) and wakes
 * the waiters. */
void latches_release(latches_t *l, const tkv_slice_t *keys, size_t n);
/* How many commands are blocked in latches_acquire() right now (for tests). */
size_t latches_waiting(latches_t *l);

#endif
