/*
 * Plain Raft structs <-> eraftpb protobuf-c messages <-> bytes (raft_pb.h).
 *
 * Every to_pb tree is built from malloc'd parts so that the generated
 * free_unpacked() can free it, exactly like a tree made by unpacking.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "project2-raft/raft/raft_pb.h"

static ProtobufCBinaryData bytes_to_pb(const uint8_t *data, size_t len)
{
    ProtobufCBinaryData b = { len, len ? bytes_dup(data, len) : NULL };
    return b;
}

Eraftpb__Entry *raft_pb_entry_to_pb(const raft_entry_t *e)
{
    Eraftpb__Entry *pb = xmalloc(sizeof(*pb));
    eraftpb__entry__init(pb);
    pb->entry_type = (Eraftpb__EntryType)e->type;
    pb->term = e->term;
    pb->index = e->index;
    pb->data = bytes_to_pb(e->data, e->len);
    return pb;
}

void raft_pb_entry_from_pb(const Eraftpb__Entry *pb, raft_entry_t *out)
{
    out->type = (raft_entry_type_t)pb->entry_type;
    out->term = pb->term;
    out->index = pb->index;
    out->len = pb->data.len;
    out->data = bytes_dup(pb->data.data, pb->data.len);
}

Eraftpb__ConfState *raft_pb_conf_state_to_pb(const raft_conf_state_t *cs)
{
    Eraftpb__ConfState *pb = xmalloc(sizeof(*pb));
    eraftpb__conf_state__init(pb);
    pb->n_nodes = cs->n_nodes;
    if (cs->n_nodes) {
        pb->nodes = xmalloc(cs->n_nodes * sizeof(uint64_t));
        memcpy(pb->nodes, cs->nodes, cs->n_nodes * sizeof(uint64_t));
    }
    pb->n_learners = cs->n_learners;
    if (cs->n_learners) {
        pb->learners = xmalloc(cs->n_learners * sizeof(uint64_t));
        memcpy(pb->learners, cs->learners, cs->n_learners * sizeof(uint64_t));
    }
    pb->n_voters_outgoing = cs->n_voters_outgoing;
    if (cs->n_voters_outgoing) {
        pb->voters_outgoing = xmalloc(cs->n_voters_outgoing * sizeof(uint64_t));
        memcpy(pb->voters_outgoing, cs->voters_outgoing, cs->n_voters_outgoing * sizeof(uint64_t));
    }
    pb->auto_leave = cs->auto_leave != 0;
    return pb;
}

void raft_pb_conf_state_from_pb(const Eraftpb__ConfState *pb, raft_conf_state_t *out)
{
    raft_conf_state_t view = { pb->nodes,      pb->n_nodes,         pb->learners,
                               pb->n_learners, pb->voters_outgoing, pb->n_voters_outgoing,
                               pb->auto_leave };
    raft_conf_state_copy(out, &view);
}

Eraftpb__Snapshot *raft_pb_snapshot_to_pb(const raft_snapshot_t *s)
{
    Eraftpb__Snapshot *pb = xmalloc(sizeof(*pb));
    eraftpb__snapshot__init(pb);
    pb->data = bytes_to_pb(s->data, s->len);
    pb->metadata = xmalloc(sizeof(*pb->metadata));
    eraftpb__snapshot_metadata__init(pb->metadata);
    pb->metadata->index = s->metadata.index;
    pb->metadata->term = s->metadata.term;
    pb->metadata->conf_state = raft_pb_conf_state_to_pb(&s->metadata.conf_state);
    return pb;
}

void raft_pb_snapshot_from_pb(const Eraftpb__Snapshot *pb, raft_snapshot_t *out)
{
    memset(out, 0, sizeof(*out));
    out->len = pb->data.len;
    out->data = bytes_dup(pb->data.data, pb->data.len);
    if (pb->metadata != NULL) {
        out->metadata.index = pb->metadata->index;
        out->metadata.term = pb->metadata->term;
        if (pb->metadata->conf_state != NULL)
            raft_pb_conf_state_from_pb(pb->metadata->conf_state, &out->metadata.conf_state);
    }
}

Eraftpb__Message *raft_pb_message_to_pb(const raft_message_t *m)
{
    Eraftpb__Message *pb = xmalloc(sizeof(*pb));
    eraftpb__message__init(pb);
    pb->msg_type = (Eraftpb__MessageType)m->type;
    pb->to = m->to;
    pb->from = m->from;
    pb->term = m->term;
    pb->log_term = m->log_term;
    pb->index = m->index;
    pb->commit = m->commit;
    pb->reject = m->reject ? 1 : 0;
    pb->reject_hint = m->reject_hint;
    pb->n_entries = m->n_entries;
    if (m->n_entries) {
        pb->entries = xmalloc(m->n_entries * sizeof(Eraftpb__Entry *));
        for (size_t i = 0; i < m->n_entries; i++)
            pb->entries[i] = raft_pb_entry_to_pb(&m->entries[i]);
    }
    if (!raft_snapshot_is_empty(&m->snapshot))
        pb->snapshot = raft_pb_snapshot_to_pb(&m->snapshot);
    if (m->context_len > 0) {
        pb->context.data = xmalloc(m->context_len);
        memcpy(pb->context.data, m->context, m->context_len);
        pb->context.len = m->context_len;
    }
    return pb;
}

void raft_pb_message_from_pb(const Eraftpb__Message *pb, raft_message_t *out)
{
    memset(out, 0, sizeof(*out));
    out->type = (raft_msg_type_t)pb->msg_type;
    out->to = pb->to;
    out->from = pb->from;
    out->term = pb->term;
    out->log_term = pb->log_term;
    out->index = pb->index;
    out->commit = pb->commit;
    out->reject = pb->reject != 0;
    out->reject_hint = pb->reject_hint;
    out->n_entries = pb->n_entries;
    if (pb->n_entries) {
        out->entries = xmalloc(pb->n_entries * sizeof(raft_entry_t));
        for (size_t i = 0; i < pb->n_entries; i++)
            raft_pb_entry_from_pb(pb->entries[i], &out->entries[i]);
    }
    if (pb->snapshot != NULL)
        raft_pb_snapshot_from_pb(pb->snapshot, &out->snapshot);
    raft_message_set_context(out, pb->context.data, pb->context.len);
}

Eraftpb__HardState *raft_pb_hard_state_to_pb(const raft_hard_state_t *hs)
{
    Eraftpb__HardState *pb = xmalloc(sizeof(*pb));
    eraftpb__hard_state__init(pb);
    pb->term = hs->term;
    pb->vote = hs->vote;
    pb->commit = hs->commit;
    return pb;
}

void raft_pb_hard_state_from_pb(const Eraftpb__HardState *pb, raft_hard_state_t *out)
{
    out->term = pb->term;
    out->vote = pb->vote;
    out->commit = pb->commit;
}

Eraftpb__ConfChange *raft_pb_conf_change_to_pb(const raft_conf_change_t *cc)
{
    Eraftpb__ConfChange *pb = xmalloc(sizeof(*pb));
    eraftpb__conf_change__init(pb);
    pb->change_type = (Eraftpb__ConfChangeType)cc->type;
    pb->node_id = cc->node_id;
    pb->context = bytes_to_pb(cc->context, cc->context_len);
    return pb;
}

void raft_pb_conf_change_from_pb(const Eraftpb__ConfChange *pb, raft_conf_change_t *out)
{
    out->type = (raft_conf_change_type_t)pb->change_type;
    out->node_id = pb->node_id;
    out->context_len = pb->context.len;
    out->context = bytes_dup(pb->context.data, pb->context.len);
}

/* Packs any protobuf-c message into fresh malloc'd bytes. */
static void pack(const ProtobufCMessage *msg, uint8_t **out, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    *out = xmalloc(*len ? *len : 1);
    protobuf_c_message_pack(msg, *out);
}

