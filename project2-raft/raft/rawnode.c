/*
 * RawNode (rawnode.h): wraps a raft_t and turns its state into Ready
 * batches. It remembers the soft and hard state it last handed out, so a
 * Ready carries them only when they changed.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "project2-raft/raft/raft_pb.h"
#include "project2-raft/raft/raft_internal.h"
#include "project2-raft/raft/rawnode.h"

static raft_soft_state_t soft_state_of(const raft_t *r)
{
    raft_soft_state_t ss = { r->lead, r->role };
    return ss;
}

tkv_err_t rawnode_new(const raft_config_t *cfg, rawnode_t **out)
{
    *out = NULL;
    raft_t *r = NULL;
    tkv_err_t err = raft_new(cfg, &r);
    if (err != TKV_OK)
        return err;
    rawnode_t *rn = xcalloc(1, sizeof(*rn));
    rn->raft = r;
    rn->prev_soft = soft_state_of(r);
    rn->prev_hard = raft_hard_state(r);
    *out = rn;
    return TKV_OK;
}

void rawnode_free(rawnode_t *rn)
{
    if (rn == NULL)
        return;
    raft_free(rn->raft);
    free(rn);
}

void rawnode_tick(rawnode_t *rn)
{
    raft_tick(rn->raft);
}

tkv_err_t rawnode_campaign(rawnode_t *rn)
{
    raft_message_t m = { 0 };
    m.type = RAFT_MSG_HUP;
    return raft_step(rn->raft, &m);
}

static tkv_err_t propose_entry(rawnode_t *rn, raft_entry_type_t type, const void *data, size_t len)
{
    raft_entry_t e = { type, 0, 0, (uint8_t *)data, len };
    raft_message_t m = { 0 };
    m.type = RAFT_MSG_PROPOSE;
    m.from = rn->raft->id;
    m.entries = &e;
    m.n_entries = 1;
    return raft_step(rn->raft, &m); /* raft_step copies what it keeps */
}

tkv_err_t rawnode_propose(rawnode_t *rn, const void *data, size_t len)
{
    return propose_entry(rn, RAFT_ENTRY_NORMAL, data, len);
}

tkv_err_t rawnode_propose_conf_change(rawnode_t *rn, const raft_conf_change_t *cc)
{
    uint8_t *data = NULL;
    size_t len = 0;
    tkv_err_t err = raft_pb_encode_conf_change(cc, &data, &len);
    if (err != TKV_OK)
        return err;
    err = propose_entry(rn, RAFT_ENTRY_CONF_CHANGE, data, len);
    free(data);
    return err;
}

tkv_err_t rawnode_apply_conf_change(rawnode_t *rn, const raft_conf_change_t *cc,
                                    raft_conf_state_t *cs)
{
    if (cc->node_id == RAFT_NONE)
        return tkv_errorf(TKV_ERR_INVALID, "conf change names node 0");
    if (cc->type == RAFT_CONF_ADD_NODE)
        raft_add_node(rn->raft, cc->node_id);
    else if (cc->type == RAFT_CONF_REMOVE_NODE)
        raft_remove_node(rn->raft, cc->node_id);
    else
        return tkv_errorf(TKV_ERR_INVALID, "conf change of unknown type %d", (int)cc->type);
    if (cs != NULL) {
        memset(cs, 0, sizeof(*cs));
        prs_conf_state(&rn->raft->prs, cs);
    }
    return TKV_OK;
}

tkv_err_t rawnode_propose_conf_change_v2(rawnode_t *rn, const raft_conf_change_v2_t *cc)
{
    tkv_err_t err = raft_check_conf_change_v2(rn->raft, cc);
    if (err != TKV_OK)
        return err;
    uint8_t *data = NULL;
    size_t len = 0;
    err = raft_pb_encode_conf_change_v2(cc, &data, &len);
    if (err != TKV_OK)
        return err;
    err = propose_entry(rn, RAFT_ENTRY_CONF_CHANGE_V2, data, len);
    free(data);
    return err;
}

tkv_err_t rawnode_apply_conf_change_v2(rawnode_t *rn, const raft_conf_change_v2_t *cc,
                                       raft_conf_state_t *cs)
{
    tkv_err_t err = raft_apply_conf_change_v2(rn->raft, cc);
    if (err != TKV_OK)
        return err;
    if (cs != NULL) {
        memset(cs, 0, sizeof(*cs));
        prs_conf_state(&rn->raft->prs, cs);
    }
    return TKV_OK;
}

static int is_local(raft_msg_type_t t)
{
    return t == RAFT_MSG_HUP || t == RAFT_MSG_BEAT || t == RAFT_MSG_PROPOSE;
}

