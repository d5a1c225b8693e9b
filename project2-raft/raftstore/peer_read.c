/*
 * Read-only commands (Get, Snap) without a log entry: ReadIndex and lease
 * read (peer_config_t.read_mode; frame code on top of the core's 2X).
 *
 * Through the log a read costs what a write costs: an entry, a synced write
 * on a majority, an apply. ReadIndex gives the same guarantee for a message
 * round: the leader notes its commit index C, confirms with a heartbeat
 * round that it still leads (nobody else can have committed past C), and
 * the read is served once this peer has applied C. The core does the first
 * two (raft_read_index.c) and hands back a read state {ctx, C}; this file
 * does the rest:
 *
 *   peer_propose --read-only--> rawnode_read_index(ctx = read number)
 *                                     |  heartbeats go out with the Ready
 *   peer_step --> rawnode_step ------>+ a quorum answered: read state {ctx, C}
 *             --> peer_read_collect     (taken before the Ready carries it off)
 *             --> peer_handle_ready     applies entries (deferred in a round:
 *                                       store_end_round serves after it)
 *             --> peer_read_serve       applied >= C: read the kv DB, answer
 *
 * Never stale: a read is answered from the kv DB only when this peer still
 * leads in the term the read was confirmed in, the region's epoch is the one
 * it was checked against, and applied >= C. Otherwise it fails:
 * StaleCommand when the peer stepped down, was destroyed or shut down
 * (peer_fail_proposals calls peer_read_fail_all), when the region changed,
 * or when no confirmation came in time (a leader cut off from the others
 * never hears a quorum: its reads time out, they never answer old data).
 * The client retries, as after any StaleCommand.
 *
 * Applied >= C matters whenever apply lags commit: in the runtime's rounds
 * a step may advance the commit index while the Ready that applies it waits
 * for the round's end, and a read coming in then must wait for that apply.
 * (In the simulator a peer applies within the step, so no test there can
 * tell the check from its absence.)
 *
 * Lease mode sets check_quorum and read_lease in the core: while a quorum
 * acknowledged a heartbeat sent less than an election timeout ago, the core
 * answers at once, with no round. That is safe only if no other leader can
 * be elected meanwhile, i.e. every clock runs at the same rate within the
 * margin between the lease and the election timeout: a store whose clock
 * runs slow keeps its lease past a new leader's first write.
 *
 * Falling back to the log: mode log; a core whose ReadIndex is the 2X stub
 * (TKV_ERR_NOT_IMPLEMENTED, remembered for the peer's life); and a leader
 * that has not committed an entry of its own term yet (TKV_ERR_BUSY: it
 * does not know the commit index; the log path waits for that entry).
 *
 * Ownership: each waiting read owns a copy of its command; its callback is
 * called exactly once.
 */
#include <stdlib.h>
#include <string.h>

#include "common/failpoint.h"
#include "common/log.h"
#include "project2-raft/raftstore/cmd_resp.h"
#include "project2-raft/raftstore/pb_util.h"
#include "project2-raft/raftstore/peer_internal.h"

/* A read fails when unconfirmed this many election timeouts after it came in. */
#define READ_TIMEOUT_ELECTIONS 2

struct peer_read {
    uint64_t seq;  /* the ctx given to the core */
    uint64_t term; /* the leader's term when it came in */
    uint64_t epoch_version, epoch_conf_ver;
    int have_index;                 /* the core confirmed it ... */
    uint64_t index;                 /* ... to be served once this is applied */
    int ticks;                      /* ticks since it came in */
    RaftCmdpb__RaftCmdRequest *req; /* owned copy */
    peer_cb_t cb;
};

int peer_read_mode_parse(const char *s, peer_read_mode_t *out)
{
    static const struct {
        const char *name;
        peer_read_mode_t mode;
    } modes[] = { { "log", PEER_READ_LOG },
                  { "readindex", PEER_READ_INDEX },
                  { "lease", PEER_READ_LEASE } };
    for (size_t i = 0; s != NULL && i < sizeof(modes) / sizeof(modes[0]); i++)
        if (strcmp(s, modes[i].name) == 0) {
            *out = modes[i].mode;
            return 0;
        }
    return -1;
}

const char *peer_read_mode_name(peer_read_mode_t m)
{
    switch (m) {
    case PEER_READ_LOG:
        return "log";
    case PEER_READ_INDEX:
        return "readindex";
    case PEER_READ_LEASE:
        return "lease";
    }
    return "?";
}

peer_read_stats_t peer_read_stats(const peer_t *p)
{
    peer_read_stats_t s = p->read_stats;
    s.waiting = p->n_reads;
    return s;
}

static int is_read_only(const RaftCmdpb__RaftCmdRequest *req)
{
    if (req->admin_request != NULL || req->n_requests == 0)
        return 0;
    for (size_t i = 0; i < req->n_requests; i++) {
        const RaftCmdpb__Request *r = req->requests[i];
        if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_SNAP)
            continue;
        if (r->cmd_type != RAFT_CMDPB__CMD_TYPE__CMD_GET || r->get == NULL)
            return 0;
    }
    return 1;
}

