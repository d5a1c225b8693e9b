/*
 * The linearizability checker behind linearizability.h.
 *
 * Per key: the operations' call and return events go into a doubly linked
 * list in time order (at equal times calls first, so operations that touch
 * at a millisecond count as concurrent: the checker never blames what the
 * clock cannot separate). The search walks the list:
 *
 *   - at a call, apply its operation to the model state; if the model
 *     accepts it and (linearized set + this op, new state) was never seen,
 *     push (op, old state), "lift" the call and its return out of the list,
 *     and restart from the head;
 *   - otherwise move on to the next event;
 *   - at a return, the op it belongs to was not linearized before its own
 *     completion: pop the last choice, put its events back, and try the
 *     next event after it.
 *
 * It succeeds when no return is left in the list (pending ops have no
 * return, so they never force a backtrack: leaving one out means it took
 * effect "after everything", which is always allowed), and fails when a
 * return is met with nothing to pop.
 *
 * Model states are interned (one copy per distinct value), so the memo
 * table compares states by pointer and a get, which does not change the
 * state, costs no memory.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/harness/linearizability.h"

#define FNV_OFFSET     0xcbf29ce484222325ull
#define FNV_PRIME      0x100000001b3ull
#define DEFAULT_BUDGET 20000000ull

/* ---- interned model states ------------------------------------------------- */

typedef struct state {
    struct state *chain;
    uint64_t hash;
    int exists;
    size_t len;
    uint8_t data[];
} state_t;

typedef struct {
    state_t **buckets;
    size_t nb, count;
} state_table_t;

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

