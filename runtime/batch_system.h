/*
 * The batch system: a few poller threads serve many state machines.
 *
 * This is how the runtime drives the store (after TiKV's batch-system crate):
 * every peer of every region is an FSM with a mailbox, and a fixed pool of
 * poller threads does the work of whichever FSMs have something to do. A
 * store with ten thousand regions, most of them quiet, costs two threads, not
 * ten thousand.
 *
 *   senders (any thread)                  pollers (n threads)
 *   bs_send(id, msg) --> router --> mailbox[id] --+
 *                                                 | first message of an idle
 *                                                 v FSM puts it on the
 *                                            ready queue --> a poller takes up
 *                                                            to max_batch FSMs:
 *                                                            handle() each one,
 *                                                            then end() once
 *
 * A round: a poller takes a batch of ready FSMs, calls ops->handle() for each
 * with the messages waiting in its mailbox, then calls ops->end() once with
 * the whole batch. The store does its disk work in end(): the Raft log entries
 * and hard states of every peer handled in the round go into one write batch
 * and one sync, which is what makes the batch system fast.
 *
 * Each mailbox has a state, IDLE or NOTIFIED. A send to an IDLE mailbox turns
 * it NOTIFIED and queues it; a send to a NOTIFIED one only adds the message.
 * A poller returns the FSM after end(): IDLE if its mailbox is empty, back on
 * the ready queue if not. So an FSM is on the ready queue or in one poller's
 * hands at most once: it never runs on two threads at once, and handle() may
 * touch the FSM without a lock.
 *
 * Mailboxes are bounded: a send to a full one fails with TKV_ERR_BUSY and
 * the caller still owns the message (back-pressure: the store answers
 * ServerIsBusy, the transport drops a Raft message). Ticks are not messages:
 * bs_tick_all() adds to a per-mailbox counter, so a tick never allocates,
 * never meets a full mailbox, and ticks that pile up while an FSM is busy
 * arrive as one count.
 *
 * The control FSM is the store itself (store-wide messages: create a peer,
 * store heartbeat); it is served by the same pollers through
 * ops->handle_control() and is never in the id map.
 *
 * Shutdown: bs_system_shutdown() refuses new sends (TKV_ERR_CLOSED), lets the
 * pollers drain every message already accepted, then joins them. A send that
 * returned TKV_OK is handled, before or during shutdown, unless its FSM was
 * unregistered first.
 *
 * Threads and locks: bs_send(), bs_send_control(), bs_tick_all(),
 * bs_register() and bs_unregister() are safe from any thread, handlers
 * included. The ops run on poller threads with no lock of ours held.
 *
 * Ownership: the caller owns the system (bs_system_free()). A message passed
 * to a send that returns TKV_OK belongs to the system, and then to
 * ops->handle(), which frees or keeps it; messages never handled (their FSM
 * was unregistered, or the system is freed without running) go to
 * ops->free_msg(). An FSM passed to bs_register() belongs to the system until
 * ops->free_fsm() is called for it (after bs_unregister(), once no poller
 * holds it, or in bs_system_free()). The control FSM stays the caller's.
 */
#ifndef TKV_RUNTIME_BATCH_SYSTEM_H
#define TKV_RUNTIME_BATCH_SYSTEM_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* The FSMs of one round, as ops->end() sees them. ids[i] is the id of
 * fsms[i]; the control FSM, when it was served in the round, is not among
 * them: `control` says so. Borrowed for the call. */
typedef struct {
    void *const *fsms;
    const uint64_t *ids;
    size_t n;
    int control;
} bs_batch_t;

/* What the user of the batch system plugs in. Every function runs on a
 * poller thread, except free_msg and free_fsm, which may also run on the
 * thread of bs_unregister() or bs_system_free(). */
