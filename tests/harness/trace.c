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
#include "tests/harness/trace_page.h"

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
    /* trace_state()'s memory: the last state per (node, region). The
     * values are compared, not the line: a node calls trace_state() for
     * every region after every step, and formatting each time cost a
     * 20-client 3B run 40% of its time. */
    struct last_state {
        int node;
        trace_state_t st; /* st.role: the name compared by strcmp, borrowed */
    } * states;
    size_t nstates, capstates;
    /* Index of `states` by (node, region): open addressing, slot index + 1
     * (0: empty), at least twice as many buckets as states. */
    size_t *index, nbuckets;
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
    free(tr->states);
    free(tr->index);
    free(tr);
}

static void reindex(trace_t *tr);

/* A node that starts or crashes has no state yet: forget what was shown. */
static void forget_states(trace_t *tr, int node)
{
    for (size_t i = 0; i < tr->nstates;) {
        if (tr->states[i].node == node)
            tr->states[i] = tr->states[--tr->nstates];
        else
            i++;
    }
    reindex(tr);
}

void trace_event(trace_t *tr, int node, const char *kind, const char *fmt, ...)
{
    if (tr == NULL)
        return;
    if (strcmp(kind, "start") == 0 || strcmp(kind, "crash") == 0)
        forget_states(tr, node);
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

static int same_state(const trace_state_t *a, const trace_state_t *b)
{
    const char *ra = a->role ? a->role : "?", *rb = b->role ? b->role : "?";
    return a->term == b->term && a->commit == b->commit && a->applied == b->applied &&
           a->conf_ver == b->conf_ver && a->version == b->version && strcmp(ra, rb) == 0;
}

static size_t bucket_of(const trace_t *tr, int node, uint64_t region)
{
    uint64_t h = (region * FNV_PRIME) ^ (uint64_t)(unsigned)node * 0x9e3779b97f4a7c15ull;
    return (size_t)(h ^ (h >> 29)) & (tr->nbuckets - 1);
}

static void reindex(trace_t *tr)
{
    if (tr->nbuckets < 2 * tr->nstates + 2) {
        while (tr->nbuckets < 2 * tr->nstates + 2)
            tr->nbuckets = tr->nbuckets ? 2 * tr->nbuckets : 64;
        free(tr->index);
        tr->index = xmalloc(tr->nbuckets * sizeof(*tr->index));
    }
    memset(tr->index, 0, tr->nbuckets * sizeof(*tr->index));
    for (size_t i = 0; i < tr->nstates; i++) {
        size_t b = bucket_of(tr, tr->states[i].node, tr->states[i].st.region);
        while (tr->index[b] != 0)
            b = (b + 1) & (tr->nbuckets - 1);
        tr->index[b] = i + 1;
    }
}

static struct last_state *state_slot(trace_t *tr, int node, uint64_t region)
{
    if (tr->nbuckets == 0)
        return NULL;
    for (size_t b = bucket_of(tr, node, region); tr->index[b] != 0;
         b = (b + 1) & (tr->nbuckets - 1)) {
        struct last_state *ls = &tr->states[tr->index[b] - 1];
        if (ls->node == node && ls->st.region == region)
            return ls;
    }
    return NULL;
}

void trace_state(trace_t *tr, int node, const trace_state_t *st)
{
    if (tr == NULL)
        return;
    struct last_state *slot = state_slot(tr, node, st->region);
    if (slot != NULL && same_state(&slot->st, st))
        return;
    if (slot == NULL) {
        if (tr->nstates == tr->capstates) {
            tr->capstates = tr->capstates ? 2 * tr->capstates : 16;
            tr->states = xrealloc(tr->states, tr->capstates * sizeof(*tr->states));
        }
        slot = &tr->states[tr->nstates++];
        slot->node = node;
        slot->st = *st;
        reindex(tr); /* a new (node, region): rare, after a start or a split */
    }
    slot->st = *st;
    char line[160];
    int n = snprintf(line, sizeof(line), "region %llu role %s term %llu commit %llu applied %llu",
                     (unsigned long long)st->region, st->role ? st->role : "?",
                     (unsigned long long)st->term, (unsigned long long)st->commit,
                     (unsigned long long)st->applied);
    if ((st->conf_ver || st->version) && n > 0 && (size_t)n < sizeof(line))
        snprintf(line + n, sizeof(line) - (size_t)n, " epoch %llu/%llu",
                 (unsigned long long)st->conf_ver, (unsigned long long)st->version);
    trace_event(tr, node, "state", "%s", line);
}

void trace_cluster(trace_t *tr, int nodes, int clients, int first_client)
{
    trace_event(tr, 0, "cluster", "%d nodes, %d clients from n%d", nodes, clients, first_client);
}

void trace_class_name(trace_t *tr, int cls, const char *name)
{
    trace_event(tr, 0, "class", "%d %s", cls, name);
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
    char path[512], page[520], title[300], replay[300];
    /* A scaled run (SCALE, SHRINK) gets its own name, beside the full one. */
    char scale[128] = "", scale_arg[140] = "";
    if (*tkv_scale_spec() != '\0') {
        /* "rounds:1,round_ms:1250" -> "-scale-rounds1-round_ms1250" */
        size_t n = snprintf(scale, sizeof(scale), "-scale-");
        for (const char *p = tkv_scale_spec(); *p && n + 1 < sizeof(scale); p++) {
            if (*p != ':')
                scale[n++] = *p == ',' ? '-' : *p;
        }
        scale[n] = '\0';
        snprintf(scale_arg, sizeof(scale_arg), " SCALE=%s", tkv_scale_spec());
    }
    snprintf(path, sizeof(path), "%s/%s-seed%llu%s-%s.trace", dir, test_name,
             (unsigned long long)seed, scale, tr->label);
    if (trace_write(tr, path) != TKV_OK) {
        fprintf(stderr, "%s\n", tkv_last_error());
        return;
    }
    fprintf(stderr, "trace (%llu events, digest %016llx) written to %s\n",
            (unsigned long long)tr->count, (unsigned long long)tr->digest, path);
    /* The page goes beside the trace: same name, .html for .trace. */
    snprintf(page, sizeof(page), "%.*s.html", (int)(strlen(path) - strlen(".trace")), path);
    const char *suite = tkv_running_suite();
    snprintf(title, sizeof(title), "%s/%s, seed %llu (%s)", suite, test_name,
             (unsigned long long)seed, tr->label);
    if (seed != 0)
        snprintf(replay, sizeof(replay), "make %s TEST=%s SEED=%llu%s", suite, test_name,
                 (unsigned long long)seed, scale_arg);
    else
        snprintf(replay, sizeof(replay), "make %s TEST=%s", suite, test_name);
    trace_page_info_t info = { title, replay };
    if (trace_page_write(path, page, &info, NULL) == TKV_OK)
        fprintf(stderr, "see it: open %s in a browser (the trace viewer page)\n", page);
    else
        fprintf(stderr, "no trace page: %s (make it with: build/bin/trace-view %s)\n",
                tkv_last_error(), path);
}

void trace_write_on_failure(trace_t *tr, const char *label)
{
    snprintf(tr->label, sizeof(tr->label), "%s", label);
    if (!tr->hooked)
        tkv_on_failure(on_failure, tr);
    tr->hooked = 1;
}
