/*
 * What the fuzz suite's tests share: the budget (how many inputs a run
 * tries) and the counts every run reports.
 *
 * The budget is FUZZ_STEPS from the environment, or the test's default
 * (small: `make test` runs these in a few seconds). `make fuzz` sets it high.
 * Each run prints one line: what it tried and how the door answered.
 */
#ifndef TKV_TESTS_FUZZ_H
#define TKV_TESTS_FUZZ_H

#include "common/err.h"
#include "common/prng.h"
#include "project2-raft/raft/raft_types.h"
#include "tests/harness/test.h"

typedef struct {
    unsigned long tried;    /* inputs given to the door */
    unsigned long mutated;  /* of which changed from a real one */
    unsigned long refused;  /* answered TKV_ERR_INVALID or TKV_ERR_CORRUPT */
    unsigned long accepted; /* answered TKV_OK */
    unsigned long other;    /* any other error (not leader, not found...) */
} fuzz_counts_t;

long fuzz_budget(long default_steps);
void fuzz_count(fuzz_counts_t *c, tkv_err_t err, int mutated);
/* One line on stdout: "fuzz NAME seed S: tried ... refused ... accepted ...". */
void fuzz_report(const char *name, uint64_t seed, const fuzz_counts_t *c);

/* Changes one or two fields of m in place, keeping its memory consistent
 * (arrays and their counts agree): a field set near its value or to a random
 * or extreme one, an entry's index, term or data changed, leading entries
 * dropped, the type, an id (up to max_id + 1), the snapshot's metadata. */
void fuzz_mutate_message(tkv_prng_t *g, raft_message_t *m, uint64_t max_id);

#endif
