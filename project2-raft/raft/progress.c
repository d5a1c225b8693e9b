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
    for (size_t i = 0; i < s->n; i++)
        free(s->items[i].inflight);
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
    raft_progress_t fresh;
    memset(&fresh, 0, sizeof(fresh));
    fresh.id = id;
    fresh.match = match;
    fresh.next = next;
    fresh.vote = RAFT_VOTE_UNKNOWN;
    fresh.voter = 1;
    s->items[at] = fresh;
    return &s->items[at];
}

int prs_remove(raft_progress_set_t *s, uint64_t id)
{
    raft_progress_t *p = prs_find(s, id);
    if (p == NULL)
        return 0;
    size_t at = (size_t)(p - s->items);
    free(p->inflight);
    memmove(&s->items[at], &s->items[at + 1], (s->n - at - 1) * sizeof(raft_progress_t));
    s->n--;
    return 1;
}

static size_t count_voters(const raft_progress_set_t *s, int outgoing)
{
    size_t n = 0;
    for (size_t i = 0; i < s->n; i++)
        n += outgoing ? s->items[i].voter_out : s->items[i].voter;
    return n;
}

size_t prs_quorum(const raft_progress_set_t *s)
{
    return count_voters(s, 0) / 2 + 1;
}

int prs_is_joint(const raft_progress_set_t *s)
{
    return count_voters(s, 1) > 0;
}

int prs_is_voter(raft_progress_set_t *s, uint64_t id)
{
    raft_progress_t *p = prs_find(s, id);
    return p != NULL && (p->voter || p->voter_out);
}

static int cmp_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

/* One half: the quorum-th largest value among its voters; UINT64_MAX when
 * the half is empty (an absent outgoing half constrains nothing). */
static uint64_t half_value(const raft_progress_set_t *s, const uint64_t *vals, int outgoing)
{
    size_t n = 0;
    uint64_t small[16] = { 0 };
    uint64_t *m = s->n <= 16 ? small : xmalloc(s->n * sizeof(uint64_t));
    for (size_t i = 0; i < s->n; i++) {
        if (outgoing ? s->items[i].voter_out : s->items[i].voter)
            m[n++] = vals[i];
    }
    uint64_t res = UINT64_MAX;
    if (n > 0) {
        qsort(m, n, sizeof(uint64_t), cmp_desc);
        res = m[n / 2]; /* the (n/2+1)-th largest */
    }
    if (m != small)
        free(m);
    return res;
}

uint64_t prs_quorum_value(const raft_progress_set_t *s, const uint64_t *vals)
{
    uint64_t in = half_value(s, vals, 0), out = half_value(s, vals, 1);
    uint64_t v = in < out ? in : out;
    return v == UINT64_MAX ? 0 : v;
}

uint64_t prs_quorum_match(const raft_progress_set_t *s)
{
    uint64_t small[16] = { 0 };
    uint64_t *m = s->n <= 16 ? small : xmalloc(s->n * sizeof(uint64_t));
    for (size_t i = 0; i < s->n; i++)
        m[i] = s->items[i].match;
    uint64_t res = prs_quorum_value(s, m);
    if (m != small)
        free(m);
    return res;
}

static raft_vote_result_t half_result(const raft_progress_set_t *s, int outgoing)
{
    size_t n = 0, granted = 0, rejected = 0;
    for (size_t i = 0; i < s->n; i++) {
        const raft_progress_t *p = &s->items[i];
        if (!(outgoing ? p->voter_out : p->voter))
            continue;
        n++;
        granted += p->vote == RAFT_VOTE_GRANTED;
        rejected += p->vote == RAFT_VOTE_REJECTED;
    }
    if (n == 0)
        return RAFT_VOTE_WON; /* an absent half agrees to anything */
    if (granted >= n / 2 + 1)
        return RAFT_VOTE_WON;
    if (rejected >= n / 2 + 1)
        return RAFT_VOTE_LOST;
    return RAFT_VOTE_PENDING;
}

raft_vote_result_t prs_vote_result(const raft_progress_set_t *s)
{
    if (count_voters(s, 0) == 0)
        return RAFT_VOTE_LOST;
    raft_vote_result_t in = half_result(s, 0), out = half_result(s, 1);
    if (in == RAFT_VOTE_LOST || out == RAFT_VOTE_LOST)
        return RAFT_VOTE_LOST;
    if (in == RAFT_VOTE_WON && out == RAFT_VOTE_WON)
        return RAFT_VOTE_WON;
    return RAFT_VOTE_PENDING;
}

void prs_set_conf(raft_progress_set_t *s, const raft_conf_state_t *cs, uint64_t next)
{
    prs_free(s);
    prs_init(s);
    for (size_t i = 0; i < cs->n_nodes; i++)
        prs_add(s, cs->nodes[i], 0, next);
    for (size_t i = 0; i < cs->n_voters_outgoing; i++) {
        raft_progress_t *p = prs_find(s, cs->voters_outgoing[i]);
        if (p == NULL) {
            p = prs_add(s, cs->voters_outgoing[i], 0, next);
            p->voter = 0;
        }
        p->voter_out = 1;
    }
    for (size_t i = 0; i < cs->n_learners; i++) {
        /* prs_add() makes a voter, which a learner is not. A voter of the
         * outgoing half may be a learner of the incoming one (demoted
         * through a joint configuration, etcd's learners_next); one listed
         * as an incoming voter too is malformed, and stays a voter. */
        raft_progress_t *p = prs_find(s, cs->learners[i]);
        if (p == NULL) {
            p = prs_add(s, cs->learners[i], 0, next);
            p->voter = 0;
        }
        if (!p->voter)
            p->learner = 1;
    }
    s->auto_leave = cs->auto_leave && cs->n_voters_outgoing > 0;
}

static uint64_t *ids_where(const raft_progress_set_t *s, int which, size_t *n)
{
    uint64_t *ids = s->n ? xmalloc(s->n * sizeof(uint64_t)) : NULL;
    *n = 0;
    for (size_t i = 0; i < s->n; i++) {
        const raft_progress_t *p = &s->items[i];
        int yes = which == 0 ? p->voter : which == 1 ? p->voter_out : p->learner;
        if (yes)
            ids[(*n)++] = p->id;
    }
    if (*n == 0) {
        free(ids);
        ids = NULL;
    }
    return ids;
}

void prs_conf_state(const raft_progress_set_t *s, raft_conf_state_t *cs)
{
    cs->nodes = ids_where(s, 0, &cs->n_nodes);
    cs->voters_outgoing = ids_where(s, 1, &cs->n_voters_outgoing);
    cs->learners = ids_where(s, 2, &cs->n_learners);
    cs->auto_leave = s->auto_leave;
}
