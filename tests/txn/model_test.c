/*
 * A randomized check of the whole transaction API against a reference model.
 *
 * From a seed we generate a list of concrete steps over a few keys and
 * transactions (prewrite, commit, rollback, check-txn-status, resolve, get,
 * scan), with timestamps handed out by one increasing clock as an oracle
 * would. Each step runs against the real commands on standalone storage and
 * against `model_t`, a plain-array statement of Percolator's rules, and the
 * responses must agree step by step. Steps are generated before anything runs,
 * so any sub-list of them is still a valid run: on a mismatch the test
 * shrinks the list (the failing prefix, then dropping steps one at a time
 * while it still fails) and prints the seed and the shortest list it found.
 *
 * SEED=n replays seed n; SEEDS=k runs k seeds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/prng.h"
#include "tests/txn/txn_helpers.h"

#define NKEYS        4
#define MAX_TXNS     10
#define MAX_STEPS    120
#define MAX_VERSIONS 64

/* ---- steps ----------------------------------------------------------------------- */

typedef enum { S_PREWRITE, S_COMMIT, S_ROLLBACK, S_CHECK, S_RESOLVE, S_GET, S_SCAN } step_kind_t;

typedef struct {
    uint64_t start_ts;
    uint64_t commit_ts;
    uint64_t ttl;
    int primary;          /* key index */
    unsigned mask;        /* keys it writes */
    int is_delete[NKEYS]; /* per key: delete instead of put */
    uint8_t value[NKEYS]; /* per key */
} txn_plan_t;

typedef struct {
    step_kind_t kind;
    int txn;       /* index into the plan's txns */
    unsigned mask; /* keys the step names */
    int commit;    /* resolve: commit (1) or roll back (0) */
    int key;       /* get: key; scan: start key */
    uint32_t limit;
    uint64_t ts; /* get/scan: read ts; check: current ts */
} step_t;

typedef struct {
    txn_plan_t txns[MAX_TXNS];
    int n_txns;
    step_t steps[MAX_STEPS];
    size_t n_steps;
} plan_t;

static tkv_slice_t key_of(int i)
{
    return K((uint8_t)('a' + i));
}

static void gen_plan(uint64_t seed, plan_t *p)
{
    tkv_prng_t r;
    prng_seed(&r, seed);
    memset(p, 0, sizeof(*p));
    uint64_t clock = 100;
    static const uint64_t ttls[] = { 0, 5, 2000 };
    p->n_steps = 40 + prng_below(&r, MAX_STEPS - 40);
    for (size_t i = 0; i < p->n_steps; i++) {
        step_t *s = &p->steps[i];
        int roll = (int)prng_below(&r, 100);
        /* Txn steps name a txn, new or old. */
        if (roll < 70) {
            int t;
            if (p->n_txns == 0 || (p->n_txns < MAX_TXNS && prng_chance(&r, 1, 4))) {
                t = p->n_txns++;
                txn_plan_t *x = &p->txns[t];
                x->start_ts = ++clock;
                x->ttl = ttls[prng_below(&r, 3)];
                x->mask = 1 + (unsigned)prng_below(&r, (1u << NKEYS) - 1);
                for (int k = 0; k < NKEYS; k++) {
                    x->is_delete[k] = prng_chance(&r, 1, 5);
                    x->value[k] = (uint8_t)prng_below(&r, 256);
                    if ((x->mask >> k) & 1)
                        x->primary = k; /* the highest key it writes */
                }
            } else {
                t = (int)prng_below(&r, (uint64_t)p->n_txns);
            }
            txn_plan_t *x = &p->txns[t];
            s->txn = t;
            /* Mostly the whole txn; sometimes part of it, or other keys. */
            s->mask = prng_chance(&r, 3, 4) ? x->mask : (unsigned)prng_below(&r, 1u << NKEYS);
            if (roll < 28) {
                s->kind = S_PREWRITE;
                s->mask &= x->mask;
            } else if (roll < 46) {
                s->kind = S_COMMIT;
                if (x->commit_ts == 0)
                    x->commit_ts = ++clock;
                if (prng_chance(&r, 1, 3))
                    s->mask = 1u << x->primary;
            } else if (roll < 54) {
                s->kind = S_ROLLBACK;
            } else if (roll < 63) {
                s->kind = S_CHECK;
                /* Physical time of our small timestamps is 0: a far later
                 * current ts expires every TTL but 2000. */
                s->ts = prng_chance(&r, 1, 2) ? clock : mvcc_compose_ts(1000, clock);
            } else {
                s->kind = S_RESOLVE;
                s->commit = prng_chance(&r, 1, 2);
                if (s->commit && x->commit_ts == 0)
                    x->commit_ts = ++clock;
            }
        } else if (roll < 85) {
            s->kind = S_GET;
            s->key = (int)prng_below(&r, NKEYS);
            s->ts = prng_chance(&r, 2, 3) ? ++clock : prng_between(&r, 100, clock + 1);
        } else {
            s->kind = S_SCAN;
            s->key = (int)prng_below(&r, NKEYS);
            s->limit = (uint32_t)prng_below(&r, NKEYS + 2);
            s->ts = prng_chance(&r, 2, 3) ? ++clock : prng_between(&r, 100, clock + 1);
        }
    }
}