static void epoch_of(const peer_t *p, uint64_t *version, uint64_t *conf_ver)
{
    const Metapb__RegionEpoch *e = p->ps->region->region_epoch;
    *version = e ? e->version : 0;
    *conf_ver = e ? e->conf_ver : 0;
}

static void encode_seq(uint8_t out[8], uint64_t v)
{
    for (int i = 0; i < 8; i++)
        out[i] = (uint8_t)(v >> (56 - 8 * i));
}

static int decode_seq(const raft_read_state_t *rs, uint64_t *v)
{
    if (rs->ctx_len != 8)
        return 0;
    *v = 0;
    for (int i = 0; i < 8; i++)
        *v = (*v << 8) | rs->ctx[i];
    return 1;
}

static RaftCmdpb__RaftCmdRequest *copy_request(const RaftCmdpb__RaftCmdRequest *req)
{
    tkv_buf_t bytes = TKV_BUF_INIT;
    pb_pack(&req->base, &bytes);
    RaftCmdpb__RaftCmdRequest *c =
        raft_cmdpb__raft_cmd_request__unpack(NULL, bytes.len, bytes.data);
    buf_free(&bytes);
    return c;
}

/* The answer to a read, from a kv DB view taken now (applied >= its index):
 * every Get and the Snap see the same state. */
static RaftCmdpb__RaftCmdResponse *read_now(peer_t *p, const RaftCmdpb__RaftCmdRequest *req,
                                            eng_snap_t **snap_out)
{
    uint64_t term = p->rn->raft->term;
    eng_snap_t *snap = eng_snapshot(p->ps->kv_db);
    RaftCmdpb__RaftCmdResponse *resp = cmd_resp_new(term);
    int want_snap = 0;
    for (size_t i = 0; i < req->n_requests; i++) {
        const RaftCmdpb__Request *r = req->requests[i];
        RaftCmdpb__Response *out = cmd_resp_add(resp, r->cmd_type);
        if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_SNAP) {
            out->snap->region = pb_region_dup(p->ps->region);
            want_snap = 1;
            continue;
        }
        const char *cf = r->get->cf != NULL && *r->get->cf != '\0' ? r->get->cf : CF_DEFAULT;
        tkv_buf_t v = TKV_BUF_INIT;
        tkv_err_t err = eng_cf_valid(cf)
                            ? eng_get_at(p->ps->kv_db, snap, cf,
                                         slice_of(r->get->key.data, r->get->key.len), &v)
                            : TKV_ERR_INVALID;
        if (err == TKV_OK) {
            out->get->value.len = v.len;
            out->get->value.data = v.len ? buf_take(&v) : NULL;
        }
        buf_free(&v);
        if (err != TKV_OK && err != TKV_ERR_NOT_FOUND) {
            /* A failed read is not an absent key: say so. */
            pb_free(resp);
            eng_snapshot_free(snap);
            return cmd_resp_error(term, err == TKV_ERR_INVALID ? "unknown column family"
                                                               : "Get failed in the kv DB");
        }
    }
    if (want_snap)
        *snap_out = snap;
    else
        eng_snapshot_free(snap);
    return resp;
}

static void drop_read(struct peer_read *rd)
{
    pb_free(rd->req);
    rd->req = NULL;
}

int peer_read_propose(peer_t *p, const RaftCmdpb__RaftCmdRequest *req, peer_cb_t cb)
{
    if (p->cfg.read_mode == PEER_READ_LOG || !is_read_only(req))
        return 0;
    if (!peer_is_leader(p))
        return 0; /* the log path answers NotLeader with the leader's name */
    if (p->read_unimplemented) {
        p->read_stats.by_log++;
        return 0;
    }
    uint8_t ctx[8];
    encode_seq(ctx, p->read_seq + 1);
    /* Tests stand in for a core without 2X here (tests/raftstore/read_index_test.c). */
    tkv_err_t err = FAILPOINT("peer.read_index") == FAILPOINT_ERROR
                        ? tkv_not_implemented("raft_read_index_step")
                        : rawnode_read_index(p->rn, ctx, sizeof(ctx));
    if (err == TKV_ERR_NOT_IMPLEMENTED) {
        p->read_unimplemented = 1;
        tkv_logf(TKV_LOG_INFO, "read",
                 "region %llu: the Raft core has no ReadIndex (2X); reads go through the log",
                 (unsigned long long)p->region_id);
    }
    if (err != TKV_OK) {
        /* Unimplemented, or a new leader without an entry of its term (BUSY):
         * the log path is always right. */
        p->read_stats.by_log++;
        return 0;
    }
    if (p->n_reads == p->cap_reads) {
        p->cap_reads = p->cap_reads ? 2 * p->cap_reads : 8;
        p->reads = xrealloc(p->reads, p->cap_reads * sizeof(*p->reads));
    }
    struct peer_read *rd = &p->reads[p->n_reads++];
    memset(rd, 0, sizeof(*rd));
    rd->seq = ++p->read_seq;
    rd->term = p->rn->raft->term;
    epoch_of(p, &rd->epoch_version, &rd->epoch_conf_ver);
    rd->req = copy_request(req);
    rd->cb = cb;
    peer_read_collect(p); /* a lease, or a single voter, confirms at once */
    peer_handle_ready(p); /* sends the heartbeat round */
    peer_read_serve(p);
    return 1;
}

