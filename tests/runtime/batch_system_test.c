/*
 * The batch system (runtime/batch_system.h) with real threads: thousands of
 * FSMs served by two pollers, each message handled exactly once and in order
 * per sender, an FSM never on two threads at once, one end() per round with
 * exactly the FSMs of that round, back-pressure from a full mailbox, and a
 * shutdown that serves every message it accepted.
 *
 * Handlers run on poller threads, where a cmocka assertion cannot fail the
 * test, so they count what went wrong in atomics and the test thread asserts
 * on the counts once the pollers are joined.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "runtime/batch_system.h"
#include "tests/harness/test.h"
#include "tests/runtime/rt_wait.h"

#define SENDERS 2

typedef struct {
    int sender;
    uint64_t seq;
    int die; /* the FSM unregisters itself */
} msg_t;

typedef struct fsm {
    uint64_t id;
    atomic_int running; /* set from handle() to end(): a poller holds it */
    uint64_t next_seq[SENDERS];
    uint64_t got;
    uint64_t ticks;
} fsm_t;

typedef struct poller_state poller_state_t;

typedef struct {
    atomic_uint_fast64_t delivered;
    atomic_uint_fast64_t control_msgs;
    atomic_uint_fast64_t control_ticks;
    atomic_int overlap;      /* handle() of an FSM some poller already held */
    atomic_int out_of_order; /* a message not the next of its sender */
    atomic_int bad_end;      /* end() whose batch was not the round's FSMs */
    atomic_int empty_end;    /* end() with nothing in the round */
    atomic_int bad_poller;   /* a poller index out of range */
    atomic_int max_batch;    /* the largest batch end() saw */
    atomic_uint_fast64_t ends;
    atomic_int gate;                   /* handlers wait while it is 1 */
    atomic_uint_fast64_t accepted_all; /* sends accepted, all senders */
    atomic_int fsms_freed;
    atomic_int msgs_freed;
    int n_pollers;
    bs_system_t *sys;
    poller_state_t *pollers[8];
} world_t;

/* What one poller saw since its last end(). */
struct poller_state {
    world_t *w;
    uint64_t ids[4096];
    size_t n;
    int control;
};

static void *t_poller_begin(void *ctx, int index)
{
    world_t *w = ctx;
    if (index < 0 || index >= w->n_pollers || index >= 8) {
        atomic_fetch_add(&w->bad_poller, 1);
        index = 0;
    }
    poller_state_t *p = xcalloc(1, sizeof(*p));
    p->w = w;
    w->pollers[index] = p;
    return p;
}

static void t_poller_end(void *pctx)
{
    (void)pctx; /* freed by the test, after the join */
}

static void t_handle(void *pctx, void *fsmp, uint64_t id, void **msgs, size_t n, uint32_t ticks)
{
    poller_state_t *p = pctx;
    world_t *w = p->w;
    fsm_t *f = fsmp;
    while (atomic_load(&w->gate))
        sched_yield();
    if (atomic_exchange(&f->running, 1) != 0 || f->id != id)
        atomic_fetch_add(&w->overlap, 1);
    if (p->n < 4096)
        p->ids[p->n] = id;
    p->n++;
    f->ticks += ticks;
    for (size_t i = 0; i < n; i++) {
        msg_t *m = msgs[i];
        if (m->seq != f->next_seq[m->sender])
            atomic_fetch_add(&w->out_of_order, 1);
        f->next_seq[m->sender] = m->seq + 1;
        f->got++;
        if (m->die)
            bs_unregister(w->sys, id);
        free(m);
    }
    atomic_fetch_add(&w->delivered, n);
}

static void t_handle_control(void *pctx, void *control, void **msgs, size_t n, uint32_t ticks)
{
    poller_state_t *p = pctx;
    (void)control;
    p->control = 1;
    for (size_t i = 0; i < n; i++)
        free(msgs[i]);
    atomic_fetch_add(&p->w->control_msgs, n);
    atomic_fetch_add(&p->w->control_ticks, ticks);
}

