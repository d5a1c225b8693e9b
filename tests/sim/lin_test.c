/*
 * The linearizability checker accepts what a correct store may answer
 * (including concurrent and pending operations) and rejects each classic
 * anomaly: stale reads, lost writes, values never written, order violations.
 */
#include <stdio.h>
#include <string.h>

#include "common/prng.h"
#include "tests/harness/linearizability.h"
#include "tests/harness/test.h"

/* A write that completed at `ret`, or stays pending when ret is HIST_NEVER. */
static size_t wr(history_t *h, int c, hist_kind_t k, const char *key, const char *val,
                 uint64_t call, uint64_t ret)
{
    size_t id = history_invoke_str(h, c, k, key, val, call);
    if (ret != HIST_NEVER)
        history_complete(h, id, ret, 0, NULL, 0);
    return id;
}

/* A get that read `val` (NULL: not found). */
static size_t rd(history_t *h, int c, const char *key, const char *val, uint64_t call, uint64_t ret)
{
    size_t id = history_invoke_str(h, c, HIST_GET, key, NULL, call);
    history_complete(h, id, ret, val != NULL, val, val ? strlen(val) : 0);
    return id;
}

/* Checks `h` against `want`, frees it, and returns the explanation's text
 * (static; "" when none). */
static const char *expect(history_t *h, lin_verdict_t want)
{
    static char text[4096];
    tkv_buf_t why = TKV_BUF_INIT;
    lin_verdict_t got = lin_check(h, NULL, &why);
    snprintf(text, sizeof(text), "%.*s", (int)why.len, why.data ? (char *)why.data : "");
    buf_free(&why);
    history_free(h);
    if (got != want)
        fail_msg("expected %s, got %s\n%s", lin_verdict_name(want), lin_verdict_name(got), text);
    return text;
}

static void test_sequential_history_is_linearizable(void **state)
{
    (void)state;
    history_t *h = history_new();
    rd(h, 1, "k", NULL, 0, 5);
    wr(h, 1, HIST_PUT, "k", "1", 10, 20);
    rd(h, 2, "k", "1", 30, 40);
    wr(h, 2, HIST_APPEND, "k", "2", 50, 60);
    rd(h, 1, "k", "12", 70, 80);
    wr(h, 1, HIST_DELETE, "k", NULL, 90, 100);
    rd(h, 2, "k", NULL, 110, 120);
    wr(h, 2, HIST_APPEND, "k", "x", 130, 140);
    rd(h, 1, "k", "x", 150, 160);
    expect(h, LIN_OK);
}

static void test_concurrent_reads_may_see_either_side_of_a_write(void **state)
{
    (void)state;
    history_t *h = history_new();
    wr(h, 1, HIST_PUT, "k", "1", 0, 100);
    rd(h, 2, "k", NULL, 10, 20);
    rd(h, 3, "k", "1", 30, 40);
    rd(h, 2, "k", "1", 50, 60);
    expect(h, LIN_OK);

    /* Concurrent appends may land in either order. */
    h = history_new();
    wr(h, 1, HIST_APPEND, "k", "a", 0, 30);
    wr(h, 2, HIST_APPEND, "k", "b", 10, 40);
    rd(h, 3, "k", "ba", 50, 60);
    expect(h, LIN_OK);
}

static void test_read_going_back_in_time_is_rejected(void **state)
{
    (void)state;
    /* Once a read saw the write, a later read cannot miss it. */
    history_t *h = history_new();
    wr(h, 1, HIST_PUT, "k", "1", 0, 100);
    rd(h, 2, "k", "1", 10, 20);
    rd(h, 3, "k", NULL, 30, 40);
    const char *why = expect(h, LIN_ILLEGAL);
    assert_non_null(strstr(why, "\"k\""));
    assert_non_null(strstr(why, "c3"));
}

static void test_stale_read_is_rejected(void **state)
{
    (void)state;
    history_t *h = history_new();
    wr(h, 1, HIST_PUT, "k", "1", 0, 10);
    wr(h, 1, HIST_PUT, "k", "2", 20, 30);
    rd(h, 2, "k", "1", 40, 50);
    expect(h, LIN_ILLEGAL);
}

static void test_lost_write_is_rejected(void **state)
{
    (void)state;
    history_t *h = history_new();
    wr(h, 1, HIST_APPEND, "k", "a", 0, 10);
    wr(h, 2, HIST_APPEND, "k", "b", 20, 30);
    rd(h, 3, "k", "b", 40, 50);
    expect(h, LIN_ILLEGAL);

    h = history_new();
    wr(h, 1, HIST_PUT, "k", "1", 0, 10);
    rd(h, 2, "k", NULL, 20, 30);
    expect(h, LIN_ILLEGAL);
}

static void test_value_never_written_is_rejected(void **state)
{
    (void)state;
    history_t *h = history_new();
    wr(h, 1, HIST_PUT, "k", "1", 0, 100);
    rd(h, 2, "k", "zzz", 10, 20);
    const char *why = expect(h, LIN_ILLEGAL);
    assert_non_null(strstr(why, "zzz"));
}