static void print_step(FILE *out, const plan_t *p, const step_t *s)
{
    const txn_plan_t *x = &p->txns[s->txn];
    char keys[NKEYS + 1];
    int n = 0;
    for (int k = 0; k < NKEYS; k++)
        if ((s->mask >> k) & 1)
            keys[n++] = (char)('a' + k);
    keys[n] = '\0';
    switch (s->kind) {
    case S_PREWRITE:
        fprintf(out, "prewrite  txn %llu keys [%s] primary %c ttl %llu\n",
                (unsigned long long)x->start_ts, keys, 'a' + x->primary,
                (unsigned long long)x->ttl);
        break;
    case S_COMMIT:
        fprintf(out, "commit    txn %llu keys [%s] at %llu\n", (unsigned long long)x->start_ts,
                keys, (unsigned long long)x->commit_ts);
        break;
    case S_ROLLBACK:
        fprintf(out, "rollback  txn %llu keys [%s]\n", (unsigned long long)x->start_ts, keys);
        break;
    case S_CHECK:
        fprintf(out, "check     txn %llu primary %c current %llu (physical %llu)\n",
                (unsigned long long)x->start_ts, 'a' + x->primary, (unsigned long long)s->ts,
                (unsigned long long)mvcc_physical_ms(s->ts));
        break;
    case S_RESOLVE:
        fprintf(out, "resolve   txn %llu %s %llu\n", (unsigned long long)x->start_ts,
                s->commit ? "commit at" : "rollback",
                s->commit ? (unsigned long long)x->commit_ts : 0ull);
        break;
    case S_GET:
        fprintf(out, "get       %c at %llu\n", 'a' + s->key, (unsigned long long)s->ts);
        break;
    case S_SCAN:
        fprintf(out, "scan      from %c limit %u at %llu\n", 'a' + s->key, s->limit,
                (unsigned long long)s->ts);
        break;
    }
}

/* ---- the model --------------------------------------------------------------------- */

typedef struct {
    uint64_t ts; /* commit ts for writes, start ts for values */
    uint64_t start_ts;
    mvcc_kind_t kind;
    uint8_t value;
} version_t;

typedef struct {
    int locked;
    mvcc_lock_t lock; /* primary kept as a key index below */
    int lock_primary;
    version_t writes[MAX_VERSIONS];
    int n_writes;
    version_t values[MAX_VERSIONS];
    int n_values;
} model_key_t;

typedef struct {
    model_key_t keys[NKEYS];
} model_t;

/* The record txn start_ts left on k, or NULL. */
static const version_t *m_own_write(const model_key_t *k, uint64_t start_ts)
{
    for (int i = 0; i < k->n_writes; i++)
        if (k->writes[i].start_ts == start_ts)
            return &k->writes[i];
    return NULL;
}