static void t_end(void *pctx, const bs_batch_t *b)
{
    poller_state_t *p = pctx;
    world_t *w = p->w;
    atomic_fetch_add(&w->ends, 1);
    if (b->n == 0 && !b->control)
        atomic_fetch_add(&w->empty_end, 1);
    int ok = b->n == p->n && b->control == p->control;
    for (size_t i = 0; ok && i < b->n; i++) {
        fsm_t *f = b->fsms[i];
        ok = b->ids[i] == p->ids[i] && f->id == b->ids[i];
    }
    if (!ok)
        atomic_fetch_add(&w->bad_end, 1);
    for (size_t i = 0; i < b->n; i++) {
        fsm_t *f = b->fsms[i];
        atomic_store(&f->running, 0);
    }
    int seen = atomic_load(&w->max_batch);
    while ((int)b->n > seen && !atomic_compare_exchange_weak(&w->max_batch, &seen, (int)b->n))
        ;
    p->n = 0;
    p->control = 0;
}

static world_t *free_world; /* free_fsm / free_msg have no ctx */

static void t_free_msg(void *m)
{
    atomic_fetch_add(&free_world->msgs_freed, 1);
    free(m);
}

static void t_free_fsm(void *f)
{
    atomic_fetch_add(&free_world->fsms_freed, 1);
    free(f);
}

static const bs_ops_t test_ops = {
    t_poller_begin, t_poller_end, t_handle, t_handle_control, t_end, t_free_msg, t_free_fsm,
};

static int dummy_control;

/* max_msgs for the next make_system(); 0: the default. */
static size_t next_max_msgs;

static bs_system_t *make_system(world_t *w, int pollers, size_t cap, size_t n_fsms)
{
    memset(w, 0, sizeof(*w));
    free_world = w;
    w->n_pollers = pollers;
    bs_config_t cfg;
    bs_config_default(&cfg);
    cfg.n_pollers = pollers;
    cfg.mailbox_cap = cap;
    cfg.control_cap = cap;
    if (next_max_msgs > 0)
        cfg.max_msgs = next_max_msgs;
    next_max_msgs = 0;
    bs_system_t *s = NULL;
    assert_int_equal(bs_system_new(&cfg, &test_ops, w, &dummy_control, &s), TKV_OK);
    w->sys = s;
    for (size_t i = 1; i <= n_fsms; i++) {
        fsm_t *f = xcalloc(1, sizeof(*f));
        f->id = i;
        assert_int_equal(bs_register(s, i, f), TKV_OK);
    }
    return s;
}

static void free_pollers(world_t *w)
{
    for (int i = 0; i < 8; i++)
        free(w->pollers[i]);
}

static msg_t *new_msg(int sender, uint64_t seq)
{
    msg_t *m = xcalloc(1, sizeof(*m));
    m->sender = sender;
    m->seq = seq;
    return m;
}

/* Sends until accepted; a full mailbox (BUSY) is retried. */
static tkv_err_t send_retry(bs_system_t *s, uint64_t id, msg_t *m)
{
    for (;;) {
        tkv_err_t e = bs_send(s, id, m);
        if (e != TKV_ERR_BUSY)
            return e;
        sched_yield();
    }
}

typedef struct {
    world_t *w;
    int sender;
    size_t n_fsms;
    uint64_t per_fsm; /* 0: until the system refuses */
    uint64_t accepted;
    tkv_err_t last;
} sender_t;

