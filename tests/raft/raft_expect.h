/*
 * Self-explaining assertions for the Raft core's tests, on top of
 * tests/harness/expect.h: roles by name, messages printed in full.
 *
 *     expect_role(r, RAFT_FOLLOWER, "node 1 after a heartbeat of term %d", 3);
 *     -> node 1 after a heartbeat of term 3: expected a follower, saw a candidate (term 4)
 *
 *     const raft_message_t *m = expect_msg(msgs, n, RAFT_MSG_REQUEST_VOTE, 2, "...");
 *     -> ...: expected a MsgRequestVote to 2, saw 1 message(s):
 *          MsgAppend 1->3 term 2 index 1 log_term 1 commit 1 entries [2@2]
 */
#ifndef TKV_TESTS_RAFT_EXPECT_H
#define TKV_TESTS_RAFT_EXPECT_H

#include "tests/harness/expect.h"
#include "tests/raft/raft_helpers.h"

/* One line describing m, written into buf (at least 160 bytes is plenty). */
const char *rt_msg_describe(const raft_message_t *m, char *buf, size_t size);

void rt_expect_role(const char *file, int line, const raft_t *r, raft_role_t want, const char *what,
                    ...) TKV_EXPECT_FMT(5);
/* The first message of `type` to `to` among msgs (borrowed from msgs);
 * fails the test, listing every message seen, if there is none. */
const raft_message_t *rt_expect_msg(const char *file, int line, const raft_message_t *msgs,
                                    size_t n, raft_msg_type_t type, uint64_t to, const char *what,
                                    ...) TKV_EXPECT_FMT(7);
/* Fails, listing them, if any of msgs has `type`. */
void rt_expect_no_msg(const char *file, int line, const raft_message_t *msgs, size_t n,
                      raft_msg_type_t type, const char *what, ...) TKV_EXPECT_FMT(6);

#define expect_role(r, want, ...) rt_expect_role(__FILE__, __LINE__, (r), (want), __VA_ARGS__)
#define expect_msg(msgs, n, type, to, ...)                                                         \
    rt_expect_msg(__FILE__, __LINE__, (msgs), (n), (type), (to), __VA_ARGS__)
#define expect_no_msg(msgs, n, type, ...)                                                          \
    rt_expect_no_msg(__FILE__, __LINE__, (msgs), (n), (type), __VA_ARGS__)

#endif
