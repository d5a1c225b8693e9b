/*
 * Where the grader puts the tests' scratch directories (their TMPDIR).
 *
 * The simulator crashes nodes inside one process, so no test needs its
 * files to reach a disk; what a disk costs is fsync. On a 2-core machine
 * the graded run spends a third of its wall-clock time waiting for leveldb's
 * synced writes, so by default the scratch dirs live in memory, under
 * /dev/shm, when that is a tmpfs with room to spare. A container's small
 * /dev/shm (Docker gives 64 MB) is not used: the tests would fail for want
 * of space, which would be a wrong grade.
 */
#ifndef TKV_TOOLS_GRADING_SCRATCH_H
#define TKV_TOOLS_GRADING_SCRATCH_H

/* The directory under which each test gets its own scratch dir, made if
 * missing: `wanted` when not NULL (--scratch); else a fresh directory
 * /dev/shm/tinykv-grade.XXXXXX when /dev/shm has SCRATCH_MIN_FREE bytes
 * free; else OUT_DIR/scratch. Returns a string the caller frees, or NULL
 * after printing why the directory cannot be made. */
char *scratch_root(const char *wanted, const char *out_dir);

/* Bytes /dev/shm must have free to be used by default. */
#define SCRATCH_MIN_FREE (1024L * 1024 * 1024)

#endif
