/*
 * Leader election and log replication (Raft paper §5), the heart of the
 * core. Snapshots live in raft_snapshot.c, leader transfer and membership
 * in raft_membership.c; see raft.h for the overall shape.
 *
 * Replication runs one MsgAppend per peer at a time while probing (after a
 * rejection we do not know where the peer's log diverges) and streams
 * optimistically once a peer has acknowledged (replicating): `next` then
 * runs ahead of `match`, and a rejection drops the peer back to probing.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "project2-raft/raft/raft_internal.h"

const char *raft_role_name(raft_role_t role)
{
    switch (role) {
    case RAFT_FOLLOWER:
        return "follower";
    case RAFT_CANDIDATE:
        return "candidate";
    case RAFT_LEADER:
        return "leader";
    case RAFT_PRE_CANDIDATE:
        return "pre-candidate";
    }
    return "unknown";
}

tkv_err_t raft_new(const raft_config_t *cfg, raft_t **out)
{
    *out = NULL;
    if (cfg->id == RAFT_NONE)
        return tkv_errorf(TKV_ERR_INVALID, "raft node id must not be 0");
    if (cfg->read_lease && !cfg->check_quorum)
        return tkv_errorf(TKV_ERR_INVALID, "read_lease needs check_quorum: the lease is the "
                                           "followers' promise to ignore other candidates");
    if (cfg->election_tick <= cfg->heartbeat_tick || cfg->heartbeat_tick <= 0)
        return tkv_errorf(TKV_ERR_INVALID, "election tick %d must exceed heartbeat tick %d > 0",
                          cfg->election_tick, cfg->heartbeat_tick);
    raft_hard_state_t hs;
    raft_conf_state_t cs;
    memset(&cs, 0, sizeof(cs)); /* storages that predate learners fill nodes only */
    tkv_err_t err = cfg->storage.ops->initial_state(cfg->storage.self, &hs, &cs);
    if (err != TKV_OK)
        return err;
    raft_t *r = xcalloc(1, sizeof(*r));
    r->id = cfg->id;
    err = rlog_init(&r->log, cfg->storage);
    if (err != TKV_OK) {
        raft_conf_state_free(&cs);
        free(r);
        return err;
    }
    prs_init(&r->prs);
    if (cs.n_nodes) {
        prs_set_conf(&r->prs, &cs, 1);
    } else {
        for (size_t i = 0; i < cfg->n_peers; i++)
            prs_add(&r->prs, cfg->peers[i], 0, 1);
    }
    raft_conf_state_free(&cs);
    r->election_tick = cfg->election_tick;
    r->heartbeat_tick = cfg->heartbeat_tick;
    r->max_size_per_msg = cfg->max_size_per_msg ? cfg->max_size_per_msg : UINT64_MAX;
    prng_seed(&r->own_prng, cfg->id);
    r->prng = cfg->prng ? cfg->prng : &r->own_prng;
    r->pre_vote = cfg->pre_vote;
    r->check_quorum = cfg->check_quorum;
    r->read_lease = cfg->read_lease;
    r->flow_control = cfg->flow_control;
    r->max_inflight_msgs = cfg->max_inflight_msgs ? cfg->max_inflight_msgs : 256;
    r->fast_backtrack = cfg->fast_backtrack;
    if (!raft_hard_state_is_empty(&hs)) {
        r->term = hs.term;
        r->vote = hs.vote;
        rlog_commit_to(&r->log, hs.commit);
    }
    if (cfg->applied > 0)
        rlog_applied_to(&r->log, cfg->applied);
    raft_become_follower(r, r->term, RAFT_NONE);
    *out = r;
    return TKV_OK;
}

void raft_free(raft_t *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n_msgs; i++)
        raft_message_free(&r->msgs[i]);
    free(r->msgs);
    raft_drop_reads(r);
    free(r->reads);
    raft_read_states_free(r->read_states, r->n_read_states);
    rlog_free(&r->log);
    prs_free(&r->prs);
    free(r);
}

