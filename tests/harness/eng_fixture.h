/*
 * A cmocka fixture for tests of one leveldb engine: a fresh database in a
 * scratch directory. Ownership: eng_fixture_setup() puts a test_calloc'd
 * eng_fixture_t in *state; eng_fixture_teardown() closes the engine,
 * removes the directory and frees it.
 */
#ifndef TKV_TESTS_HARNESS_ENG_FIXTURE_H
#define TKV_TESTS_HARNESS_ENG_FIXTURE_H

#include "common/engine.h"

typedef struct {
    char dir[256];
    eng_t *eng;
} eng_fixture_t;

int eng_fixture_setup(void **state);
int eng_fixture_teardown(void **state);

#endif
