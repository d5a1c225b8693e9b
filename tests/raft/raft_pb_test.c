/*
 * Frame: the plain Raft structs survive a round trip through protobuf
 * bytes with every field intact (raft_pb.h).
 */
#include <stdlib.h>
#include <string.h>

#include "project2-raft/raft/raft_pb.h"
#include "tests/harness/expect.h"
#include "tests/harness/test.h"

static void check_entry(const raft_entry_t *a, const raft_entry_t *b)
{
    assert_int_equal(a->type, b->type);
    assert_int_equal(a->term, b->term);
    assert_int_equal(a->index, b->index);
    assert_int_equal(a->len, b->len);
    if (a->len)
        assert_memory_equal(a->data, b->data, a->len);
}

static void test_message_round_trip(void **state)
{
    (void)state;
    raft_entry_t ents[2] = { { RAFT_ENTRY_NORMAL, 7, 41, (uint8_t *)"a\0b", 3 },
                             { RAFT_ENTRY_CONF_CHANGE, 8, 42, NULL, 0 } };
    uint64_t nodes[] = { 1, 5, 9 };
    raft_message_t m = { 0 };
    m.type = RAFT_MSG_APPEND_RESPONSE;
    m.to = 2;
    m.from = 3;
    m.term = 8;
    m.log_term = 7;
    m.index = 40;
    m.entries = ents;
    m.n_entries = 2;
    m.commit = 39;
    m.snapshot.data = (uint8_t *)"image";
    m.snapshot.len = 5;
    m.snapshot.metadata.index = 30;
    m.snapshot.metadata.term = 6;
    m.snapshot.metadata.conf_state.nodes = nodes;
    m.snapshot.metadata.conf_state.n_nodes = 3;
    m.reject = 1;
    m.reject_hint = 35;
    uint8_t *bytes;
    size_t len;
    expect_err(raft_pb_encode_message(&m, &bytes, &len), TKV_OK,
               "raft_pb_encode_message(&m, &bytes, &len)");
    raft_message_t got;
    expect_err(raft_pb_decode_message(bytes, len, &got), TKV_OK,
               "raft_pb_decode_message(bytes, len, &got)");
    free(bytes);
    assert_int_equal(got.type, m.type);
    assert_int_equal(got.to, m.to);
    assert_int_equal(got.from, m.from);
    assert_int_equal(got.term, m.term);
    assert_int_equal(got.log_term, m.log_term);
    assert_int_equal(got.index, m.index);
    assert_int_equal(got.commit, m.commit);
    assert_int_equal(got.reject, 1);
    assert_int_equal(got.reject_hint, 35);
    assert_int_equal(got.n_entries, 2);
    check_entry(&got.entries[0], &ents[0]);
    check_entry(&got.entries[1], &ents[1]);
    assert_int_equal(got.snapshot.len, 5);
    assert_memory_equal(got.snapshot.data, "image", 5);
    assert_int_equal(got.snapshot.metadata.index, 30);
    assert_int_equal(got.snapshot.metadata.term, 6);
    assert_int_equal(got.snapshot.metadata.conf_state.n_nodes, 3);
    assert_memory_equal(got.snapshot.metadata.conf_state.nodes, nodes, sizeof(nodes));
    raft_message_free(&got);
}

static void test_every_message_type_round_trips(void **state)
{
    (void)state;
    raft_msg_type_t types[] = { RAFT_MSG_HUP,
                                RAFT_MSG_BEAT,
                                RAFT_MSG_PROPOSE,
                                RAFT_MSG_APPEND,
                                RAFT_MSG_APPEND_RESPONSE,
                                RAFT_MSG_REQUEST_VOTE,
                                RAFT_MSG_REQUEST_VOTE_RESPONSE,
                                RAFT_MSG_SNAPSHOT,
                                RAFT_MSG_HEARTBEAT,
                                RAFT_MSG_HEARTBEAT_RESPONSE,
                                RAFT_MSG_TRANSFER_LEADER,
                                RAFT_MSG_TIMEOUT_NOW };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        raft_message_t m = { 0 };
        m.type = types[i];
        m.term = i;
        uint8_t *bytes;
        size_t len;
        raft_pb_encode_message(&m, &bytes, &len);
        raft_message_t got;
        expect_err(raft_pb_decode_message(bytes, len, &got), TKV_OK,
                   "raft_pb_decode_message(bytes, len, &got)");
        free(bytes);
        assert_int_equal(got.type, types[i]);
        assert_true(raft_snapshot_is_empty(&got.snapshot));
        assert_int_equal(got.n_entries, 0);
        raft_message_free(&got);
    }
}

