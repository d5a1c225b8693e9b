/*
 * Flow control and fast log back-tracking (project2x), as in etcd's
 * tracker, each behind a flag in raft_config_t and off by default.
 *
 * Flow control (flow_control). A leader's progress for a peer is in one of
 * three states:
 *   probe      we do not know where its log matches ours (`replicating` 0):
 *              send one MsgAppend, then pause until it answers (an append or
 *              heartbeat response), rather than resending on every proposal;
 *   replicate  it acknowledged (`replicating` 1): stream optimistically, but
 *              keep at most max_inflight_msgs appends unacknowledged (the
 *              window; each ack frees the appends up to the index it names,
 *              and a heartbeat response frees one, lest a lost append close
 *              the window for good);
 *   snapshot   a snapshot is on its way (`pending_snapshot`): send nothing,
 *              no appends and no second snapshot, until the peer answers
 *              with an index at or past it. If nothing comes within two
 *              election timeouts the snapshot counts as lost and the peer is
 *              probed again.
 * The core asks raft_flow_paused() before each append it would send;
 * raft_send() reports what went out (raft_flow_sent()); raft_flow_step()
 * sees the answers before the core does.
 *
 * Fast back-tracking (fast_backtrack). A follower that rejects an append at
 * (index, log_term) answers with a hint: the last index at or below it whose
 * term is at most log_term, and that term. The leader then jumps to the last
 * index of its own log whose term is at most the hint's term: a whole
 * divergent term is skipped per round trip, not one entry (etcd's
 * TestFastLogRejection).
 */
#include <stdlib.h>

#include "common/buf.h"
#include "project2-raft/raft/raft_internal.h"

/* LAB 2X BEGIN */
/* Progress bookkeeping belongs to one leadership: start afresh otherwise. */
static void check_flow_term(raft_t *r)
{
    if (r->flow_term == r->term)
        return;
    r->flow_term = r->term;
    for (size_t i = 0; i < r->prs.n; i++) {
        raft_progress_t *pr = &r->prs.items[i];
        pr->probe_sent = 0;
        pr->n_inflight = 0;
        pr->pending_snapshot = 0;
        pr->held_back = 0;
    }
}

static void inflight_free_to(raft_progress_t *pr, uint64_t index)
{
    size_t k = 0;
    while (k < pr->n_inflight && pr->inflight[(pr->inflight_head + k) % pr->cap_inflight] <= index)
        k++;
    pr->inflight_head = pr->cap_inflight ? (pr->inflight_head + k) % pr->cap_inflight : 0;
    pr->n_inflight -= k;
}

static void inflight_add(raft_t *r, raft_progress_t *pr, uint64_t last)
{
    if (pr->cap_inflight != r->max_inflight_msgs) {
        free(pr->inflight);
        pr->cap_inflight = r->max_inflight_msgs;
        pr->inflight = xmalloc(pr->cap_inflight * sizeof(uint64_t));
        pr->n_inflight = pr->inflight_head = 0;
    }
    if (pr->n_inflight == pr->cap_inflight)
        return; /* cannot happen: paused first */
    pr->inflight[(pr->inflight_head + pr->n_inflight) % pr->cap_inflight] = last;
    pr->n_inflight++;
}
/* LAB 2X END */

int raft_flow_paused(raft_t *r, raft_progress_t *pr)
{
    /* LAB 2X BEGIN */
    if (!r->flow_control || r->role != RAFT_LEADER)
        return 0;
    check_flow_term(r);
    if (pr->pending_snapshot != 0) {
        if (r->ticks - pr->snapshot_tick < 2 * (uint64_t)r->election_tick)
            return pr->held_back = 1;
        pr->pending_snapshot = 0; /* lost: probe again */
        pr->replicating = 0;
        pr->probe_sent = 0;
    }
    int paused = pr->replicating ? pr->n_inflight >= r->max_inflight_msgs : pr->probe_sent;
    if (paused)
        pr->held_back = 1;
    return paused;
    /* LAB 2X STUB
    (void)r;
    (void)pr;
    return 0;
    LAB 2X END */
}

