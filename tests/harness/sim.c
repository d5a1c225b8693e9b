/*
 * The event loop behind sim.h: a binary min-heap of events keyed by
 * (time, seq) and a virtual clock that jumps to each event's time.
 *
 * seq grows by one per sim_schedule(), so two events due at the same time
 * run in the order they were scheduled: the heap's shape never leaks into
 * the run, which is what keeps a seed's run identical from machine to
 * machine.
 */
#include <stdlib.h>

#include "common/buf.h"
#include "tests/harness/sim.h"

typedef struct {
    uint64_t time;
    uint64_t seq; /* also the event's id */
    sim_event_fn fn;
    void *arg;
    sim_free_fn free_arg;
} sim_event_t;

struct sim {
    tkv_vclock_t clock;
    tkv_prng_t prng;
    sim_event_t *heap;
    size_t len, cap;
    uint64_t next_seq;
    uint64_t events_run;
};

static int event_before(const sim_event_t *a, const sim_event_t *b)
{
    if (a->time != b->time)
        return a->time < b->time;
    return a->seq < b->seq;
}

static void heap_swap(sim_t *sim, size_t i, size_t j)
{
    sim_event_t t = sim->heap[i];
    sim->heap[i] = sim->heap[j];
    sim->heap[j] = t;
}

static void heap_up(sim_t *sim, size_t i)
{
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!event_before(&sim->heap[i], &sim->heap[parent]))
            break;
        heap_swap(sim, i, parent);
        i = parent;
    }
}

static void heap_down(sim_t *sim, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, min = i;
        if (l < sim->len && event_before(&sim->heap[l], &sim->heap[min]))
            min = l;
        if (r < sim->len && event_before(&sim->heap[r], &sim->heap[min]))
            min = r;
        if (min == i)
            return;
        heap_swap(sim, i, min);
        i = min;
    }
}

/* Removes heap[i] and returns it; the caller runs or frees it. */
static sim_event_t heap_remove(sim_t *sim, size_t i)
{
    sim_event_t ev = sim->heap[i];
    sim->len--;
    if (i < sim->len) {
        sim->heap[i] = sim->heap[sim->len];
        heap_down(sim, i);
        heap_up(sim, i);
    }
    return ev;
}

sim_t *sim_loop_new(uint64_t seed)
{
    sim_t *sim = xcalloc(1, sizeof(*sim));
    vclock_init(&sim->clock, 0);
    prng_seed(&sim->prng, seed);
    sim->next_seq = 1;
    return sim;
}

void sim_loop_free(sim_t *sim)
{
    if (sim == NULL)
        return;
    for (size_t i = 0; i < sim->len; i++) {
        if (sim->heap[i].free_arg != NULL)
            sim->heap[i].free_arg(sim->heap[i].arg);
    }
    free(sim->heap);
    free(sim);
}

uint64_t sim_now(const sim_t *sim)
{
    return sim->clock.now;
}

const tkv_clock_t *sim_clock(sim_t *sim)
{
    return &sim->clock.clock;
}

tkv_prng_t *sim_prng(sim_t *sim)
{
    return &sim->prng;
}

uint64_t sim_schedule(sim_t *sim, uint64_t delay_ms, sim_event_fn fn, void *arg,
                      sim_free_fn free_arg)
{
    if (sim->len == sim->cap) {
        sim->cap = sim->cap ? sim->cap * 2 : 64;
        sim->heap = xrealloc(sim->heap, sim->cap * sizeof(*sim->heap));
    }
    uint64_t id = sim->next_seq++;
    sim->heap[sim->len] = (sim_event_t){ sim->clock.now + delay_ms, id, fn, arg, free_arg };
    sim->len++;
    /* heap_up moves entries around: the id was saved before. */
    heap_up(sim, sim->len - 1);
    return id;
}

int sim_cancel(sim_t *sim, uint64_t id)
{
    for (size_t i = 0; i < sim->len; i++) {
        if (sim->heap[i].seq == id) {
            sim_event_t ev = heap_remove(sim, i);
            if (ev.free_arg != NULL)
                ev.free_arg(ev.arg);
            return 1;
        }
    }
    return 0;
}

int sim_step(sim_t *sim)
{
    if (sim->len == 0)
        return 0;
    sim_event_t ev = heap_remove(sim, 0);
    vclock_set(&sim->clock, ev.time);
    sim->events_run++;
    ev.fn(sim, ev.arg);
    if (ev.free_arg != NULL)
        ev.free_arg(ev.arg);
    return 1;
}

void sim_run_until(sim_t *sim, uint64_t t)
{
    while (sim->len > 0 && sim->heap[0].time <= t)
        sim_step(sim);
    vclock_set(&sim->clock, t);
}

void sim_run_for(sim_t *sim, uint64_t ms)
{
    sim_run_until(sim, sim->clock.now + ms);
}

int sim_run_while(sim_t *sim, sim_pred_fn pred, void *arg, uint64_t max_time)
{
    while (pred(arg)) {
        if (sim->len == 0 || sim->heap[0].time > max_time) {
            vclock_set(&sim->clock, max_time);
            return 0;
        }
        sim_step(sim);
    }
    return 1;
}

size_t sim_pending(const sim_t *sim)
{
    return sim->len;
}

uint64_t sim_events_run(const sim_t *sim)
{
    return sim->events_run;
}