void peer_read_collect(peer_t *p)
{
    raft_read_state_t *rs = NULL;
    size_t n = 0;
    if (p->rn == NULL || p->rn->raft->n_read_states == 0)
        return;
    raft_take_read_states(p->rn->raft, &rs, &n);
    for (size_t i = 0; i < n; i++) {
        uint64_t seq;
        if (!decode_seq(&rs[i], &seq))
            continue;
        for (size_t j = 0; j < p->n_reads; j++)
            if (p->reads[j].seq == seq && !p->reads[j].have_index) {
                p->reads[j].have_index = 1;
                p->reads[j].index = rs[i].index;
            }
    }
    raft_read_states_free(rs, n);
}

/* Why read `rd` can no longer be served, or NULL. */
static const char *why_stale(const peer_t *p, const struct peer_read *rd)
{
    uint64_t version, conf_ver;
    epoch_of(p, &version, &conf_ver);
    if (p->destroyed || p->broken)
        return "stale command: the peer stopped before the read was served";
    if (!peer_is_leader(p) || p->rn->raft->term != rd->term)
        return "stale command: the peer lost leadership before the read was served";
    if (version != rd->epoch_version || conf_ver != rd->epoch_conf_ver)
        return "stale command: the region changed while the read waited";
    if (rd->req == NULL)
        return "stale command: the read's command could not be copied";
    return NULL;
}

/* Answers, in issue order, the reads that can go (served, or failed as
 * stale); with timed_out_only, fails instead those waiting too long. The
 * list is detached first: a callback may issue new reads. */
static void answer_reads(peer_t *p, int timed_out_only, const char *timeout_why)
{
    struct peer_read *list = p->reads;
    size_t n = p->n_reads, kept = 0;
    p->reads = NULL;
    p->n_reads = p->cap_reads = 0;
    struct peer_read *keep = n ? xmalloc(n * sizeof(*keep)) : NULL;
    struct peer_read *done = n ? xmalloc(n * sizeof(*done)) : NULL;
    const char **whys = n ? xmalloc(n * sizeof(*whys)) : NULL;
    size_t n_done = 0;
    for (size_t i = 0; i < n; i++) {
        struct peer_read *rd = &list[i];
        const char *why = why_stale(p, rd);
        int go;
        if (timed_out_only)
            go = why == NULL && rd->ticks >= READ_TIMEOUT_ELECTIONS * p->cfg.election_tick;
        else
            go = why != NULL || (rd->have_index && p->ps->applied_index >= rd->index);
        if (timed_out_only && go)
            why = timeout_why;
        if (!go) {
            keep[kept++] = *rd;
            continue;
        }
        whys[n_done] = why;
        done[n_done++] = *rd;
    }
    free(list);
    /* Put back what waits, ahead of anything a callback adds. */
    if (kept > 0) {
        p->reads = keep;
        p->n_reads = p->cap_reads = kept;
        keep = NULL;
    }
    free(keep);
    for (size_t i = 0; i < n_done; i++) {
        struct peer_read *rd = &done[i];
        RaftCmdpb__RaftCmdResponse *resp;
        eng_snap_t *snap = NULL;
        if (whys[i] != NULL) {
            resp = cmd_resp_stale(p->rn ? p->rn->raft->term : 0, whys[i]);
            p->read_stats.failed++;
        } else {
            resp = read_now(p, rd->req, &snap);
            p->read_stats.by_index++;
        }
        drop_read(rd);
        if (rd->cb.fn != NULL)
            rd->cb.fn(rd->cb.arg, resp, snap);
        else {
            pb_free(resp);
            if (snap != NULL)
                eng_snapshot_free(snap);
        }
    }
    free(done);
    free(whys);
}

void peer_read_serve(peer_t *p)
{
    if (p->n_reads > 0)
        answer_reads(p, 0, NULL);
}

void peer_read_tick(peer_t *p)
{
    if (p->n_reads == 0)
        return;
    for (size_t i = 0; i < p->n_reads; i++)
        p->reads[i].ticks++;
    answer_reads(p, 1,
                 "stale command: the read was not confirmed by a quorum in time (this peer "
                 "may have been deposed); retry");
    peer_read_serve(p);
}

void peer_read_fail_all(peer_t *p, const char *why)
{
    struct peer_read *list = p->reads;
    size_t n = p->n_reads;
    p->reads = NULL;
    p->n_reads = p->cap_reads = 0;
    uint64_t term = p->rn ? p->rn->raft->term : 0;
    for (size_t i = 0; i < n; i++) {
        drop_read(&list[i]);
        p->read_stats.failed++;
        peer_answer(list[i].cb, cmd_resp_stale(term, why));
    }
    free(list);
}
