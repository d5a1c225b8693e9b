/*
 * The batch system of batch_system.h: the router (id -> mailbox), the ready
 * queue and the poller threads.
 *
 * Locks, always taken in this order, never the other way:
 *   router lock (rwlock: sends read, register/unregister/shutdown write)
 *     -> a mailbox's mutex
 *       -> the ready queue's mutex
 * A sender holds the router's read lock for the whole send, so a mailbox it
 * found cannot be freed under it: bs_unregister() takes the write lock to
 * take the mailbox out of the map, and after that no sender can reach it.
 *
 * A mailbox that is NOTIFIED belongs to the ready queue or to one poller.
 * Only the thread that turned it NOTIFIED (a sender, bs_tick_all()) puts it
 * on the queue, and only the poller that holds it turns it back to IDLE or
 * puts it back, so it is never queued twice.
 *
 * The pollers stop when shutdown began, the ready queue is empty and no
 * poller holds a batch: a poller in the middle of a round may still put
 * FSMs back, and those must be served first.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "runtime/batch_system.h"
#include "runtime/mailbox.h"

typedef struct poller {
    bs_system_t *sys;
    int index;
    pthread_t thread;
} poller_t;

struct bs_system {
    bs_config_t cfg;
    const bs_ops_t *ops;
    void *ctx;

    /* the router */
    pthread_rwlock_t router_lock;
    bs_mailbox_t **buckets; /* hash chains through hnext */
    size_t n_buckets;       /* a power of two */
    size_t n_fsms;
    int closed; /* shutdown began: sends are refused */
    bs_mailbox_t *control;

    /* the ready queue */
    pthread_mutex_t ready_mu;
    pthread_cond_t ready_cv;
    bs_mailbox_t *ready_head, *ready_tail;
    int busy;     /* pollers holding a batch */
    int stopping; /* pollers exit once the queue drains */

    poller_t *pollers;
    int started;
    int joined;

    atomic_uint_fast64_t rounds, handled, msgs, ticks, refused;
};

void bs_config_default(bs_config_t *cfg)
{
    cfg->n_pollers = 2;
    cfg->max_batch = 256;
    cfg->max_msgs = 256;
    cfg->mailbox_cap = 4096;
    cfg->control_cap = 16384;
}

/* ---- the router ------------------------------------------------------------ */

static size_t bucket_of(const bs_system_t *s, uint64_t id)
{
    /* Region ids are small consecutive numbers: mix them so they spread. */
    uint64_t h = id * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 32) & (s->n_buckets - 1);
}

static bs_mailbox_t *router_find(const bs_system_t *s, uint64_t id)
{
    for (bs_mailbox_t *mb = s->buckets[bucket_of(s, id)]; mb != NULL; mb = mb->hnext) {
        if (mb->id == id)
            return mb;
    }
    return NULL;
}

static void router_grow(bs_system_t *s)
{
    bs_mailbox_t **old = s->buckets;
    size_t n_old = s->n_buckets;
    s->n_buckets *= 2;
    s->buckets = xcalloc(s->n_buckets, sizeof(*s->buckets));
    for (size_t i = 0; i < n_old; i++) {
        bs_mailbox_t *mb = old[i];
        while (mb != NULL) {
            bs_mailbox_t *next = mb->hnext;
            size_t b = bucket_of(s, mb->id);
            mb->hnext = s->buckets[b];
            s->buckets[b] = mb;
            mb = next;
        }
    }
    free(old);
}

/* ---- the ready queue ------------------------------------------------------- */

/* Appends the chain first..last (linked by qnext) and wakes `n` pollers. */
static void ready_push_chain(bs_system_t *s, bs_mailbox_t *first, bs_mailbox_t *last, size_t n)
{
    if (first == NULL)
        return;
    last->qnext = NULL;
    pthread_mutex_lock(&s->ready_mu);
    if (s->ready_tail != NULL)
        s->ready_tail->qnext = first;
    else
        s->ready_head = first;
    s->ready_tail = last;
    if (n > 1)
        pthread_cond_broadcast(&s->ready_cv);
    else
        pthread_cond_signal(&s->ready_cv);
    pthread_mutex_unlock(&s->ready_mu);
}

