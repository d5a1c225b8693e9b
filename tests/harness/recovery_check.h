/*
 * The recovery check: a store that restarts must find its state machine at
 * exactly "every entry up to applied_index", as peer_apply.c promises.
 *
 * Clients cannot see an entry applied twice: puts and deletes replayed in
 * log order end where they were (the replay of a suffix is idempotent), so
 * a store that writes an entry's data and its apply state in two writes,
 * or lets the apply state lag, passes every client-view and
 * linearizability check. It is still wrong (project 3's splits and conf
 * changes are not idempotent), so this check looks where the fault is: at
 * a restart, before the store applies anything, it replays the store's own
 * raft log from the region's start up to the loaded applied index and
 * compares the result with the kv DB, key by key. Data ahead of the apply
 * state (an entry that will be applied again) and data behind it (an
 * entry lost) both fail, naming the key.
 *
 * Region 1 only, and only while its log was never compacted (truncated at
 * RAFT_INIT_LOG_INDEX): after a CompactLog the state at the truncation is
 * not known here. The test must put every user key in region 1.
 */
#ifndef TKV_TESTS_HARNESS_RECOVERY_CHECK_H
#define TKV_TESTS_HARNESS_RECOVERY_CHECK_H

#include "project2-raft/raftstore/store.h"

/* Fails the test if store `id`'s region-1 data is not exactly its log
 * applied up to its applied index. Nothing is kept; `s` is borrowed. */
void recovery_check(store_t *s, int id);

#endif