static tkv_err_t corrupt(const char *what, size_t len)
{
    return tkv_errorf(TKV_ERR_CORRUPT, "%zu bytes do not decode as eraftpb.%s", len, what);
}

tkv_err_t raft_pb_encode_message(const raft_message_t *m, uint8_t **out, size_t *len)
{
    Eraftpb__Message *pb = raft_pb_message_to_pb(m);
    pack(&pb->base, out, len);
    eraftpb__message__free_unpacked(pb, NULL);
    return TKV_OK;
}

tkv_err_t raft_pb_decode_message(const uint8_t *data, size_t len, raft_message_t *out)
{
    Eraftpb__Message *pb = eraftpb__message__unpack(NULL, len, data);
    if (pb == NULL)
        return corrupt("Message", len);
    raft_pb_message_from_pb(pb, out);
    eraftpb__message__free_unpacked(pb, NULL);
    return TKV_OK;
}

tkv_err_t raft_pb_encode_entry(const raft_entry_t *e, uint8_t **out, size_t *len)
{
    Eraftpb__Entry *pb = raft_pb_entry_to_pb(e);
    pack(&pb->base, out, len);
    eraftpb__entry__free_unpacked(pb, NULL);
    return TKV_OK;
}

tkv_err_t raft_pb_decode_entry(const uint8_t *data, size_t len, raft_entry_t *out)
{
    Eraftpb__Entry *pb = eraftpb__entry__unpack(NULL, len, data);
    if (pb == NULL)
        return corrupt("Entry", len);
    raft_pb_entry_from_pb(pb, out);
    eraftpb__entry__free_unpacked(pb, NULL);
    return TKV_OK;
}

