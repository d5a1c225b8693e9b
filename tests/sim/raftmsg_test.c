/*
 * The RaftMessage classifier names real protobuf-encoded store traffic by
 * its Raft message type, so loss can target one type; the bytes that do
 * arrive still decode to the message that was sent.
 */
#include <string.h>

#include "proto/raft_serverpb.pb-c.h"
#include "tests/harness/expect.h"
#include "tests/harness/sim_raftmsg.h"
#include "tests/harness/test.h"

typedef struct {
    int by_type[16];
    int bad;
} seen_t;

static void receive(void *ctx, int from, int to, const uint8_t *bytes, size_t len)
{
    (void)to;
    seen_t *s = ctx;
    RaftServerpb__RaftMessage *m = raft_serverpb__raft_message__unpack(NULL, len, bytes);
    if (m == NULL || m->message == NULL || m->message->from != (uint64_t)from) {
        s->bad++;
    } else {
        s->by_type[m->message->msg_type]++;
    }
    if (m != NULL)
        raft_serverpb__raft_message__free_unpacked(m, NULL);
}

static void send_raft(sim_net_t *net, int from, int to, Eraftpb__MessageType type)
{
    Eraftpb__Message msg = ERAFTPB__MESSAGE__INIT;
    msg.msg_type = type;
    msg.from = (uint64_t)from;
    msg.to = (uint64_t)to;
    msg.term = 3;
    RaftServerpb__RaftMessage rm = RAFT_SERVERPB__RAFT_MESSAGE__INIT;
    rm.region_id = 1;
    rm.message = &msg;
    uint8_t buf[256];
    size_t n = raft_serverpb__raft_message__pack(&rm, buf);
    expect_err(sim_net_send(net, from, to, buf, n), TKV_OK, "sim_net_send(net, from, to, buf, n)");
}

static void test_loss_targets_one_raft_message_type(void **state)
{
    (void)state;
    sim_t *sim = sim_loop_new(1);
    seen_t seen = { { 0 }, 0 };
    sim_net_t *net = sim_net_new(sim, 4, receive, &seen);
    static int nodes = 3;
    sim_net_set_classifier(net, sim_classify_raft, &nodes);
    sim_net_drop_class(net, ERAFTPB__MESSAGE_TYPE__MSG_APPEND, 1, 1);
    for (int i = 0; i < 100; i++) {
        send_raft(net, 1, 2, ERAFTPB__MESSAGE_TYPE__MSG_APPEND);
        send_raft(net, 1, 3, ERAFTPB__MESSAGE_TYPE__MSG_HEARTBEAT);
        send_raft(net, 2, 1, ERAFTPB__MESSAGE_TYPE__MSG_APPEND_RESPONSE);
    }
    sim_run_for(sim, 100);
    assert_int_equal(seen.bad, 0);
    assert_int_equal(seen.by_type[ERAFTPB__MESSAGE_TYPE__MSG_APPEND], 0);
    assert_int_equal(seen.by_type[ERAFTPB__MESSAGE_TYPE__MSG_HEARTBEAT], 100);
    assert_int_equal(seen.by_type[ERAFTPB__MESSAGE_TYPE__MSG_APPEND_RESPONSE], 100);
    assert_int_equal(sim_net_class_sent(net, ERAFTPB__MESSAGE_TYPE__MSG_APPEND), 100);
    assert_int_equal(sim_net_stats(net).dropped_class, 100);

    /* Client traffic is not decoded; garbage between stores is flagged. */
    assert_int_equal(sim_classify_raft(&nodes, 4, 1, (const uint8_t *)"x", 1), SIM_CLASS_CLIENT);
    assert_int_equal(sim_classify_raft(&nodes, 1, 4, (const uint8_t *)"x", 1), SIM_CLASS_CLIENT);
    const uint8_t junk[] = { 0xff, 0xff, 0xff };
    assert_int_equal(sim_classify_raft(NULL, 1, 2, junk, sizeof(junk)), SIM_CLASS_UNDECODABLE);
    assert_int_equal(sim_classify_raft(NULL, 1, 2, NULL, 0), SIM_CLASS_UNDECODABLE);
    sim_loop_free(sim);
    sim_net_free(net);
}

const tkv_test_t raftmsg_tests[] = {
    { "frame", "sim_net_classify_raft_messages", 0,
      "store traffic is classed by Raft message type, so loss can target MsgAppend alone",
      test_loss_targets_one_raft_message_type },
    { 0 },
};