void raft_send(raft_t *r, raft_message_t *m)
{
    /* A forwarded MsgTransferLeader keeps its sender: the transferee. */
    if (m->from == RAFT_NONE)
        m->from = r->id;
    /* Forwarded local messages carry no term: they are not part of the
     * protocol's term exchange. A pre-vote names the term it would run in
     * (and its grant echoes it), so a term set already stays. */
    if (m->term == 0 && m->type != RAFT_MSG_PROPOSE && m->type != RAFT_MSG_TRANSFER_LEADER)
        m->term = r->term;
    raft_flow_sent(r, m); /* flow control (2X) counts appends and snapshots */
    if (r->n_msgs == r->cap_msgs) {
        r->cap_msgs = r->cap_msgs ? r->cap_msgs * 2 : 8;
        r->msgs = xrealloc(r->msgs, r->cap_msgs * sizeof(raft_message_t));
    }
    r->msgs[r->n_msgs++] = *m;
    memset(m, 0, sizeof(*m));
}

void raft_take_read_states(raft_t *r, raft_read_state_t **out, size_t *n)
{
    *out = r->read_states;
    *n = r->n_read_states;
    r->read_states = NULL;
    r->n_read_states = r->cap_read_states = 0;
}

void raft_read_states_free(raft_read_state_t *rs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(rs[i].ctx);
    free(rs);
}

void raft_take_msgs(raft_t *r, raft_message_t **out, size_t *n)
{
    *out = r->msgs;
    *n = r->n_msgs;
    r->msgs = NULL;
    r->n_msgs = r->cap_msgs = 0;
}

raft_hard_state_t raft_hard_state(const raft_t *r)
{
    raft_hard_state_t hs = { r->term, r->vote, r->log.committed };
    return hs;
}

/* LAB 2A BEGIN */
/* Everything that starts afresh with a new role or term. */
static void raft_reset(raft_t *r, uint64_t term)
{
    if (r->term != term) {
        r->term = term;
        r->vote = RAFT_NONE;
    }
    r->lead = RAFT_NONE;
    r->election_elapsed = 0;
    r->heartbeat_elapsed = 0;
    r->randomized_election_timeout =
        r->election_tick + (int)prng_below(r->prng, (uint64_t)r->election_tick);
    r->lead_transferee = RAFT_NONE;
    uint64_t last = rlog_last_index(&r->log);
    for (size_t i = 0; i < r->prs.n; i++) {
        raft_progress_t *pr = &r->prs.items[i];
        pr->match = pr->id == r->id ? last : 0;
        pr->next = last + 1;
        pr->vote = RAFT_VOTE_UNKNOWN;
        pr->replicating = 0;
    }
}

/* Appends proposals to the leader's own log, stamping term and index. */
static void append_entries(raft_t *r, raft_entry_t *ents, size_t n)
{
    uint64_t last = rlog_last_index(&r->log);
    for (size_t i = 0; i < n; i++) {
        ents[i].term = r->term;
        ents[i].index = last + 1 + i;
    }
    raft_check_conf_proposals(r, ents, n);
    last = rlog_append(&r->log, ents, n);
    raft_progress_t *self = prs_find(&r->prs, r->id);
    if (self != NULL) {
        self->match = last;
        self->next = last + 1;
    }
    raft_maybe_commit(r);
}
/* LAB 2A END */

void raft_become_follower(raft_t *r, uint64_t term, uint64_t lead)
{
    /* LAB 2A BEGIN */
    raft_reset(r, term);
    r->lead = lead;
    r->role = RAFT_FOLLOWER;
    if (tkv_log_enabled(TKV_LOG_DEBUG))
        tkv_logf(TKV_LOG_DEBUG, "raft", "node %llu: follower of %llu at term %llu",
                 (unsigned long long)r->id, (unsigned long long)lead, (unsigned long long)term);
    /* LAB 2A STUB
    r->term = term;
    r->lead = lead;
    LAB 2A END */
}

