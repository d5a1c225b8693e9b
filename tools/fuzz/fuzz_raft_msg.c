/*
 * libFuzzer target: the Raft message conversion (project2-raft/raft/raft_pb.h)
 * and the core's door behind it.
 *
 * Bytes are decoded as an eraftpb.Message; one that decodes must encode and
 * decode again to the same message (the store sends what it received
 * converted, so the two directions must agree), and is then stepped into a
 * fresh follower through rawnode_step(), where the border check
 * (raft_validate.c) refuses what the core could not take. Built and run by
 * `make fuzz`.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "project2-raft/raft/raft_pb.h"
#include "project2-raft/raft/rawnode.h"
#include "project2-raft/raft/storage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int same_entries(const raft_message_t *a, const raft_message_t *b)
{
    if (a->n_entries != b->n_entries)
        return 0;
    for (size_t i = 0; i < a->n_entries; i++) {
        const raft_entry_t *x = &a->entries[i], *y = &b->entries[i];
        if (x->type != y->type || x->term != y->term || x->index != y->index || x->len != y->len ||
            (x->len > 0 && memcmp(x->data, y->data, x->len) != 0))
            return 0;
    }
    return 1;
}

static int same(const raft_message_t *a, const raft_message_t *b)
{
    const raft_snapshot_metadata_t *x = &a->snapshot.metadata, *y = &b->snapshot.metadata;
    return a->type == b->type && a->to == b->to && a->from == b->from && a->term == b->term &&
           a->log_term == b->log_term && a->index == b->index && a->commit == b->commit &&
           a->reject == b->reject && a->reject_hint == b->reject_hint && same_entries(a, b) &&
           /* A snapshot at index 0 is "no snapshot" and is not sent at all
            * (found by this target; rawnode_step refuses one that has parts). */
           (x->index == 0 ? y->index == 0 && b->snapshot.len == 0
                          : x->index == y->index && x->term == y->term &&
                                x->conf_state.n_nodes == y->conf_state.n_nodes &&
                                a->snapshot.len == b->snapshot.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tkv_log_set_level(TKV_LOG_ERROR);
    raft_message_t m;
    if (raft_pb_decode_message(data, size, &m) != TKV_OK)
        return 0;
    uint8_t *bytes = NULL;
    size_t len = 0;
    raft_message_t back;
    if (raft_pb_encode_message(&m, &bytes, &len) != TKV_OK ||
        raft_pb_decode_message(bytes, len, &back) != TKV_OK || !same(&m, &back))
        abort();
    free(bytes);
    raft_message_free(&back);

    mem_storage_t *ms = mem_storage_new();
    raft_config_t cfg = { 0 };
    cfg.id = 1;
    cfg.peers = (const uint64_t[]){ 1, 2, 3 };
    cfg.n_peers = 3;
    cfg.election_tick = 10;
    cfg.heartbeat_tick = 1;
    cfg.storage = mem_storage_as_storage(ms);
    rawnode_t *rn = NULL;
    if (rawnode_new(&cfg, &rn) == TKV_OK) {
        (void)rawnode_step(rn, &m);
        if (rawnode_has_ready(rn)) {
            raft_ready_t rd;
            if (rawnode_ready(rn, &rd) == TKV_OK) {
                if (mem_storage_append(ms, rd.entries, rd.n_entries) != TKV_OK)
                    abort(); /* the core asked for a log with a gap */
                rawnode_advance(rn, &rd);
                raft_ready_free(&rd);
            }
        }
        rawnode_free(rn);
    }
    mem_storage_free(ms);
    raft_message_free(&m);
    return 0;
}
