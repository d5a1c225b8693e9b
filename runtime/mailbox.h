/*
 * One FSM's mailbox: a bounded queue of messages, a tick counter and the
 * state that keeps the FSM scheduled at most once. Internal to the batch
 * system (batch_system.c); see batch_system.h for the design.
 *
 * Many threads send, one poller at a time receives (MPSC). A mutex per
 * mailbox guards it: the critical sections are a few stores, and a mutex is
 * what a reader can check by eye and ThreadSanitizer can check by run.
 *
 * The queue is a ring that starts small and doubles up to `cap`, so ten
 * thousand quiet FSMs cost a few hundred bytes each, not `cap` slots each.
 */
#ifndef TKV_RUNTIME_MAILBOX_H
#define TKV_RUNTIME_MAILBOX_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    MB_IDLE = 0, /* nobody holds the FSM; the next send schedules it */
    MB_NOTIFIED, /* on the ready queue or in a poller's hands */
} mb_state_t;

typedef struct bs_mailbox {
    pthread_mutex_t mu;
    uint64_t id;
    void *fsm;      /* borrowed from the system, which frees it */
    int is_control; /* the control FSM's mailbox */
    void **ring;    /* owned: slots for messages (the messages are the system's) */
    size_t ring_size, head, len, cap;
    uint32_t ticks; /* ticks not yet handed to the FSM */
    mb_state_t state;
    int removed;              /* unregistered: free it when the poller lets go */
    struct bs_mailbox *hnext; /* next in the router's hash chain */
    struct bs_mailbox *qnext; /* next on the ready queue */
} bs_mailbox_t;

/* A mailbox for `fsm` that holds at most `cap` messages. Caller frees with
 * mb_free(). */
bs_mailbox_t *mb_new(uint64_t id, void *fsm, size_t cap, int is_control);
/* Frees the mailbox; messages still in it go to free_msg (may be NULL: leaked
 * only if the caller forgot to supply one). Not the FSM. */
void mb_free(bs_mailbox_t *mb, void (*free_msg)(void *));

/* The calls below are made with mb->mu held. */

/* Adds msg at the tail. 0, or -1 when `cap` messages are queued already. */
int mb_push(bs_mailbox_t *mb, void *msg);
/* Moves up to `max` messages from the head into out[]; returns how many. */
size_t mb_take(bs_mailbox_t *mb, void **out, size_t max);
/* Hands every queued message to free_msg. */
void mb_drop_all(bs_mailbox_t *mb, void (*free_msg)(void *));

#endif
