/*
 * Deep copies and frees of the Raft core's plain structs (raft_types.h).
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "project2-raft/raft/raft_types.h"

const char *raft_msg_type_name(raft_msg_type_t t)
{
    switch (t) {
    case RAFT_MSG_HUP:
        return "MsgHup";
    case RAFT_MSG_BEAT:
        return "MsgBeat";
    case RAFT_MSG_PROPOSE:
        return "MsgPropose";
    case RAFT_MSG_APPEND:
        return "MsgAppend";
    case RAFT_MSG_APPEND_RESPONSE:
        return "MsgAppendResponse";
    case RAFT_MSG_REQUEST_VOTE:
        return "MsgRequestVote";
    case RAFT_MSG_REQUEST_VOTE_RESPONSE:
        return "MsgRequestVoteResponse";
    case RAFT_MSG_SNAPSHOT:
        return "MsgSnapshot";
    case RAFT_MSG_HEARTBEAT:
        return "MsgHeartbeat";
    case RAFT_MSG_HEARTBEAT_RESPONSE:
        return "MsgHeartbeatResponse";
    case RAFT_MSG_TRANSFER_LEADER:
        return "MsgTransferLeader";
    case RAFT_MSG_TIMEOUT_NOW:
        return "MsgTimeoutNow";
    case RAFT_MSG_PRE_VOTE:
        return "MsgPreVote";
    case RAFT_MSG_PRE_VOTE_RESPONSE:
        return "MsgPreVoteResponse";
    case RAFT_MSG_READ_INDEX:
        return "MsgReadIndex";
    case RAFT_MSG_READ_INDEX_RESPONSE:
        return "MsgReadIndexResponse";
    }
    return "MsgUnknown";
}

uint64_t raft_entry_size(const raft_entry_t *e)
{
    /* The data plus a rough cost for type, term and index on the wire. */
    return (uint64_t)e->len + 24;
}

void raft_entry_copy(raft_entry_t *dst, const raft_entry_t *src)
{
    *dst = *src;
    dst->data = bytes_dup(src->data, src->len);
}

void raft_entry_free(raft_entry_t *e)
{
    free(e->data);
    e->data = NULL;
    e->len = 0;
}

raft_entry_t *raft_entries_copy(const raft_entry_t *src, size_t n)
{
    if (n == 0)
        return NULL;
    raft_entry_t *out = xmalloc(n * sizeof(*out));
    for (size_t i = 0; i < n; i++)
        raft_entry_copy(&out[i], &src[i]);
    return out;
}

void raft_entries_free(raft_entry_t *ents, size_t n)
{
    for (size_t i = 0; i < n; i++)
        raft_entry_free(&ents[i]);
    free(ents);
}

static uint64_t *ids_dup(const uint64_t *ids, size_t n)
{
    if (n == 0)
        return NULL;
    uint64_t *d = xmalloc(n * sizeof(uint64_t));
    memcpy(d, ids, n * sizeof(uint64_t));
    return d;
}

void raft_conf_state_copy(raft_conf_state_t *dst, const raft_conf_state_t *src)
{
    dst->n_nodes = src->n_nodes;
    dst->nodes = ids_dup(src->nodes, src->n_nodes);
    dst->n_learners = src->n_learners;
    dst->learners = ids_dup(src->learners, src->n_learners);
    dst->n_voters_outgoing = src->n_voters_outgoing;
    dst->voters_outgoing = ids_dup(src->voters_outgoing, src->n_voters_outgoing);
    dst->auto_leave = src->auto_leave;
}

void raft_conf_state_free(raft_conf_state_t *cs)
{
    free(cs->nodes);
    free(cs->learners);
    free(cs->voters_outgoing);
    memset(cs, 0, sizeof(*cs));
}

void raft_snapshot_copy(raft_snapshot_t *dst, const raft_snapshot_t *src)
{
    *dst = *src;
    dst->data = bytes_dup(src->data, src->len);
    raft_conf_state_copy(&dst->metadata.conf_state, &src->metadata.conf_state);
}

void raft_snapshot_free(raft_snapshot_t *s)
{
    free(s->data);
    raft_conf_state_free(&s->metadata.conf_state);
    memset(s, 0, sizeof(*s));
}

int raft_snapshot_is_empty(const raft_snapshot_t *s)
{
    return s->metadata.index == 0;
}

void raft_message_copy(raft_message_t *dst, const raft_message_t *src)
{
    *dst = *src;
    dst->entries = raft_entries_copy(src->entries, src->n_entries);
    raft_snapshot_copy(&dst->snapshot, &src->snapshot);
    dst->context = NULL;
    raft_message_set_context(dst, src->context, src->context_len);
}

void raft_message_set_context(raft_message_t *m, const void *data, size_t len)
{
    free(m->context);
    m->context = NULL;
    m->context_len = len;
    if (len > 0) {
        m->context = xmalloc(len);
        memcpy(m->context, data, len);
    }
}

void raft_message_free(raft_message_t *m)
{
    raft_entries_free(m->entries, m->n_entries);
    raft_snapshot_free(&m->snapshot);
    free(m->context);
    memset(m, 0, sizeof(*m));
}

int raft_hard_state_is_empty(const raft_hard_state_t *hs)
{
    return hs->term == 0 && hs->vote == 0 && hs->commit == 0;
}

int raft_hard_state_equal(const raft_hard_state_t *a, const raft_hard_state_t *b)
{
    return a->term == b->term && a->vote == b->vote && a->commit == b->commit;
}

void raft_conf_change_free(raft_conf_change_t *cc)
{
    free(cc->context);
    cc->context = NULL;
    cc->context_len = 0;
}

void raft_conf_change_v2_free(raft_conf_change_v2_t *cc)
{
    free(cc->changes);
    free(cc->context);
    memset(cc, 0, sizeof(*cc));
}
