/*
 * Scratch directories for tests that open real leveldb databases.
 */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/harness/test.h"

void tkv_tmpdir(char *out, size_t size)
{
    const char *base = getenv("TMPDIR");
    if (base == NULL || *base == '\0')
        base = "/tmp";
    int n = snprintf(out, size, "%s/tinykv-test-XXXXXX", base);
    if (n < 0 || (size_t)n >= size || mkdtemp(out) == NULL)
        fail_msg("cannot make a scratch directory under %s", base);
}

static int remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tkv_rmdir(const char *path)
{
    nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}
