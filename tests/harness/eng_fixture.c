/*
 * The engine fixture (eng_fixture.h).
 */
#include "tests/harness/eng_fixture.h"
#include "tests/harness/expect.h"
#include "tests/harness/test.h"

int eng_fixture_setup(void **state)
{
    eng_fixture_t *f = test_calloc(1, sizeof(*f));
    tkv_tmpdir(f->dir, sizeof(f->dir));
    expect_err(eng_open(f->dir, &f->eng), TKV_OK, "opening an engine in %s", f->dir);
    *state = f;
    return 0;
}

int eng_fixture_teardown(void **state)
{
    eng_fixture_t *f = *state;
    eng_close(f->eng);
    tkv_rmdir(f->dir);
    test_free(f);
    return 0;
}
