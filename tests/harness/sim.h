/*
 * The simulator's event loop: one thread, a virtual clock, one seeded PRNG.
 *
 * Everything that happens in a simulated cluster (a message arriving, a node
 * ticking, a client timing out, a crash the test planned) is an event: a
 * callback due at a virtual time. The loop keeps the events in a binary heap
 * ordered by (time, sequence number), pops the earliest, moves the virtual
 * clock to its time and runs it. The sequence number breaks ties in the order
 * events were scheduled, so nothing depends on heap layout or addresses, and
 * every random choice comes from the one PRNG the test seeded: one seed gives
 * one run, event for event.
 *
 * How a test uses it:
 *
 *     sim_t *sim = sim_loop_new(seed);
 *     sim_schedule(sim, 50, crash_node_2, ctx, NULL);   // 50 ms from now
 *     sim_run_until(sim, 10000);                          // 10 s of virtual time
 *     if (!sim_run_while(sim, not_done_yet, ctx, 20000))  // or until a condition
 *         fail_msg("no progress by 20 s");
 *     sim_loop_free(sim);
 *
 * The network (sim_net.h) and the cluster (sim_cluster.h) schedule their
 * own events on a sim_t; a test rarely schedules by hand except for faults.
 *
 * Ownership: sim_loop_new() returns a loop the caller frees with
 * sim_loop_free(). An event's `arg` is the scheduler's business: if
 * `free_arg` is given it is called once, after the event ran or when it is
 * cancelled or discarded by sim_loop_free(), so an event may own its
 * argument (a message copy, say).
 */
#ifndef TKV_TESTS_HARNESS_SIM_H
#define TKV_TESTS_HARNESS_SIM_H

#include <stddef.h>
#include <stdint.h>

#include "common/clock.h"
#include "common/prng.h"

typedef struct sim sim_t;

typedef void (*sim_event_fn)(sim_t *sim, void *arg);
typedef void (*sim_free_fn)(void *arg);
/* For sim_run_while(): keep running while this returns non-zero. */
typedef int (*sim_pred_fn)(void *arg);

/* A loop at virtual time 0 whose PRNG is seeded with `seed`.
 * (Not sim_new/sim_free: tests/raft has its own RawNode simulator under
 * those names, and the harness is linked into every test binary.) */
sim_t *sim_loop_new(uint64_t seed);
/* Frees the loop and every event still queued (calling their free_arg). */
void sim_loop_free(sim_t *sim);

/* Virtual milliseconds since the start of the run. */
uint64_t sim_now(const sim_t *sim);
/* The virtual clock, for code that takes a tkv_clock_t (logging, nodes).
 * Borrowed: valid until sim_loop_free(). */
const tkv_clock_t *sim_clock(sim_t *sim);
/* The run's only source of randomness. Borrowed: valid until sim_loop_free(). */
tkv_prng_t *sim_prng(sim_t *sim);

/* Runs fn(sim, arg) `delay_ms` from now (0: after the events already due
 * now). Returns the event's id (never 0), for sim_cancel(). */
uint64_t sim_schedule(sim_t *sim, uint64_t delay_ms, sim_event_fn fn, void *arg,
                      sim_free_fn free_arg);
/* Drops a queued event; returns 1 if it was queued, 0 if it already ran or
 * never existed. Linear in the queue length: meant for rare use (timers). */
int sim_cancel(sim_t *sim, uint64_t id);

/* Runs the earliest event. Returns 0 when the queue is empty. */
int sim_step(sim_t *sim);
/* Runs every event due at or before `t`, then sets the clock to `t`. */
void sim_run_until(sim_t *sim, uint64_t t);
/* Runs `ms` of virtual time from now. */
void sim_run_for(sim_t *sim, uint64_t ms);
/* Runs events while pred(arg) holds and the next event is due by `max_time`.
 * Returns 1 if pred became false, 0 if time ran out (the clock is then at
 * `max_time`) or the queue emptied with pred still true. */
int sim_run_while(sim_t *sim, sim_pred_fn pred, void *arg, uint64_t max_time);

/* Events queued now, and events run since sim_loop_new(). */
size_t sim_pending(const sim_t *sim);
uint64_t sim_events_run(const sim_t *sim);

#endif