static void test_appends_out_of_order_are_rejected(void **state)
{
    (void)state;
    history_t *h = history_new();
    wr(h, 1, HIST_APPEND, "k", "a", 0, 10);
    wr(h, 1, HIST_APPEND, "k", "b", 20, 30);
    rd(h, 2, "k", "ba", 40, 50);
    expect(h, LIN_ILLEGAL);
}

static void test_pending_write_may_or_may_not_take_effect(void **state)
{
    (void)state;
    history_t *h = history_new();
    wr(h, 1, HIST_PUT, "k", "1", 0, HIST_NEVER);
    rd(h, 2, "k", NULL, 100, 110);
    expect(h, LIN_OK);

    h = history_new();
    wr(h, 1, HIST_PUT, "k", "1", 0, HIST_NEVER);
    rd(h, 2, "k", NULL, 100, 110);
    rd(h, 2, "k", "1", 200, 210);
    expect(h, LIN_OK);

    /* But once seen it stays seen... */
    h = history_new();
    wr(h, 1, HIST_PUT, "k", "1", 0, HIST_NEVER);
    rd(h, 2, "k", "1", 100, 110);
    rd(h, 2, "k", NULL, 200, 210);
    expect(h, LIN_ILLEGAL);

    /* ...and it cannot act before it was invoked. */
    h = history_new();
    rd(h, 2, "k", "1", 0, 10);
    wr(h, 1, HIST_PUT, "k", "1", 20, HIST_NEVER);
    expect(h, LIN_ILLEGAL);

    /* A pending get constrains nothing. */
    h = history_new();
    wr(h, 1, HIST_PUT, "k", "1", 0, 10);
    history_invoke_str(h, 2, HIST_GET, "k", NULL, 20);
    expect(h, LIN_OK);
}

static void test_failed_write_takes_no_effect(void **state)
{
    (void)state;
    history_t *h = history_new();
    size_t id = history_invoke_str(h, 1, HIST_PUT, "k", "1", 0);
    history_fail(h, id, 10);
    rd(h, 2, "k", "1", 20, 30);
    expect(h, LIN_ILLEGAL);
}

static void test_keys_are_checked_apart(void **state)
{
    (void)state;
    history_t *h = history_new();
    wr(h, 1, HIST_PUT, "a", "1", 0, 10);
    wr(h, 1, HIST_PUT, "b", "1", 20, 30);
    rd(h, 2, "a", "1", 40, 50);
    rd(h, 2, "b", "1", 40, 50);
    wr(h, 1, HIST_DELETE, "b", NULL, 60, 70);
    rd(h, 2, "a", "1", 80, 90);
    expect(h, LIN_OK);

    h = history_new();
    wr(h, 1, HIST_PUT, "a", "1", 0, 10);
    wr(h, 1, HIST_PUT, "b", "1", 20, 30);
    wr(h, 1, HIST_DELETE, "b", NULL, 60, 70);
    rd(h, 2, "a", "1", 80, 90);
    rd(h, 2, "b", "1", 80, 90);
    const char *why = expect(h, LIN_ILLEGAL);
    assert_non_null(strstr(why, "key \"b\""));
}

static void test_budget_exhaustion_says_unknown(void **state)
{
    (void)state;
    /* Eight overlapping appends and a read that matches none of their
     * orders: refuting it means trying every order of every subset (tens of
     * thousands of steps), far more than 50. */
    history_t *h = history_new();
    for (int i = 0; i < 8; i++) {
        char v[8];
        snprintf(v, sizeof(v), "%c", 'a' + i);
        wr(h, i, HIST_APPEND, "k", v, (uint64_t)i, 1000);
    }
    rd(h, 99, "k", "nope", 2000, 2010);
    tkv_buf_t why = TKV_BUF_INIT;
    lin_opts_t o = { 50 };
    assert_int_equal(lin_check(h, &o, &why), LIN_UNKNOWN);
    assert_non_null(why.data);
    buf_append_byte(&why, 0);
    assert_non_null(strstr((char *)why.data, "budget"));
    buf_free(&why);
    /* With the default budget the search finishes and refutes it. */
    assert_int_equal(lin_check(h, NULL, NULL), LIN_ILLEGAL);
    history_free(h);
}

/* Random concurrent histories made linearizable by construction: each op
 * takes effect at a random instant inside its interval, in instant order,
 * on a real map. Corrupting one read must then be caught. */
typedef struct {
    uint64_t call, at, ret;
    int client, kind, key;
    char val[32];
} gen_op_t;