/* Waits for ready FSMs and takes up to `max`; 0 when the poller should exit. */
static size_t ready_take(bs_system_t *s, bs_mailbox_t **out, size_t max)
{
    pthread_mutex_lock(&s->ready_mu);
    while (s->ready_head == NULL) {
        if (s->stopping && s->busy == 0) {
            pthread_cond_broadcast(&s->ready_cv);
            pthread_mutex_unlock(&s->ready_mu);
            return 0;
        }
        pthread_cond_wait(&s->ready_cv, &s->ready_mu);
    }
    size_t n = 0;
    while (n < max && s->ready_head != NULL) {
        bs_mailbox_t *mb = s->ready_head;
        s->ready_head = mb->qnext;
        mb->qnext = NULL;
        out[n++] = mb;
    }
    if (s->ready_head == NULL)
        s->ready_tail = NULL;
    s->busy++;
    pthread_mutex_unlock(&s->ready_mu);
    return n;
}

static void mailbox_dispose(bs_system_t *s, bs_mailbox_t *mb)
{
    if (!mb->is_control && s->ops->free_fsm != NULL)
        s->ops->free_fsm(mb->fsm);
    mb_free(mb, s->ops->free_msg);
}

/* Gives the batch back after end(): each FSM goes IDLE, back on the queue
 * (more came while it ran) or, unregistered meanwhile, away. */
static void ready_release(bs_system_t *s, bs_mailbox_t **batch, size_t n)
{
    bs_mailbox_t *first = NULL, *last = NULL, *gone = NULL;
    size_t again = 0;
    for (size_t i = 0; i < n; i++) {
        bs_mailbox_t *mb = batch[i];
        pthread_mutex_lock(&mb->mu);
        if (mb->removed) {
            pthread_mutex_unlock(&mb->mu);
            mb->qnext = gone;
            gone = mb;
            continue;
        }
        if (mb->len > 0 || mb->ticks > 0) {
            mb->qnext = NULL;
            if (last != NULL)
                last->qnext = mb;
            else
                first = mb;
            last = mb;
            again++;
        } else {
            mb->state = MB_IDLE;
        }
        pthread_mutex_unlock(&mb->mu);
    }
    pthread_mutex_lock(&s->ready_mu);
    if (first != NULL) {
        if (s->ready_tail != NULL)
            s->ready_tail->qnext = first;
        else
            s->ready_head = first;
        s->ready_tail = last;
    }
    s->busy--;
    if (again > 0 || (s->stopping && s->busy == 0))
        pthread_cond_broadcast(&s->ready_cv);
    pthread_mutex_unlock(&s->ready_mu);
    while (gone != NULL) {
        bs_mailbox_t *next = gone->qnext;
        mailbox_dispose(s, gone);
        gone = next;
    }
}

/* ---- the pollers ------------------------------------------------------------ */

static void *poller_main(void *arg)
{
    poller_t *p = arg;
    bs_system_t *s = p->sys;
    const bs_ops_t *ops = s->ops;
    void *pctx = ops->poller_begin != NULL ? ops->poller_begin(s->ctx, p->index) : s->ctx;
    size_t max_batch = s->cfg.max_batch;
    bs_mailbox_t **batch = xmalloc(max_batch * sizeof(*batch));
    void **fsms = xmalloc(max_batch * sizeof(*fsms));
    uint64_t *ids = xmalloc(max_batch * sizeof(*ids));
    void **msgs = xmalloc(s->cfg.max_msgs * sizeof(*msgs));
    size_t n;
    while ((n = ready_take(s, batch, max_batch)) > 0) {
        bs_batch_t round = { fsms, ids, 0, 0 };
        for (size_t i = 0; i < n; i++) {
            bs_mailbox_t *mb = batch[i];
            pthread_mutex_lock(&mb->mu);
            if (mb->removed) {
                pthread_mutex_unlock(&mb->mu);
                continue;
            }
            size_t k = mb_take(mb, msgs, s->cfg.max_msgs);
            uint32_t t = mb->ticks;
            mb->ticks = 0;
            pthread_mutex_unlock(&mb->mu);
            if (k == 0 && t == 0)
                continue;
            if (mb->is_control) {
                ops->handle_control(pctx, mb->fsm, msgs, k, t);
                round.control = 1;
            } else {
                ops->handle(pctx, mb->fsm, mb->id, msgs, k, t);
                fsms[round.n] = mb->fsm;
                ids[round.n] = mb->id;
                round.n++;
            }
            atomic_fetch_add_explicit(&s->handled, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&s->msgs, k, memory_order_relaxed);
            atomic_fetch_add_explicit(&s->ticks, t, memory_order_relaxed);
        }
        if (round.n > 0 || round.control) {
            ops->end(pctx, &round);
            atomic_fetch_add_explicit(&s->rounds, 1, memory_order_relaxed);
        }
        ready_release(s, batch, n);
    }
    if (ops->poller_end != NULL)
        ops->poller_end(pctx);
    free(msgs);
    free(ids);
    free(fsms);
    free(batch);
    return NULL;
}

