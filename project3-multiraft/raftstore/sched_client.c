/*
 * The store's scheduler client (frame code): what a store tells the
 * scheduler and what it does with the answers.
 *
 *   RegionHeartbeat  every region leader, every heartbeat_tick ticks and
 *                    at the next tick after a change (leadership, split,
 *                    conf change): the region, its leader, its pending
 *                    peers and approximate size. The answer may carry the
 *                    next step of an operator (add peer, remove peer,
 *                    transfer leader), which the leader proposes as the
 *                    matching admin command.
 *   StoreHeartbeat   every store_heartbeat_tick ticks: the store's stats.
 *   AskSplit         when the split checker finds a key: the answer's new
 *                    region and peer ids make the Split command, proposed
 *                    with the epoch the region had when the check ran (if
 *                    the region changed since, the epoch check refuses it
 *                    and the next check asks again).
 *
 * There is no ReportSplit in this course's protocol: both halves of a
 * split are reported by region heartbeats right after it applies.
 *
 * Everything goes through the transport in multiraft_config_t, so the
 * simulator's mock scheduler and the real tinykv-scheduler look the same.
 */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "proto/schedulerpb.pb-c.h"
#include "project3-multiraft/raftstore/mr_internal.h"

/* An ask older than this many split checks is given up (the answer was lost). */
#define ASK_PATIENCE 5

static uint64_t send_request(store_t *s, const char *method, const ProtobufCMessage *msg)
{
    mr_store_t *ms = mr_store(s);
    if (ms->cfg->sched.send == NULL)
        return 0;
    uint64_t id = ++ms->next_req_id;
    tkv_buf_t bytes = TKV_BUF_INIT;
    pb_pack(msg, &bytes);
    ms->cfg->sched.send(ms->cfg->sched.arg, store_id(s), id, method, bytes.data, bytes.len);
    buf_free(&bytes);
    return id;
}

void mr_report_soon(peer_t *p)
{
    mr_peer(p)->report_now = 1;
}

static void send_region_heartbeat(store_t *s, peer_t *p, uint64_t size)
{
    const Metapb__Region *r = peer_region(p);
    const Metapb__Peer *me = pb_region_find_peer(r, peer_id(p));
    if (me == NULL)
        return;
    /* Pending: peers whose log is behind the leader's truncation point
     * (they need a snapshot to catch up). */
    const raft_t *raft = peer_raft(p);
    Metapb__Peer **pending = xcalloc(r->n_peers + 1, sizeof(Metapb__Peer *));
    size_t n_pending = 0;
    for (size_t i = 0; i < raft->prs.n; i++) {
        const raft_progress_t *pr = &raft->prs.items[i];
        if (pr->match < peer_storage(p)->truncated_index) {
            const Metapb__Peer *pe = pb_region_find_peer(r, pr->id);
            if (pe != NULL)
                pending[n_pending++] = (Metapb__Peer *)pe;
        }
    }
    Schedulerpb__RegionHeartbeatRequest req = SCHEDULERPB__REGION_HEARTBEAT_REQUEST__INIT;
    req.region = (Metapb__Region *)r;
    req.leader = (Metapb__Peer *)me;
    req.pending_peers = pending;
    req.n_pending_peers = n_pending;
    req.approximate_size = size;
    send_request(s, "RegionHeartbeat", &req.base);
    free(pending);
}

static void send_store_heartbeat(store_t *s)
{
    Schedulerpb__StoreStats st = SCHEDULERPB__STORE_STATS__INIT;
    st.store_id = store_id(s);
    st.region_count = (uint32_t)store_n_regions(s);
    Schedulerpb__StoreHeartbeatRequest req = SCHEDULERPB__STORE_HEARTBEAT_REQUEST__INIT;
    req.stats = &st;
    send_request(s, "StoreHeartbeat", &req.base);
}

static mr_ask_t *find_ask_for(mr_store_t *ms, uint64_t region_id)
{
    for (size_t i = 0; i < ms->n_asks; i++)
        if (ms->asks[i].region_id == region_id)
            return &ms->asks[i];
    return NULL;
}

static void drop_ask(mr_store_t *ms, mr_ask_t *a)
{
    size_t i = (size_t)(a - ms->asks);
    buf_free(&a->key);
    memmove(ms->asks + i, ms->asks + i + 1, (ms->n_asks - i - 1) * sizeof(mr_ask_t));
    ms->n_asks--;
}

