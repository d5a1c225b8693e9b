/*
 * Snapshots in the Raft core (2C): a leader whose log no longer holds the
 * entries a follower needs sends the state machine's image instead, and a
 * follower replaces its log with one it receives.
 *
 * The snapshot's bytes are opaque here: storage makes them (the leader asks
 * storage for its latest), the application applies them (it finds the
 * snapshot in a Ready). Raft only tracks the index, term and membership.
 */
#include "project2-raft/raft/raft_internal.h"

int raft_send_snapshot(raft_t *r, raft_progress_t *pr)
{
    /* LAB 2C BEGIN */
    raft_message_t m = { 0 };
    if (r->log.storage.ops->snapshot(r->log.storage.self, &m.snapshot) != TKV_OK)
        return 0; /* being made (or failed): the next heartbeat round retries */
    if (raft_snapshot_is_empty(&m.snapshot)) {
        raft_message_free(&m);
        return 0;
    }
    m.type = RAFT_MSG_SNAPSHOT;
    m.to = pr->id;
    /* Until the follower acknowledges, assume it will hold the snapshot. */
    pr->next = m.snapshot.metadata.index + 1;
    pr->replicating = 0;
    raft_send(r, &m);
    return 1;
    /* LAB 2C STUB
    (void)r;
    (void)pr;
    return 0;
    LAB 2C END */
}

/* LAB 2C BEGIN */
/* Replaces the log with `snap` unless it brings nothing new. Returns 1 if the
 * log was replaced. */
static int raft_restore(raft_t *r, const raft_snapshot_t *snap)
{
    uint64_t index = snap->metadata.index;
    if (index <= r->log.committed)
        return 0; /* stale: we already have (and agree on) all of it */
    if (rlog_match_term(&r->log, index, snap->metadata.term)) {
        /* We hold that entry already: just commit up to it. */
        rlog_commit_to(&r->log, index);
        return 0;
    }
    rlog_restore(&r->log, snap);
    const raft_conf_state_t *cs = &snap->metadata.conf_state;
    if (cs->n_nodes > 0)
        prs_set_conf(&r->prs, cs, index + 1);
    return 1;
}
/* LAB 2C END */

void raft_handle_snapshot(raft_t *r, const raft_message_t *m)
{
    /* LAB 2C BEGIN */
    raft_message_t resp = { 0 };
    resp.type = RAFT_MSG_APPEND_RESPONSE;
    resp.to = m->from;
    if (raft_restore(r, &m->snapshot))
        resp.index = rlog_last_index(&r->log);
    else
        resp.index = r->log.committed;
    raft_send(r, &resp);
    /* LAB 2C STUB
    (void)r;
    (void)m;
    LAB 2C END */
}