/* ---- the system --------------------------------------------------------------- */

tkv_err_t bs_system_new(const bs_config_t *cfg, const bs_ops_t *ops, void *ctx, void *control,
                        bs_system_t **out)
{
    *out = NULL;
    if (cfg->n_pollers < 1 || cfg->n_pollers > 256)
        return tkv_errorf(TKV_ERR_INVALID, "batch system: %d pollers (want 1..256)",
                          cfg->n_pollers);
    if (cfg->max_batch < 1 || cfg->max_msgs < 1 || cfg->mailbox_cap < 1 || cfg->control_cap < 1)
        return tkv_errorf(TKV_ERR_INVALID,
                          "batch system: max_batch %zu, max_msgs %zu, mailbox_cap %zu and "
                          "control_cap %zu must all be at least 1",
                          cfg->max_batch, cfg->max_msgs, cfg->mailbox_cap, cfg->control_cap);
    if (ops->handle == NULL || ops->end == NULL || ops->free_msg == NULL ||
        (control != NULL && ops->handle_control == NULL))
        return tkv_errorf(TKV_ERR_INVALID, "batch system: ops need handle, end, free_msg (and "
                                           "handle_control with a control FSM)");
    bs_system_t *s = xcalloc(1, sizeof(*s));
    s->cfg = *cfg;
    s->ops = ops;
    s->ctx = ctx;
    pthread_rwlock_init(&s->router_lock, NULL);
    s->n_buckets = 64;
    s->buckets = xcalloc(s->n_buckets, sizeof(*s->buckets));
    if (control != NULL)
        s->control = mb_new(0, control, cfg->control_cap, 1);
    pthread_mutex_init(&s->ready_mu, NULL);
    pthread_cond_init(&s->ready_cv, NULL);
    *out = s;
    return TKV_OK;
}

tkv_err_t bs_system_start(bs_system_t *s)
{
    pthread_mutex_lock(&s->ready_mu);
    int again = s->started || s->stopping;
    s->started = 1;
    pthread_mutex_unlock(&s->ready_mu);
    if (again)
        return tkv_errorf(TKV_ERR_INVALID, "batch system: started twice or after shutdown");
    s->pollers = xcalloc((size_t)s->cfg.n_pollers, sizeof(*s->pollers));
    for (int i = 0; i < s->cfg.n_pollers; i++) {
        s->pollers[i].sys = s;
        s->pollers[i].index = i;
        if (pthread_create(&s->pollers[i].thread, NULL, poller_main, &s->pollers[i]) != 0) {
            /* Serve with the pollers we have; shutdown joins only those. */
            s->cfg.n_pollers = i;
            if (i == 0)
                return tkv_errorf(TKV_ERR_NOMEM, "batch system: cannot start a poller thread");
            break;
        }
    }
    return TKV_OK;
}