static void random_history(uint64_t seed, void *arg)
{
    (void)arg;
    tkv_prng_t p;
    prng_seed(&p, seed);
    enum { CLIENTS = 4, OPS = 50, KEYS = 3 };
    gen_op_t ops[CLIENTS * OPS];
    size_t n = 0;
    for (int c = 0; c < CLIENTS; c++) {
        uint64_t t = prng_below(&p, 10);
        for (int i = 0; i < OPS; i++) {
            gen_op_t *o = &ops[n++];
            o->client = c;
            o->call = t;
            o->ret = t + 1 + prng_below(&p, 40);
            o->at = prng_between(&p, o->call, o->ret + 1);
            /* Half reads: a read pins the value, which is what keeps the
             * search small (unread concurrent appends multiply the states). */
            static const int kinds[8] = { HIST_GET, HIST_GET,    HIST_GET,    HIST_GET,
                                          HIST_PUT, HIST_APPEND, HIST_APPEND, HIST_DELETE };
            o->kind = kinds[prng_below(&p, 8)];
            o->key = (int)prng_below(&p, KEYS);
            snprintf(o->val, sizeof(o->val), "<%d.%d>", c, i);
            t = o->ret + prng_below(&p, 10);
        }
    }
    /* Apply in instant order (stable by index, so equal instants keep the
     * order that also respects call < ret). */
    size_t order[CLIENTS * OPS];
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j > 0 && ops[order[j - 1]].at > ops[order[j]].at; j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    }
    char values[KEYS][4096];
    int exists[KEYS] = { 0 };
    history_t *h = history_new();
    size_t ids[CLIENTS * OPS];
    for (size_t i = 0; i < n; i++) /* invoke in index order; times are what count */
        ids[i] = history_invoke_str(h, ops[i].client, (hist_kind_t)ops[i].kind,
                                    (const char[]){ (char)('a' + ops[i].key), 0 }, ops[i].val,
                                    ops[i].call);
    size_t a_get = SIZE_MAX;
    for (size_t r = 0; r < n; r++) {
        size_t i = order[r];
        gen_op_t *o = &ops[i];
        char *v = values[o->key];
        switch ((hist_kind_t)o->kind) {
        case HIST_GET:
            history_complete(h, ids[i], o->ret, exists[o->key], v, strlen(v));
            if (exists[o->key] && strlen(v) > 0)
                a_get = ids[i];
            continue;
        case HIST_PUT:
            snprintf(v, 4096, "%s", o->val);
            exists[o->key] = 1;
            break;
        case HIST_APPEND:
            if (!exists[o->key])
                v[0] = '\0';
            strncat(v, o->val, 4095 - strlen(v));
            exists[o->key] = 1;
            break;
        case HIST_DELETE:
            exists[o->key] = 0;
            v[0] = '\0';
            break;
        }
        /* One write in ten never answers: it still took effect. */
        if (prng_below(&p, 10) != 0)
            history_complete(h, ids[i], o->ret, 0, NULL, 0);
    }
    tkv_buf_t why = TKV_BUF_INIT;
    lin_verdict_t v = lin_check(h, NULL, &why);
    if (v != LIN_OK)
        fail_msg("seed %llu: %s\n%.*s", (unsigned long long)seed, lin_verdict_name(v), (int)why.len,
                 (char *)why.data);
    buf_free(&why);
    assert_true(a_get != SIZE_MAX);
    /* Now make one read return something nobody wrote. */
    hist_op_t *bad = (hist_op_t *)history_op(h, a_get);
    buf_append(&bad->result, "!", 1);
    assert_int_equal(lin_check(h, NULL, NULL), LIN_ILLEGAL);
    history_free(h);
}

static void test_random_linearizable_histories_pass(void **state)
{
    (void)state;
    for (uint64_t s = 1; s <= 20; s++)
        random_history(s, NULL);
}

const tkv_test_t lin_tests[] = {
    { "frame", "lin_sequential_history_passes", 0,
      "a sequential get/put/append/delete history is linearizable",
      test_sequential_history_is_linearizable },
    { "frame", "lin_concurrent_ops_may_overlap", 0,
      "reads concurrent with a write may see either side; concurrent appends either order",
      test_concurrent_reads_may_see_either_side_of_a_write },
    { "frame", "lin_read_back_in_time_rejected", 0,
      "a read that misses a write an earlier read saw is not linearizable",
      test_read_going_back_in_time_is_rejected },
    { "frame", "lin_stale_read_rejected", 0, "reading an overwritten value is not linearizable",
      test_stale_read_is_rejected },
    { "frame", "lin_lost_write_rejected", 0, "a completed write that vanishes is caught",
      test_lost_write_is_rejected },
    { "frame", "lin_value_never_written_rejected", 0, "reading a value nobody wrote is caught",
      test_value_never_written_is_rejected },
    { "frame", "lin_order_violation_rejected", 0,
      "appends applied against real-time order are caught",
      test_appends_out_of_order_are_rejected },
    { "frame", "lin_pending_write_either_way", 0,
      "a write with no answer may take effect or not, but not before its call",
      test_pending_write_may_or_may_not_take_effect },
    { "frame", "lin_failed_write_no_effect", 0, "a definitely failed write must not be seen",
      test_failed_write_takes_no_effect },
    { "frame", "lin_keys_checked_apart", 0, "each key is its own register; the bad key is named",
      test_keys_are_checked_apart },
    { "frame", "lin_budget_gives_unknown", 0,
      "an exhausted search budget says unknown, not a verdict",
      test_budget_exhaustion_says_unknown },
    { "frame", "lin_random_histories", 0,
      "random histories linearizable by construction pass; one corrupted read fails",
      test_random_linearizable_histories_pass },
    { 0 },
};
