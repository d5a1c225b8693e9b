/*
 * The grader's choice of scratch root (scratch.h): memory when there is
 * room, the output directory otherwise.
 */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "tools/grading/scratch.h"

/* `path`, made if missing, as an absolute path: a test may change its
 * working directory and must still find its TMPDIR. */
static char *made(const char *path)
{
    char abs[PATH_MAX];
    if ((mkdir(path, 0755) != 0 && errno != EEXIST) || realpath(path, abs) == NULL) {
        fprintf(stderr, "grade: cannot make scratch dir %s: %s\n", path, strerror(errno));
        return NULL;
    }
    return strdup(abs);
}

/* A fresh directory in /dev/shm, or NULL when /dev/shm is missing, not
 * writable or short of room. */
static char *in_memory(void)
{
    struct statvfs vfs;
    if (statvfs("/dev/shm", &vfs) != 0)
        return NULL;
    if ((unsigned long long)vfs.f_bavail * vfs.f_frsize < (unsigned long long)SCRATCH_MIN_FREE)
        return NULL;
    char tmpl[] = "/dev/shm/tinykv-grade.XXXXXX";
    if (mkdtemp(tmpl) == NULL)
        return NULL;
    return strdup(tmpl);
}

char *scratch_root(const char *wanted, const char *out_dir)
{
    if (wanted != NULL)
        return made(wanted);
    char *mem = in_memory();
    if (mem != NULL)
        return mem;
    size_t n = strlen(out_dir) + sizeof("/scratch");
    char *path = malloc(n);
    if (path == NULL)
        return NULL;
    snprintf(path, n, "%s/scratch", out_dir);
    char *dir = made(path);
    free(path);
    return dir;
}