static void test_small_types_round_trip(void **state)
{
    (void)state;
    uint8_t *bytes;
    size_t len;
    raft_hard_state_t hs = { 9, 3, 77 }, hs2;
    raft_pb_encode_hard_state(&hs, &bytes, &len);
    expect_err(raft_pb_decode_hard_state(bytes, len, &hs2), TKV_OK,
               "raft_pb_decode_hard_state(bytes, len, &hs2)");
    free(bytes);
    assert_true(raft_hard_state_equal(&hs, &hs2));

    raft_entry_t e = { RAFT_ENTRY_CONF_CHANGE, 4, 12, (uint8_t *)"xyz", 3 }, e2;
    raft_pb_encode_entry(&e, &bytes, &len);
    expect_err(raft_pb_decode_entry(bytes, len, &e2), TKV_OK,
               "raft_pb_decode_entry(bytes, len, &e2)");
    free(bytes);
    check_entry(&e, &e2);
    raft_entry_free(&e2);

    raft_conf_change_t cc = { RAFT_CONF_REMOVE_NODE, 6, (uint8_t *)"cmd", 3 }, cc2;
    raft_pb_encode_conf_change(&cc, &bytes, &len);
    expect_err(raft_pb_decode_conf_change(bytes, len, &cc2), TKV_OK,
               "raft_pb_decode_conf_change(bytes, len, &cc2)");
    free(bytes);
    assert_int_equal(cc2.type, RAFT_CONF_REMOVE_NODE);
    assert_int_equal(cc2.node_id, 6);
    assert_int_equal(cc2.context_len, 3);
    assert_memory_equal(cc2.context, "cmd", 3);
    raft_conf_change_free(&cc2);

    uint64_t nodes[] = { 2, 4 };
    raft_snapshot_t s = { (uint8_t *)"img", 3, { { nodes, 2 }, 10, 2 } }, s2;
    raft_pb_encode_snapshot(&s, &bytes, &len);
    expect_err(raft_pb_decode_snapshot(bytes, len, &s2), TKV_OK,
               "raft_pb_decode_snapshot(bytes, len, &s2)");
    free(bytes);
    assert_int_equal(s2.metadata.index, 10);
    assert_int_equal(s2.metadata.term, 2);
    assert_int_equal(s2.metadata.conf_state.n_nodes, 2);
    assert_int_equal(s2.metadata.conf_state.nodes[1], 4);
    assert_memory_equal(s2.data, "img", 3);
    raft_snapshot_free(&s2);
}

static void test_garbage_is_corrupt(void **state)
{
    (void)state;
    const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0x0f };
    raft_message_t m;
    expect_err(raft_pb_decode_message(junk, sizeof(junk), &m), TKV_ERR_CORRUPT,
               "raft_pb_decode_message(junk, sizeof(junk), &m)");
    raft_hard_state_t hs;
    expect_err(raft_pb_decode_hard_state(junk, sizeof(junk), &hs), TKV_ERR_CORRUPT,
               "raft_pb_decode_hard_state(junk, sizeof(junk), &hs)");
}

const tkv_test_t raft_pb_tests[] = {
    { "frame", "raft_pb_message_round_trip", 0,
      "a message with entries and a snapshot survives encode/decode field for field",
      test_message_round_trip },
    { "frame", "raft_pb_every_message_type", 0, "every message type keeps its number",
      test_every_message_type_round_trips },
    { "frame", "raft_pb_small_types_round_trip", 0,
      "hard state, entry, conf change and snapshot survive encode/decode",
      test_small_types_round_trip },
    { "frame", "raft_pb_garbage_is_corrupt", 0, "bytes that do not parse are TKV_ERR_CORRUPT",
      test_garbage_is_corrupt },
    { 0 },
};
