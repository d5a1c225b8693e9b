/*
 * Classes for the store's traffic: a network classifier (sim_net.h) that
 * decodes each message between stores as a raft_serverpb.RaftMessage and
 * names it by its Raft message type, so a test can lose only MsgAppend,
 * only snapshots, only votes:
 *
 *     static int nodes = 3;
 *     sim_net_set_classifier(net, sim_classify_raft, &nodes);
 *     sim_net_drop_class(net, ERAFTPB__MESSAGE_TYPE__MSG_SNAPSHOT, 1, 2);  // half the snapshots
 *
 * The class of a Raft message is its eraftpb.MessageType value (0..12).
 * Messages to or from a client endpoint are SIM_CLASS_CLIENT and are never
 * decoded; bytes between stores that are not a RaftMessage carrying a Raft
 * message are SIM_CLASS_UNDECODABLE.
 *
 * Ownership: the classifier only reads the bytes; `ctx` (borrowed) points
 * at an int holding the number of nodes (endpoints above it are clients),
 * or is NULL when every endpoint is a store.
 */
#ifndef TKV_TESTS_HARNESS_SIM_RAFTMSG_H
#define TKV_TESTS_HARNESS_SIM_RAFTMSG_H

#include <stddef.h>
#include <stdint.h>

#include "tests/harness/sim_net.h"
#include "tests/harness/trace.h"

#define SIM_CLASS_CLIENT      (SIM_NET_MAX_CLASSES - 2)
#define SIM_CLASS_UNDECODABLE (SIM_NET_MAX_CLASSES - 1)

int sim_classify_raft(void *ctx, int from, int to, const uint8_t *bytes, size_t len);

/* Names sim_classify_raft()'s classes in a trace (trace_class_name), so the
 * viewer page says "MsgAppend". Call it once after installing the classifier. */
void sim_raftmsg_trace_names(trace_t *tr);

#endif
