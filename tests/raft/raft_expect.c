/*
 * Self-explaining assertions for the Raft core's tests (raft_expect.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "tests/raft/raft_expect.h"

const char *rt_msg_describe(const raft_message_t *m, char *buf, size_t size)
{
    int n = snprintf(
        buf, size, "%s %llu->%llu term %llu index %llu log_term %llu commit %llu%s entries [",
        raft_msg_type_name(m->type), (unsigned long long)m->from, (unsigned long long)m->to,
        (unsigned long long)m->term, (unsigned long long)m->index, (unsigned long long)m->log_term,
        (unsigned long long)m->commit, m->reject ? " REJECT" : "");
    for (size_t i = 0; i < m->n_entries && n > 0 && (size_t)n < size; i++)
        n += snprintf(buf + n, size - (size_t)n, "%s%llu@%llu", i ? " " : "",
                      (unsigned long long)m->entries[i].index,
                      (unsigned long long)m->entries[i].term);
    if (n > 0 && (size_t)n < size)
        n += snprintf(buf + n, size - (size_t)n, "]");
    if (m->snapshot.metadata.index != 0 && n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, " snapshot %llu@%llu",
                 (unsigned long long)m->snapshot.metadata.index,
                 (unsigned long long)m->snapshot.metadata.term);
    return buf;
}

static void print_what(const char *file, int line, const char *what, va_list ap)
{
    char buf[512];
    vsnprintf(buf, sizeof(buf), what, ap);
    print_error("%s:%d: %s: ", file, line, buf);
}

static const char *with_article(raft_role_t role)
{
    switch (role) {
    case RAFT_FOLLOWER:
        return "a follower";
    case RAFT_CANDIDATE:
        return "a candidate";
    case RAFT_PRE_CANDIDATE:
        return "a pre-candidate";
    case RAFT_LEADER:
        return "a leader";
    }
    return "an unknown role";
}

void rt_expect_role(const char *file, int line, const raft_t *r, raft_role_t want, const char *what,
                    ...)
{
    if (r->role == want)
        return;
    va_list ap;
    va_start(ap, what);
    print_what(file, line, what, ap);
    va_end(ap);
    print_error("expected %s, saw %s (node %llu, term %llu, leader %llu)\n", with_article(want),
                with_article(r->role), (unsigned long long)r->id, (unsigned long long)r->term,
                (unsigned long long)r->lead);
    _fail(file, line);
}

static void print_msgs(const raft_message_t *msgs, size_t n)
{
    char buf[512];
    print_error("saw %zu message(s)%s\n", n, n ? ":" : "");
    for (size_t i = 0; i < n; i++)
        print_error("    %s\n", rt_msg_describe(&msgs[i], buf, sizeof(buf)));
}

const raft_message_t *rt_expect_msg(const char *file, int line, const raft_message_t *msgs,
                                    size_t n, raft_msg_type_t type, uint64_t to, const char *what,
                                    ...)
{
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].type == type && msgs[i].to == to)
            return &msgs[i];
    }
    va_list ap;
    va_start(ap, what);
    print_what(file, line, what, ap);
    va_end(ap);
    print_error("expected a %s to %llu, ", raft_msg_type_name(type), (unsigned long long)to);
    print_msgs(msgs, n);
    _fail(file, line);
    return NULL;
}

void rt_expect_no_msg(const char *file, int line, const raft_message_t *msgs, size_t n,
                      raft_msg_type_t type, const char *what, ...)
{
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].type != type)
            continue;
        va_list ap;
        va_start(ap, what);
        print_what(file, line, what, ap);
        va_end(ap);
        print_error("expected no %s, ", raft_msg_type_name(type));
        print_msgs(msgs, n);
        _fail(file, line);
    }
}