static const version_t *m_newest_write(const model_key_t *k)
{
    const version_t *best = NULL;
    for (int i = 0; i < k->n_writes; i++)
        if (best == NULL || k->writes[i].ts > best->ts)
            best = &k->writes[i];
    return best;
}

/* 1 and *v if a put is visible at ts. */
static int m_visible(const model_key_t *k, uint64_t ts, uint8_t *v)
{
    const version_t *best = NULL;
    for (int i = 0; i < k->n_writes; i++) {
        const version_t *w = &k->writes[i];
        if (w->kind != MVCC_KIND_ROLLBACK && w->ts <= ts && (best == NULL || w->ts > best->ts))
            best = w;
    }
    if (best == NULL || best->kind != MVCC_KIND_PUT)
        return 0;
    for (int i = 0; i < k->n_values; i++)
        if (k->values[i].ts == best->start_ts) {
            *v = k->values[i].value;
            return 1;
        }
    return 0;
}

static void m_add_write(model_key_t *k, uint64_t cts, uint64_t start_ts, mvcc_kind_t kind)
{
    for (int i = 0; i < k->n_writes; i++)
        if (k->writes[i].ts == cts) {
            k->writes[i].start_ts = start_ts;
            k->writes[i].kind = kind;
            return;
        }
    if (k->n_writes < MAX_VERSIONS)
        k->writes[k->n_writes++] = (version_t){ cts, start_ts, kind, 0 };
}

static void m_set_value(model_key_t *k, uint64_t start_ts, int present, uint8_t v)
{
    for (int i = 0; i < k->n_values; i++)
        if (k->values[i].ts == start_ts) {
            if (present)
                k->values[i].value = v;
            else
                k->values[i] = k->values[--k->n_values];
            return;
        }
    if (present && k->n_values < MAX_VERSIONS)
        k->values[k->n_values++] = (version_t){ start_ts, start_ts, MVCC_KIND_PUT, v };
}

/* Outcomes the model predicts, in the shape we compare. */
enum { R_OK, R_LOCKED, R_CONFLICT, R_ABORT, R_RETRY };

/* Commit (or, for `rollback`, roll back) one key in a copy of the model;
 * returns an R_ code. */
static int m_commit_key(model_t *m, int key, uint64_t start_ts, uint64_t commit_ts)
{
    model_key_t *k = &m->keys[key];
    if (k->locked && k->lock.start_ts == start_ts) {
        m_add_write(k, commit_ts, start_ts, k->lock.kind);
        k->locked = 0;
        return R_OK;
    }
    const version_t *w = m_own_write(k, start_ts);
    if (w != NULL && w->kind == MVCC_KIND_ROLLBACK)
        return R_ABORT;
    if (w == NULL && k->locked)
        return R_RETRY;
    return R_OK;
}

static int m_rollback_key(model_t *m, int key, uint64_t start_ts)
{
    model_key_t *k = &m->keys[key];
    const version_t *w = m_own_write(k, start_ts);
    if (w != NULL)
        return w->kind == MVCC_KIND_ROLLBACK ? R_OK : R_ABORT;
    if (k->locked && k->lock.start_ts == start_ts) {
        k->locked = 0;
        m_set_value(k, start_ts, 0, 0);
    }
    m_add_write(k, start_ts, start_ts, MVCC_KIND_ROLLBACK);
    return R_OK;
}

/* ---- running one step on both sides ------------------------------------------------- */

typedef struct {
    char why[512];
} mismatch_t;

#define MISMATCH(mm, ...) (snprintf((mm)->why, sizeof((mm)->why), __VA_ARGS__), 0)

/* What a failure message calls a result. */
static const char *result_name(int r)
{
    switch (r) {
    case R_OK:
        return "no error";
    case R_LOCKED:
        return "locked";
    case R_CONFLICT:
        return "write conflict";
    case R_ABORT:
        return "abort";
    case R_RETRY:
        return "retryable";
    default:
        return "a key error with no field set";
    }
}