tkv_err_t bs_register(bs_system_t *s, uint64_t id, void *fsm)
{
    pthread_rwlock_wrlock(&s->router_lock);
    tkv_err_t e = TKV_OK;
    if (s->closed) {
        e = tkv_errorf(TKV_ERR_CLOSED, "batch system: register fsm %llu after shutdown",
                       (unsigned long long)id);
    } else if (router_find(s, id) != NULL) {
        e = tkv_errorf(TKV_ERR_INVALID, "batch system: fsm %llu is registered already",
                       (unsigned long long)id);
    } else {
        if (s->n_fsms >= s->n_buckets)
            router_grow(s);
        bs_mailbox_t *mb = mb_new(id, fsm, s->cfg.mailbox_cap, 0);
        size_t b = bucket_of(s, id);
        mb->hnext = s->buckets[b];
        s->buckets[b] = mb;
        s->n_fsms++;
    }
    pthread_rwlock_unlock(&s->router_lock);
    return e;
}

tkv_err_t bs_unregister(bs_system_t *s, uint64_t id)
{
    pthread_rwlock_wrlock(&s->router_lock);
    bs_mailbox_t **pp = &s->buckets[bucket_of(s, id)];
    while (*pp != NULL && (*pp)->id != id)
        pp = &(*pp)->hnext;
    bs_mailbox_t *mb = *pp;
    if (mb == NULL) {
        pthread_rwlock_unlock(&s->router_lock);
        return tkv_errorf(TKV_ERR_NOT_FOUND, "batch system: no fsm %llu to unregister",
                          (unsigned long long)id);
    }
    *pp = mb->hnext;
    s->n_fsms--;
    pthread_mutex_lock(&mb->mu);
    mb_drop_all(mb, s->ops->free_msg);
    int idle = mb->state == MB_IDLE;
    mb->removed = 1;
    pthread_mutex_unlock(&mb->mu);
    pthread_rwlock_unlock(&s->router_lock);
    /* Idle: nobody else can reach it now. Otherwise its poller frees it. */
    if (idle)
        mailbox_dispose(s, mb);
    return TKV_OK;
}

/* Sends to a mailbox found under the router's read lock. */
static tkv_err_t mailbox_send(bs_system_t *s, bs_mailbox_t *mb, void *msg)
{
    pthread_mutex_lock(&mb->mu);
    if (mb_push(mb, msg) != 0) {
        size_t cap = mb->cap;
        pthread_mutex_unlock(&mb->mu);
        atomic_fetch_add_explicit(&s->refused, 1, memory_order_relaxed);
        if (mb->is_control)
            return tkv_errorf(TKV_ERR_BUSY, "batch system: the control mailbox is full (%zu)", cap);
        return tkv_errorf(TKV_ERR_BUSY, "batch system: the mailbox of fsm %llu is full (%zu)",
                          (unsigned long long)mb->id, cap);
    }
    int wake = mb->state == MB_IDLE;
    if (wake)
        mb->state = MB_NOTIFIED;
    pthread_mutex_unlock(&mb->mu);
    if (wake)
        ready_push_chain(s, mb, mb, 1);
    return TKV_OK;
}

tkv_err_t bs_send(bs_system_t *s, uint64_t id, void *msg)
{
    pthread_rwlock_rdlock(&s->router_lock);
    tkv_err_t e;
    bs_mailbox_t *mb = s->closed ? NULL : router_find(s, id);
    if (s->closed)
        e = tkv_errorf(TKV_ERR_CLOSED, "batch system: send to fsm %llu after shutdown",
                       (unsigned long long)id);
    else if (mb == NULL)
        e = tkv_errorf(TKV_ERR_NOT_FOUND, "batch system: no fsm %llu", (unsigned long long)id);
    else
        e = mailbox_send(s, mb, msg);
    pthread_rwlock_unlock(&s->router_lock);
    return e;
}

tkv_err_t bs_send_control(bs_system_t *s, void *msg)
{
    pthread_rwlock_rdlock(&s->router_lock);
    tkv_err_t e;
    if (s->closed)
        e = tkv_errorf(TKV_ERR_CLOSED, "batch system: control message after shutdown");
    else if (s->control == NULL)
        e = tkv_errorf(TKV_ERR_NOT_FOUND, "batch system: no control fsm");
    else
        e = mailbox_send(s, s->control, msg);
    pthread_rwlock_unlock(&s->router_lock);
    return e;
}

