/*
 * The TinyKV client-view check: each client appends to its own key and
 * reads it back; what it reads must be exactly its own appends.
 *
 * In TinyKV's GenericTest every client `c` appends "x c j y" (j = 0, 1, ...)
 * to its key and gets the key back. Because nobody else writes that key, a
 * correct store shows the client precisely its own appends, in order, each
 * once. The check reads a history (history.h) and, for every completed get
 * of `key` by `client`, splits the value read into the client's append
 * values and verifies:
 *
 *   - every byte belongs to one of the client's appends to the key (nothing
 *     foreign, nothing half-written, nothing from an append that was not yet
 *     invoked or that definitely failed);
 *   - no append appears twice (a retried command applied twice);
 *   - every append that completed before the get was invoked appears (no
 *     lost write, no gap);
 *   - appends appear in real-time order: one that completed before another
 *     was invoked comes first.
 *
 * An append with no answer (pending: a timeout, a crash) is uncertain: it
 * may appear once, or not at all. Append values must be prefix-free (no
 * value is a prefix of another), as "x c j y" values are, so the split is
 * unambiguous.
 *
 *     tkv_buf_t why = TKV_BUF_INIT;
 *     for (int c = 0; c < clients; c++)
 *         if (!client_check(h, c, keys[c], strlen(keys[c]), &why))
 *             fail_msg("%.*s", (int)why.len, (char *)why.data);
 *
 * Ownership: reads the history only; appends its explanation to `explain`
 * (caller-owned; NULL for none).
 */
#ifndef TKV_TESTS_HARNESS_CLIENT_CHECK_H
#define TKV_TESTS_HARNESS_CLIENT_CHECK_H

#include <stddef.h>

#include "common/buf.h"
#include "tests/harness/history.h"

/* 1 if every read of `key` by `client` shows exactly its appends, else 0
 * with the first violation explained. A client that never read the key
 * passes (there is nothing to judge). */
int client_check(const history_t *h, int client, const void *key, size_t klen, tkv_buf_t *explain);

/* The value TinyKV's clients append: "x <client> <seq> y". Writes a NUL-
 * terminated string into out[0..size). */
void client_append_value(int client, int seq, char *out, size_t size);

#endif
