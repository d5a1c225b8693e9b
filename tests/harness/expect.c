/*
 * Self-explaining assertions (expect.h): format the sentence, print what was
 * expected and what was seen, then fail the way cmocka's own asserts do.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tests/harness/expect.h"

const char *tkv_err_name(tkv_err_t code)
{
    switch (code) {
    case TKV_OK:
        return "TKV_OK";
    case TKV_ERR_NOT_FOUND:
        return "TKV_ERR_NOT_FOUND";
    case TKV_ERR_INVALID:
        return "TKV_ERR_INVALID";
    case TKV_ERR_IO:
        return "TKV_ERR_IO";
    case TKV_ERR_CORRUPT:
        return "TKV_ERR_CORRUPT";
    case TKV_ERR_NOMEM:
        return "TKV_ERR_NOMEM";
    case TKV_ERR_NOT_IMPLEMENTED:
        return "TKV_ERR_NOT_IMPLEMENTED";
    case TKV_ERR_NOT_LEADER:
        return "TKV_ERR_NOT_LEADER";
    case TKV_ERR_STALE:
        return "TKV_ERR_STALE";
    case TKV_ERR_TIMEOUT:
        return "TKV_ERR_TIMEOUT";
    case TKV_ERR_CLOSED:
        return "TKV_ERR_CLOSED";
    case TKV_ERR_NET:
        return "TKV_ERR_NET";
    case TKV_ERR_BUSY:
        return "TKV_ERR_BUSY";
    case TKV_ERR__COUNT:
        break;
    }
    return "an unknown error code";
}

/* "file:line: <what>: " on stderr, through cmocka so it lands in the
 * test's output with the rest. */
static void print_what(const char *file, int line, const char *what, va_list ap)
{
    char buf[512];
    vsnprintf(buf, sizeof(buf), what, ap);
    print_error("%s:%d: %s: ", file, line, buf);
}

void tkv_expect_u64(const char *file, int line, uint64_t got, uint64_t want, const char *what, ...)
{
    if (got == want)
        return;
    va_list ap;
    va_start(ap, what);
    print_what(file, line, what, ap);
    va_end(ap);
    print_error("expected %" PRIu64 ", saw %" PRIu64 "\n", want, got);
    _fail(file, line);
}

void tkv_expect_err(const char *file, int line, tkv_err_t got, tkv_err_t want, const char *what,
                    ...)
{
    if (got == want)
        return;
    va_list ap;
    va_start(ap, what);
    print_what(file, line, what, ap);
    va_end(ap);
    print_error("expected %s (%s), saw %s (%s)", tkv_err_name(want), tkv_strerror(want),
                tkv_err_name(got), tkv_strerror(got));
    if (got != TKV_OK && tkv_last_error()[0] != '\0')
        print_error(": %s", tkv_last_error());
    print_error("\n");
    _fail(file, line);
}

void tkv_expect_named(const char *file, int line, int same, const char *got_name,
                      const char *want_name, const char *what, ...)
{
    if (same)
        return;
    va_list ap;
    va_start(ap, what);
    print_what(file, line, what, ap);
    va_end(ap);
    print_error("expected %s, saw %s\n", want_name, got_name);
    _fail(file, line);
}

void tkv_expect_true(const char *file, int line, int cond, const char *what, ...)
{
    if (cond)
        return;
    va_list ap;
    va_start(ap, what);
    print_what(file, line, what, ap);
    va_end(ap);
    print_error("not so\n");
    _fail(file, line);
}

void tkv_expect_false(const char *file, int line, int cond, const char *what, ...)
{
    if (!cond)
        return;
    va_list ap;
    va_start(ap, what);
    print_what(file, line, what, ap);
    va_end(ap);
    print_error("it is so, and must not be\n");
    _fail(file, line);
}

void tkv_expect_set(const char *file, int line, const void *got, int want_set, const char *what,
                    ...)
{
    if ((got != NULL) == (want_set != 0))
        return;
    va_list ap;
    va_start(ap, what);
    print_what(file, line, what, ap);
    va_end(ap);
    print_error(want_set ? "expected one, saw none\n" : "expected none, saw one\n");
    _fail(file, line);
}

void tkv_expect_i64(const char *file, int line, int64_t got, int64_t want, const char *what, ...)
{
    if (got == want)
        return;
    va_list ap;
    va_start(ap, what);
    print_what(file, line, what, ap);
    va_end(ap);
    print_error("expected %" PRId64 ", saw %" PRId64 "\n", want, got);
    _fail(file, line);
}

void tkv_expect_range(const char *file, int line, uint64_t got, uint64_t lo, uint64_t hi,
                      const char *what, ...)
{
    if (got >= lo && got <= hi)
        return;
    va_list ap;
    va_start(ap, what);
    print_what(file, line, what, ap);
    va_end(ap);
    print_error("expected %" PRIu64 " to %" PRIu64 ", saw %" PRIu64 "\n", lo, hi, got);
    _fail(file, line);
}

static void print_escaped(const void *p, size_t n)
{
    if (p == NULL) {
        print_error("(absent)");
        return;
    }
    const unsigned char *s = p;
    size_t shown = n < 64 ? n : 64;
    print_error("\"");
    for (size_t i = 0; i < shown; i++) {
        if (isprint(s[i]) && s[i] != '"' && s[i] != '\\')
            print_error("%c", s[i]);
        else
            print_error("\\x%02x", s[i]);
    }
    print_error("\"%s (%zu bytes)", shown < n ? "..." : "", n);
}

void tkv_expect_bytes(const char *file, int line, const void *got, size_t got_len, const void *want,
                      size_t want_len, const char *what, ...)
{
    int same;
    if (want == NULL || got == NULL)
        same = want == NULL && got == NULL;
    else
        same = got_len == want_len && (want_len == 0 || memcmp(got, want, want_len) == 0);
    if (same)
        return;
    va_list ap;
    va_start(ap, what);
    print_what(file, line, what, ap);
    va_end(ap);
    print_error("expected ");
    print_escaped(want, want_len);
    print_error(", saw ");
    print_escaped(got, got_len);
    print_error("\n");
    _fail(file, line);
}