static int keyerror_code(const Kvrpcpb__KeyError *e)
{
    if (e == NULL)
        return R_OK;
    if (e->locked != NULL)
        return R_LOCKED;
    if (e->conflict != NULL)
        return R_CONFLICT;
    if (e->abort != NULL && e->abort[0] != '\0')
        return R_ABORT;
    if (e->retryable != NULL && e->retryable[0] != '\0')
        return R_RETRY;
    return -1;
}

static int keys_of_mask(unsigned mask, tkv_slice_t *out)
{
    int n = 0;
    for (int k = 0; k < NKEYS; k++)
        if ((mask >> k) & 1)
            out[n++] = key_of(k);
    return n;
}

static int run_prewrite(txn_fixture_t *f, model_t *m, const txn_plan_t *x, const step_t *s,
                        mismatch_t *mm)
{
    tkv_slice_t keys[NKEYS] = { 0 }, vals[NKEYS] = { 0 };
    Kvrpcpb__Op ops[NKEYS] = { 0 };
    int idx[NKEYS] = { 0 }, n = 0;
    for (int k = 0; k < NKEYS; k++)
        if ((s->mask >> k) & 1) {
            idx[n] = k;
            keys[n] = key_of(k);
            vals[n] = K(x->value[k]);
            ops[n] = x->is_delete[k] ? KVRPCPB__OP__OP_DEL : KVRPCPB__OP__OP_PUT;
            n++;
        }
    /* Model: one verdict per key; any error and nothing changes. */
    int want[NKEYS], n_err = 0;
    for (int i = 0; i < n; i++) {
        model_key_t *k = &m->keys[idx[i]];
        const version_t *w = m_newest_write(k);
        if (w != NULL && w->ts >= x->start_ts)
            want[i] = R_CONFLICT;
        else if (k->locked && k->lock.start_ts != x->start_ts)
            want[i] = R_LOCKED;
        else
            want[i] = R_OK;
        n_err += want[i] != R_OK;
    }
    Kvrpcpb__PrewriteRequest req = KVRPCPB__PREWRITE_REQUEST__INIT;
    Kvrpcpb__Mutation ms[NKEYS], *mp[NKEYS];
    for (int i = 0; i < n; i++) {
        kvrpcpb__mutation__init(&ms[i]);
        ms[i].op = ops[i];
        ms[i].key.data = (uint8_t *)keys[i].data;
        ms[i].key.len = keys[i].len;
        ms[i].value.data = (uint8_t *)vals[i].data;
        ms[i].value.len = vals[i].len;
        mp[i] = &ms[i];
    }
    req.n_mutations = (size_t)n;
    req.mutations = mp;
    req.primary_lock.data = (uint8_t *)key_of(x->primary).data;
    req.primary_lock.len = 1;
    req.start_version = x->start_ts;
    req.lock_ttl = x->ttl;
    Kvrpcpb__PrewriteResponse *resp = xmalloc(sizeof(*resp));
    kvrpcpb__prewrite_response__init(resp);
    int ok = 1;
    tkv_err_t err = kv_prewrite(f->s, f->l, &req, resp);
    if (err != TKV_OK || resp->region_error != NULL) {
        ok = MISMATCH(mm, "prewrite failed: %s", tkv_strerror(err));
    } else if ((int)resp->n_errors != n_err) {
        ok = MISMATCH(mm, "prewrite: %zu key errors, model says %d", resp->n_errors, n_err);
    } else {
        /* Errors come in mutation order. */
        size_t e = 0;
        for (int i = 0; i < n && ok; i++) {
            if (want[i] == R_OK)
                continue;
            int got = keyerror_code(resp->errors[e++]);
            if (got != want[i])
                ok = MISMATCH(mm, "prewrite key %c: %s, model says %s", 'a' + idx[i],
                              result_name(got), result_name(want[i]));
        }
    }
    th_free(resp);
    if (ok && n_err == 0) {
        for (int i = 0; i < n; i++) {
            model_key_t *k = &m->keys[idx[i]];
            k->locked = 1;
            k->lock.start_ts = x->start_ts;
            k->lock.ttl = x->ttl;
            k->lock.kind = x->is_delete[idx[i]] ? MVCC_KIND_DELETE : MVCC_KIND_PUT;
            k->lock_primary = x->primary;
            m_set_value(k, x->start_ts, !x->is_delete[idx[i]], x->value[idx[i]]);
        }
    }
    return ok;
}