tkv_err_t mr_ask_split(store_t *s, peer_t *p, tkv_slice_t key)
{
    mr_store_t *ms = mr_store(s);
    if (ms->cfg->sched.send == NULL)
        return tkv_errorf(TKV_ERR_INVALID, "store %llu has no scheduler to ask for split ids",
                          (unsigned long long)store_id(s));
    mr_ask_t *old = find_ask_for(ms, peer_region_id(p));
    if (old != NULL)
        drop_ask(ms, old);
    Schedulerpb__AskSplitRequest req = SCHEDULERPB__ASK_SPLIT_REQUEST__INIT;
    req.region = (Metapb__Region *)peer_region(p);
    uint64_t id = send_request(s, "AskSplit", &req.base);
    ms->asks = xrealloc(ms->asks, (ms->n_asks + 1) * sizeof(mr_ask_t));
    mr_ask_t *a = &ms->asks[ms->n_asks++];
    memset(a, 0, sizeof(*a));
    a->id = id;
    a->region_id = peer_region_id(p);
    metapb__region_epoch__init(&a->epoch);
    if (peer_region(p)->region_epoch != NULL) {
        a->epoch.conf_ver = peer_region(p)->region_epoch->conf_ver;
        a->epoch.version = peer_region(p)->region_epoch->version;
    }
    buf_set(&a->key, key.data, key.len);
    ms->stats.splits_asked++;
    return TKV_OK;
}

tkv_err_t multiraft_ask_split(store_t *s, uint64_t region_id, tkv_slice_t key)
{
    peer_t *p = store_peer(s, region_id);
    if (p == NULL || !peer_is_leader(p))
        return tkv_errorf(TKV_ERR_NOT_FOUND, "store %llu does not lead region %llu",
                          (unsigned long long)store_id(s), (unsigned long long)region_id);
    return mr_ask_split(s, p, key);
}

static void maybe_split(store_t *s, peer_t *p, uint64_t *size)
{
    mr_store_t *ms = mr_store(s);
    mr_peer_t *mp = mr_peer(p);
    mr_ask_t *pending = find_ask_for(ms, peer_region_id(p));
    if (pending != NULL && ++mp->ask_age < ASK_PATIENCE)
        return; /* still waiting for the ids */
    mp->ask_age = 0;
    tkv_buf_t key = TKV_BUF_INIT;
    if (mr_split_check(store_kv_db(s), peer_region(p), ms->cfg->region_max_size,
                       ms->cfg->region_split_size, size, &key) == TKV_OK &&
        key.len > 0)
        mr_ask_split(s, p, buf_slice(&key));
    buf_free(&key);
}

void mr_on_store_tick(store_t *s)
{
    mr_store_t *ms = mr_store(s);
    /* Counted per store tick, not per peer: a store that holds no replica
     * yet (a new one, waiting for the scheduler to give it some) must still
     * say it is alive, or it counts as down and never gets any. */
    if (ms->cfg->store_heartbeat_tick > 0 &&
        ++ms->store_hb_elapsed >= ms->cfg->store_heartbeat_tick) {
        ms->store_hb_elapsed = 0;
        send_store_heartbeat(s);
    }
}

void mr_on_tick(store_t *s, peer_t *p)
{
    mr_store_t *ms = mr_store(s);
    mr_peer_t *mp = mr_peer(p);
    const multiraft_config_t *cfg = ms->cfg;
    int leader = peer_is_leader(p);
    if (leader && !mp->was_leader)
        mp->report_now = 1;
    mp->was_leader = leader;
    if (!leader || !peer_is_initialized(p))
        return;
    uint64_t size = 0;
    if (cfg->split_check_tick > 0 && ++mp->split_elapsed >= cfg->split_check_tick) {
        mp->split_elapsed = 0;
        maybe_split(s, p, &size);
    }
    if (cfg->heartbeat_tick > 0 && (mp->report_now || ++mp->hb_elapsed >= cfg->heartbeat_tick)) {
        mp->hb_elapsed = 0;
        mp->report_now = 0;
        if (size == 0) {
            tkv_buf_t none = TKV_BUF_INIT;
            mr_split_check(store_kv_db(s), peer_region(p), UINT64_MAX, UINT64_MAX, &size, &none);
            buf_free(&none);
        }
        send_region_heartbeat(s, p, size);
    }
}