static void *sender_main(void *arg)
{
    sender_t *sd = arg;
    for (uint64_t seq = 0; sd->per_fsm == 0 || seq < sd->per_fsm; seq++) {
        for (size_t i = 1; i <= sd->n_fsms; i++) {
            msg_t *m = new_msg(sd->sender, seq);
            tkv_err_t e = send_retry(sd->w->sys, i, m);
            if (e != TKV_OK) {
                free(m);
                sd->last = e;
                return NULL;
            }
            sd->accepted++;
            atomic_fetch_add(&sd->w->accepted_all, 1);
        }
        /* A control message now and then, so rounds mix both kinds. */
        msg_t *c = new_msg(sd->sender, seq);
        tkv_err_t e = bs_send_control(sd->w->sys, c);
        if (e != TKV_OK)
            free(c);
    }
    return NULL;
}

typedef struct {
    world_t *w;
    uint64_t want;
} delivered_arg_t;

static int delivered_reached(void *arg)
{
    delivered_arg_t *d = arg;
    return atomic_load(&d->w->delivered) >= d->want;
}

static void check_invariants(world_t *w)
{
    assert_int_equal(atomic_load(&w->overlap), 0);
    assert_int_equal(atomic_load(&w->out_of_order), 0);
    assert_int_equal(atomic_load(&w->bad_end), 0);
    assert_int_equal(atomic_load(&w->empty_end), 0);
    assert_int_equal(atomic_load(&w->bad_poller), 0);
}

/* 3000 FSMs, 2 pollers, 2 senders, 20 messages from each sender to each
 * FSM: all 120000 arrive, each once, in order per sender. */
static void test_bs_thousands_of_fsms_two_pollers(void **state)
{
    (void)state;
    enum { N_FSMS = 3000, PER = 20 };
    world_t w;
    bs_system_t *s = make_system(&w, 2, 64, N_FSMS);
    assert_int_equal(bs_count(s), N_FSMS);
    assert_int_equal(bs_system_start(s), TKV_OK);
    sender_t sd[SENDERS];
    pthread_t th[SENDERS];
    for (int i = 0; i < SENDERS; i++) {
        sd[i] = (sender_t){ &w, i, N_FSMS, PER, 0, TKV_OK };
        assert_int_equal(pthread_create(&th[i], NULL, sender_main, &sd[i]), 0);
    }
    for (int i = 0; i < SENDERS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < SENDERS; i++) {
        if (sd[i].accepted != (uint64_t)N_FSMS * PER)
            fail_msg("sender %d: %llu messages accepted, expected %d (last error %s)", i,
                     (unsigned long long)sd[i].accepted, N_FSMS * PER, tkv_strerror(sd[i].last));
    }
    delivered_arg_t d = { &w, (uint64_t)N_FSMS * PER * SENDERS };
    if (!rt_wait_until(delivered_reached, &d, RT_WAIT_MS))
        fail_msg("%llu of %llu messages delivered after %d ms",
                 (unsigned long long)atomic_load(&w.delivered), (unsigned long long)d.want,
                 RT_WAIT_MS);
    bs_system_shutdown(s);
    check_invariants(&w);
    assert_int_equal(atomic_load(&w.delivered), d.want);
    bs_stats_t st;
    bs_stats(s, &st);
    assert_int_equal(st.msgs, d.want + atomic_load(&w.control_msgs));
    assert_int_equal(st.rounds, atomic_load(&w.ends));
    /* Two pollers for 3000 busy FSMs: rounds must have held many at once. */
    if (atomic_load(&w.max_batch) < 2)
        fail_msg("every round held one FSM: the pollers do not batch");
    bs_system_free(s);
    assert_int_equal(atomic_load(&w.fsms_freed), N_FSMS);
    assert_int_equal(atomic_load(&w.msgs_freed), 0);
    free_pollers(&w);
}

static int accepted_reached(void *arg)
{
    delivered_arg_t *d = arg;
    return atomic_load(&d->w->accepted_all) >= d->want;
}

static void *shutdown_main(void *arg)
{
    bs_system_shutdown(arg);
    return NULL;
}

static int system_closed(void *arg)
{
    msg_t m = { 0, 0, 0 };
    return bs_send(arg, 999999, &m) == TKV_ERR_CLOSED;
}

