/*
 * The client-view check accepts a client's exact view of its own appends
 * (with an uncertain op either way) and rejects gaps, duplicates, foreign
 * bytes, reordering and reads of the future.
 */
#include <stdio.h>
#include <string.h>

#include "tests/harness/client_check.h"
#include "tests/harness/test.h"

/* Client 1's append number `seq` on key "1", over [call, ret] (ret
 * HIST_NEVER: pending). */
static size_t app(history_t *h, int seq, uint64_t call, uint64_t ret)
{
    char v[32];
    client_append_value(1, seq, v, sizeof(v));
    size_t id = history_invoke_str(h, 1, HIST_APPEND, "1", v, call);
    if (ret != HIST_NEVER)
        history_complete(h, id, ret, 0, NULL, 0);
    return id;
}

/* Client 1 reads key "1" and sees appends seqs[0..n) concatenated. */
static void read_seqs(history_t *h, const int *seqs, int n, uint64_t call, uint64_t ret)
{
    char v[512] = "";
    for (int i = 0; i < n; i++) {
        char one[32];
        client_append_value(1, seqs[i], one, sizeof(one));
        strcat(v, one);
    }
    size_t id = history_invoke_str(h, 1, HIST_GET, "1", NULL, call);
    history_complete(h, id, ret, n > 0, v, strlen(v));
}

static void expect(history_t *h, int want, const char *phrase)
{
    tkv_buf_t why = TKV_BUF_INIT;
    int got = client_check(h, 1, "1", 1, &why);
    buf_append_byte(&why, 0);
    history_free(h);
    if (got != want)
        fail_msg("expected %s, got %s: %s", want ? "ok" : "bad", got ? "ok" : "bad",
                 (char *)why.data);
    if (phrase != NULL && strstr((char *)why.data, phrase) == NULL)
        fail_msg("explanation lacks '%s': %s", phrase, (char *)why.data);
    buf_free(&why);
}

static void test_exact_view_passes(void **state)
{
    (void)state;
    history_t *h = history_new();
    read_seqs(h, NULL, 0, 0, 1);
    app(h, 0, 10, 20);
    app(h, 1, 30, 40);
    read_seqs(h, (int[]){ 0, 1 }, 2, 50, 60);
    app(h, 2, 70, 80);
    read_seqs(h, (int[]){ 0, 1, 2 }, 3, 90, 100);
    /* Another client's key does not matter to client 1. */
    history_invoke_str(h, 2, HIST_APPEND, "2", "x 2 0 y", 5);
    expect(h, 1, NULL);
}

static void test_uncertain_op_may_show_or_not(void **state)
{
    (void)state;
    history_t *h = history_new();
    app(h, 0, 10, 20);
    app(h, 1, 30, HIST_NEVER);
    read_seqs(h, (int[]){ 0 }, 1, 50, 60);
    expect(h, 1, NULL);

    h = history_new();
    app(h, 0, 10, 20);
    app(h, 1, 30, HIST_NEVER);
    read_seqs(h, (int[]){ 0, 1 }, 2, 50, 60);
    expect(h, 1, NULL);

    /* Applied late, after the next append: still allowed. */
    h = history_new();
    app(h, 0, 10, HIST_NEVER);
    app(h, 1, 30, 40);
    read_seqs(h, (int[]){ 1, 0 }, 2, 50, 60);
    expect(h, 1, NULL);
}

static void test_gap_is_rejected(void **state)
{
    (void)state;
    history_t *h = history_new();
    app(h, 0, 10, 20);
    app(h, 1, 30, 40);
    app(h, 2, 50, 60);
    read_seqs(h, (int[]){ 0, 2 }, 2, 70, 80);
    expect(h, 0, "lost write");
}

static void test_duplicate_is_rejected(void **state)
{
    (void)state;
    history_t *h = history_new();
    app(h, 0, 10, 20);
    app(h, 1, 30, 40);
    read_seqs(h, (int[]){ 0, 1, 1 }, 3, 50, 60);
    expect(h, 0, "twice");
}

static void test_reorder_is_rejected(void **state)
{
    (void)state;
    history_t *h = history_new();
    app(h, 0, 10, 20);
    app(h, 1, 30, 40);
    read_seqs(h, (int[]){ 1, 0 }, 2, 50, 60);
    expect(h, 0, "out of order");
}

static void test_foreign_or_future_bytes_are_rejected(void **state)
{
    (void)state;
    history_t *h = history_new();
    app(h, 0, 10, 20);
    size_t id = history_invoke_str(h, 1, HIST_GET, "1", NULL, 30);
    history_complete(h, id, 40, 1, "x 1 0 yx 2 0 y", 14);
    expect(h, 0, "none of its appends");

    /* A read cannot see an append invoked after it returned. */
    h = history_new();
    app(h, 0, 10, 20);
    read_seqs(h, (int[]){ 0, 1 }, 2, 30, 40);
    app(h, 1, 50, 60);
    expect(h, 0, "not yet invoked");

    /* Nor one that definitely failed. */
    h = history_new();
    id = app(h, 0, 10, HIST_NEVER);
    history_fail(h, id, 20);
    read_seqs(h, (int[]){ 0 }, 1, 30, 40);
    expect(h, 0, "definitely failed");

    /* Nor lose everything. */
    h = history_new();
    app(h, 0, 10, 20);
    read_seqs(h, NULL, 0, 30, 40);
    expect(h, 0, "lost write");
}

const tkv_test_t client_check_tests[] = {
    { "frame", "client_check_exact_view_passes", 0,
      "a client seeing exactly its completed appends, in order, passes", test_exact_view_passes },
    { "frame", "client_check_uncertain_op_either_way", 0,
      "an append with no answer may show once or not at all", test_uncertain_op_may_show_or_not },
    { "frame", "client_check_gap_rejected", 0, "a missing completed append is caught",
      test_gap_is_rejected },
    { "frame", "client_check_duplicate_rejected", 0, "an append shown twice is caught",
      test_duplicate_is_rejected },
    { "frame", "client_check_reorder_rejected", 0,
      "appends shown out of real-time order are caught", test_reorder_is_rejected },
    { "frame", "client_check_foreign_bytes_rejected", 0,
      "bytes from other clients, the future or failed appends are caught",
      test_foreign_or_future_bytes_are_rejected },
    { 0 },
};
