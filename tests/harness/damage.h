/*
 * A failing disk, for tests: damage the table files of a closed leveldb
 * database so that reads of some of its blocks fail their checksums.
 *
 * Only table files (*.ldb, *.sst) are touched, and only where data blocks
 * are (a caller picks a spot well before the end): the index and footer at
 * the end stay whole,
 * so the database still opens and the blocks before and after the damage
 * still read. That is the case a scan must notice: leveldb's iterator steps
 * over a block it cannot read and goes on, and only its status says so.
 */
#ifndef TKV_TESTS_HARNESS_DAMAGE_H
#define TKV_TESTS_HARNESS_DAMAGE_H

/* Overwrites `len` bytes at `percent` % of the size of each table file under
 * `dir` (not recursive). Keys are stored in order, so the percentage picks
 * which keys suffer (column families are key prefixes: "default_" ones come
 * first, then "lock_", then "write_"). Returns how many files were damaged;
 * fails the test on I/O errors. The database must be closed. */
int tkv_damage_tables(const char *dir, int percent, int len);

#endif