void raft_flow_sent(raft_t *r, const raft_message_t *m)
{
    /* LAB 2X BEGIN */
    if (!r->flow_control || r->role != RAFT_LEADER)
        return;
    if (m->type != RAFT_MSG_APPEND && m->type != RAFT_MSG_SNAPSHOT)
        return;
    raft_progress_t *pr = prs_find(&r->prs, m->to);
    if (pr == NULL)
        return;
    check_flow_term(r);
    if (m->type == RAFT_MSG_SNAPSHOT) {
        pr->pending_snapshot = m->snapshot.metadata.index;
        pr->snapshot_tick = r->ticks;
        pr->n_inflight = 0;
    } else if (!pr->replicating) {
        pr->probe_sent = 1;
    } else if (m->n_entries > 0) {
        inflight_add(r, pr, m->entries[m->n_entries - 1].index);
    }
    /* LAB 2X STUB
    (void)r;
    (void)m;
    LAB 2X END */
}

int raft_flow_step(raft_t *r, const raft_message_t *m)
{
    /* LAB 2X BEGIN */
    if (!r->flow_control || r->role != RAFT_LEADER || m->term != r->term)
        return 0;
    if (m->type != RAFT_MSG_APPEND_RESPONSE && m->type != RAFT_MSG_HEARTBEAT_RESPONSE)
        return 0;
    raft_progress_t *pr = prs_find(&r->prs, m->from);
    if (pr == NULL)
        return 0;
    check_flow_term(r);
    pr->probe_sent = 0; /* it is alive: one more probe may go */
    if (m->type == RAFT_MSG_HEARTBEAT_RESPONSE) {
        if (pr->replicating && pr->n_inflight >= r->max_inflight_msgs)
            inflight_free_to(pr, pr->inflight[pr->inflight_head]);
        return 0;
    }
    if (pr->pending_snapshot != 0 && !m->reject && m->index >= pr->pending_snapshot)
        pr->pending_snapshot = 0; /* installed: the core resumes appends */
    if (m->reject) {
        pr->n_inflight = 0; /* back to probing */
        return 0;
    }
    inflight_free_to(pr, m->index);
    uint64_t term = 0;
    /* Where the core will resume; past our last entry it sends nothing. */
    uint64_t next = m->index + 1;
    if (pr->replicating && pr->next > next)
        next = pr->next;
    if (pr->held_back && next > rlog_last_index(&r->log) &&
        rlog_term(&r->log, m->index, &term) == TKV_OK) {
        /* Something was held back while it was paused, the new commit index
         * perhaps, and the core has no entry left to carry it. The peer
         * holds our log up to m->index, so an empty append there is safe. */
        pr->held_back = 0;
        raft_message_t app = { 0 };
        app.type = RAFT_MSG_APPEND;
        app.to = m->from;
        app.index = m->index;
        app.log_term = term;
        app.commit = r->log.committed;
        raft_send(r, &app);
    }
    return 0; /* the core goes on as usual */
    /* LAB 2X STUB
    (void)r;
    (void)m;
    return 0;
    LAB 2X END */
}

void raft_fill_reject_hint(raft_t *r, const raft_message_t *m, raft_message_t *resp)
{
    /* LAB 2X BEGIN */
    if (!r->fast_backtrack)
        return;
    uint64_t last = rlog_last_index(&r->log);
    uint64_t i = m->index < last ? m->index : last;
    uint64_t t = 0;
    /* Walk back over entries of terms above the leader's: none of them can
     * match. Stops at compacted entries (term unknown: 0, no hint). */
    while (i > 0 && rlog_term(&r->log, i, &t) == TKV_OK && t > m->log_term)
        i--;
    if (rlog_term(&r->log, i, &t) != TKV_OK)
        t = 0;
    resp->reject_hint = i;
    resp->log_term = t;
    /* LAB 2X STUB
    (void)r;
    (void)m;
    (void)resp;
    LAB 2X END */
}

uint64_t raft_backtrack(raft_t *r, const raft_message_t *m, uint64_t next)
{
    /* LAB 2X BEGIN */
    if (!r->fast_backtrack || m->log_term == 0)
        return next;
    uint64_t i = m->reject_hint;
    uint64_t t = 0;
    /* Our entries after the last one of a term <= the hint's cannot match. */
    while (i > 0 && rlog_term(&r->log, i, &t) == TKV_OK && t > m->log_term)
        i--;
    return i + 1 < next ? i + 1 : next;
    /* LAB 2X STUB
    (void)r;
    (void)m;
    return next;
    LAB 2X END */
}