void raft_become_candidate(raft_t *r)
{
    /* LAB 2A BEGIN */
    raft_reset(r, r->term + 1);
    r->vote = r->id;
    r->role = RAFT_CANDIDATE;
    raft_progress_t *self = prs_find(&r->prs, r->id);
    if (self != NULL)
        self->vote = RAFT_VOTE_GRANTED;
    if (tkv_log_enabled(TKV_LOG_DEBUG))
        tkv_logf(TKV_LOG_DEBUG, "raft", "node %llu: candidate at term %llu",
                 (unsigned long long)r->id, (unsigned long long)r->term);
    /* LAB 2A STUB
    (void)r;
    LAB 2A END */
}

void raft_become_leader(raft_t *r)
{
    /* LAB 2A BEGIN */
    raft_reset(r, r->term);
    r->lead = r->id;
    r->role = RAFT_LEADER;
    tkv_logf(TKV_LOG_INFO, "raft", "node %llu: leader at term %llu", (unsigned long long)r->id,
             (unsigned long long)r->term);
    /* Conf changes proposed by earlier leaders may still be in our log,
     * uncommitted: wait until everything up to here is applied. */
    r->pending_conf_index = rlog_last_index(&r->log);
    /* The no-op entry lets us commit (and learn the commit index of) all
     * earlier entries: only entries of our own term are committed by
     * counting replicas (§5.4.2). */
    raft_entry_t noop = { RAFT_ENTRY_NORMAL, 0, 0, NULL, 0 };
    append_entries(r, &noop, 1);
    raft_bcast_append(r);
    /* LAB 2A STUB
    (void)r;
    LAB 2A END */
}

void raft_tick(raft_t *r)
{
    r->ticks++;
    if (raft_check_quorum_tick(r))
        return; /* a leader that lost its quorum stepped down (2X) */
    /* LAB 2A BEGIN */
    raft_message_t m = { 0 };
    if (r->role != RAFT_LEADER) {
        /* A node that may not campaign (removed, or a learner) lets the
         * count run on instead of starting over: it is a count of ticks
         * since it heard from a leader, and check quorum's lease reads it
         * (raft_prevote.c). Restarted every timeout, it would hold a
         * departed leader's lease for ever, refusing every candidate. */
        if (++r->election_elapsed >= r->randomized_election_timeout &&
            prs_is_voter(&r->prs, r->id)) {
            r->election_elapsed = 0;
            m.type = RAFT_MSG_HUP;
            raft_step(r, &m);
        }
        return;
    }
    /* A transfer that has not finished within an election timeout failed
     * (the transferee is down or cannot catch up): take proposals again. */
    if (++r->election_elapsed >= r->election_tick) {
        r->election_elapsed = 0;
        r->lead_transferee = RAFT_NONE;
    }
    if (++r->heartbeat_elapsed >= r->heartbeat_tick) {
        r->heartbeat_elapsed = 0;
        m.type = RAFT_MSG_BEAT;
        raft_step(r, &m);
    }
    /* LAB 2A STUB
    (void)r;
    LAB 2A END */
}

int raft_send_append(raft_t *r, uint64_t to)
{
    /* LAB 2A BEGIN */
    raft_progress_t *pr = prs_find(&r->prs, to);
    if (pr == NULL || to == r->id || raft_flow_paused(r, pr))
        return 0;
    uint64_t last = rlog_last_index(&r->log);
    if (pr->next > last + 1)
        pr->next = last + 1;
    uint64_t prev_term = 0;
    raft_entry_t *ents = NULL;
    size_t n = 0;
    if (rlog_term(&r->log, pr->next - 1, &prev_term) != TKV_OK ||
        rlog_slice(&r->log, pr->next, last + 1, r->max_size_per_msg, &ents, &n) != TKV_OK)
        return raft_send_snapshot(r, pr); /* compacted away: only a snapshot helps */
    raft_message_t m = { 0 };
    m.type = RAFT_MSG_APPEND;
    m.to = to;
    m.index = pr->next - 1;
    m.log_term = prev_term;
    m.entries = ents;
    m.n_entries = n;
    m.commit = r->log.committed;
    if (pr->replicating && n > 0)
        pr->next = ents[n - 1].index + 1;
    raft_send(r, &m);
    return 1;
    /* LAB 2A STUB
    (void)r;
    (void)to;
    return 0;
    LAB 2A END */
}