/* Senders keep going while the system shuts down: every message a send
 * accepted is handled, and the sends after are refused with CLOSED. The
 * handlers are held back until shutdown has begun, so thousands of accepted
 * messages are still queued when it does. */
static void test_bs_shutdown_serves_every_accepted_message(void **state)
{
    (void)state;
    enum { N_FSMS = 200 };
    world_t w;
    bs_system_t *s = make_system(&w, 2, 32, N_FSMS);
    atomic_store(&w.gate, 1);
    assert_int_equal(bs_system_start(s), TKV_OK);
    sender_t sd[SENDERS];
    pthread_t th[SENDERS], stopper;
    for (int i = 0; i < SENDERS; i++) {
        sd[i] = (sender_t){ &w, i, N_FSMS, 0, 0, TKV_OK };
        assert_int_equal(pthread_create(&th[i], NULL, sender_main, &sd[i]), 0);
    }
    delivered_arg_t d = { &w, 3000 };
    assert_true(rt_wait_until(accepted_reached, &d, RT_WAIT_MS));
    assert_int_equal(pthread_create(&stopper, NULL, shutdown_main, s), 0);
    assert_true(rt_wait_until(system_closed, s, RT_WAIT_MS));
    atomic_store(&w.gate, 0);
    pthread_join(stopper, NULL);
    uint64_t delivered = atomic_load(&w.delivered);
    for (int i = 0; i < SENDERS; i++)
        pthread_join(th[i], NULL);
    uint64_t accepted = 0;
    for (int i = 0; i < SENDERS; i++) {
        assert_int_equal(sd[i].last, TKV_ERR_CLOSED);
        accepted += sd[i].accepted;
    }
    if (delivered != accepted)
        fail_msg("shutdown accepted %llu messages but handled %llu", (unsigned long long)accepted,
                 (unsigned long long)delivered);
    assert_true(accepted >= 3000);
    check_invariants(&w);
    msg_t *late = new_msg(0, 0);
    assert_int_equal(bs_send(s, 1, late), TKV_ERR_CLOSED);
    assert_int_equal(bs_register(s, N_FSMS + 1, NULL), TKV_ERR_CLOSED);
    free(late);
    bs_system_free(s);
    assert_int_equal(atomic_load(&w.msgs_freed), 0);
    free_pollers(&w);
}

/* A full mailbox refuses with BUSY, the caller keeps the message, and once
 * the FSM drains, sends are accepted again. */
static void test_bs_full_mailbox_says_busy(void **state)
{
    (void)state;
    world_t w;
    bs_system_t *s = make_system(&w, 2, 4, 2);
    for (uint64_t i = 0; i < 4; i++)
        assert_int_equal(bs_send(s, 1, new_msg(0, i)), TKV_OK);
    msg_t *extra = new_msg(0, 4);
    tkv_err_t e = bs_send(s, 1, extra);
    if (e != TKV_ERR_BUSY)
        fail_msg("the 5th send to a mailbox of 4 returned %s, expected busy", tkv_strerror(e));
    assert_non_null(strstr(tkv_last_error(), "full"));
    /* FSM 2's mailbox is its own: not full. */
    assert_int_equal(bs_send(s, 2, new_msg(0, 0)), TKV_OK);
    bs_stats_t st;
    bs_stats(s, &st);
    assert_int_equal(st.refused, 1);
    assert_int_equal(bs_system_start(s), TKV_OK);
    delivered_arg_t d = { &w, 5 };
    assert_true(rt_wait_until(delivered_reached, &d, RT_WAIT_MS));
    assert_int_equal(send_retry(s, 1, extra), TKV_OK);
    d.want = 6;
    assert_true(rt_wait_until(delivered_reached, &d, RT_WAIT_MS));
    bs_system_shutdown(s);
    check_invariants(&w);
    assert_int_equal(bs_send(s, 3, extra), TKV_ERR_CLOSED);
    bs_system_free(s);
    free_pollers(&w);
}

