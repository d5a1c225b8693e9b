/*
 * Error-by-name assertions on replies (expect_pb.h): describe the key error
 * or region error in one line, then fail as cmocka's asserts do.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tests/harness/expect_pb.h"

/* Appends printf output to buf[*at..n), never past the end. */
TKV_EXPECT_FMT(4)
static void put(char *buf, size_t n, size_t *at, const char *fmt, ...)
{
    if (*at >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *at, n - *at, fmt, ap);
    va_end(ap);
    if (w > 0)
        *at += (size_t)w < n - *at ? (size_t)w : n - *at - 1;
}

/* A key as a quoted string, non-printable bytes escaped, long keys cut. */
static void put_key(char *buf, size_t n, size_t *at, ProtobufCBinaryData k)
{
    size_t shown = k.len < 32 ? k.len : 32;
    put(buf, n, at, "\"");
    for (size_t i = 0; i < shown; i++) {
        if (isprint(k.data[i]) && k.data[i] != '"' && k.data[i] != '\\')
            put(buf, n, at, "%c", k.data[i]);
        else
            put(buf, n, at, "\\x%02x", k.data[i]);
    }
    put(buf, n, at, "\"%s", shown < k.len ? "..." : "");
}

const char *tkv_key_error_str(const Kvrpcpb__KeyError *e, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    if (e == NULL) {
        put(buf, n, &at, "none");
    } else if (e->locked != NULL) {
        put(buf, n, &at, "locked (key ");
        put_key(buf, n, &at, e->locked->key);
        put(buf, n, &at, ", primary ");
        put_key(buf, n, &at, e->locked->primary_lock);
        put(buf, n, &at, ", start ts %" PRIu64 ", ttl %" PRIu64 ")", e->locked->lock_version,
            e->locked->lock_ttl);
    } else if (e->conflict != NULL) {
        put(buf, n, &at, "write conflict (key ");
        put_key(buf, n, &at, e->conflict->key);
        put(buf, n, &at, ", start ts %" PRIu64 ", conflict ts %" PRIu64 ")", e->conflict->start_ts,
            e->conflict->conflict_ts);
    } else if (e->retryable != NULL && e->retryable[0] != '\0') {
        put(buf, n, &at, "retryable (\"%s\")", e->retryable);
    } else if (e->abort != NULL && e->abort[0] != '\0') {
        put(buf, n, &at, "abort (\"%s\")", e->abort);
    } else {
        put(buf, n, &at, "a KeyError with no field set");
    }
    return buf;
}

const char *tkv_region_error_str(const Errorpb__Error *e, char *buf, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    if (e == NULL) {
        put(buf, n, &at, "none");
        return buf;
    }
    if (e->not_leader != NULL) {
        put(buf, n, &at, "NotLeader (region %" PRIu64, e->not_leader->region_id);
        if (e->not_leader->leader != NULL)
            put(buf, n, &at, ", leader store %" PRIu64 ")", e->not_leader->leader->store_id);
        else
            put(buf, n, &at, ", leader unknown)");
    } else if (e->region_not_found != NULL) {
        put(buf, n, &at, "RegionNotFound (region %" PRIu64 ")", e->region_not_found->region_id);
    } else if (e->key_not_in_region != NULL) {
        put(buf, n, &at, "KeyNotInRegion (key ");
        put_key(buf, n, &at, e->key_not_in_region->key);
        put(buf, n, &at, ", region %" PRIu64 ")", e->key_not_in_region->region_id);
    } else if (e->epoch_not_match != NULL) {
        put(buf, n, &at, "EpochNotMatch (%zu current regions)",
            e->epoch_not_match->n_current_regions);
    } else if (e->stale_command != NULL) {
        put(buf, n, &at, "StaleCommand");
    } else if (e->store_not_match != NULL) {
        put(buf, n, &at, "StoreNotMatch (asked store %" PRIu64 ", this is store %" PRIu64 ")",
            e->store_not_match->request_store_id, e->store_not_match->actual_store_id);
    } else if (e->server_is_busy != NULL) {
        put(buf, n, &at, "ServerIsBusy");
    } else {
        put(buf, n, &at, "a region error with no kind set");
    }
    if (e->message != NULL && e->message[0] != '\0')
        put(buf, n, &at, ": %s", e->message);
    return buf;
}

const char *tkv_pb_enum_name(const ProtobufCEnumDescriptor *d, int value)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    return v != NULL ? v->name : "an unknown value";
}

static void print_what(const char *file, int line, const char *what, va_list ap)
{
    char buf[512];
    vsnprintf(buf, sizeof(buf), what, ap);
    print_error("%s:%d: %s: ", file, line, buf);
}

static const char *key_error_kind_name(tkv_key_error_kind_t k)
{
    switch (k) {
    case TKV_KE_LOCKED:
        return "a locked error";
    case TKV_KE_CONFLICT:
        return "a write conflict";
    case TKV_KE_RETRYABLE:
        return "a retryable error";
    case TKV_KE_ABORT:
        return "an abort";
    }
    return "an unknown kind";
}

