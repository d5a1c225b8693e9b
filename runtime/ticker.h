/*
 * One tick source for a whole store.
 *
 * Raft needs a tick per peer every base interval (elections and heartbeats
 * count ticks, not milliseconds). A thread or a timer per region would cost
 * ten thousand of them for ten thousand regions; instead one libuv timer on
 * one thread fires every `base_ms` and calls one function, which for the
 * store is ticker_tick_batch_system(): a tick to every registered FSM at once
 * (a counter bump per mailbox, see batch_system.h), served by the pollers
 * with everything else.
 *
 * A tick that fires while an FSM is still busy is not lost: the count piles
 * up and arrives with its next turn. The timer does not catch up after a
 * stall (a stopped process, an overloaded machine) by firing many times at
 * once: libuv schedules the next fire from the time of the last one, so a
 * stalled store sees time pass slower, which Raft tolerates and which is
 * better than an election storm after a pause.
 *
 *     ticker_t *t;
 *     ticker_start(100, ticker_tick_batch_system, sys, &t);
 *     ...
 *     ticker_stop(t);   // joins the thread; no call to fn after it returns
 *     ticker_free(t);
 *
 * Ownership: the caller owns the ticker; `arg` is borrowed until
 * ticker_stop() returns. `fn` runs on the ticker's own thread.
 */
#ifndef TKV_RUNTIME_TICKER_H
#define TKV_RUNTIME_TICKER_H

#include <stdint.h>

#include "common/err.h"

typedef void (*ticker_fn)(void *arg);

typedef struct ticker ticker_t;

/* Starts a thread that calls fn(arg) every base_ms milliseconds (1..60000;
 * TKV_ERR_INVALID otherwise). The first call comes base_ms after the start. */
tkv_err_t ticker_start(uint32_t base_ms, ticker_fn fn, void *arg, ticker_t **out);

/* How many times fn has been called. */
uint64_t ticker_count(ticker_t *t);

/* Stops the timer and joins its thread. Safe to call twice. */
void ticker_stop(ticker_t *t);

/* Stops if needed and frees. NULL is fine. */
void ticker_free(ticker_t *t);

/* A ticker_fn for a bs_system_t (batch_system.h): one tick to every FSM and
 * to the control FSM. A system that is shutting down ignores it. */
void ticker_tick_batch_system(void *bs_system);

#endif
