/*
 * The event trace behind trace.h: a ring of formatted lines plus a running
 * FNV-1a 64 digest.
 *
 * The digest is folded over each line as it is recorded, not over the ring,
 * so it covers the whole run even when old lines have been dropped. Lines
 * hold virtual times only, never addresses or wall-clock times, so equal
 * digests mean equal runs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "tests/harness/test.h"
#include "tests/harness/trace.h"

#define FNV_OFFSET 0xcbf29ce484222325ull
#define FNV_PRIME  0x100000001b3ull

struct trace {
    const tkv_clock_t *clock;
    char **ring; /* `keep` slots; line i of the run is at i % keep */
    size_t keep;
    uint64_t count;
    uint64_t digest;
    char label[64];
    int hooked;
};

trace_t *trace_new(const tkv_clock_t *clock, size_t keep)
{
    trace_t *tr = xcalloc(1, sizeof(*tr));
    tr->clock = clock;
    tr->keep = keep ? keep : 100000;
    tr->ring = xcalloc(tr->keep, sizeof(*tr->ring));
    tr->digest = FNV_OFFSET;
    return tr;
}

static void on_failure(void *arg, const char *test_name, uint64_t seed);

void trace_free(trace_t *tr)
{
    if (tr == NULL)
        return;
    if (tr->hooked)
        tkv_on_failure_remove(on_failure, tr);
    for (size_t i = 0; i < tr->keep; i++)
        free(tr->ring[i]);
    free(tr->ring);
    free(tr);
}

void trace_event(trace_t *tr, int node, const char *kind, const char *fmt, ...)
{
    if (tr == NULL)
        return;
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    char line[640];
    int n = snprintf(line, sizeof(line), "%8llu ms  n%-2d %-10s %s",
                     (unsigned long long)clock_now_ms(tr->clock), node, kind, detail);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    for (size_t i = 0; i < len; i++) {
        tr->digest ^= (uint8_t)line[i];
        tr->digest *= FNV_PRIME;
    }
    /* A line separator, so "ab"+"c" and "a"+"bc" digest differently. */
    tr->digest ^= '\n';
    tr->digest *= FNV_PRIME;
    size_t slot = tr->count % tr->keep;
    free(tr->ring[slot]);
    tr->ring[slot] = (char *)bytes_dup(line, len + 1);
    tr->count++;
}

uint64_t trace_digest(const trace_t *tr)
{
    return tr->digest;
}

uint64_t trace_count(const trace_t *tr)
{
    return tr->count;
}

/* The kept lines in order: first index and how many. */
static uint64_t first_kept(const trace_t *tr)
{
    return tr->count > tr->keep ? tr->count - tr->keep : 0;
}

size_t trace_count_kind(const trace_t *tr, int node, const char *kind)
{
    char want_node[16];
    snprintf(want_node, sizeof(want_node), "n%-2d ", node);
    size_t klen = strlen(kind), n = 0;
    for (uint64_t i = first_kept(tr); i < tr->count; i++) {
        const char *line = tr->ring[i % tr->keep];
        /* The fixed layout: time (8) " ms  " (5), then "nID ", then kind. */
        const char *p = strstr(line, " ms  n");
        if (p == NULL)
            continue;
        p += 5;
        if (node >= 0 && strncmp(p, want_node, strlen(want_node)) != 0)
            continue;
        p = strchr(p, ' ');
        while (p != NULL && *p == ' ')
            p++;
        if (p != NULL && strncmp(p, kind, klen) == 0 && (p[klen] == ' ' || p[klen] == '\0'))
            n++;
    }
    return n;
}

void trace_print(const trace_t *tr, FILE *out)
{
    if (tr->count > tr->keep)
        fprintf(out, "(%llu earlier events dropped)\n", (unsigned long long)(tr->count - tr->keep));
    for (uint64_t i = first_kept(tr); i < tr->count; i++)
        fprintf(out, "%s\n", tr->ring[i % tr->keep]);
    fprintf(out, "(%llu events, digest %016llx)\n", (unsigned long long)tr->count,
            (unsigned long long)tr->digest);
}

tkv_err_t trace_write(const trace_t *tr, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return tkv_errorf(TKV_ERR_IO, "cannot write trace %s: %s", path, strerror(errno));
    trace_print(tr, f);
    if (fclose(f) != 0)
        return tkv_errorf(TKV_ERR_IO, "cannot write trace %s: %s", path, strerror(errno));
    return TKV_OK;
}

static void on_failure(void *arg, const char *test_name, uint64_t seed)
{
    trace_t *tr = arg;
    tr->hooked = 0;
    const char *dir = getenv("TKV_TRACE_DIR");
    if (dir == NULL || *dir == '\0')
        dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    char path[512];
    snprintf(path, sizeof(path), "%s/%s-seed%llu-%s.trace", dir, test_name,
             (unsigned long long)seed, tr->label);
    if (trace_write(tr, path) == TKV_OK)
        fprintf(stderr, "trace (%llu events, digest %016llx) written to %s\n",
                (unsigned long long)tr->count, (unsigned long long)tr->digest, path);
    else
        fprintf(stderr, "%s\n", tkv_last_error());
}

void trace_write_on_failure(trace_t *tr, const char *label)
{
    snprintf(tr->label, sizeof(tr->label), "%s", label);
    if (!tr->hooked)
        tkv_on_failure(on_failure, tr);
    tr->hooked = 1;
}
