/*
 * The per-peer progress set (progress.h).
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "project2-raft/raft/progress.h"

void prs_init(raft_progress_set_t *s)
{
    memset(s, 0, sizeof(*s));
}

void prs_free(raft_progress_set_t *s)
{
    free(s->items);
    memset(s, 0, sizeof(*s));
}

raft_progress_t *prs_find(raft_progress_set_t *s, uint64_t id)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->items[i].id == id)
            return &s->items[i];
    }
    return NULL;
}

raft_progress_t *prs_add(raft_progress_set_t *s, uint64_t id, uint64_t match, uint64_t next)
{
    raft_progress_t *p = prs_find(s, id);
    if (p != NULL)
        return p;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 8;
        s->items = xrealloc(s->items, s->cap * sizeof(raft_progress_t));
    }
    size_t at = 0;
    while (at < s->n && s->items[at].id < id)
        at++;
    memmove(&s->items[at + 1], &s->items[at], (s->n - at) * sizeof(raft_progress_t));
    s->n++;
    raft_progress_t fresh = { id, match, next, RAFT_VOTE_UNKNOWN, 0, 0 };
    s->items[at] = fresh;
    return &s->items[at];
}

int prs_remove(raft_progress_set_t *s, uint64_t id)
{
    raft_progress_t *p = prs_find(s, id);
    if (p == NULL)
        return 0;
    size_t at = (size_t)(p - s->items);
    memmove(&s->items[at], &s->items[at + 1], (s->n - at - 1) * sizeof(raft_progress_t));
    s->n--;
    return 1;
}

size_t prs_quorum(const raft_progress_set_t *s)
{
    return s->n / 2 + 1;
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

uint64_t prs_quorum_match(const raft_progress_set_t *s)
{
    if (s->n == 0)
        return 0;
    uint64_t small[16];
    uint64_t *m = s->n <= 16 ? small : xmalloc(s->n * sizeof(uint64_t));
    for (size_t i = 0; i < s->n; i++)
        m[i] = s->items[i].match;
    qsort(m, s->n, sizeof(uint64_t), cmp_desc);
    uint64_t res = m[prs_quorum(s) - 1];
    if (m != small)
        free(m);
    return res;
}

void prs_tally(const raft_progress_set_t *s, size_t *granted, size_t *rejected)
{
    *granted = *rejected = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->items[i].vote == RAFT_VOTE_GRANTED)
            (*granted)++;
        else if (s->items[i].vote == RAFT_VOTE_REJECTED)
            (*rejected)++;
    }
}