/* Applies per-key commit or rollback to a scratch model; on the first error
 * nothing is kept. Returns the R_ code. */
static int m_each_key(model_t *m, unsigned mask, const txn_plan_t *x, int commit)
{
    model_t scratch = *m;
    for (int k = 0; k < NKEYS; k++) {
        if (!((mask >> k) & 1))
            continue;
        int r = commit ? m_commit_key(&scratch, k, x->start_ts, x->commit_ts)
                       : m_rollback_key(&scratch, k, x->start_ts);
        if (r != R_OK)
            return r;
    }
    *m = scratch;
    return R_OK;
}

static int run_commit_or_rollback(txn_fixture_t *f, model_t *m, const txn_plan_t *x,
                                  const step_t *s, mismatch_t *mm)
{
    tkv_slice_t keys[NKEYS];
    int n = keys_of_mask(s->mask, keys);
    int commit = s->kind == S_COMMIT;
    int want = m_each_key(m, s->mask, x, commit);
    const Kvrpcpb__KeyError *e;
    void *resp;
    if (commit) {
        Kvrpcpb__CommitResponse *r = th_commit(f, (size_t)n, keys, x->start_ts, x->commit_ts);
        e = r->error;
        resp = r;
        if (r->region_error != NULL)
            return MISMATCH(mm, "commit: region error %s", r->region_error->message);
    } else {
        Kvrpcpb__BatchRollbackResponse *r = th_rollback(f, (size_t)n, keys, x->start_ts);
        e = r->error;
        resp = r;
        if (r->region_error != NULL)
            return MISMATCH(mm, "rollback: region error %s", r->region_error->message);
    }
    int got = keyerror_code(e);
    th_free(resp);
    if (got != want)
        return MISMATCH(mm, "%s: %s, model says %s", commit ? "commit" : "rollback",
                        result_name(got), result_name(want));
    return 1;
}

static int run_check(txn_fixture_t *f, model_t *m, const txn_plan_t *x, const step_t *s,
                     mismatch_t *mm)
{
    model_key_t *k = &m->keys[x->primary];
    int action = KVRPCPB__ACTION__NO_ACTION;
    uint64_t ttl = 0, commit_version = 0;
    if (k->locked && k->lock.start_ts == x->start_ts) {
        if (mvcc_physical_ms(x->start_ts) + k->lock.ttl <= mvcc_physical_ms(s->ts)) {
            k->locked = 0;
            m_set_value(k, x->start_ts, 0, 0);
            m_add_write(k, x->start_ts, x->start_ts, MVCC_KIND_ROLLBACK);
            action = KVRPCPB__ACTION__TTL_EXPIRE_ROLLBACK;
        } else {
            ttl = k->lock.ttl;
        }
    } else {
        const version_t *w = m_own_write(k, x->start_ts);
        if (w != NULL && w->kind != MVCC_KIND_ROLLBACK) {
            commit_version = w->ts;
        } else if (w == NULL) {
            m_add_write(k, x->start_ts, x->start_ts, MVCC_KIND_ROLLBACK);
            action = KVRPCPB__ACTION__LOCK_NOT_EXIST_ROLLBACK;
        }
    }
    Kvrpcpb__CheckTxnStatusResponse *r = th_check(f, key_of(x->primary), x->start_ts, s->ts);
    int ok = 1;
    if (r->region_error != NULL)
        ok = MISMATCH(mm, "check: region error %s", r->region_error->message);
    else if ((int)r->action != action || r->lock_ttl != ttl || r->commit_version != commit_version)
        ok = MISMATCH(mm, "check: action %d ttl %llu commit %llu, model says %d %llu %llu",
                      (int)r->action, (unsigned long long)r->lock_ttl,
                      (unsigned long long)r->commit_version, action, (unsigned long long)ttl,
                      (unsigned long long)commit_version);
    th_free(r);
    return ok;
}

