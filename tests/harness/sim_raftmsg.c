/*
 * The RaftMessage classifier (sim_raftmsg.h). It unpacks every store-to-
 * store message once more, which costs a little time in tests and nothing
 * in correctness: the copy the receiver gets is untouched.
 */
#include <string.h>

#include "project2-raft/raft/raft_types.h"
#include "proto/raft_serverpb.pb-c.h"
#include "tests/harness/sim_raftmsg.h"

int sim_classify_raft(void *ctx, int from, int to, const uint8_t *bytes, size_t len)
{
    if (ctx != NULL) {
        int nodes = *(const int *)ctx;
        if (from > nodes || to > nodes)
            return SIM_CLASS_CLIENT;
    }
    RaftServerpb__RaftMessage *m = raft_serverpb__raft_message__unpack(NULL, len, bytes);
    if (m == NULL)
        return SIM_CLASS_UNDECODABLE;
    int cls = SIM_CLASS_UNDECODABLE;
    if (m->message != NULL && (int)m->message->msg_type >= 0 &&
        (int)m->message->msg_type < SIM_CLASS_CLIENT)
        cls = (int)m->message->msg_type;
    raft_serverpb__raft_message__free_unpacked(m, NULL);
    return cls;
}

void sim_raftmsg_trace_names(trace_t *tr)
{
    /* The classes are eraftpb's message types, which the core's types
     * number alike. */
    for (int t = 0; t < SIM_CLASS_CLIENT && t <= RAFT_MSG_READ_INDEX_RESPONSE; t++) {
        const char *name = raft_msg_type_name((raft_msg_type_t)t);
        if (name != NULL && strcmp(name, "MsgUnknown") != 0)
            trace_class_name(tr, t, name);
    }
    trace_class_name(tr, SIM_CLASS_CLIENT, "client");
    trace_class_name(tr, SIM_CLASS_UNDECODABLE, "undecodable");
}
