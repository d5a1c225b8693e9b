/*
 * The timestamp oracle: timestamps for transactions (project 4), strictly
 * increasing, even across a restart of the scheduler and even if the clock
 * steps back.
 *
 * A timestamp is (physical ms, logical counter), as one uint64
 * physical << 18 | logical. Within one millisecond the logical part counts
 * up; when it would overflow (2^18 per ms) the oracle moves its physical part
 * one millisecond ahead of the clock rather than wait.
 *
 * Restarts: before handing out a timestamp with physical part p the oracle
 * has saved (synced) an upper bound >= p; the bound is raised a window at a
 * time (TinyKV: 3 s) so a disk write is rare. A restarted oracle starts above
 * the saved bound, so it never repeats or goes back, whatever its clock says.
 *
 * Not thread-safe (the service holds a mutex). Ownership: tso_open() borrows
 * `eng` and `clock`; free the oracle with tso_free().
 */
#ifndef TKV_SCHED_TSO_H
#define TKV_SCHED_TSO_H

#include <stdint.h>

#include "common/clock.h"
#include "common/engine.h"
#include "common/err.h"

#define TSO_LOGICAL_BITS 18
#define TSO_MAX_LOGICAL  (1 << TSO_LOGICAL_BITS)

typedef struct sched_tso sched_tso_t;

/* `window_ms` 0 means 3000. Saves the first bound before returning. */
tkv_err_t tso_open(eng_t *eng, const tkv_clock_t *clock, uint64_t window_ms, sched_tso_t **out);
void tso_free(sched_tso_t *t);
/* Reserves `count` (1 .. TSO_MAX_LOGICAL-1) consecutive timestamps and
 * returns the last of them. TKV_ERR_INVALID for a bad count, TKV_ERR_IO when
 * the bound cannot be saved (then nothing is handed out). */
tkv_err_t tso_get(sched_tso_t *t, uint32_t count, int64_t *physical, int64_t *logical);
/* The single-uint64 form. */
uint64_t tso_compose(int64_t physical, int64_t logical);

#endif
