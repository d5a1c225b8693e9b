/*
 * Failure hooks (test.h): what a failing test leaves behind to explain
 * itself, such as the simulator's trace file.
 *
 * A failed cmocka assertion jumps out of the test body, so whatever the test
 * built is still alive (never freed) when test_main.c runs these hooks: that
 * is what lets a hook write out a trace the test never got to free.
 */
#include <stdio.h>

#include "tests/harness/test.h"

#define MAX_HOOKS 16

static struct {
    tkv_failure_fn fn;
    void *arg;
} hooks[MAX_HOOKS];
static int nhooks;

void tkv_on_failure(tkv_failure_fn fn, void *arg)
{
    if (nhooks == MAX_HOOKS) {
        fprintf(stderr, "harness: more than %d failure hooks; ignoring one\n", MAX_HOOKS);
        return;
    }
    hooks[nhooks].fn = fn;
    hooks[nhooks].arg = arg;
    nhooks++;
}

void tkv_on_failure_remove(tkv_failure_fn fn, void *arg)
{
    for (int i = 0; i < nhooks; i++) {
        if (hooks[i].fn == fn && hooks[i].arg == arg) {
            hooks[i] = hooks[nhooks - 1];
            nhooks--;
            return;
        }
    }
}

void tkv_run_failure_hooks(const char *test_name, uint64_t seed)
{
    /* Forget them first: a hook that fails must not run twice. */
    int n = nhooks;
    nhooks = 0;
    for (int i = 0; i < n; i++)
        hooks[i].fn(hooks[i].arg, test_name, seed);
}