typedef struct {
    /* Optional: per-poller state, made on the poller's thread before its
     * first round (index 0..n_pollers-1) and passed as `pctx` to the calls
     * below; NULL here passes the system's ctx instead. */
    void *(*poller_begin)(void *ctx, int index);
    void (*poller_end)(void *pctx);
    /* One FSM's turn: msgs[0..n) in the order they were accepted (the array
     * is borrowed, each message is handle's to free or keep) and `ticks`
     * ticks since its last turn. n may be 0 when only ticks came. */
    void (*handle)(void *pctx, void *fsm, uint64_t id, void **msgs, size_t n, uint32_t ticks);
    /* The control FSM's turn; the same contract. */
    void (*handle_control)(void *pctx, void *control, void **msgs, size_t n, uint32_t ticks);
    /* The end of a round, after every handle() of it; never with an empty batch. */
    void (*end)(void *pctx, const bs_batch_t *batch);
    /* Frees a message that will never be handled. */
    void (*free_msg)(void *msg);
    /* Frees an FSM the system is done with. Optional. */
    void (*free_fsm)(void *fsm);
} bs_ops_t;

typedef struct {
    int n_pollers;      /* poller threads (default 2) */
    size_t max_batch;   /* FSMs per round at most (default 256) */
    size_t max_msgs;    /* messages per FSM per turn at most (default 256) */
    size_t mailbox_cap; /* messages a mailbox holds before sends fail (default 4096) */
    size_t control_cap; /* the same for the control FSM (default 16384) */
} bs_config_t;

/* The defaults above. */
void bs_config_default(bs_config_t *cfg);

typedef struct {
    uint64_t rounds;  /* end() calls */
    uint64_t handled; /* handle() and handle_control() calls */
    uint64_t msgs;    /* messages handed to them */
    uint64_t ticks;   /* ticks handed to them */
    uint64_t refused; /* sends refused because a mailbox was full */
} bs_stats_t;

typedef struct bs_system bs_system_t;

/* A system with no FSM and no running poller. `ops` and `ctx` are borrowed
 * for the system's life; `control` (may be NULL: then bs_send_control()
 * fails) is the control FSM. TKV_ERR_INVALID for a bad config or missing ops. */
tkv_err_t bs_system_new(const bs_config_t *cfg, const bs_ops_t *ops, void *ctx, void *control,
                        bs_system_t **out);

/* Starts the pollers. Messages sent before are kept and served now. Once. */
tkv_err_t bs_system_start(bs_system_t *s);

/* Adds FSM `fsm` under `id`, with an empty mailbox. TKV_ERR_INVALID when
 * `id` is taken, TKV_ERR_CLOSED after shutdown began. */
tkv_err_t bs_register(bs_system_t *s, uint64_t id, void *fsm);

/* Removes `id`: later sends to it fail with TKV_ERR_NOT_FOUND, the messages
 * still in its mailbox go to free_msg, and the FSM goes to free_fsm as soon
 * as no poller holds it (at once when idle; after its round's end() when a
 * poller has it, so a handler may unregister its own FSM).
 * TKV_ERR_NOT_FOUND when there is no such FSM. */
tkv_err_t bs_unregister(bs_system_t *s, uint64_t id);

/* Puts `msg` in the mailbox of `id`. TKV_OK: the system owns msg. Otherwise
 * the caller keeps it: TKV_ERR_NOT_FOUND (no such FSM), TKV_ERR_BUSY (the
 * mailbox is full), TKV_ERR_CLOSED (shutdown began). */
tkv_err_t bs_send(bs_system_t *s, uint64_t id, void *msg);

/* The same for the control FSM (TKV_ERR_NOT_FOUND when there is none). */
tkv_err_t bs_send_control(bs_system_t *s, void *msg);

/* One tick to every registered FSM and to the control FSM. TKV_ERR_CLOSED
 * after shutdown began. */
tkv_err_t bs_tick_all(bs_system_t *s);

/* How many FSMs are registered. */
size_t bs_count(bs_system_t *s);

/* Counters so far (a snapshot; exact once the pollers are joined). */
void bs_stats(bs_system_t *s, bs_stats_t *out);

/* Refuses new sends, serves everything accepted, joins the pollers. Safe to
 * call more than once and before start (then nothing is served, and
 * bs_system_free() hands the messages to free_msg). Not from a handler. */
void bs_system_shutdown(bs_system_t *s);

/* Shuts down if needed, frees every FSM (free_fsm) and message left
 * (free_msg), and the system. NULL is fine. */
void bs_system_free(bs_system_t *s);

#endif
