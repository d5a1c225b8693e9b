/*
 * Assertions that explain themselves.
 *
 * cmocka's assert_int_equal(a, b) prints "0x1 != 0": true, but a student
 * cannot act on it. These helpers take a sentence naming what is compared
 * and print what was expected and what was seen, in words:
 *
 *     expect_u64(r->log.committed, 3, "node %llu's commit index after the ack", id);
 *     -> tests/raft/x.c:42: node 1's commit index after the ack: expected 3, saw 2
 *
 *     expect_err(err, TKV_OK, "RawGet of key %s", key);
 *     -> ...: RawGet of key k1: expected TKV_OK (ok), saw TKV_ERR_NOT_IMPLEMENTED
 *        (not implemented): raw_get is not implemented
 *
 *     expect_true(r->role == RAFT_FOLLOWER, "a stale leader's append must not make "
 *                 "node 1 a follower (it is a %s)", raft_role_name(r->role));
 *
 * Each is a macro only to pass the caller's file and line, so the failure
 * points at the test, not at this file. `what` is a printf format; the
 * message is formatted only when the check fails. A failure ends the test as
 * any cmocka assertion does (the failure hooks of test.h still run).
 */
#ifndef TKV_TESTS_HARNESS_EXPECT_H
#define TKV_TESTS_HARNESS_EXPECT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "tests/harness/test.h"

#define TKV_EXPECT_FMT(i) __attribute__((format(printf, i, i + 1)))

void tkv_expect_u64(const char *file, int line, uint64_t got, uint64_t want, const char *what, ...)
    TKV_EXPECT_FMT(5);
void tkv_expect_err(const char *file, int line, tkv_err_t got, tkv_err_t want, const char *what,
                    ...) TKV_EXPECT_FMT(5);
void tkv_expect_true(const char *file, int line, int cond, const char *what, ...) TKV_EXPECT_FMT(4);
void tkv_expect_false(const char *file, int line, int cond, const char *what, ...)
    TKV_EXPECT_FMT(4);
/* A pointer that must be set (want_set) or unset: "expected one, saw none". */
void tkv_expect_set(const char *file, int line, const void *got, int want_set, const char *what,
                    ...) TKV_EXPECT_FMT(5);
void tkv_expect_i64(const char *file, int line, int64_t got, int64_t want, const char *what, ...)
    TKV_EXPECT_FMT(5);
/* got within [lo, hi]. */
void tkv_expect_range(const char *file, int line, uint64_t got, uint64_t lo, uint64_t hi,
                      const char *what, ...) TKV_EXPECT_FMT(6);
/* Two values of an enumeration, compared and shown by name: `same` is the
 * comparison, the names are the caller's (raft_role_name(), ...). */
void tkv_expect_named(const char *file, int line, int same, const char *got_name,
                      const char *want_name, const char *what, ...) TKV_EXPECT_FMT(6);
/* Byte strings, printed with non-printable bytes escaped; want NULL means
 * "absent" (got must be NULL too). */
void tkv_expect_bytes(const char *file, int line, const void *got, size_t got_len, const void *want,
                      size_t want_len, const char *what, ...) TKV_EXPECT_FMT(7);

#define expect_u64(got, want, ...) tkv_expect_u64(__FILE__, __LINE__, (got), (want), __VA_ARGS__)
#define expect_err(got, want, ...) tkv_expect_err(__FILE__, __LINE__, (got), (want), __VA_ARGS__)
#define expect_true(cond, ...)     tkv_expect_true(__FILE__, __LINE__, (cond) ? 1 : 0, __VA_ARGS__)
/* expect_false(r->lead == 2, "...") -> ...: <what>: it is so, and must not be */
#define expect_false(cond, ...) tkv_expect_false(__FILE__, __LINE__, (cond) ? 1 : 0, __VA_ARGS__)
/* expect_present(r->error, "the reply's key error") -> ...: expected one, saw none
 * expect_absent(r->error, ...)                       -> ...: expected none, saw one */
#define expect_present(p, ...) tkv_expect_set(__FILE__, __LINE__, (p), 1, __VA_ARGS__)
#define expect_absent(p, ...)  tkv_expect_set(__FILE__, __LINE__, (p), 0, __VA_ARGS__)
#define expect_i64(got, want, ...)                                                                 \
    tkv_expect_i64(__FILE__, __LINE__, (int64_t)(got), (int64_t)(want), __VA_ARGS__)
/* expect_range(n, 1, 3, "messages sent") -> ...: expected 1 to 3, saw 5 */
#define expect_range(got, lo, hi, ...)                                                             \
    tkv_expect_range(__FILE__, __LINE__, (got), (lo), (hi), __VA_ARGS__)
/* expect_named(m.type, RAFT_MSG_APPEND, raft_msg_type_name, "the first message's type")
 * -> ...: the first message's type: expected MsgAppend, saw MsgHeartbeat */
#define expect_named(got, want, name_of, ...)                                                      \
    tkv_expect_named(__FILE__, __LINE__, (got) == (want), name_of(got), name_of(want), __VA_ARGS__)
#define expect_bytes(got, got_len, want, want_len, ...)                                            \
    tkv_expect_bytes(__FILE__, __LINE__, (got), (got_len), (want), (want_len), __VA_ARGS__)

/* The enumerator's name, e.g. "TKV_ERR_NOT_FOUND". Static storage. */
const char *tkv_err_name(tkv_err_t code);

#endif
