/*
 * The history records what clients were told, once: a late second answer
 * or a failure after an answer changes nothing; and an operation prints as
 * one readable line, binary bytes escaped and long values elided.
 */
#include <string.h>

#include "tests/harness/history.h"
#include "tests/harness/test.h"

static const char *describe(const history_t *h, size_t id, tkv_buf_t *b)
{
    buf_clear(b);
    hist_op_describe(history_op(h, id), b);
    buf_append_byte(b, 0);
    return (const char *)b->data;
}

static void test_history_records_each_answer_once(void **state)
{
    (void)state;
    history_t *h = history_new();
    size_t put = history_invoke_str(h, 3, HIST_PUT, "k", "v", 10);
    size_t get = history_invoke_str(h, 4, HIST_GET, "k", "ignored", 12);
    size_t del = history_invoke_str(h, 5, HIST_DELETE, "k", NULL, 13);
    assert_int_equal(history_len(h), 3);
    assert_int_equal(history_op(h, put)->status, HIST_PENDING);
    assert_int_equal(history_op(h, put)->ret, HIST_NEVER);
    assert_int_equal(history_op(h, get)->value.len, 0); /* a get has no argument */
    history_complete(h, put, 20, 0, NULL, 0);
    history_complete(h, put, 30, 0, NULL, 0); /* a duplicate answer */
    history_fail(h, put, 40);
    assert_int_equal(history_op(h, put)->status, HIST_OK);
    assert_int_equal(history_op(h, put)->ret, 20);
    history_complete(h, get, 25, 1, "v", 1);
    assert_true(history_op(h, get)->found);
    assert_memory_equal(history_op(h, get)->result.data, "v", 1);
    history_fail(h, del, 26);
    assert_int_equal(history_op(h, del)->status, HIST_FAILED);
    assert_null(history_op(h, 99));

    tkv_buf_t b = TKV_BUF_INIT;
    assert_string_equal(describe(h, put, &b), "#0 c3 [10..20] put(\"k\", \"v\") ok\n");
    assert_string_equal(describe(h, get, &b), "#1 c4 [12..25] get(\"k\") -> \"v\"\n");
    assert_string_equal(describe(h, del, &b), "#2 c5 [13..26] delete(\"k\") failed (no effect)\n");
    size_t pend = history_invoke(h, 1, HIST_APPEND, "a\0b", 3, "\x01\"", 2, 50);
    assert_string_equal(describe(h, pend, &b),
                        "#3 c1 [50..?] append(\"a\\x00b\", \"\\x01\\x22\") pending (outcome "
                        "unknown)\n");
    char big[200];
    memset(big, 'z', sizeof(big));
    size_t long_put = history_invoke(h, 1, HIST_PUT, "k", 1, big, sizeof(big), 60);
    describe(h, long_put, &b);
    assert_non_null(strstr((const char *)b.data, "...(152 bytes)..."));
    assert_true(b.len < 120);
    buf_free(&b);
    history_free(h);
}

const tkv_test_t history_tests[] = {
    { "frame", "history_records_answers_once", 0,
      "an op's first answer counts; ops print as one readable line",
      test_history_records_each_answer_once },
    { 0 },
};
