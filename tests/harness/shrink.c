/*
 * Scale and shrinking (test.h): smaller runs of a failing seed.
 *
 * A scenario sizes itself with tkv_scaled(), which also remembers what it
 * was asked (name, full size, minimum), so that after a failure the harness
 * knows the test can shrink and can say what each smaller run looks like.
 *
 * Shrinking replays the test in fresh processes (this binary, /proc/self/exe,
 * with SEED and SCALE set and SHRINK cleared), never in this one: a failed
 * cmocka test has jumped out of its body and left its cluster behind. The
 * same seed at a smaller scale is a different but smaller run of the same
 * scenario; halving while it still fails finds a small failing run in a few
 * replays, and each replay is cheaper than the last.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness/test.h"

extern char **environ;

#define MAX_SIZES 16

/* What tkv_scaled() was asked, in the order it was asked. */
static struct {
    const char *what;
    uint64_t full, min;
} sizes[MAX_SIZES];
static int nsizes;

const char *tkv_scale_spec(void)
{
    const char *s = getenv("SCALE");
    return s != NULL ? s : "";
}

/* The value SCALE gives `what`, or `full`; clamped to [min, full]. */
static uint64_t scale_of(const char *spec, const char *what, uint64_t full, uint64_t min)
{
    size_t wlen = strlen(what);
    for (const char *p = spec; *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (len > wlen && strncmp(p, what, wlen) == 0 && p[wlen] == ':') {
            char *end = NULL;
            unsigned long long v = strtoull(p + wlen + 1, &end, 10);
            if (end != p + wlen + 1 && (end == p + len))
                return v < min ? min : v > full ? full : v;
            fprintf(stderr, "SCALE: '%.*s' is not %s:<number>; ignoring it\n", (int)len, p, what);
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return full;
}

uint64_t tkv_scaled(const char *what, uint64_t full, uint64_t min)
{
    int i = 0;
    while (i < nsizes && strcmp(sizes[i].what, what) != 0)
        i++;
    if (i == nsizes && nsizes < MAX_SIZES)
        nsizes++;
    if (i < MAX_SIZES) {
        sizes[i].what = what;
        sizes[i].full = full;
        sizes[i].min = min < full ? min : full;
    }
    return scale_of(tkv_scale_spec(), what, full, min);
}

/* The environment of a replay: ours without SEED, SCALE and SHRINK, plus
 * the two set. The caller frees the array (not the strings it borrows). */
static char **replay_env(char *seed_var, char *scale_var)
{
    size_t n = 0;
    while (environ[n] != NULL)
        n++;
    char **env = calloc(n + 3, sizeof(*env));
    if (env == NULL)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "SEED=", 5) == 0 || strncmp(environ[i], "SEEDS=", 6) == 0 ||
            strncmp(environ[i], "SCALE=", 6) == 0 || strncmp(environ[i], "SHRINK=", 7) == 0)
            continue;
        env[k++] = environ[i];
    }
    env[k++] = seed_var;
    env[k++] = scale_var;
    env[k] = NULL;
    return env;
}

/* Runs suite/name with SCALE=spec in a fresh process, its output to
 * `log`. Returns 1 if it failed, 0 if it passed, -1 if it could not run. */
static int replay_fails(const char *suite, const char *name, uint64_t seed, const char *spec,
                        const char *log)
{
    char seed_var[48], scale_var[320], target[256];
    snprintf(seed_var, sizeof(seed_var), "SEED=%llu", (unsigned long long)seed);
    snprintf(scale_var, sizeof(scale_var), "SCALE=%s", spec);
    snprintf(target, sizeof(target), "%s/%s", suite, name);
    char **env = replay_env(seed_var, scale_var);
    if (env == NULL)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    char self[] = "/proc/self/exe", run[] = "--run";
    char *argv[] = { self, run, target, NULL };
    pid_t pid;
    int rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    if (rc != 0) {
        fprintf(stderr, "shrink: cannot start a replay: %s\n", strerror(rc));
        return -1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The lines of a replay's output that say where its trace and page are. */
static void print_where(const char *log)
{
    FILE *f = fopen(log, "r");
    if (f == NULL)
        return;
    char line[1024];
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "trace (", 7) == 0 || strncmp(line, "see it:", 7) == 0)
            fprintf(stderr, "  %s", line);
    }
    fclose(f);
}

