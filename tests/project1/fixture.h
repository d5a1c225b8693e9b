/*
 * What project 1's tests share: a standalone storage in a scratch directory,
 * opened by setup and removed by teardown (even when the test fails), and
 * small helpers that call the raw API and return what it answered.
 */
#ifndef TKV_TESTS_PROJECT1_FIXTURE_H
#define TKV_TESTS_PROJECT1_FIXTURE_H

#include "project1-standalone/raw_api.h"
#include "project1-standalone/standalone_storage.h"
#include "tests/harness/test.h"

typedef struct {
    char dir[256];
    storage_t *storage;
} p1_fixture_t;

int p1_setup(void **state);
int p1_teardown(void **state);
/* Stops and starts the storage again on the same directory. */
void p1_restart(p1_fixture_t *f);

/* Raw API calls that fail the test if the handler errs or reports an error.
 * p1_get returns 1 and fills `val` when found, 0 when not_found. */
void p1_put(storage_t *s, const char *cf, const void *key, size_t klen, const void *val,
            size_t vlen);
void p1_delete(storage_t *s, const char *cf, const void *key, size_t klen);
int p1_get(storage_t *s, const char *cf, const void *key, size_t klen, tkv_buf_t *val);
/* Scan; the caller frees the response with protobuf_c_message_free_unpacked. */
Kvrpcpb__RawScanResponse *p1_scan(storage_t *s, const char *cf, const char *start, uint32_t limit);

/* String shorthands. */
void p1_put_str(storage_t *s, const char *cf, const char *key, const char *val);
void p1_expect_str(storage_t *s, const char *cf, const char *key, const char *want);
void p1_expect_missing(storage_t *s, const char *cf, const char *key);
/* The scan response holds exactly these keys (NULL-terminated), in order. */
void p1_expect_scan_keys(const Kvrpcpb__RawScanResponse *resp, const char *const *keys);

#endif