/* ---- answers ---------------------------------------------------------------- */

static void propose_admin(store_t *s, peer_t *p, const Metapb__RegionEpoch *epoch,
                          RaftCmdpb__AdminRequest *admin)
{
    RaftCmdpb__RaftRequestHeader h = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    h.region_id = peer_region_id(p);
    h.region_epoch = (Metapb__RegionEpoch *)epoch;
    RaftCmdpb__RaftCmdRequest req = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    req.header = &h;
    req.admin_request = admin;
    peer_cb_t none = { NULL, NULL };
    (void)s;
    peer_propose(p, &req, none);
}

static void on_region_heartbeat(store_t *s, const uint8_t *data, size_t len)
{
    Schedulerpb__RegionHeartbeatResponse *r =
        schedulerpb__region_heartbeat_response__unpack(NULL, len, data);
    if (r == NULL)
        return;
    peer_t *p = store_peer(s, r->region_id);
    if (p != NULL && peer_is_leader(p)) {
        const Metapb__RegionEpoch *epoch = peer_region(p)->region_epoch;
        RaftCmdpb__AdminRequest admin = RAFT_CMDPB__ADMIN_REQUEST__INIT;
        if (r->change_peer != NULL && r->change_peer->peer != NULL) {
            RaftCmdpb__ChangePeerRequest cp = RAFT_CMDPB__CHANGE_PEER_REQUEST__INIT;
            cp.change_type = r->change_peer->change_type;
            cp.peer = r->change_peer->peer;
            admin.cmd_type = RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_CHANGE_PEER;
            admin.change_peer = &cp;
            propose_admin(s, p, epoch, &admin);
        } else if (r->transfer_leader != NULL && r->transfer_leader->peer != NULL) {
            RaftCmdpb__TransferLeaderRequest tl = RAFT_CMDPB__TRANSFER_LEADER_REQUEST__INIT;
            tl.peer = r->transfer_leader->peer;
            admin.cmd_type = RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_TRANSFER_LEADER;
            admin.transfer_leader = &tl;
            propose_admin(s, p, epoch, &admin);
        }
    }
    pb_free(r);
}

static void on_ask_split(store_t *s, uint64_t id, const uint8_t *data, size_t len)
{
    mr_store_t *ms = mr_store(s);
    mr_ask_t *a = NULL;
    for (size_t i = 0; i < ms->n_asks; i++)
        if (ms->asks[i].id == id)
            a = &ms->asks[i];
    if (a == NULL)
        return;
    Schedulerpb__AskSplitResponse *r = schedulerpb__ask_split_response__unpack(NULL, len, data);
    peer_t *p = store_peer(s, a->region_id);
    if (r != NULL &&
        (r->header == NULL || r->header->error == NULL ||
         r->header->error->type == SCHEDULERPB__ERROR_TYPE__ERR_OK) &&
        p != NULL && peer_is_leader(p)) {
        RaftCmdpb__SplitRequest sp = RAFT_CMDPB__SPLIT_REQUEST__INIT;
        sp.split_key.data = a->key.data;
        sp.split_key.len = a->key.len;
        sp.new_region_id = r->new_region_id;
        sp.new_peer_ids = r->new_peer_ids;
        sp.n_new_peer_ids = r->n_new_peer_ids;
        RaftCmdpb__AdminRequest admin = RAFT_CMDPB__ADMIN_REQUEST__INIT;
        admin.cmd_type = RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_SPLIT;
        admin.split = &sp;
        Metapb__RegionEpoch epoch = a->epoch;
        propose_admin(s, p, &epoch, &admin);
    }
    pb_free(r);
    /* The proposal may have changed the list: find the ask again. */
    for (size_t i = 0; i < ms->n_asks; i++)
        if (ms->asks[i].id == id) {
            drop_ask(ms, &ms->asks[i]);
            break;
        }
}

void multiraft_scheduler_reply(store_t *s, uint64_t id, const char *method, const uint8_t *data,
                               size_t len)
{
    if (store_ext_state(s) == NULL || method == NULL)
        return;
    if (strcmp(method, "RegionHeartbeat") == 0)
        on_region_heartbeat(s, data, len);
    else if (strcmp(method, "AskSplit") == 0)
        on_ask_split(s, id, data, len);
}
