/*
 * The store's rounds (store.h), frame code: the server runtime opens one
 * per batch of input so that a peer handles one Ready for the whole batch.
 *
 * These tests drive the rounds with ticks only: store_tick() and the
 * deferral at the top of peer_handle_ready() are frame code, so what they
 * check holds whatever the Raft core and the Ready loop (the students'
 * code) do, and they pass on the handout as on the solution.
 */
#include "tests/faults/stores.h"

/* Ticks inside a round reach the Raft core but no Ready is handled until
 * the round ends, and then one per peer, however many ticks came in. */
static void test_round_handles_one_ready_per_peer(void **state)
{
    (void)state;
    ff_stores_t c;
    ff_open(&c, 2, "");
    peer_t *p1 = ff_peer(&c, 1), *p2 = ff_peer(&c, 2);
    uint64_t before1 = p1->n_ready_calls, before2 = p2->n_ready_calls;

    store_tick(c.s[1]);
    if (p1->n_ready_calls != before1 + 1)
        fail_msg("outside a round, a tick handled %llu Readies on store 1, expected 1 (at once)",
                 (unsigned long long)(p1->n_ready_calls - before1));
    before1 = p1->n_ready_calls;

    store_begin_round(c.s[1]);
    store_begin_round(c.s[2]);
    for (int i = 0; i < 5; i++) {
        store_tick(c.s[1]);
        store_tick(c.s[2]);
    }
    if (p1->n_ready_calls != before1 || p2->n_ready_calls != before2)
        fail_msg("inside a round, 5 ticks handled Readies at once (store 1: %llu, store 2: "
                 "%llu); expected none before store_end_round()",
                 (unsigned long long)(p1->n_ready_calls - before1),
                 (unsigned long long)(p2->n_ready_calls - before2));
    if (!p1->ready_pending || !p2->ready_pending)
        fail_msg("inside a round, a ticked peer is not marked as having work (store 1: %d, "
                 "store 2: %d)",
                 p1->ready_pending, p2->ready_pending);
    store_end_round(c.s[1]);
    store_end_round(c.s[2]);
    if (p1->n_ready_calls != before1 + 1 || p2->n_ready_calls != before2 + 1)
        fail_msg("the round's end handled %llu and %llu Readies on stores 1 and 2, expected "
                 "one each for the 5 ticks",
                 (unsigned long long)(p1->n_ready_calls - before1),
                 (unsigned long long)(p2->n_ready_calls - before2));
    if (p1->ready_pending || p2->ready_pending)
        fail_msg("after the round's end a peer is still marked as having work");
    if (eng_unsynced(store_kv_db(c.s[1])) || eng_unsynced(store_kv_db(c.s[2])))
        fail_msg("after the round's end the kv DB still owes a sync of the round's applies");

    /* The round is over: ticks are handled at once again. */
    before1 = p1->n_ready_calls;
    store_tick(c.s[1]);
    if (p1->n_ready_calls != before1 + 1)
        fail_msg("after a round, a tick handled %llu Readies, expected 1 at once",
                 (unsigned long long)(p1->n_ready_calls - before1));
    ff_close(&c);
}

/* A round with no input touches no peer. */
static void test_empty_round_handles_nothing(void **state)
{
    (void)state;
    ff_stores_t c;
    ff_open(&c, 1, "");
    peer_t *p = ff_peer(&c, 1);
    uint64_t before = p->n_ready_calls;
    store_begin_round(c.s[1]);
    store_end_round(c.s[1]);
    if (p->n_ready_calls != before)
        fail_msg("an empty round handled %llu Readies, expected none",
                 (unsigned long long)(p->n_ready_calls - before));
    ff_close(&c);
}

const tkv_test_t round_tests[] = {
    { "frame", "round_handles_one_ready_per_peer", 0,
      "inside a store round, input only marks peers; the round's end handles one Ready each",
      test_round_handles_one_ready_per_peer },
    { "frame", "empty_round_handles_nothing", 0, "a round without input handles no Ready",
      test_empty_round_handles_nothing },
    { 0 },
};
