/*
 * Fail points (failpoint.h): a small table of armed points, a hit counter
 * per armed point, and the set of contexts that crashed.
 */
#include <string.h>

#include "common/failpoint.h"

#define MAX_ARMED    16
#define MAX_CONTEXTS 64
#define NAME_MAX_LEN 48

typedef struct {
    char name[NAME_MAX_LEN];
    int ctx;
    uint64_t left; /* hits until it fires */
    failpoint_action_t action;
    int in_use;
} armed_t;

int failpoint_active;

static armed_t armed[MAX_ARMED];
static int n_armed;
static int current;
/* dead[c]: context c crashed at the point named crash_at[c]. */
static int dead[MAX_CONTEXTS];
static char crash_at[MAX_CONTEXTS][NAME_MAX_LEN];
static int n_dead;
static uint64_t fired;

static void update_active(void)
{
    failpoint_active = n_armed > 0 || n_dead > 0;
}

static int ctx_slot(int ctx)
{
    return ctx >= 0 && ctx < MAX_CONTEXTS ? ctx : 0;
}

failpoint_action_t failpoint_eval(const char *name)
{
    int c = ctx_slot(current);
    if (current != 0 && dead[c])
        return FAILPOINT_CRASH; /* a dead process runs no further */
    for (int i = 0; i < MAX_ARMED; i++) {
        armed_t *a = &armed[i];
        if (!a->in_use || (a->ctx != 0 && a->ctx != current) || strcmp(a->name, name) != 0)
            continue;
        if (--a->left > 0)
            continue;
        failpoint_action_t act = a->action;
        a->in_use = 0;
        n_armed--;
        fired++;
        if (act == FAILPOINT_CRASH && current != 0) {
            dead[c] = 1;
            strncpy(crash_at[c], name, NAME_MAX_LEN - 1);
            n_dead++;
        }
        update_active();
        return act;
    }
    return FAILPOINT_NONE;
}

int failpoint_arm(const char *name, int ctx, uint64_t nth, failpoint_action_t action)
{
    for (int i = 0; i < MAX_ARMED; i++) {
        armed_t *a = &armed[i];
        if (a->in_use)
            continue;
        memset(a, 0, sizeof(*a));
        strncpy(a->name, name, NAME_MAX_LEN - 1);
        a->ctx = ctx;
        a->left = nth > 0 ? nth : 1;
        a->action = action;
        a->in_use = 1;
        n_armed++;
        update_active();
        return 0;
    }
    return -1;
}

int failpoint_armed(void)
{
    return n_armed;
}

void failpoint_reset(void)
{
    memset(armed, 0, sizeof(armed));
    memset(dead, 0, sizeof(dead));
    memset(crash_at, 0, sizeof(crash_at));
    n_armed = n_dead = 0;
    fired = 0;
    update_active();
}

int failpoint_set_context(int ctx)
{
    int old = current;
    current = ctx;
    return old;
}

int failpoint_context(void)
{
    return current;
}

int failpoint_is_dead(int ctx)
{
    return ctx != 0 && dead[ctx_slot(ctx)];
}

void failpoint_revive(int ctx)
{
    int c = ctx_slot(ctx);
    if (ctx == 0 || !dead[c])
        return;
    dead[c] = 0;
    crash_at[c][0] = '\0';
    n_dead--;
    update_active();
}

uint64_t failpoint_fired(void)
{
    return fired;
}

const char *failpoint_crash_point(int ctx)
{
    return crash_at[ctx_slot(ctx)];
}