tkv_err_t raft_pb_encode_hard_state(const raft_hard_state_t *hs, uint8_t **out, size_t *len)
{
    Eraftpb__HardState *pb = raft_pb_hard_state_to_pb(hs);
    pack(&pb->base, out, len);
    eraftpb__hard_state__free_unpacked(pb, NULL);
    return TKV_OK;
}

tkv_err_t raft_pb_decode_hard_state(const uint8_t *data, size_t len, raft_hard_state_t *out)
{
    Eraftpb__HardState *pb = eraftpb__hard_state__unpack(NULL, len, data);
    if (pb == NULL)
        return corrupt("HardState", len);
    raft_pb_hard_state_from_pb(pb, out);
    eraftpb__hard_state__free_unpacked(pb, NULL);
    return TKV_OK;
}

tkv_err_t raft_pb_encode_snapshot(const raft_snapshot_t *s, uint8_t **out, size_t *len)
{
    Eraftpb__Snapshot *pb = raft_pb_snapshot_to_pb(s);
    pack(&pb->base, out, len);
    eraftpb__snapshot__free_unpacked(pb, NULL);
    return TKV_OK;
}

tkv_err_t raft_pb_decode_snapshot(const uint8_t *data, size_t len, raft_snapshot_t *out)
{
    Eraftpb__Snapshot *pb = eraftpb__snapshot__unpack(NULL, len, data);
    if (pb == NULL)
        return corrupt("Snapshot", len);
    raft_pb_snapshot_from_pb(pb, out);
    eraftpb__snapshot__free_unpacked(pb, NULL);
    return TKV_OK;
}

tkv_err_t raft_pb_encode_conf_change(const raft_conf_change_t *cc, uint8_t **out, size_t *len)
{
    Eraftpb__ConfChange *pb = raft_pb_conf_change_to_pb(cc);
    pack(&pb->base, out, len);
    eraftpb__conf_change__free_unpacked(pb, NULL);
    return TKV_OK;
}

tkv_err_t raft_pb_decode_conf_change(const uint8_t *data, size_t len, raft_conf_change_t *out)
{
    Eraftpb__ConfChange *pb = eraftpb__conf_change__unpack(NULL, len, data);
    if (pb == NULL)
        return corrupt("ConfChange", len);
    raft_pb_conf_change_from_pb(pb, out);
    eraftpb__conf_change__free_unpacked(pb, NULL);
    return TKV_OK;
}

tkv_err_t raft_pb_encode_conf_change_v2(const raft_conf_change_v2_t *cc, uint8_t **out, size_t *len)
{
    Eraftpb__ConfChangeV2 pb;
    eraftpb__conf_change_v2__init(&pb);
    pb.transition = (Eraftpb__ConfChangeTransition)cc->transition;
    Eraftpb__ConfChangeSingle *singles =
        cc->n_changes ? xmalloc(cc->n_changes * sizeof(*singles)) : NULL;
    Eraftpb__ConfChangeSingle **ptrs =
        cc->n_changes ? xmalloc(cc->n_changes * sizeof(*ptrs)) : NULL;
    for (size_t i = 0; i < cc->n_changes; i++) {
        eraftpb__conf_change_single__init(&singles[i]);
        singles[i].change_type = (Eraftpb__ConfChangeType)cc->changes[i].type;
        singles[i].node_id = cc->changes[i].node_id;
        ptrs[i] = &singles[i];
    }
    pb.n_changes = cc->n_changes;
    pb.changes = ptrs;
    pb.context.data = cc->context;
    pb.context.len = cc->context_len;
    pack(&pb.base, out, len);
    free(ptrs);
    free(singles);
    return TKV_OK;
}

tkv_err_t raft_pb_decode_conf_change_v2(const uint8_t *data, size_t len, raft_conf_change_v2_t *out)
{
    memset(out, 0, sizeof(*out));
    Eraftpb__ConfChangeV2 *pb = eraftpb__conf_change_v2__unpack(NULL, len, data);
    if (pb == NULL)
        return corrupt("ConfChangeV2", len);
    out->transition = (raft_conf_transition_t)pb->transition;
    out->n_changes = pb->n_changes;
    out->changes =
        pb->n_changes ? xmalloc(pb->n_changes * sizeof(raft_conf_change_single_t)) : NULL;
    for (size_t i = 0; i < pb->n_changes; i++) {
        out->changes[i].type = (raft_conf_change_type_t)pb->changes[i]->change_type;
        out->changes[i].node_id = pb->changes[i]->node_id;
    }
    out->context_len = pb->context.len;
    out->context = bytes_dup(pb->context.data, pb->context.len);
    eraftpb__conf_change_v2__free_unpacked(pb, NULL);
    return TKV_OK;
}