/* SCALE for the sizes in `vals`, naming only those below full. */
static void spec_of(const uint64_t *vals, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < nsizes && n < size; i++) {
        if (vals[i] == sizes[i].full)
            continue;
        int w = snprintf(out + n, size - n, "%s%s:%llu", n ? "," : "", sizes[i].what,
                         (unsigned long long)vals[i]);
        n += w > 0 ? (size_t)w : 0;
    }
}

int tkv_shrink(const char *suite, const char *name, uint64_t seed, char *smallest, size_t size)
{
    smallest[0] = '\0';
    if (seed == 0 || nsizes == 0) {
        fprintf(stderr, "shrink: %s takes no seed or no sizes (tkv_scaled): nothing to shrink\n",
                name);
        return 0;
    }
    uint64_t vals[MAX_SIZES];
    for (int i = 0; i < nsizes; i++)
        vals[i] = scale_of(tkv_scale_spec(), sizes[i].what, sizes[i].full, sizes[i].min);
    const char *tmp = getenv("TMPDIR");
    char log[512], best_log[512] = "", spec[300];
    int tries = 0, found = 0;
    fprintf(stderr, "shrink: replaying seed %llu with smaller sizes, one at a time\n",
            (unsigned long long)seed);
    for (int i = 0; i < nsizes; i++) {
        /* The minimum, a quarter, a half: smallest first, the first that
         * fails is kept. */
        uint64_t cand[3] = { sizes[i].min, sizes[i].full / 4, sizes[i].full / 2 };
        uint64_t tried_below = 0;
        for (int k = 0; k < 3; k++) {
            uint64_t v = cand[k];
            if (v < sizes[i].min || v >= vals[i] || v <= tried_below)
                continue;
            tried_below = v;
            uint64_t keep = vals[i];
            vals[i] = v;
            spec_of(vals, spec, sizeof(spec));
            snprintf(log, sizeof(log), "%s/tkv-shrink-%d-%d.log", tmp && *tmp ? tmp : "/tmp",
                     (int)getpid(), ++tries);
            int r = replay_fails(suite, name, seed, spec, log);
            fprintf(stderr, "  SCALE=%-40s %s\n", spec,
                    r > 0    ? "fails"
                    : r == 0 ? "passes"
                             : "could not run");
            if (r > 0) {
                if (best_log[0] != '\0')
                    remove(best_log);
                snprintf(best_log, sizeof(best_log), "%s", log);
                found = 1;
                break;
            }
            remove(log);
            vals[i] = keep;
        }
    }
    if (!found) {
        fprintf(stderr,
                "shrink: no smaller failing run in %d replays; the run above is the "
                "smallest found\n",
                tries);
        return 0;
    }
    spec_of(vals, spec, sizeof(spec));
    snprintf(smallest, size, "%s", spec);
    fprintf(stderr, "shrink: the smallest failing run found in %d replays:", tries);
    for (int i = 0; i < nsizes; i++)
        fprintf(stderr, "%s %s %llu of %llu", i ? "," : "", sizes[i].what,
                (unsigned long long)vals[i], (unsigned long long)sizes[i].full);
    fprintf(stderr, "\nreplay the smallest: make %s TEST=%s SEED=%llu SCALE=%s\n", suite, name,
            (unsigned long long)seed, spec);
    print_where(best_log);
    remove(best_log);
    return 1;
}

void tkv_shrink_failure(const char *suite, const char *name, uint64_t seed)
{
    const char *want = getenv("SHRINK");
    char spec[300];
    if (want != NULL && strcmp(want, "1") == 0)
        tkv_shrink(suite, name, seed, spec, sizeof(spec));
}