tkv_err_t rawnode_step(rawnode_t *rn, const raft_message_t *m)
{
    if (is_local(m->type))
        return tkv_errorf(TKV_ERR_INVALID, "%s is local: it cannot come from a peer",
                          raft_msg_type_name(m->type));
    return raft_step_checked(rn->raft, m);
}

tkv_err_t rawnode_read_index(rawnode_t *rn, const void *ctx, size_t len)
{
    raft_message_t m = { 0 };
    m.type = RAFT_MSG_READ_INDEX;
    m.from = rn->raft->id;
    m.context = (uint8_t *)ctx; /* raft_step copies what it keeps */
    m.context_len = len;
    return raft_step(rn->raft, &m);
}

void rawnode_transfer_leader(rawnode_t *rn, uint64_t transferee)
{
    raft_message_t m = { 0 };
    m.type = RAFT_MSG_TRANSFER_LEADER;
    m.from = transferee;
    raft_step(rn->raft, &m);
}

int rawnode_has_ready(const rawnode_t *rn)
{
    if (rn->raft->n_read_states > 0)
        return 1; /* ReadIndex (2X) */
    /* LAB 2A BEGIN */
    const raft_t *r = rn->raft;
    raft_soft_state_t ss = soft_state_of(r);
    raft_hard_state_t hs = raft_hard_state(r);
    size_t n_unstable = 0;
    rlog_unstable_entries(&r->log, &n_unstable);
    return ss.lead != rn->prev_soft.lead || ss.role != rn->prev_soft.role ||
           (!raft_hard_state_is_empty(&hs) && !raft_hard_state_equal(&hs, &rn->prev_hard)) ||
           r->n_msgs > 0 || n_unstable > 0 || rlog_pending_snapshot(&r->log) != NULL ||
           rlog_has_next_ents(&r->log);
    /* LAB 2A STUB
    (void)rn;
    return 0;
    LAB 2A END */
}

tkv_err_t rawnode_ready(rawnode_t *rn, raft_ready_t *rd)
{
    memset(rd, 0, sizeof(*rd));
    raft_take_read_states(rn->raft, &rd->read_states, &rd->n_read_states);
    /* LAB 2A BEGIN */
    raft_t *r = rn->raft;
    raft_soft_state_t ss = soft_state_of(r);
    if (ss.lead != rn->prev_soft.lead || ss.role != rn->prev_soft.role) {
        rd->has_soft_state = 1;
        rd->soft_state = ss;
    }
    raft_hard_state_t hs = raft_hard_state(r);
    if (!raft_hard_state_equal(&hs, &rn->prev_hard))
        rd->hard_state = hs;
    size_t n = 0;
    const raft_entry_t *unstable = rlog_unstable_entries(&r->log, &n);
    rd->entries = raft_entries_copy(unstable, n);
    rd->n_entries = n;
    const raft_snapshot_t *snap = rlog_pending_snapshot(&r->log);
    if (snap != NULL)
        raft_snapshot_copy(&rd->snapshot, snap);
    tkv_err_t err = rlog_next_ents(&r->log, &rd->committed_entries, &rd->n_committed_entries);
    if (err != TKV_OK) {
        raft_ready_free(rd);
        return err;
    }
    raft_take_msgs(r, &rd->messages, &rd->n_messages);
    return TKV_OK;
    /* LAB 2A STUB
    (void)rn;
    return tkv_not_implemented("rawnode_ready");
    LAB 2A END */
}

void rawnode_advance(rawnode_t *rn, const raft_ready_t *rd)
{
    /* LAB 2A BEGIN */
    raft_t *r = rn->raft;
    if (rd->has_soft_state)
        rn->prev_soft = rd->soft_state;
    if (!raft_hard_state_is_empty(&rd->hard_state))
        rn->prev_hard = rd->hard_state;
    if (!raft_snapshot_is_empty(&rd->snapshot))
        rlog_stable_snap_to(&r->log, rd->snapshot.metadata.index);
    if (rd->n_entries > 0) {
        const raft_entry_t *last = &rd->entries[rd->n_entries - 1];
        rlog_stable_to(&r->log, last->index, last->term);
    }
    if (rd->n_committed_entries > 0)
        rlog_applied_to(&r->log, rd->committed_entries[rd->n_committed_entries - 1].index);
    /* LAB 2A STUB
    (void)rn;
    (void)rd;
    LAB 2A END */
    raft_maybe_auto_leave(rn->raft); /* joint consensus (3X) */
}

void raft_ready_free(raft_ready_t *rd)
{
    raft_entries_free(rd->entries, rd->n_entries);
    raft_snapshot_free(&rd->snapshot);
    raft_entries_free(rd->committed_entries, rd->n_committed_entries);
    for (size_t i = 0; i < rd->n_messages; i++)
        raft_message_free(&rd->messages[i]);
    free(rd->messages);
    raft_read_states_free(rd->read_states, rd->n_read_states);
    memset(rd, 0, sizeof(*rd));
}