void raft_bcast_append(raft_t *r)
{
    /* LAB 2A BEGIN */
    for (size_t i = 0; i < r->prs.n; i++)
        raft_send_append(r, r->prs.items[i].id);
    /* LAB 2A STUB
    (void)r;
    LAB 2A END */
}

int raft_maybe_commit(raft_t *r)
{
    /* LAB 2A BEGIN */
    return rlog_maybe_commit(&r->log, prs_quorum_match(&r->prs), r->term);
    /* LAB 2A STUB
    (void)r;
    return 0;
    LAB 2A END */
}

void raft_campaign(raft_t *r, int transfer)
{
    /* LAB 2A BEGIN */
    if (!prs_is_voter(&r->prs, r->id))
        return; /* removed from the cluster (or a learner): never disrupt it */
    if (raft_has_unapplied_conf_change(r)) {
        /* Our membership is stale until we apply (raft_membership.c). */
        tkv_logf(TKV_LOG_DEBUG, "raft", "node %llu: not campaigning: conf change unapplied",
                 (unsigned long long)r->id);
        return;
    }
    raft_become_candidate(r);
    if (prs_vote_result(&r->prs) == RAFT_VOTE_WON) {
        raft_become_leader(r); /* a cluster of one */
        return;
    }
    for (size_t i = 0; i < r->prs.n; i++) {
        if (r->prs.items[i].id == r->id)
            continue;
        raft_message_t m = { 0 };
        m.type = RAFT_MSG_REQUEST_VOTE;
        m.to = r->prs.items[i].id;
        m.index = rlog_last_index(&r->log);
        m.log_term = rlog_last_term(&r->log);
        if (transfer) /* so leader stickiness (check quorum) lets it through */
            raft_message_set_context(&m, RAFT_CONTEXT_TRANSFER, strlen(RAFT_CONTEXT_TRANSFER));
        raft_send(r, &m);
    }
    /* LAB 2A STUB
    (void)r;
    (void)transfer;
    LAB 2A END */
}

/* LAB 2A BEGIN */
static void respond(raft_t *r, const raft_message_t *m, raft_msg_type_t type, int reject,
                    uint64_t index)
{
    raft_message_t resp = { 0 };
    resp.type = type;
    resp.to = m->from;
    resp.reject = reject;
    resp.index = index;
    if (reject && type == RAFT_MSG_APPEND_RESPONSE) {
        resp.reject_hint = rlog_last_index(&r->log);
        raft_fill_reject_hint(r, m, &resp); /* fast back-tracking (2X) */
    }
    raft_send(r, &resp);
}

static void handle_append(raft_t *r, const raft_message_t *m)
{
    if (m->index < r->log.committed) {
        /* Everything up to committed is settled; tell the leader so. */
        respond(r, m, RAFT_MSG_APPEND_RESPONSE, 0, r->log.committed);
        return;
    }
    uint64_t last_new = 0;
    if (rlog_maybe_append(&r->log, m->index, m->log_term, m->commit, m->entries, m->n_entries,
                          &last_new))
        respond(r, m, RAFT_MSG_APPEND_RESPONSE, 0, last_new);
    else
        respond(r, m, RAFT_MSG_APPEND_RESPONSE, 1, m->index);
}

