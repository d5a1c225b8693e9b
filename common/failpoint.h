/*
 * Fail points: named places in frame code where a test makes things go
 * wrong on purpose, as TiKV does with fail-rs.
 *
 * Code marks a place with FAILPOINT("name") and acts on what it returns:
 *
 *     if (FAILPOINT("engine.write") == FAILPOINT_ERROR)
 *         return tkv_errorf(TKV_ERR_IO, "injected");
 *
 * Nothing is armed in a normal run: FAILPOINT is one load and one compare
 * of a global, and returns FAILPOINT_NONE. A test arms a point to fire once,
 * on its N-th hit from now (deterministic: the test draws N from its seed),
 * optionally only while a given context is current. A context is a number
 * the driver sets around each call into one node (the simulator sets the
 * node's id), so one point in shared code can target one node of many in
 * the same process.
 *
 * Two actions:
 *   FAILPOINT_ERROR  the code at the point fails as if the disk had (the
 *                    caller returns an I/O error);
 *   FAILPOINT_CRASH  the context dies right there: from then on every
 *                    point hit in that context answers FAILPOINT_CRASH, and
 *                    the code treats that as "the process is gone" (the
 *                    engine drops writes, the driver drops sends and
 *                    replies), until the driver stops the node and revives
 *                    the context. A crash at a point is thus a crash in the
 *                    middle of a step, which stopping a node between
 *                    events cannot give.
 *
 * The state is global and not thread-safe: fail points are for the
 * single-threaded simulator. No allocation; nothing to free.
 */
#ifndef TKV_COMMON_FAILPOINT_H
#define TKV_COMMON_FAILPOINT_H

#include <stdint.h>

typedef enum {
    FAILPOINT_NONE = 0,
    FAILPOINT_ERROR,
    FAILPOINT_CRASH,
} failpoint_action_t;

/* Non-zero while any point is armed or any context is dead (read it only
 * through FAILPOINT). */
extern int failpoint_active;

failpoint_action_t failpoint_eval(const char *name);

#define FAILPOINT(name) (failpoint_active ? failpoint_eval(name) : FAILPOINT_NONE)

/* Arms `name` to fire `action` once, on its nth hit (1: the next one)
 * counted while context `ctx` is current (0: in any context). At most 16
 * points are armed at once; arming a 17th fails (returns -1). `name` is
 * copied. */
int failpoint_arm(const char *name, int ctx, uint64_t nth, failpoint_action_t action);
/* Points armed and not fired yet. */
int failpoint_armed(void);
/* Disarms every point and revives every context. */
void failpoint_reset(void);

/* The context hits count against (0: none). Returns the previous one. */
int failpoint_set_context(int ctx);
int failpoint_context(void);
/* Whether context `ctx` crashed at a fail point and was not revived yet. */
int failpoint_is_dead(int ctx);
/* The driver stopped the crashed node: its context lives again. */
void failpoint_revive(int ctx);
/* How many times points fired since the last reset (all names). */
uint64_t failpoint_fired(void);
/* The name of the point that crashed `ctx` ("" if alive). Borrowed. */
const char *failpoint_crash_point(int ctx);

#endif