static int key_error_is(const Kvrpcpb__KeyError *e, tkv_key_error_kind_t k)
{
    if (e == NULL)
        return 0;
    switch (k) {
    case TKV_KE_LOCKED:
        return e->locked != NULL;
    case TKV_KE_CONFLICT:
        return e->conflict != NULL;
    case TKV_KE_RETRYABLE:
        return e->retryable != NULL && e->retryable[0] != '\0';
    case TKV_KE_ABORT:
        return e->abort != NULL && e->abort[0] != '\0';
    }
    return 0;
}

static const char *region_error_kind_name(tkv_region_error_kind_t k)
{
    switch (k) {
    case TKV_RE_NOT_LEADER:
        return "NotLeader";
    case TKV_RE_REGION_NOT_FOUND:
        return "RegionNotFound";
    case TKV_RE_KEY_NOT_IN_REGION:
        return "KeyNotInRegion";
    case TKV_RE_EPOCH_NOT_MATCH:
        return "EpochNotMatch";
    case TKV_RE_STALE_COMMAND:
        return "StaleCommand";
    case TKV_RE_STORE_NOT_MATCH:
        return "StoreNotMatch";
    case TKV_RE_SERVER_IS_BUSY:
        return "ServerIsBusy";
    }
    return "an unknown kind";
}

static int region_error_is(const Errorpb__Error *e, tkv_region_error_kind_t k)
{
    if (e == NULL)
        return 0;
    switch (k) {
    case TKV_RE_NOT_LEADER:
        return e->not_leader != NULL;
    case TKV_RE_REGION_NOT_FOUND:
        return e->region_not_found != NULL;
    case TKV_RE_KEY_NOT_IN_REGION:
        return e->key_not_in_region != NULL;
    case TKV_RE_EPOCH_NOT_MATCH:
        return e->epoch_not_match != NULL;
    case TKV_RE_STALE_COMMAND:
        return e->stale_command != NULL;
    case TKV_RE_STORE_NOT_MATCH:
        return e->store_not_match != NULL;
    case TKV_RE_SERVER_IS_BUSY:
        return e->server_is_busy != NULL;
    }
    return 0;
}

void tkv_expect_no_key_error(const char *file, int line, const Kvrpcpb__KeyError *e,
                             const char *what, ...)
{
    if (e == NULL)
        return;
    char buf[256];
    va_list ap;
    va_start(ap, what);
    print_what(file, line, what, ap);
    va_end(ap);
    print_error("expected no key error, saw %s\n", tkv_key_error_str(e, buf, sizeof(buf)));
    _fail(file, line);
}

void tkv_expect_key_error(const char *file, int line, const Kvrpcpb__KeyError *e,
                          tkv_key_error_kind_t want, const char *what, ...)
{
    if (key_error_is(e, want))
        return;
    char buf[256];
    va_list ap;
    va_start(ap, what);
    print_what(file, line, what, ap);
    va_end(ap);
    print_error("expected %s, saw %s\n", key_error_kind_name(want),
                tkv_key_error_str(e, buf, sizeof(buf)));
    _fail(file, line);
}

void tkv_expect_key_errors(const char *file, int line, Kvrpcpb__KeyError *const *errs, size_t n,
                           size_t want_n, const char *what, ...)
{
    if (n == want_n)
        return;
    char buf[256];
    va_list ap;
    va_start(ap, what);
    print_what(file, line, what, ap);
    va_end(ap);
    print_error("expected %zu key error%s, saw %zu%s", want_n, want_n == 1 ? "" : "s", n,
                n > 0 ? ":" : "");
    for (size_t i = 0; i < n && i < 8; i++)
        print_error("\n    [%zu] %s", i, tkv_key_error_str(errs[i], buf, sizeof(buf)));
    print_error("%s\n", n > 8 ? "\n    ..." : "");
    _fail(file, line);
}

void tkv_expect_no_region_error(const char *file, int line, const Errorpb__Error *e,
                                const char *what, ...)
{
    if (e == NULL)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, what);
    print_what(file, line, what, ap);
    va_end(ap);
    print_error("expected no region error, saw %s\n", tkv_region_error_str(e, buf, sizeof(buf)));
    _fail(file, line);
}

void tkv_expect_region_error(const char *file, int line, const Errorpb__Error *e,
                             tkv_region_error_kind_t want, const char *what, ...)
{
    if (region_error_is(e, want))
        return;
    char buf[512];
    va_list ap;
    va_start(ap, what);
    print_what(file, line, what, ap);
    va_end(ap);
    print_error("expected %s, saw %s\n", region_error_kind_name(want),
                tkv_region_error_str(e, buf, sizeof(buf)));
    _fail(file, line);
}
