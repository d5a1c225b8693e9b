/*
 * The border check of the Raft core: every message a peer sends is vetted
 * here before raft_step() sees it (rawnode_step() calls raft_step_checked()).
 *
 * The core's code trusts its input in ways a peer must not be able to abuse:
 * rlog_maybe_append() computes slice lengths from `index` and the entries'
 * indexes, so a MsgAppend at index 0 carrying an entry at index 100 once
 * asked rlog_append() for 2^64 entries; a term of 0 means "local message" to
 * raft_step() and would skip the stale-term check; an unknown message type
 * or entry type would be dispatched as garbage. So the checks here are the
 * invariants the core relies on, each with a message naming the message:
 *
 *  - the type is a known protocol message (local ones are refused earlier);
 *  - `to` is this node, `from` is another, real node (on MsgTransferLeader,
 *    `from` is the transferee, which may be this node);
 *  - `term` is set (except on a forwarded MsgTransferLeader, which has none);
 *  - terms and indexes stay below 2^62, so that +1 never wraps;
 *  - entries travel only in MsgAppend, follow `index` one by one without
 *    overflowing, have known types, and terms that never decrease, start at
 *    or after `log_term` and never pass the message's term;
 *  - a snapshot travels only in MsgSnapshot and is consistent: an index and
 *    term, a term no newer than the message's, voters that are real and
 *    distinct;
 *  - an acknowledgement to a leader never claims more than the leader's own
 *    log in the same term (a leader's log only grows within its term).
 *
 * `commit` needs no bound: the core clamps it to what the message proves
 * (rlog_maybe_append() to the last new entry, rlog_commit_to() to the last
 * index). A refused message is counted (raft_invalid_messages()), logged at
 * warn level and dropped: the caller gets TKV_ERR_INVALID and the node's
 * state is untouched.
 */
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>

#include "common/log.h"
#include "project2-raft/raft/raft_internal.h"

/* Terms and indexes grow by one per election and per entry: no real cluster
 * gets anywhere near 2^62, and a value past it is a lie that would make the
 * core's +1 arithmetic wrap (a term back to 0, a last index to 0). */
#define RAFT_VALUE_MAX (UINT64_C(1) << 62)

/* Process-wide: the runtime steps peers from several threads. */
static _Atomic uint64_t invalid_messages;

uint64_t raft_invalid_messages(void)
{
    return atomic_load(&invalid_messages);
}

static int is_known_type(raft_msg_type_t t)
{
    switch (t) {
    case RAFT_MSG_HUP:
    case RAFT_MSG_BEAT:
    case RAFT_MSG_PROPOSE:
    case RAFT_MSG_APPEND:
    case RAFT_MSG_APPEND_RESPONSE:
    case RAFT_MSG_REQUEST_VOTE:
    case RAFT_MSG_REQUEST_VOTE_RESPONSE:
    case RAFT_MSG_SNAPSHOT:
    case RAFT_MSG_HEARTBEAT:
    case RAFT_MSG_HEARTBEAT_RESPONSE:
    case RAFT_MSG_TRANSFER_LEADER:
    case RAFT_MSG_TIMEOUT_NOW:
    case RAFT_MSG_PRE_VOTE:
    case RAFT_MSG_PRE_VOTE_RESPONSE:
    case RAFT_MSG_READ_INDEX:
    case RAFT_MSG_READ_INDEX_RESPONSE:
        return 1;
    }
    return 0;
}

/* The error for m, prefixed with what identifies it. */
#define BAD(m, fmt, ...)                                                                           \
    tkv_errorf(                                                                                    \
        TKV_ERR_INVALID,                                                                           \
        "invalid %s from %" PRIu64 " to %" PRIu64 " (term %" PRIu64 ", index %" PRIu64 "): " fmt,  \
        raft_msg_type_name((m)->type), (m)->from, (m)->to, (m)->term, (m)->index, __VA_ARGS__)

static tkv_err_t check_entries(const raft_message_t *m)
{
    if (m->n_entries == 0)
        return TKV_OK;
    if (m->type != RAFT_MSG_APPEND)
        return BAD(m, "carries %zu entries: only MsgAppend carries entries", m->n_entries);
    if (m->entries == NULL)
        return BAD(m, "%zu entries but no entry array", m->n_entries);
    if (m->n_entries >= RAFT_VALUE_MAX - m->index)
        return BAD(m, "%zu entries after index %" PRIu64 " overflow the index space", m->n_entries,
                   m->index);
    uint64_t prev_term = m->log_term;
    for (size_t i = 0; i < m->n_entries; i++) {
        const raft_entry_t *e = &m->entries[i];
        if (e->index != m->index + 1 + i)
            return BAD(m,
                       "entry %zu has index %" PRIu64 ", expected %" PRIu64
                       " (entries must follow index one by one)",
                       i, e->index, m->index + 1 + i);
        if (e->type != RAFT_ENTRY_NORMAL && e->type != RAFT_ENTRY_CONF_CHANGE &&
            e->type != RAFT_ENTRY_CONF_CHANGE_V2)
            return BAD(m, "entry %" PRIu64 " has unknown type %d", e->index, (int)e->type);
        if (e->term < prev_term)
            return BAD(m,
                       "entry %" PRIu64 " has term %" PRIu64 ", below the %" PRIu64
                       " before it (terms never decrease along a log)",
                       e->index, e->term, prev_term);
        if (e->term > m->term)
            return BAD(m, "entry %" PRIu64 " has term %" PRIu64 ", newer than the message's",
                       e->index, e->term);
        if (e->term == 0)
            return BAD(m, "entry %" PRIu64 " has term 0", e->index);
        if (e->len > 0 && e->data == NULL)
            return BAD(m, "entry %" PRIu64 " claims %zu bytes but has none", e->index, e->len);
        prev_term = e->term;
    }
    return TKV_OK;
}

