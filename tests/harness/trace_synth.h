/*
 * A synthetic trace of any length, in the format trace.h writes: a five-node
 * cluster with three clients exchanging messages (some lost), changing
 * leaders and terms, committing and applying, crashing and restarting,
 * partitioned now and then, and a failed check naming two operations.
 *
 * It exists to prove the trace viewer on large traces (the frame tests and
 * CI render a 100 000-event page) without running a cluster for minutes.
 * Seeded, so the same arguments give the same file.
 */
#ifndef TKV_TESTS_HARNESS_TRACE_SYNTH_H
#define TKV_TESTS_HARNESS_TRACE_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Writes exactly `events` event lines (at least 100) to `path`. */
tkv_err_t trace_synth_write(const char *path, size_t events, uint64_t seed);

#endif
