/*
 * When a peer is born and when it dies (project 3B).
 *
 * Born from a message: a store added to a region hears of it first from
 * the region's leader (a heartbeat, or a vote request). If the store has no
 * peer of that region, it creates an uninitialized one (it knows the region
 * id and its own peer id, nothing else) and steps the message into it; the
 * leader then finds the new peer's log empty and sends a snapshot, which
 * gives it the region, its data and its members. Only messages that a
 * leader sends to a brand-new peer create one (a vote request, or a
 * heartbeat committing nothing), and never over a range another region of
 * this store still covers (that region must split or go first), nor over a
 * tombstone that a message as old as this one could not know about.
 *
 * Born from a split: admin_apply.c.
 *
 * Dies: when it applies its own removal; when the region's other peers say
 * it was removed (a tombstone message, sent to any peer that talks to the
 * region with an epoch older than the removal); or when the region's
 * leader addresses this store's peer by a newer id (it was removed and
 * added again while cut off). Dying deletes its data range (if it had one),
 * its log and raft state, and leaves a tombstone region state behind, so a
 * late message cannot bring it back and a restart does not reopen it.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "project2-raft/raftstore/keys.h"
#include "project3-multiraft/raftstore/mr_internal.h"

RaftServerpb__RegionLocalState *mr_load_region_state(store_t *s, uint64_t region_id)
{
    tkv_buf_t key = TKV_BUF_INIT;
    keys_region_state_key(&key, region_id);
    RaftServerpb__RegionLocalState *st = NULL;
    if (eng_get_msg(store_kv_db(s), buf_slice(&key), &raft_serverpb__region_local_state__descriptor,
                    (ProtobufCMessage **)&st) != TKV_OK)
        st = NULL;
    buf_free(&key);
    return st;
}

static uint64_t conf_ver_of(const Metapb__RegionEpoch *e)
{
    return e != NULL ? e->conf_ver : 0;
}

/* Whether [as, ae) and [bs, be) share a key (an empty end: no end). */
static int ranges_overlap(ProtobufCBinaryData as, ProtobufCBinaryData ae, ProtobufCBinaryData bs,
                          ProtobufCBinaryData be)
{
    int a_before_b_end =
        be.len == 0 || slice_compare(slice_of(as.data, as.len), slice_of(be.data, be.len)) < 0;
    int b_before_a_end =
        ae.len == 0 || slice_compare(slice_of(bs.data, bs.len), slice_of(ae.data, ae.len)) < 0;
    return a_before_b_end && b_before_a_end;
}

/* Tells `to` (a peer of an older membership) that it is gone. */
static void send_tombstone(store_t *s, peer_t *p, const Metapb__Peer *to)
{
    Metapb__Peer from = METAPB__PEER__INIT, dst = METAPB__PEER__INIT;
    from.id = peer_id(p);
    from.store_id = peer_store_id(p);
    dst.id = to->id;
    dst.store_id = to->store_id;
    Eraftpb__Message empty = ERAFTPB__MESSAGE__INIT;
    RaftServerpb__RaftMessage env = RAFT_SERVERPB__RAFT_MESSAGE__INIT;
    env.region_id = peer_region_id(p);
    env.from_peer = &from;
    env.to_peer = &dst;
    env.message = &empty;
    env.region_epoch = peer_region(p)->region_epoch;
    env.is_tombstone = 1;
    tkv_buf_t bytes = TKV_BUF_INIT;
    pb_pack(&env.base, &bytes);
    store_send(s, to->store_id, bytes.data, bytes.len);
    buf_free(&bytes);
    mr_store(s)->stats.tombstones_sent++;
}

tkv_err_t mr_destroy_peer(peer_t *p, const char *why)
{
    /* LAB 3B BEGIN */
    eng_batch_t *kv = eng_batch_new(), *raft = eng_batch_new();
    const Metapb__Region *r = peer_region(p);
    tkv_err_t err = TKV_OK;
    if (peer_is_initialized(p))
        err = peer_storage_clear_range(p->ps->kv_db, slice_of(r->start_key.data, r->start_key.len),
                                       slice_of(r->end_key.data, r->end_key.len), kv);
    if (err == TKV_OK)
        err = peer_storage_clear_meta(p->ps, kv, raft);
    if (err == TKV_OK) {
        /* The tombstone keeps the region as this peer last knew it: its
         * conf_ver says which messages are too old to matter. */
        peer_storage_put_region_state(p->ps, RAFT_SERVERPB__PEER_STATE__PEER_TOMBSTONE, kv);
        err = eng_write(p->ps->kv_db, kv, p->ps->sync);
    }
    if (err == TKV_OK)
        err = eng_write(p->ps->raft_db, raft, p->ps->sync);
    eng_batch_free(kv);
    eng_batch_free(raft);
    p->destroyed = 1;
    peer_fail_proposals(p, "stale command: the peer was removed from its region");
    mr_store(peer_store(p))->stats.peers_destroyed++;
    tkv_logf(TKV_LOG_INFO, "multiraft", "store %llu: peer %llu of region %llu destroyed: %s",
             (unsigned long long)peer_store_id(p), (unsigned long long)peer_id(p),
             (unsigned long long)peer_region_id(p), why);
    return err;
    /* LAB 3B STUB
    // In one kv batch: delete the region's data range if the peer is initialized
    // (peer_storage_clear_range), its apply state (peer_storage_clear_meta, which
    // also fills a raft batch with its log and raft state), and a PEER_TOMBSTONE
    // region state (peer_storage_put_region_state). Write the kv batch, then the
    // raft one. Mark the peer destroyed (its store frees it) and fail its
    // waiting proposals (peer_fail_proposals).
    (void)why;
    p->destroyed = 1;
    return tkv_not_implemented("mr_destroy_peer");
    LAB 3B END */
}