static void handle_heartbeat(raft_t *r, const raft_message_t *m)
{
    rlog_commit_to(&r->log, m->commit);
    raft_message_t resp = { 0 };
    resp.type = RAFT_MSG_HEARTBEAT_RESPONSE;
    resp.to = m->from;
    /* A heartbeat confirming a read (ReadIndex, 2X) names it: echo it. */
    raft_message_set_context(&resp, m->context, m->context_len);
    raft_send(r, &resp);
}

static void handle_vote(raft_t *r, const raft_message_t *m)
{
    /* One vote per term (§5.2), only for a log at least as up to date as
     * ours (§5.4.1); a repeated request from our choice gets the same yes. */
    int free_to_vote = r->vote == m->from || (r->vote == RAFT_NONE && r->lead == RAFT_NONE);
    if (free_to_vote && rlog_is_up_to_date(&r->log, m->index, m->log_term)) {
        r->vote = m->from;
        r->election_elapsed = 0;
        respond(r, m, RAFT_MSG_REQUEST_VOTE_RESPONSE, 0, 0);
    } else {
        respond(r, m, RAFT_MSG_REQUEST_VOTE_RESPONSE, 1, 0);
    }
}

static void handle_append_response(raft_t *r, const raft_message_t *m)
{
    raft_progress_t *pr = prs_find(&r->prs, m->from);
    if (pr == NULL)
        return;
    if (m->reject) {
        /* Stale rejections (for a probe we already moved past) are ignored. */
        if (pr->replicating ? m->index <= pr->match : m->index != pr->next - 1)
            return;
        /* Skip straight past the follower's last entry instead of walking
         * back one index per round trip. */
        uint64_t next = m->index < m->reject_hint + 1 ? m->index : m->reject_hint + 1;
        next = raft_backtrack(r, m, next); /* fast back-tracking (2X) */
        if (next < pr->match + 1)
            next = pr->match + 1;
        pr->next = next > 0 ? next : 1;
        pr->replicating = 0;
        raft_send_append(r, m->from);
        return;
    }
    int advanced = m->index > pr->match;
    if (advanced)
        pr->match = m->index;
    if (pr->next < m->index + 1)
        pr->next = m->index + 1;
    if (!pr->replicating) {
        pr->replicating = 1;
        pr->next = pr->match + 1;
    }
    if (advanced && raft_maybe_commit(r))
        raft_bcast_append(r); /* followers learn the new commit index */
    else if (pr->next <= rlog_last_index(&r->log))
        raft_send_append(r, m->from);
    if (advanced)
        raft_maybe_finish_transfer(r, m->from);
}

/* LAB 2A END */

/*
 * The role step functions: raft_step() has handled terms, MsgHup and
 * MsgRequestVote and hands every other message to the function of the
 * node's role. Messages a role has no use for are ignored (TKV_OK).
 */

/* A leader: MsgBeat sends a heartbeat to every peer (commit capped at the
 * peer's match); MsgPropose appends the entries to its own log, stamped with
 * its term and the next indexes, and sends them out (TKV_ERR_NOT_LEADER while
 * leadership is moving away); MsgAppendResponse advances the peer's progress
 * and maybe the commit index, or backs its next index up on a rejection;
 * MsgHeartbeatResponse sends a lagging peer what it lacks;
 * MsgTransferLeader starts a leader transfer (3A). */
