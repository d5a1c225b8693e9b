/*
 * Two extensions of leader election (project2x), each behind a flag in
 * raft_config_t and off by default:
 *
 * Pre-vote (Ongaro's thesis §9.6). A node cut off from the cluster times out
 * again and again; in plain Raft each timeout raises its term, and when it
 * comes back its high term deposes a healthy leader. With pre-vote, a node
 * whose timer fires first asks "would you vote for me at term+1?" without
 * changing its own term (MsgPreVote); only with a quorum of yeses does it
 * campaign for real. Peers answer as they would a vote but record nothing,
 * so a node that cannot win never raises its term.
 *
 * Check quorum and leader stickiness (thesis §4.2.3, §6.2). A leader that has
 * not heard from a quorum for an election timeout steps down: it may be
 * partitioned away, and clients should look elsewhere. And a follower that
 * heard from a leader within the last election timeout ignores vote
 * requests of higher terms (the leader's "lease"), unless they come from a
 * leader transfer. The lease is what makes lease reads possible
 * (raft_read_index.c).
 *
 * Both reach into raft_step() through raft_prevote_step(), called before the
 * core's own handling, and into raft_tick() through raft_check_quorum_tick().
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "project2-raft/raft/raft_internal.h"

/* LAB 2X BEGIN */
static int is_transfer(const raft_message_t *m)
{
    size_t n = strlen(RAFT_CONTEXT_TRANSFER);
    return m->context_len == n && memcmp(m->context, RAFT_CONTEXT_TRANSFER, n) == 0;
}

/* A vote request of a higher term while we believe a leader is alive: the
 * leader's lease holds it off (we do not even adopt its term). */
static int held_off_by_lease(const raft_t *r, const raft_message_t *m)
{
    if (!r->check_quorum || m->term <= r->term)
        return 0;
    if (m->type != RAFT_MSG_REQUEST_VOTE && m->type != RAFT_MSG_PRE_VOTE)
        return 0;
    return !is_transfer(m) && r->lead != RAFT_NONE && r->election_elapsed < r->election_tick;
}

static void send_pre_vote_response(raft_t *r, const raft_message_t *m, int grant)
{
    raft_message_t resp = { 0 };
    resp.type = RAFT_MSG_PRE_VOTE_RESPONSE;
    resp.to = m->from;
    resp.reject = !grant;
    /* A grant speaks in the term asked about, or the pre-candidate would
     * take it as stale; a refusal tells our own term. */
    resp.term = grant ? m->term : r->term;
    raft_send(r, &resp);
}

static void handle_pre_vote(raft_t *r, const raft_message_t *m)
{
    /* As a vote (§5.2, §5.4.1), except that a higher term is always free:
     * nothing is recorded, so one node may say yes to several. */
    int free_to_vote =
        m->term > r->term || r->vote == m->from || (r->vote == RAFT_NONE && r->lead == RAFT_NONE);
    send_pre_vote_response(r, m,
                           free_to_vote && rlog_is_up_to_date(&r->log, m->index, m->log_term));
}

static void become_pre_candidate(raft_t *r)
{
    /* Term and vote stay: a pre-campaign promises nothing. */
    r->role = RAFT_PRE_CANDIDATE;
    r->lead = RAFT_NONE;
    for (size_t i = 0; i < r->prs.n; i++)
        r->prs.items[i].vote = r->prs.items[i].id == r->id ? RAFT_VOTE_GRANTED : RAFT_VOTE_UNKNOWN;
    tkv_logf(TKV_LOG_DEBUG, "raft", "node %llu: pre-candidate for term %llu",
             (unsigned long long)r->id, (unsigned long long)r->term + 1);
}

/* Counts pre-votes; a quorum of yeses starts the real election. */
static void tally_pre_votes(raft_t *r)
{
    raft_vote_result_t res = prs_vote_result(&r->prs);
    if (res == RAFT_VOTE_WON)
        raft_campaign(r, 0);
    else if (res == RAFT_VOTE_LOST)
        raft_become_follower(r, r->term, RAFT_NONE);
}

static void pre_campaign(raft_t *r)
{
    /* The same refusals as raft_campaign(): not a member, or a membership
     * about to change. */
    if (!prs_is_voter(&r->prs, r->id) || raft_has_unapplied_conf_change(r))
        return;
    become_pre_candidate(r);
    for (size_t i = 0; i < r->prs.n; i++) {
        if (r->prs.items[i].id == r->id)
            continue;
        raft_message_t m = { 0 };
        m.type = RAFT_MSG_PRE_VOTE;
        m.to = r->prs.items[i].id;
        m.term = r->term + 1;
        m.index = rlog_last_index(&r->log);
        m.log_term = rlog_last_term(&r->log);
        raft_send(r, &m);
    }
    tally_pre_votes(r); /* a cluster of one wins at once */
}