/* A message a leader sends a peer that may be brand new. */
static int is_initial_message(const RaftServerpb__RaftMessage *msg)
{
    const Eraftpb__Message *m = msg->message;
    return m->msg_type == ERAFTPB__MESSAGE_TYPE__MSG_REQUEST_VOTE ||
           (m->msg_type == ERAFTPB__MESSAGE_TYPE__MSG_HEARTBEAT && m->commit == 0);
}

tkv_err_t mr_on_unknown_region(store_t *s, const RaftServerpb__RaftMessage *msg)
{
    /* LAB 3B BEGIN */
    if (msg->is_tombstone)
        return TKV_OK; /* nothing here to destroy */
    if (!is_initial_message(msg))
        return tkv_errorf(TKV_ERR_NOT_FOUND,
                          "no peer of region %llu here, and this message "
                          "does not start one",
                          (unsigned long long)msg->region_id);
    RaftServerpb__RegionLocalState *st = mr_load_region_state(s, msg->region_id);
    int stale = st != NULL && st->state == RAFT_SERVERPB__PEER_STATE__PEER_TOMBSTONE &&
                st->region != NULL &&
                conf_ver_of(msg->region_epoch) <= conf_ver_of(st->region->region_epoch);
    pb_free(st);
    if (stale)
        return tkv_errorf(TKV_ERR_NOT_FOUND,
                          "region %llu's peer here was destroyed; the "
                          "message is older than that",
                          (unsigned long long)msg->region_id);
    size_t n = 0;
    peer_t *const *peers = store_peers(s, &n);
    for (size_t i = 0; i < n; i++) {
        const Metapb__Region *r = peer_region(peers[i]);
        if (!peer_is_destroyed(peers[i]) && peer_is_initialized(peers[i]) &&
            ranges_overlap(msg->start_key, msg->end_key, r->start_key, r->end_key))
            return tkv_errorf(TKV_ERR_NOT_FOUND, "region %llu's range is still region %llu's here",
                              (unsigned long long)msg->region_id, (unsigned long long)r->id);
    }
    peer_t *np = NULL;
    tkv_err_t err = store_open_uninitialized_peer(s, msg->region_id, msg->to_peer->id, &np);
    if (err != TKV_OK)
        return err;
    mr_store(s)->stats.peers_created++;
    tkv_logf(TKV_LOG_INFO, "multiraft",
             "store %llu: peer %llu of region %llu created from a message",
             (unsigned long long)peer_store_id(np), (unsigned long long)peer_id(np),
             (unsigned long long)peer_region_id(np));
    return peer_step(np, msg);
    /* LAB 3B STUB
    // A tombstone message for nobody: ignore it. Only a vote request or a
    // heartbeat committing nothing may create a peer; not over a tombstone at
    // least as new as the message's epoch (conf_ver; mr_load_region_state), and
    // not over a range one of this store's initialized peers covers (the
    // message's start and end keys). Then create the peer
    // (store_open_uninitialized_peer, with the id the message is addressed to)
    // and step the message into it.
    (void)s;
    (void)msg;
    (void)ranges_overlap;
    (void)is_initial_message;
    (void)conf_ver_of;
    return tkv_not_implemented("mr_on_unknown_region");
    LAB 3B END */
}

int mr_filter_message(store_t *s, peer_t *p, const RaftServerpb__RaftMessage *msg)
{
    /* LAB 3B BEGIN */
    uint64_t to = msg->to_peer->id, mine = conf_ver_of(peer_region(p)->region_epoch);
    if (to < peer_id(p))
        return 1; /* for an older peer of this region here: it is gone */
    if (to > peer_id(p)) {
        /* Removed and re-added under a new id while we did not notice. */
        mr_destroy_peer(p, "the region addresses this store by a newer peer id");
        mr_on_unknown_region(s, msg);
        return 1;
    }
    if (msg->is_tombstone) {
        if (conf_ver_of(msg->region_epoch) > mine)
            mr_destroy_peer(p, "told by the region that it was removed");
        return 1;
    }
    if (msg->from_peer != NULL && peer_is_initialized(p) &&
        pb_region_find_peer(peer_region(p), msg->from_peer->id) == NULL &&
        conf_ver_of(msg->region_epoch) < mine) {
        send_tombstone(s, p, msg->from_peer);
        return 1;
    }
    return 0;
    /* LAB 3B STUB
    // Drop a message addressed to an older peer id than ours. One addressed to
    // a newer id means we were removed and re-added: destroy this peer
    // (mr_destroy_peer) and handle the message as for an unknown region. A
    // tombstone message whose epoch is newer than ours (conf_ver) destroys us.
    // A message from a peer no longer in our region, with an older epoch, gets a
    // tombstone back (send_tombstone) and is dropped. 0 to step the rest.
    (void)s;
    (void)p;
    (void)msg;
    (void)send_tombstone;
    return 0;
    LAB 3B END */
}
