/*
 * Standalone storage: the Storage interface (storage.h) on one local leveldb
 * database, with no replication. Project 1 builds it; project 4's suites run
 * on it.
 */
#ifndef TKV_P1_STANDALONE_STORAGE_H
#define TKV_P1_STANDALONE_STORAGE_H

#include "project1-standalone/storage.h"

/* A storage whose data lives in directory `dir` (created on start if
 * missing). It holds nothing open until storage_start(). The caller frees it
 * with storage_free(). */
tkv_err_t standalone_storage_new(const char *dir, storage_t **out);

/* Whether each write waits until leveldb has it on disk (fsync) before it
 * returns. Off by default, for the tests (a crash there is a close, and the
 * OS keeps what was written); tinykv-server turns it on unless --no-sync:
 * an acknowledged write must survive a power cut. */
void standalone_storage_set_sync(storage_t *s, int sync);
int standalone_storage_syncs(const storage_t *s);

#endif
