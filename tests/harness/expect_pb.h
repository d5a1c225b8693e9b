/*
 * Assertions on the errors a reply carries, shown by name (expect.h's
 * companion for protobuf replies).
 *
 * A Kv* reply's key error and a reply's region error are messages with one
 * field set out of several; cmocka's assert_null(r->error) prints only the
 * expression. These print which error it is and what it holds:
 *
 *     expect_no_key_error(r->error, "KvGet of key %s at ts 100", "k1");
 *     -> ...: KvGet of key k1 at ts 100: expected no key error, saw locked
 *        (key "k1", primary "k0", start ts 90, ttl 7)
 *
 *     expect_key_errors(r->errors, r->n_errors, 0, "a retried prewrite of its own keys");
 *     -> ...: a retried prewrite of its own keys: expected 0 key errors, saw 1:
 *        [0] locked (key "\x03", primary "\x03", start ts 100, ttl 0)
 *
 *     expect_key_error(r->errors[0], TKV_KE_CONFLICT, "prewrite over a newer write");
 *     -> ...: prewrite over a newer write: expected a write conflict, saw none
 */
#ifndef TKV_TESTS_HARNESS_EXPECT_PB_H
#define TKV_TESTS_HARNESS_EXPECT_PB_H

#include <stddef.h>

#include "proto/errorpb.pb-c.h"
#include "proto/kvrpcpb.pb-c.h"
#include "tests/harness/expect.h"

/* Which field of a KeyError is set. */
typedef enum {
    TKV_KE_LOCKED,
    TKV_KE_CONFLICT,
    TKV_KE_RETRYABLE,
    TKV_KE_ABORT,
} tkv_key_error_kind_t;

/* Which field of an errorpb Error is set. */
typedef enum {
    TKV_RE_NOT_LEADER,
    TKV_RE_REGION_NOT_FOUND,
    TKV_RE_KEY_NOT_IN_REGION,
    TKV_RE_EPOCH_NOT_MATCH,
    TKV_RE_STALE_COMMAND,
    TKV_RE_STORE_NOT_MATCH,
    TKV_RE_SERVER_IS_BUSY,
} tkv_region_error_kind_t;

/* One line describing e into buf[0..n) ("none" for NULL); returns buf. */
const char *tkv_key_error_str(const Kvrpcpb__KeyError *e, char *buf, size_t n);
const char *tkv_region_error_str(const Errorpb__Error *e, char *buf, size_t n);

void tkv_expect_no_key_error(const char *file, int line, const Kvrpcpb__KeyError *e,
                             const char *what, ...) TKV_EXPECT_FMT(4);
void tkv_expect_key_error(const char *file, int line, const Kvrpcpb__KeyError *e,
                          tkv_key_error_kind_t want, const char *what, ...) TKV_EXPECT_FMT(5);
void tkv_expect_key_errors(const char *file, int line, Kvrpcpb__KeyError *const *errs, size_t n,
                           size_t want_n, const char *what, ...) TKV_EXPECT_FMT(6);
void tkv_expect_no_region_error(const char *file, int line, const Errorpb__Error *e,
                                const char *what, ...) TKV_EXPECT_FMT(4);
void tkv_expect_region_error(const char *file, int line, const Errorpb__Error *e,
                             tkv_region_error_kind_t want, const char *what, ...) TKV_EXPECT_FMT(5);

/* A protobuf enum's value by its name in the .proto ("NO_ACTION"), or "an
 * unknown value" (static storage). */
const char *tkv_pb_enum_name(const ProtobufCEnumDescriptor *d, int value);
/* expect_pb_enum(r->action, KVRPCPB__ACTION__NO_ACTION, &kvrpcpb__action__descriptor, "...")
 * -> ...: expected NO_ACTION, saw TTL_EXPIRE_ROLLBACK */
#define expect_pb_enum(got, want, desc, ...)                                                       \
    tkv_expect_named(__FILE__, __LINE__, (int)(got) == (int)(want),                                \
                     tkv_pb_enum_name(desc, (int)(got)), tkv_pb_enum_name(desc, (int)(want)),      \
                     __VA_ARGS__)

#define expect_no_key_error(e, ...) tkv_expect_no_key_error(__FILE__, __LINE__, (e), __VA_ARGS__)
#define expect_key_error(e, kind, ...)                                                             \
    tkv_expect_key_error(__FILE__, __LINE__, (e), (kind), __VA_ARGS__)
/* errs/n as a reply holds them (r->errors, r->n_errors). */
#define expect_key_errors(errs, n, want_n, ...)                                                    \
    tkv_expect_key_errors(__FILE__, __LINE__, (errs), (n), (want_n), __VA_ARGS__)
#define expect_no_region_error(e, ...)                                                             \
    tkv_expect_no_region_error(__FILE__, __LINE__, (e), __VA_ARGS__)
#define expect_region_error(e, kind, ...)                                                          \
    tkv_expect_region_error(__FILE__, __LINE__, (e), (kind), __VA_ARGS__)

#endif