static int fsms_freed_reached(void *arg)
{
    delivered_arg_t *d = arg;
    return (uint64_t)atomic_load(&d->w->fsms_freed) >= d->want;
}

/* Unregistering: later sends say NOT_FOUND, queued messages are freed not
 * handled, and the FSM is freed once: at once when idle, by the poller that
 * passes it when it was queued, after its round's end() when a handler
 * unregisters its own FSM, by bs_system_free() when no poller ever ran. */
static void test_bs_unregister_frees_fsm_and_its_messages(void **state)
{
    (void)state;
    world_t w;
    bs_system_t *s = make_system(&w, 2, 16, 3);
    assert_int_equal(bs_register(s, 2, NULL), TKV_ERR_INVALID);
    assert_int_equal(bs_unregister(s, 3), TKV_OK);
    assert_int_equal(atomic_load(&w.fsms_freed), 1);
    assert_int_equal(bs_send(s, 1, new_msg(0, 0)), TKV_OK);
    assert_int_equal(bs_send(s, 1, new_msg(0, 1)), TKV_OK);
    assert_int_equal(bs_unregister(s, 1), TKV_OK);
    assert_int_equal(atomic_load(&w.msgs_freed), 2);
    assert_int_equal(atomic_load(&w.fsms_freed), 1); /* queued: its poller frees it */
    assert_int_equal(bs_unregister(s, 1), TKV_ERR_NOT_FOUND);
    msg_t *m = new_msg(0, 0);
    assert_int_equal(bs_send(s, 1, m), TKV_ERR_NOT_FOUND);
    free(m);
    assert_int_equal(bs_count(s), 1);
    assert_int_equal(bs_system_start(s), TKV_OK);
    msg_t *die = new_msg(0, 0);
    die->die = 1;
    assert_int_equal(bs_send(s, 2, die), TKV_OK);
    delivered_arg_t d = { &w, 3 };
    if (!rt_wait_until(fsms_freed_reached, &d, RT_WAIT_MS))
        fail_msg("%d of 3 unregistered FSMs freed", atomic_load(&w.fsms_freed));
    bs_system_shutdown(s);
    assert_int_equal(bs_count(s), 0);
    assert_int_equal(atomic_load(&w.delivered), 1);
    check_invariants(&w);
    bs_system_free(s);
    assert_int_equal(atomic_load(&w.fsms_freed), 3);
    assert_int_equal(atomic_load(&w.msgs_freed), 2);
    free_pollers(&w);

    /* Never started: the queued, unregistered FSM is freed with the system. */
    s = make_system(&w, 1, 16, 2);
    assert_int_equal(bs_send(s, 1, new_msg(0, 0)), TKV_OK);
    assert_int_equal(bs_send(s, 2, new_msg(0, 0)), TKV_OK);
    assert_int_equal(bs_unregister(s, 1), TKV_OK);
    assert_int_equal(atomic_load(&w.fsms_freed), 0);
    bs_system_free(s);
    assert_int_equal(atomic_load(&w.fsms_freed), 2);
    assert_int_equal(atomic_load(&w.msgs_freed), 2);
}

typedef struct {
    world_t *w;
    fsm_t *fsms[4];
    uint64_t want;
} ticks_arg_t;

static int ticks_reached(void *arg)
{
    ticks_arg_t *t = arg;
    return atomic_load(&t->w->control_ticks) >= t->want;
}

/* Ticks pile up as a count while nobody serves them, and never meet a full
 * mailbox: five ticks to a mailbox that is full of messages still arrive. */