static tkv_err_t step_leader(raft_t *r, const raft_message_t *m)
{
    /* LAB 2A BEGIN */
    switch (m->type) {
    case RAFT_MSG_BEAT:
        for (size_t i = 0; i < r->prs.n; i++) {
            raft_progress_t *pr = &r->prs.items[i];
            if (pr->id == r->id)
                continue;
            raft_message_t hb = { 0 };
            hb.type = RAFT_MSG_HEARTBEAT;
            hb.to = pr->id;
            /* Never past what the peer is known to hold: its log beyond
             * match may still differ from ours. */
            hb.commit = pr->match < r->log.committed ? pr->match : r->log.committed;
            raft_send(r, &hb);
        }
        return TKV_OK;
    case RAFT_MSG_PROPOSE: {
        if (prs_find(&r->prs, r->id) == NULL)
            return tkv_errorf(TKV_ERR_NOT_LEADER, "node %llu was removed from the cluster",
                              (unsigned long long)r->id);
        if (r->lead_transferee != RAFT_NONE)
            return tkv_errorf(TKV_ERR_NOT_LEADER, "leadership is moving to %llu",
                              (unsigned long long)r->lead_transferee);
        if (m->n_entries == 0)
            return tkv_errorf(TKV_ERR_INVALID, "a proposal with no entries");
        raft_entry_t *ents = raft_entries_copy(m->entries, m->n_entries);
        append_entries(r, ents, m->n_entries);
        raft_entries_free(ents, m->n_entries);
        raft_bcast_append(r);
        return TKV_OK;
    }
    case RAFT_MSG_APPEND_RESPONSE:
        handle_append_response(r, m);
        return TKV_OK;
    case RAFT_MSG_HEARTBEAT_RESPONSE: {
        raft_progress_t *pr = prs_find(&r->prs, m->from);
        if (pr != NULL && pr->match < rlog_last_index(&r->log))
            raft_send_append(r, m->from);
        return TKV_OK;
    }
    case RAFT_MSG_TRANSFER_LEADER:
        raft_handle_transfer_leader(r, m);
        return TKV_OK;
    default:
        return TKV_OK;
    }
    /* LAB 2A STUB
    (void)r;
    (void)m;
    return tkv_not_implemented("step_leader");
    LAB 2A END */
}

/* A candidate: MsgPropose is refused with TKV_ERR_NOT_LEADER; MsgAppend,
 * MsgHeartbeat or MsgSnapshot from a leader of its term make it that
 * leader's follower, then are handled as a follower does;
 * MsgRequestVoteResponse records the vote: a quorum of yes makes it leader,
 * a quorum of no a follower. */
static tkv_err_t step_candidate(raft_t *r, const raft_message_t *m)
{
    /* LAB 2A BEGIN */
    switch (m->type) {
    case RAFT_MSG_PROPOSE:
        return tkv_errorf(TKV_ERR_NOT_LEADER, "node %llu is campaigning: no leader",
                          (unsigned long long)r->id);
    case RAFT_MSG_APPEND:
        raft_become_follower(r, m->term, m->from);
        handle_append(r, m);
        return TKV_OK;
    case RAFT_MSG_HEARTBEAT:
        raft_become_follower(r, m->term, m->from);
        handle_heartbeat(r, m);
        return TKV_OK;
    case RAFT_MSG_SNAPSHOT:
        raft_become_follower(r, m->term, m->from);
        raft_handle_snapshot(r, m);
        return TKV_OK;
    case RAFT_MSG_REQUEST_VOTE_RESPONSE: {
        raft_progress_t *pr = prs_find(&r->prs, m->from);
        if (pr != NULL && pr->vote == RAFT_VOTE_UNKNOWN)
            pr->vote = m->reject ? RAFT_VOTE_REJECTED : RAFT_VOTE_GRANTED;
        raft_vote_result_t res = prs_vote_result(&r->prs);
        if (res == RAFT_VOTE_WON)
            raft_become_leader(r);
        else if (res == RAFT_VOTE_LOST)
            raft_become_follower(r, r->term, RAFT_NONE);
        return TKV_OK;
    }
    default:
        return TKV_OK;
    }
    /* LAB 2A STUB
    (void)r;
    (void)m;
    return tkv_not_implemented("step_candidate");
    LAB 2A END */
}

/* A follower: MsgPropose is refused with TKV_ERR_NOT_LEADER (the caller
 * retries at the leader); MsgAppend, MsgHeartbeat and MsgSnapshot come from
 * the leader: note it, restart the election timer and handle the message
 * (a snapshot: 2C); MsgTransferLeader and MsgTimeoutNow are for leader
 * transfer (3A). */
