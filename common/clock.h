/*
 * Where time comes from.
 *
 * Nothing below the drivers reads the system clock directly: it asks a
 * tkv_clock_t. The runtime hands out clock_real(); the simulator hands out a
 * virtual clock that moves only when the simulator says so, which is what
 * makes a test replayable from its seed.
 */
#ifndef TKV_COMMON_CLOCK_H
#define TKV_COMMON_CLOCK_H

#include <stdint.h>

typedef struct tkv_clock {
    uint64_t (*now_ms)(const struct tkv_clock *clock);
} tkv_clock_t;

/* Milliseconds on `clock`. */
uint64_t clock_now_ms(const tkv_clock_t *clock);

/* The system's monotonic clock. Static storage; never freed. */
const tkv_clock_t *clock_real(void);

/* Wall-clock milliseconds since the Unix epoch (for timestamps that must
 * survive a restart, like the scheduler's TSO). */
uint64_t clock_wall_ms(void);
/* The same as a tkv_clock_t. Static storage; never freed. */
const tkv_clock_t *clock_wall(void);

/* A clock that stands still until advanced. Embed it; `clock` is its door. */
typedef struct {
    tkv_clock_t clock;
    uint64_t now;
} tkv_vclock_t;

void vclock_init(tkv_vclock_t *vc, uint64_t start_ms);
void vclock_advance(tkv_vclock_t *vc, uint64_t ms);
/* Moves to `ms`; a clock never goes back, so an earlier `ms` is ignored. */
void vclock_set(tkv_vclock_t *vc, uint64_t ms);

#endif