/* Adds a tick; links the mailbox onto the chain when this woke it. */
static void mailbox_tick(bs_mailbox_t *mb, bs_mailbox_t **first, bs_mailbox_t **last, size_t *n)
{
    pthread_mutex_lock(&mb->mu);
    if (mb->ticks < UINT32_MAX)
        mb->ticks++;
    int wake = mb->state == MB_IDLE;
    if (wake)
        mb->state = MB_NOTIFIED;
    pthread_mutex_unlock(&mb->mu);
    if (!wake)
        return;
    mb->qnext = NULL;
    if (*last != NULL)
        (*last)->qnext = mb;
    else
        *first = mb;
    *last = mb;
    (*n)++;
}

tkv_err_t bs_tick_all(bs_system_t *s)
{
    pthread_rwlock_rdlock(&s->router_lock);
    if (s->closed) {
        pthread_rwlock_unlock(&s->router_lock);
        return tkv_errorf(TKV_ERR_CLOSED, "batch system: tick after shutdown");
    }
    bs_mailbox_t *first = NULL, *last = NULL;
    size_t n = 0;
    for (size_t b = 0; b < s->n_buckets; b++) {
        for (bs_mailbox_t *mb = s->buckets[b]; mb != NULL; mb = mb->hnext)
            mailbox_tick(mb, &first, &last, &n);
    }
    if (s->control != NULL)
        mailbox_tick(s->control, &first, &last, &n);
    ready_push_chain(s, first, last, n);
    pthread_rwlock_unlock(&s->router_lock);
    return TKV_OK;
}

size_t bs_count(bs_system_t *s)
{
    pthread_rwlock_rdlock(&s->router_lock);
    size_t n = s->n_fsms;
    pthread_rwlock_unlock(&s->router_lock);
    return n;
}

void bs_stats(bs_system_t *s, bs_stats_t *out)
{
    out->rounds = atomic_load_explicit(&s->rounds, memory_order_relaxed);
    out->handled = atomic_load_explicit(&s->handled, memory_order_relaxed);
    out->msgs = atomic_load_explicit(&s->msgs, memory_order_relaxed);
    out->ticks = atomic_load_explicit(&s->ticks, memory_order_relaxed);
    out->refused = atomic_load_explicit(&s->refused, memory_order_relaxed);
}

void bs_system_shutdown(bs_system_t *s)
{
    /* With the write lock no send is half done: every accepted message is
     * in a mailbox, and every woken mailbox on the ready queue. */
    pthread_rwlock_wrlock(&s->router_lock);
    s->closed = 1;
    pthread_rwlock_unlock(&s->router_lock);
    pthread_mutex_lock(&s->ready_mu);
    s->stopping = 1;
    int join = s->started && !s->joined;
    s->joined = 1;
    pthread_cond_broadcast(&s->ready_cv);
    pthread_mutex_unlock(&s->ready_mu);
    if (!join)
        return;
    for (int i = 0; i < s->cfg.n_pollers; i++)
        pthread_join(s->pollers[i].thread, NULL);
}

void bs_system_free(bs_system_t *s)
{
    if (s == NULL)
        return;
    bs_system_shutdown(s);
    /* Mailboxes unregistered while queued are on the ready queue alone
     * (never started, so never served); the rest are in the map. */
    for (bs_mailbox_t *mb = s->ready_head; mb != NULL;) {
        bs_mailbox_t *next = mb->qnext;
        if (mb->removed)
            mailbox_dispose(s, mb);
        mb = next;
    }
    for (size_t b = 0; b < s->n_buckets; b++) {
        bs_mailbox_t *mb = s->buckets[b];
        while (mb != NULL) {
            bs_mailbox_t *next = mb->hnext;
            mailbox_dispose(s, mb);
            mb = next;
        }
    }
    if (s->control != NULL)
        mailbox_dispose(s, s->control);
    free(s->buckets);
    free(s->pollers);
    pthread_cond_destroy(&s->ready_cv);
    pthread_mutex_destroy(&s->ready_mu);
    pthread_rwlock_destroy(&s->router_lock);
    free(s);
}