static int run_resolve(txn_fixture_t *f, model_t *m, const txn_plan_t *x, const step_t *s,
                       mismatch_t *mm)
{
    unsigned mask = 0;
    for (int k = 0; k < NKEYS; k++)
        if (m->keys[k].locked && m->keys[k].lock.start_ts == x->start_ts)
            mask |= 1u << k;
    txn_plan_t y = *x;
    if (!s->commit)
        y.commit_ts = 0;
    int want = m_each_key(m, mask, &y, s->commit);
    Kvrpcpb__ResolveLockResponse *r = th_resolve(f, x->start_ts, y.commit_ts);
    int ok = 1;
    if (r->region_error != NULL)
        ok = MISMATCH(mm, "resolve: region error %s", r->region_error->message);
    else if (keyerror_code(r->error) != want)
        ok = MISMATCH(mm, "resolve: %s, model says %s", result_name(keyerror_code(r->error)),
                      result_name(want));
    th_free(r);
    return ok;
}

static int run_get(txn_fixture_t *f, model_t *m, const step_t *s, mismatch_t *mm)
{
    model_key_t *k = &m->keys[s->key];
    uint8_t v = 0;
    int locked = k->locked && k->lock.start_ts <= s->ts;
    int found = !locked && m_visible(k, s->ts, &v);
    Kvrpcpb__GetResponse *r = th_get(f, key_of(s->key), s->ts);
    int ok = 1;
    if (r->region_error != NULL)
        ok = MISMATCH(mm, "get: region error %s", r->region_error->message);
    else if (locked != (r->error != NULL && r->error->locked != NULL))
        ok = MISMATCH(mm, "get: %s, model says %s", r->error != NULL ? "an error" : "no error",
                      locked ? "locked" : "not locked");
    else if (locked && r->error->locked->lock_version != k->lock.start_ts)
        ok = MISMATCH(mm, "get: lock of txn %llu, model says %llu",
                      (unsigned long long)r->error->locked->lock_version,
                      (unsigned long long)k->lock.start_ts);
    else if (!locked && found != (int)!r->not_found)
        ok = MISMATCH(mm, "get: found %d, model says %d", !r->not_found, found);
    else if (found && (r->value.len != 1 || r->value.data[0] != v))
        ok = MISMATCH(mm, "get: value %u, model says %u", r->value.len ? r->value.data[0] : 0, v);
    th_free(r);
    return ok;
}

static int run_scan(txn_fixture_t *f, model_t *m, const step_t *s, mismatch_t *mm)
{
    Kvrpcpb__ScanResponse *r = th_scan(f, key_of(s->key), s->limit, s->ts);
    int ok = 1;
    size_t at = 0;
    if (r->region_error != NULL)
        ok = MISMATCH(mm, "scan: region error %s", r->region_error->message);
    for (int key = s->key; ok && key < NKEYS && at < s->limit; key++) {
        model_key_t *k = &m->keys[key];
        uint8_t v = 0;
        int locked = k->locked && k->lock.start_ts <= s->ts;
        if (!locked && !m_visible(k, s->ts, &v))
            continue;
        if (at >= r->n_pairs) {
            ok = MISMATCH(mm, "scan: %zu pairs, model wants key %c next", r->n_pairs, 'a' + key);
            break;
        }
        const Kvrpcpb__KvPair *p = r->pairs[at++];
        if (p->key.len != 1 || p->key.data[0] != 'a' + key)
            ok = MISMATCH(mm, "scan: pair %zu is not key %c", at - 1, 'a' + key);
        else if (locked != (p->error != NULL))
            ok = MISMATCH(mm, "scan: key %c %s, model says %s", 'a' + key,
                          p->error != NULL ? "has an error" : "has no error",
                          locked ? "locked" : "not locked");
        else if (!locked && (p->value.len != 1 || p->value.data[0] != v))
            ok = MISMATCH(mm, "scan: key %c has the wrong value", 'a' + key);
    }
    if (ok && at != r->n_pairs)
        ok = MISMATCH(mm, "scan: %zu pairs, model says %zu", r->n_pairs, at);
    th_free(r);
    return ok;
}