static void states_grow(state_table_t *t)
{
    size_t nb = t->nb ? t->nb * 2 : 256;
    state_t **b = xcalloc(nb, sizeof(*b));
    for (size_t i = 0; i < t->nb; i++) {
        for (state_t *s = t->buckets[i], *next; s != NULL; s = next) {
            next = s->chain;
            s->chain = b[s->hash % nb];
            b[s->hash % nb] = s;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nb = nb;
}

/* The state (exists, a ++ b). */
static const state_t *intern(state_table_t *t, int exists, const uint8_t *a, size_t alen,
                             const uint8_t *b, size_t blen)
{
    uint8_t e = (uint8_t)exists;
    uint64_t h = fnv(fnv(fnv(FNV_OFFSET, &e, 1), a, alen), b, blen);
    if (t->count >= t->nb)
        states_grow(t);
    for (state_t *s = t->buckets[h % t->nb]; s != NULL; s = s->chain) {
        if (s->hash == h && s->exists == exists && s->len == alen + blen &&
            (alen == 0 || memcmp(s->data, a, alen) == 0) &&
            (blen == 0 || memcmp(s->data + alen, b, blen) == 0))
            return s;
    }
    state_t *s = xmalloc(sizeof(*s) + alen + blen);
    s->hash = h;
    s->exists = exists;
    s->len = alen + blen;
    if (alen > 0)
        memcpy(s->data, a, alen);
    if (blen > 0)
        memcpy(s->data + alen, b, blen);
    s->chain = t->buckets[h % t->nb];
    t->buckets[h % t->nb] = s;
    t->count++;
    return s;
}

static void states_free(state_table_t *t)
{
    for (size_t i = 0; i < t->nb; i++) {
        for (state_t *s = t->buckets[i], *next; s != NULL; s = next) {
            next = s->chain;
            free(s);
        }
    }
    free(t->buckets);
}

/* The sequential key-value model: NULL when `op` is impossible in `s`. */
static const state_t *model_step(state_table_t *t, const state_t *s, const hist_op_t *op)
{
    switch (op->kind) {
    case HIST_GET:
        if (op->found != s->exists)
            return NULL;
        if (op->found && (op->result.len != s->len ||
                          (s->len > 0 && memcmp(op->result.data, s->data, s->len) != 0)))
            return NULL;
        return s;
    case HIST_PUT:
        return intern(t, 1, op->value.data, op->value.len, NULL, 0);
    case HIST_APPEND:
        return intern(t, 1, s->data, s->len, op->value.data, op->value.len);
    case HIST_DELETE:
        return intern(t, 0, NULL, 0, NULL, 0);
    }
    return NULL;
}

/* ---- the memo table: (linearized set, state) already explored -------------- */

typedef struct memo {
    struct memo *chain;
    uint64_t hash;
    const state_t *state;
    uint64_t bits[];
} memo_t;

typedef struct {
    memo_t **buckets;
    size_t nb, count, words;
} memo_table_t;

static uint64_t memo_hash(const uint64_t *bits, size_t words, const state_t *s)
{
    uint64_t h = fnv(FNV_OFFSET, (const uint8_t *)bits, words * sizeof(*bits));
    return (h ^ s->hash) * FNV_PRIME;
}

static void memo_grow(memo_table_t *m)
{
    size_t nb = m->nb ? m->nb * 2 : 1024;
    memo_t **b = xcalloc(nb, sizeof(*b));
    for (size_t i = 0; i < m->nb; i++) {
        for (memo_t *e = m->buckets[i], *next; e != NULL; e = next) {
            next = e->chain;
            e->chain = b[e->hash % nb];
            b[e->hash % nb] = e;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nb = nb;
}

/* Adds (bits, s); returns 0 if it was already there. */
static int memo_add(memo_table_t *m, const uint64_t *bits, const state_t *s)
{
    uint64_t h = memo_hash(bits, m->words, s);
    if (m->count >= m->nb)
        memo_grow(m);
    for (memo_t *e = m->buckets[h % m->nb]; e != NULL; e = e->chain) {
        if (e->hash == h && e->state == s && memcmp(e->bits, bits, m->words * 8) == 0)
            return 0;
    }
    memo_t *e = xmalloc(sizeof(*e) + m->words * sizeof(uint64_t));
    e->hash = h;
    e->state = s;
    memcpy(e->bits, bits, m->words * sizeof(uint64_t));
    e->chain = m->buckets[h % m->nb];
    m->buckets[h % m->nb] = e;
    m->count++;
    return 1;
}

static void memo_free(memo_table_t *m)
{
    for (size_t i = 0; i < m->nb; i++) {
        for (memo_t *e = m->buckets[i], *next; e != NULL; e = next) {
            next = e->chain;
            free(e);
        }
    }
    free(m->buckets);
}

/* ---- the event list ------------------------------------------------------------ */

typedef struct event {
    struct event *prev, *next;
    struct event *match; /* a call's return (NULL while pending) */
    uint64_t time;
    int is_call;
    size_t op; /* index into the key's ops */
} event_t;

static int event_cmp(const void *pa, const void *pb)
{
    const event_t *a = pa, *b = pb;
    if (a->time != b->time)
        return a->time < b->time ? -1 : 1;
    if (a->is_call != b->is_call)
        return a->is_call ? -1 : 1;
    return a->op < b->op ? -1 : a->op > b->op;
}

static void lift(event_t *call)
{
    call->prev->next = call->next;
    if (call->next != NULL)
        call->next->prev = call->prev;
    event_t *ret = call->match;
    if (ret != NULL) {
        ret->prev->next = ret->next;
        if (ret->next != NULL)
            ret->next->prev = ret->prev;
    }
}

/* Exactly undoes lift(), in reverse order. */
static void unlift(event_t *call)
{
    event_t *ret = call->match;
    if (ret != NULL) {
        ret->prev->next = ret;
        if (ret->next != NULL)
            ret->next->prev = ret;
    }
    call->prev->next = call;
    if (call->next != NULL)
        call->next->prev = call;
}

/* ---- checking one key ------------------------------------------------------------ */

typedef struct {
    const hist_op_t **ops; /* this key's ops that matter */
    size_t n;
    uint64_t *steps, budget;
    /* The longest linearization found, for the explanation. */
    size_t *best, best_len;
    const state_t *best_state;
} key_check_t;

static void append_str(tkv_buf_t *out, const char *s)
{
    if (out != NULL)
        buf_append(out, s, strlen(s));
}

static void describe_state(tkv_buf_t *out, const state_t *s)
{
    if (!s->exists)
        append_str(out, "not found");
    else
        hist_quote(s->data, s->len, out);
}

/* The failure as data: the prefix, and the ops that could not follow it
 * (those called before the first of them completes: one of them had to go
 * next, and none could). */
static void report_illegal(const key_check_t *k, lin_report_t *r)
{
    buf_set(&r->key, k->n > 0 ? k->ops[0]->key.data : NULL, k->n > 0 ? k->ops[0]->key.len : 0);
    r->key_ops = k->n;
    r->prefix = xcalloc(k->best_len + 1, sizeof(*r->prefix));
    for (size_t i = 0; i < k->best_len; i++)
        r->prefix[i] = k->ops[k->best[i]]->id;
    r->n_prefix = k->best_len;
    char *placed = xcalloc(k->n + 1, 1);
    for (size_t i = 0; i < k->best_len; i++)
        placed[k->best[i]] = 1;
    const hist_op_t *stuck = NULL;
    for (size_t i = 0; i < k->n; i++) {
        const hist_op_t *op = k->ops[i];
        if (!placed[i] && op->status == HIST_OK && (stuck == NULL || op->ret < stuck->ret))
            stuck = op;
    }
    r->stuck = xcalloc(k->n + 1, sizeof(*r->stuck));
    for (size_t i = 0; stuck != NULL && i < k->n; i++) {
        if (!placed[i] && k->ops[i]->call <= stuck->ret)
            r->stuck[r->n_stuck++] = k->ops[i]->id;
    }
    r->first_stuck = stuck != NULL ? stuck->id : 0;
    free(placed);
}

static void explain_illegal(const key_check_t *k, const history_t *h, const lin_report_t *r,
                            tkv_buf_t *out)
{
    if (out == NULL)
        return;
    char tmp[160];
    append_str(out, "key ");
    hist_quote(r->key.data, r->key.len, out);
    snprintf(tmp, sizeof(tmp),
             " is not linearizable: the longest linearizable prefix places %zu of %zu ops, "
             "leaving ",
             r->n_prefix, r->key_ops);
    append_str(out, tmp);
    describe_state(out, k->best_state);
    append_str(out, "\n");
    size_t from = r->n_prefix > 5 ? r->n_prefix - 5 : 0;
    if (r->n_prefix > 0)
        append_str(out, "  its last ops, in linearization order:\n");
    for (size_t i = from; i < r->n_prefix; i++) {
        append_str(out, "    ");
        hist_op_describe(history_op(h, r->prefix[i]), out);
    }
    if (r->n_stuck > 0)
        append_str(out, "  then none of these could go next (> completes first, so one of them "
                        "had to):\n");
    for (size_t i = 0; i < r->n_stuck && i < 20; i++) {
        append_str(out, r->stuck[i] == r->first_stuck ? "  > " : "    ");
        hist_op_describe(history_op(h, r->stuck[i]), out);
    }
}

/* The failure into the history's trace, for the viewer. */
static void trace_illegal(const history_t *h, const lin_report_t *r)
{
    trace_t *tr = history_trace(h);
    if (tr == NULL)
        return;
    tkv_buf_t b = TKV_BUF_INIT;
    char tmp[64];
    for (size_t i = 0; i < r->n_stuck && i < 20; i++) {
        snprintf(tmp, sizeof(tmp), " #%zu", r->stuck[i]);
        append_str(&b, tmp);
    }
    tkv_buf_t key = TKV_BUF_INIT;
    hist_quote(r->key.data, r->key.len, &key);
    trace_event(tr, 0, "check-fail",
                "not linearizable: key %.*s: the longest linearizable prefix places %zu of %zu "
                "ops; then none of%.*s could go next (#%zu completes first)",
                (int)key.len, (char *)key.data, r->n_prefix, r->key_ops, (int)b.len, (char *)b.data,
                r->first_stuck);
    /* The prefix in order, a line at a time (a line holds 512 bytes). */
    buf_clear(&b);
    for (size_t i = 0; i < r->n_prefix; i++) {
        snprintf(tmp, sizeof(tmp), "%s#%zu", b.len ? " " : "", r->prefix[i]);
        append_str(&b, tmp);
        if (b.len > 400 || i + 1 == r->n_prefix) {
            trace_event(tr, 0, "check-prefix", "%.*s", (int)b.len, (char *)b.data);
            buf_clear(&b);
        }
    }
    buf_free(&key);
    buf_free(&b);
}

static lin_verdict_t check_key(key_check_t *k)
{
    size_t n = k->n, nev = 0, remaining = 0;
    event_t *evs = xcalloc(2 * n + 1, sizeof(*evs));
    for (size_t i = 0; i < n; i++) {
        evs[nev++] = (event_t){ NULL, NULL, NULL, k->ops[i]->call, 1, i };
        if (k->ops[i]->status == HIST_OK) {
            evs[nev++] = (event_t){ NULL, NULL, NULL, k->ops[i]->ret, 0, i };
            remaining++;
        }
    }
    qsort(evs, nev, sizeof(*evs), event_cmp);
    event_t **call_of = xcalloc(n, sizeof(*call_of));
    event_t head = { 0 };
    event_t *prev = &head;
    for (size_t i = 0; i < nev; i++) {
        evs[i].prev = prev;
        prev->next = &evs[i];
        prev = &evs[i];
        if (evs[i].is_call)
            call_of[evs[i].op] = &evs[i];
    }
    for (size_t i = 0; i < nev; i++) {
        if (!evs[i].is_call)
            call_of[evs[i].op]->match = &evs[i];
    }

    state_table_t states = { 0 };
    memo_table_t memo = { 0 };
    memo.words = (n + 63) / 64;
    uint64_t *bits = xcalloc(memo.words ? memo.words : 1, sizeof(uint64_t));
    event_t **stack_ev = xcalloc(n + 1, sizeof(*stack_ev));
    const state_t **stack_st = xcalloc(n + 1, sizeof(*stack_st));
    size_t depth = 0;
    const state_t *state = intern(&states, 0, NULL, 0, NULL, 0);
    k->best_len = 0;
    k->best_state = state;

    lin_verdict_t verdict = LIN_OK;
    event_t *e = head.next;
    while (remaining > 0) {
        if (e != NULL && e->is_call) {
            if (++*k->steps > k->budget) {
                verdict = LIN_UNKNOWN;
                break;
            }
            const state_t *next = model_step(&states, state, k->ops[e->op]);
            if (next != NULL) {
                bits[e->op / 64] |= 1ull << (e->op % 64);
                if (memo_add(&memo, bits, next)) {
                    stack_ev[depth] = e;
                    stack_st[depth] = state;
                    depth++;
                    state = next;
                    lift(e);
                    if (e->match != NULL)
                        remaining--;
                    if (depth > k->best_len) {
                        for (size_t i = 0; i < depth; i++)
                            k->best[i] = stack_ev[i]->op;
                        k->best_len = depth;
                        k->best_state = state;
                    }
                    e = head.next;
                    continue;
                }
                bits[e->op / 64] &= ~(1ull << (e->op % 64));
            }
            e = e->next;
            continue;
        }
        /* A return (or, defensively, the end): backtrack. */
        if (depth == 0) {
            verdict = LIN_ILLEGAL;
            break;
        }
        depth--;
        event_t *call = stack_ev[depth];
        state = stack_st[depth];
        bits[call->op / 64] &= ~(1ull << (call->op % 64));
        unlift(call);
        if (call->match != NULL)
            remaining++;
        e = call->next;
    }
    /* best_state points into `states`; re-intern it where the explanation
     * can read it before the table goes. */
    if (verdict == LIN_ILLEGAL) {
        state_t *copy = xmalloc(sizeof(*copy) + k->best_state->len);
        memcpy(copy, k->best_state, sizeof(*copy) + k->best_state->len);
        k->best_state = copy;
    }
    states_free(&states);
    memo_free(&memo);
    free(bits);
    free(stack_ev);
    free(stack_st);
    free(call_of);
    free(evs);
    return verdict;
}

/* ---- the whole history ------------------------------------------------------------ */

static int op_key_cmp(const void *pa, const void *pb)
{
    const hist_op_t *a = *(const hist_op_t *const *)pa, *b = *(const hist_op_t *const *)pb;
    int c = slice_compare(buf_slice(&a->key), buf_slice(&b->key));
    if (c != 0)
        return c;
    return a->id < b->id ? -1 : a->id > b->id;
}

/* Ops the check must consider: answered ones, and pending writes. Pending
 * gets constrain nothing and change nothing; failed ops did nothing. */
static int matters(const hist_op_t *op)
{
    if (op->status == HIST_OK)
        return 1;
    return op->status == HIST_PENDING && op->kind != HIST_GET;
}

lin_verdict_t lin_check(const history_t *h, const lin_opts_t *opts, tkv_buf_t *explain)
{
    return lin_check_report(h, opts, NULL, explain);
}

void lin_report_free(lin_report_t *report)
{
    if (report == NULL)
        return;
    buf_free(&report->key);
    free(report->prefix);
    free(report->stuck);
    memset(report, 0, sizeof(*report));
}

lin_verdict_t lin_check_report(const history_t *h, const lin_opts_t *opts, lin_report_t *report,
                               tkv_buf_t *explain)
{
    lin_report_t local;
    memset(&local, 0, sizeof(local));
    lin_report_t *r = report != NULL ? report : &local;
    memset(r, 0, sizeof(*r));
    uint64_t budget = opts != NULL && opts->budget > 0 ? opts->budget : DEFAULT_BUDGET;
    uint64_t steps = 0;
    size_t total = history_len(h), n = 0;
    const hist_op_t **ops = xcalloc(total + 1, sizeof(*ops));
    for (size_t i = 0; i < total; i++) {
        if (matters(history_op(h, i)))
            ops[n++] = history_op(h, i);
    }
    qsort(ops, n, sizeof(*ops), op_key_cmp);
    size_t *best = xcalloc(n + 1, sizeof(*best));
    lin_verdict_t verdict = LIN_OK;
    size_t unknown_keys = 0;
    for (size_t start = 0; start < n;) {
        size_t end = start + 1;
        while (end < n && slice_equal(buf_slice(&ops[end]->key), buf_slice(&ops[start]->key)))
            end++;
        key_check_t k = { ops + start, end - start, &steps, budget, best, 0, NULL };
        lin_verdict_t v = check_key(&k);
        if (v == LIN_ILLEGAL) {
            report_illegal(&k, r);
            explain_illegal(&k, h, r, explain);
            trace_illegal(h, r);
            free((void *)k.best_state);
            verdict = LIN_ILLEGAL;
            break;
        }
        if (v == LIN_UNKNOWN)
            unknown_keys++;
        if (steps > budget)
            break;
        start = end;
    }
    if (verdict == LIN_OK && unknown_keys > 0) {
        verdict = LIN_UNKNOWN;
        char tmp[200];
        snprintf(tmp, sizeof(tmp),
                 "unknown: the search used its budget of %llu model steps before deciding "
                 "(%zu ops on %s); give the test fewer concurrent ops per key or a bigger "
                 "budget\n",
                 (unsigned long long)budget, n, unknown_keys == 1 ? "one key" : "several keys");
        append_str(explain, tmp);
    }
    free(best);
    free(ops);
    r->verdict = verdict;
    lin_report_free(&local);
    return verdict;
}

const char *lin_verdict_name(lin_verdict_t v)
{
    switch (v) {
    case LIN_OK:
        return "linearizable";
    case LIN_ILLEGAL:
        return "not linearizable";
    case LIN_UNKNOWN:
        return "unknown";
    }
    return "?";
}