static int step_stale(raft_t *r, const raft_message_t *m)
{
    if ((r->check_quorum || r->pre_vote) &&
        (m->type == RAFT_MSG_APPEND || m->type == RAFT_MSG_HEARTBEAT)) {
        /* An old leader. Plain Raft ignores it, but here a node whose term
         * ran ahead (it campaigned while cut off) may never win (its log is
         * behind, and pre-vote or the lease hold it back), while the old
         * leader never learns of the newer term: both stuck. Tell it. */
        raft_message_t resp = { 0 };
        resp.type = RAFT_MSG_APPEND_RESPONSE;
        resp.to = m->from;
        raft_send(r, &resp);
        return 1;
    }
    if (m->type == RAFT_MSG_PRE_VOTE) {
        send_pre_vote_response(r, m, 0);
        return 1;
    }
    return 0; /* the core ignores the rest */
}
/* LAB 2X END */

int raft_prevote_step(raft_t *r, const raft_message_t *m, tkv_err_t *err)
{
    *err = TKV_OK;
    /* LAB 2X BEGIN */
    if (held_off_by_lease(r, m))
        return 1;
    if (m->term != 0 && m->term < r->term)
        return step_stale(r, m);
    switch (m->type) {
    case RAFT_MSG_HUP:
        if (!r->pre_vote || r->role == RAFT_LEADER)
            return 0;
        pre_campaign(r);
        return 1;
    case RAFT_MSG_PRE_VOTE:
        handle_pre_vote(r, m); /* never adopts the higher term */
        return 1;
    case RAFT_MSG_PRE_VOTE_RESPONSE: {
        if (m->reject && m->term > r->term)
            return 0; /* someone is ahead: the core adopts its term */
        raft_progress_t *pr = prs_find(&r->prs, m->from);
        int current = m->reject ? m->term == r->term : m->term == r->term + 1;
        if (r->role == RAFT_PRE_CANDIDATE && current && pr != NULL &&
            pr->vote == RAFT_VOTE_UNKNOWN) {
            pr->vote = m->reject ? RAFT_VOTE_REJECTED : RAFT_VOTE_GRANTED;
            tally_pre_votes(r);
        }
        return 1;
    }
    case RAFT_MSG_REQUEST_VOTE_RESPONSE:
        /* A late answer to an old real campaign is no pre-vote. */
        return r->role == RAFT_PRE_CANDIDATE && m->term == r->term;
    case RAFT_MSG_APPEND_RESPONSE:
    case RAFT_MSG_HEARTBEAT_RESPONSE:
        if (r->role == RAFT_LEADER && m->term == r->term) {
            raft_progress_t *pr = prs_find(&r->prs, m->from);
            if (pr != NULL)
                pr->recent_active = 1;
        }
        return 0;
    case RAFT_MSG_PROPOSE:
        if (r->role != RAFT_PRE_CANDIDATE)
            return 0;
        *err = tkv_errorf(TKV_ERR_NOT_LEADER, "node %llu is pre-campaigning: no leader",
                          (unsigned long long)r->id);
        return 1;
    case RAFT_MSG_APPEND:
    case RAFT_MSG_HEARTBEAT:
    case RAFT_MSG_SNAPSHOT:
        /* A leader of our term exists: stop asking, and let the core handle
         * the message as a follower. */
        if (r->role == RAFT_PRE_CANDIDATE && m->term == r->term)
            raft_become_follower(r, r->term, m->from);
        return 0;
    default:
        return 0;
    }
    /* LAB 2X STUB
    (void)r;
    (void)m;
    return 0;
    LAB 2X END */
}

int raft_check_quorum_tick(raft_t *r)
{
    /* LAB 2X BEGIN */
    if (!r->check_quorum || r->role != RAFT_LEADER) {
        r->quorum_elapsed = 0;
        return 0;
    }
    if (r->quorum_term != r->term) {
        /* A new leadership: what peers said to an older one counts not. */
        r->quorum_term = r->term;
        r->quorum_elapsed = 0;
        for (size_t i = 0; i < r->prs.n; i++)
            r->prs.items[i].recent_active = 0;
    }
    if (++r->quorum_elapsed < r->election_tick)
        return 0;
    r->quorum_elapsed = 0;
    size_t active = 0;
    uint64_t *vals = xmalloc(r->prs.n * sizeof(uint64_t));
    for (size_t i = 0; i < r->prs.n; i++) {
        raft_progress_t *pr = &r->prs.items[i];
        vals[i] = pr->id == r->id || pr->recent_active;
        active += vals[i];
        pr->recent_active = 0;
    }
    uint64_t quorum_active = prs_quorum_value(&r->prs, vals);
    free(vals);
    if (quorum_active >= 1)
        return 0;
    tkv_logf(TKV_LOG_INFO, "raft",
             "node %llu: heard from %zu of %zu in an election timeout: "
             "stepping down",
             (unsigned long long)r->id, active, r->prs.n);
    raft_become_follower(r, r->term, RAFT_NONE);
    return 1;
    /* LAB 2X STUB
    (void)r;
    return 0;
    LAB 2X END */
}