static tkv_err_t check_snapshot(const raft_message_t *m)
{
    const raft_snapshot_t *s = &m->snapshot;
    int empty = raft_snapshot_is_empty(s) && s->len == 0 && s->metadata.conf_state.n_nodes == 0;
    if (m->type != RAFT_MSG_SNAPSHOT) {
        if (!empty)
            return BAD(m, "%s", "carries a snapshot: only MsgSnapshot does");
        return TKV_OK;
    }
    const raft_snapshot_metadata_t *md = &s->metadata;
    if (md->index == 0)
        return BAD(m, "%s", "the snapshot has index 0 (no snapshot)");
    if (md->index >= RAFT_VALUE_MAX)
        return BAD(m, "the snapshot's index %" PRIu64 " is past 2^62", md->index);
    if (md->term == 0)
        return BAD(m, "the snapshot at %" PRIu64 " has term 0", md->index);
    if (md->term > m->term)
        return BAD(m, "the snapshot's term %" PRIu64 " is newer than the message's", md->term);
    if (s->len > 0 && s->data == NULL)
        return BAD(m, "the snapshot claims %zu bytes but has none", s->len);
    const raft_conf_state_t *cs = &md->conf_state;
    if (cs->n_nodes == 0)
        return BAD(m, "the snapshot at %" PRIu64 " has no voters", md->index);
    if (cs->nodes == NULL)
        return BAD(m, "the snapshot lists %zu voters but has no array", cs->n_nodes);
    for (size_t i = 0; i < cs->n_nodes; i++) {
        if (cs->nodes[i] == RAFT_NONE)
            return BAD(m, "the snapshot's voter %zu is node 0", i);
        for (size_t j = 0; j < i; j++)
            if (cs->nodes[j] == cs->nodes[i])
                return BAD(m, "the snapshot lists voter %" PRIu64 " twice", cs->nodes[i]);
    }
    return TKV_OK;
}

tkv_err_t raft_validate_message(const raft_t *r, const raft_message_t *m)
{
    if (!is_known_type(m->type))
        return BAD(m, "unknown message type %d", (int)m->type);
    if (m->type == RAFT_MSG_HUP || m->type == RAFT_MSG_BEAT || m->type == RAFT_MSG_PROPOSE)
        return BAD(m, "%s", "a local message cannot come from a peer");
    if (m->to != r->id)
        return BAD(m, "addressed to %" PRIu64 ", but this is node %" PRIu64, m->to, r->id);
    /* A forwarded MsgTransferLeader names the transferee as its sender,
     * and that may be this node. */
    if (m->from == RAFT_NONE || (m->from == r->id && m->type != RAFT_MSG_TRANSFER_LEADER))
        return BAD(m, "sender %" PRIu64 " is not another node", m->from);
    if (m->term == 0 && m->type != RAFT_MSG_TRANSFER_LEADER)
        return BAD(m, "%s", "term 0 is only for local messages");
    /* Found by the fuzzer: a node that took a term near 2^64 wrapped to 0
     * when it campaigned. No real term or index comes near RAFT_VALUE_MAX. */
    if (m->term >= RAFT_VALUE_MAX || m->log_term >= RAFT_VALUE_MAX)
        return BAD(m, "a term past 2^62 (%" PRIu64 ", log term %" PRIu64 ") would wrap", m->term,
                   m->log_term);
    if (m->index >= RAFT_VALUE_MAX || m->reject_hint >= RAFT_VALUE_MAX)
        return BAD(m, "an index past 2^62 (%" PRIu64 ", hint %" PRIu64 ") would wrap", m->index,
                   m->reject_hint);
    if (m->log_term > m->term && (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_REQUEST_VOTE))
        return BAD(m, "log term %" PRIu64 " is newer than the message's", m->log_term);
    if (m->type == RAFT_MSG_APPEND && m->index == 0 && m->log_term != 0)
        return BAD(m, "index 0 has term 0, not %" PRIu64, m->log_term);
    tkv_err_t err = check_entries(m);
    if (err == TKV_OK)
        err = check_snapshot(m);
    if (err != TKV_OK)
        return err;
    if (m->type == RAFT_MSG_APPEND_RESPONSE && !m->reject && r->role == RAFT_LEADER &&
        m->term == r->term && m->index > rlog_last_index(&r->log))
        return BAD(m, "acknowledges index %" PRIu64 " past the leader's last %" PRIu64, m->index,
                   rlog_last_index(&r->log));
    return TKV_OK;
}

tkv_err_t raft_step_checked(raft_t *r, const raft_message_t *m)
{
    tkv_err_t err = raft_validate_message(r, m);
    if (err != TKV_OK) {
        atomic_fetch_add(&invalid_messages, 1);
        if (tkv_log_enabled(TKV_LOG_WARN)) {
            char who[32];
            snprintf(who, sizeof(who), "raft %" PRIu64, r->id);
            tkv_logf(TKV_LOG_WARN, who, "dropped: %s", tkv_last_error());
        }
        return err;
    }
    return raft_step(r, m);
}