static void test_bs_ticks_coalesce_and_skip_the_queue(void **state)
{
    (void)state;
    world_t w;
    bs_system_t *s = make_system(&w, 2, 2, 0);
    ticks_arg_t t = { &w, { NULL }, 5 };
    for (uint64_t i = 1; i <= 3; i++) {
        t.fsms[i] = xcalloc(1, sizeof(fsm_t));
        t.fsms[i]->id = i;
        assert_int_equal(bs_register(s, i, t.fsms[i]), TKV_OK);
    }
    assert_int_equal(bs_send(s, 1, new_msg(0, 0)), TKV_OK);
    assert_int_equal(bs_send(s, 1, new_msg(0, 1)), TKV_OK);
    msg_t *m = new_msg(0, 2);
    assert_int_equal(bs_send(s, 1, m), TKV_ERR_BUSY);
    free(m);
    for (int i = 0; i < 5; i++)
        assert_int_equal(bs_tick_all(s), TKV_OK);
    assert_int_equal(bs_system_start(s), TKV_OK);
    assert_true(rt_wait_until(ticks_reached, &t, RT_WAIT_MS));
    bs_system_shutdown(s);
    for (uint64_t i = 1; i <= 3; i++) {
        if (t.fsms[i]->ticks != 5)
            fail_msg("fsm %llu got %llu ticks, expected 5", (unsigned long long)i,
                     (unsigned long long)t.fsms[i]->ticks);
    }
    assert_int_equal(t.fsms[1]->got, 2);
    bs_stats_t st;
    bs_stats(s, &st);
    assert_int_equal(st.ticks, 20);
    assert_int_equal(bs_tick_all(s), TKV_ERR_CLOSED);
    check_invariants(&w);
    bs_system_free(s);
    free_pollers(&w);
}

/* Bad configurations are refused with a reason. */
static void test_bs_bad_config_is_refused(void **state)
{
    (void)state;
    bs_config_t cfg;
    bs_config_default(&cfg);
    cfg.n_pollers = 0;
    bs_system_t *s = NULL;
    assert_int_equal(bs_system_new(&cfg, &test_ops, NULL, NULL, &s), TKV_ERR_INVALID);
    assert_null(s);
    assert_non_null(strstr(tkv_last_error(), "pollers"));
    bs_config_default(&cfg);
    bs_ops_t ops = test_ops;
    ops.end = NULL;
    assert_int_equal(bs_system_new(&cfg, &ops, NULL, NULL, &s), TKV_ERR_INVALID);
    ops = test_ops;
    ops.handle_control = NULL;
    assert_int_equal(bs_system_new(&cfg, &ops, NULL, &dummy_control, &s), TKV_ERR_INVALID);
    assert_int_equal(bs_system_new(&cfg, &ops, NULL, NULL, &s), TKV_OK);
    msg_t *m = new_msg(0, 0);
    assert_int_equal(bs_send_control(s, m), TKV_ERR_NOT_FOUND);
    free(m);
    bs_system_free(s);
}

const tkv_test_t batch_system_tests[] = {
    { "frame", "bs_thousands_of_fsms_two_pollers", 0,
      "3000 FSMs on 2 pollers: every message handled once, in order, one thread at a time",
      test_bs_thousands_of_fsms_two_pollers, 120 },
    { "frame", "bs_shutdown_serves_every_accepted_message", 0,
      "a shutdown amid sends handles every message a send accepted and refuses the rest",
      test_bs_shutdown_serves_every_accepted_message, 120 },
    { "frame", "bs_full_mailbox_says_busy", 0,
      "a send to a full mailbox fails with busy and the caller keeps the message",
      test_bs_full_mailbox_says_busy },
    { "frame", "bs_unregister_frees_fsm_and_its_messages", 0,
      "an unregistered FSM is freed once with its queued messages; sends to it say not found",
      test_bs_unregister_frees_fsm_and_its_messages },
    { "frame", "bs_ticks_coalesce_and_skip_the_queue", 0,
      "ticks pile up as a count and reach FSMs whose mailbox is full",
      test_bs_ticks_coalesce_and_skip_the_queue },
    { "frame", "bs_bad_config_is_refused", 0,
      "a batch system with no pollers or missing ops is refused with a reason",
      test_bs_bad_config_is_refused },
    { 0 },
};