/* Runs steps[0..n) (those with keep[i]) on fresh storage and a fresh model.
 * Returns the index of the first mismatching step, or -1. */
static long run_plan(const plan_t *p, const int *keep, size_t n, mismatch_t *mm)
{
    txn_fixture_t *f = txn_fixture_new();
    model_t *m = xcalloc(1, sizeof(*m));
    long bad = -1;
    for (size_t i = 0; i < n && bad < 0; i++) {
        if (keep != NULL && !keep[i])
            continue;
        const step_t *s = &p->steps[i];
        const txn_plan_t *x = &p->txns[s->txn];
        int ok = 1;
        switch (s->kind) {
        case S_PREWRITE:
            ok = run_prewrite(f, m, x, s, mm);
            break;
        case S_COMMIT:
        case S_ROLLBACK:
            ok = run_commit_or_rollback(f, m, x, s, mm);
            break;
        case S_CHECK:
            ok = run_check(f, m, x, s, mm);
            break;
        case S_RESOLVE:
            ok = run_resolve(f, m, x, s, mm);
            break;
        case S_GET:
            ok = run_get(f, m, s, mm);
            break;
        case S_SCAN:
            ok = run_scan(f, m, s, mm);
            break;
        }
        if (!ok)
            bad = (long)i;
    }
    free(m);
    txn_fixture_free(f);
    return bad;
}

/* Drops steps one at a time while the run still fails; keep[] ends as the
 * smallest failing set this greedy pass finds. */
static void shrink(const plan_t *p, int *keep, size_t n)
{
    mismatch_t mm;
    for (int changed = 1; changed;) {
        changed = 0;
        for (size_t j = n; j-- > 0;) {
            if (!keep[j])
                continue;
            keep[j] = 0;
            if (run_plan(p, keep, n, &mm) >= 0)
                changed = 1;
            else
                keep[j] = 1;
        }
    }
}

static void model_one_seed(uint64_t seed, void *arg)
{
    (void)arg;
    plan_t *p = xmalloc(sizeof(*p));
    gen_plan(seed, p);
    mismatch_t mm;
    long bad = run_plan(p, NULL, p->n_steps, &mm);
    if (bad >= 0) {
        size_t n = (size_t)bad + 1;
        int keep[MAX_STEPS];
        for (size_t i = 0; i < n; i++)
            keep[i] = 1;
        shrink(p, keep, n);
        long last = run_plan(p, keep, n, &mm);
        fprintf(stderr, "model check: seed %llu fails at step %ld of %zu; shortest failing run:\n",
                (unsigned long long)seed, bad, p->n_steps);
        for (size_t i = 0; i < n; i++)
            if (keep[i]) {
                fprintf(stderr, "  %3zu  ", i);
                print_step(stderr, p, &p->steps[i]);
            }
        fprintf(stderr, "  -> step %ld: %s\n", last, mm.why);
        free(p);
        fail_msg("model check failed for seed %llu", (unsigned long long)seed);
    }
    free(p);
}

static void test_model_check(void **state)
{
    (void)state;
    /* Cheap (a few ms a seed): more seeds than the default. */
    tkv_for_each_seed_n(4242, 20, model_one_seed, NULL);
}

const tkv_test_t model_tests[] = {
    { "project4c", "model_check_random_txns", 20,
      "random interleaved txns agree step by step with a model of Percolator's rules",
      test_model_check, 120 },
    { 0 },
};