static tkv_err_t step_follower(raft_t *r, const raft_message_t *m)
{
    /* LAB 2A BEGIN */
    switch (m->type) {
    case RAFT_MSG_PROPOSE:
        return tkv_errorf(TKV_ERR_NOT_LEADER, "node %llu is a follower (leader %llu)",
                          (unsigned long long)r->id, (unsigned long long)r->lead);
    case RAFT_MSG_APPEND:
        r->election_elapsed = 0;
        r->lead = m->from;
        handle_append(r, m);
        return TKV_OK;
    case RAFT_MSG_HEARTBEAT:
        r->election_elapsed = 0;
        r->lead = m->from;
        handle_heartbeat(r, m);
        return TKV_OK;
    case RAFT_MSG_SNAPSHOT:
        r->election_elapsed = 0;
        r->lead = m->from;
        raft_handle_snapshot(r, m);
        return TKV_OK;
    case RAFT_MSG_TRANSFER_LEADER:
    case RAFT_MSG_TIMEOUT_NOW:
        raft_handle_transfer_leader(r, m);
        return TKV_OK;
    default:
        return TKV_OK;
    }
    /* LAB 2A STUB
    (void)r;
    (void)m;
    return tkv_not_implemented("step_follower");
    LAB 2A END */
}

tkv_err_t raft_step(raft_t *r, const raft_message_t *m)
{
    /* The extensions (2X: raft_prevote.c, raft_read_index.c, raft_flow.c)
     * see every message first and return 1 when they took it whole, the
     * result in err. */
    tkv_err_t err = TKV_OK;
    if (raft_prevote_step(r, m, &err) || raft_read_index_step(r, m, &err) || raft_flow_step(r, m))
        return err;
    /* LAB 2A BEGIN */
    if (m->term > r->term) {
        /* §5.1: a newer term always wins. Only a leader's messages tell us
         * who leads in it. */
        int from_leader = m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT ||
                          m->type == RAFT_MSG_SNAPSHOT;
        raft_become_follower(r, m->term, from_leader ? m->from : RAFT_NONE);
    } else if (m->term != 0 && m->term < r->term) {
        /* From an older term: stale, ignored, except that a vote request or
         * a leader's message gets an answer carrying our term (paper figure
         * 2), from which the sender learns it is behind and steps down.
         * Ignored (as etcd does without check quorum), either can leave a
         * cluster stuck for ever once changes are applied late:
         *  - a candidate whose term lags the one voter it needs campaigns
         *    below that voter's term: in {A, B}, where A's stale log keeps A
         *    from winning, B needs A's vote and both terms only grow by
         *    campaigning;
         *  - a member that took a higher term from a removed node, and has
         *    not applied the change that added it back, does not campaign
         *    (it thinks itself outside) and ignores the leader's appends. */
        if (m->type == RAFT_MSG_REQUEST_VOTE)
            respond(r, m, RAFT_MSG_REQUEST_VOTE_RESPONSE, 1, 0);
        else if (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT)
            respond(r, m, RAFT_MSG_APPEND_RESPONSE, 0, 0);
        return TKV_OK;
    }
    switch (m->type) {
    case RAFT_MSG_HUP:
        if (r->role != RAFT_LEADER)
            raft_campaign(r, 0);
        return TKV_OK;
    case RAFT_MSG_REQUEST_VOTE:
        handle_vote(r, m);
        return TKV_OK;
    default:
        break;
    }
    /* LAB 2A STUB
    // First what every role does alike: a higher term makes this node a
    // follower in it, a lower one is ignored (§5.1); MsgHup starts an
    // election; MsgRequestVote is answered.
    LAB 2A END */
    switch (r->role) {
    case RAFT_LEADER:
        return step_leader(r, m);
    case RAFT_CANDIDATE:
        return step_candidate(r, m);
    case RAFT_FOLLOWER:
        return step_follower(r, m);
    case RAFT_PRE_CANDIDATE:
        return TKV_OK; /* raft_prevote_step() took what concerns it */
    }
    return TKV_OK;
}
