/*
 * Leader transfer and single-step membership change in the Raft core (3A).
 *
 * Transfer: the leader brings the transferee's log up to date, then sends it
 * MsgTimeoutNow, on which the transferee campaigns at once (a term higher,
 * with a log as good as anyone's, so it wins). Meanwhile the leader refuses
 * proposals, so the transferee cannot fall behind again; if nothing happens
 * within an election timeout, the transfer is dropped (raft_tick).
 *
 * Membership: one node added or removed per conf change entry, taking effect
 * when the application applies the entry (raft_add_node/raft_remove_node).
 * Changing one node at a time keeps every old majority and new majority
 * overlapping, so no joint consensus is needed (Raft thesis §4.1). A leader
 * accepts a new conf change only once the previous one is applied.
 *
 * Because a change takes effect when applied, a node that knows a change is
 * committed but has not applied it yet still counts votes with the old
 * membership. Were it to campaign then, it could win with a quorum of the
 * old configuration that no longer overlaps the new one, and commit a second
 * entry at an index the new quorum already filled. So such a node does not
 * campaign (etcd's hasUnappliedConfChanges): it applies first.
 */
#include "project2-raft/raft/raft_internal.h"

/* LAB 3A BEGIN */
static void send_timeout_now(raft_t *r, uint64_t to)
{
    raft_message_t m = { 0 };
    m.type = RAFT_MSG_TIMEOUT_NOW;
    m.to = to;
    raft_send(r, &m);
}
/* LAB 3A END */

void raft_handle_transfer_leader(raft_t *r, const raft_message_t *m)
{
    /* LAB 3A BEGIN */
    if (m->type == RAFT_MSG_TIMEOUT_NOW) {
        if (r->role == RAFT_FOLLOWER)
            raft_campaign(r, 1); /* a removed node does not campaign */
        return;
    }
    if (r->role != RAFT_LEADER) {
        if (r->lead != RAFT_NONE) {
            raft_message_t fwd = { 0 };
            fwd.type = RAFT_MSG_TRANSFER_LEADER;
            fwd.to = r->lead;
            fwd.from = m->from;
            raft_send(r, &fwd);
        }
        return;
    }
    uint64_t transferee = m->from;
    raft_progress_t *pr = prs_find(&r->prs, transferee);
    if (transferee == r->id) {
        /* Asking for the leader itself calls a pending transfer back: the
         * leader takes proposals again (etcd, TinyKV's TestLeaderTransferBack). */
        r->lead_transferee = RAFT_NONE;
        return;
    }
    if (pr == NULL || pr->learner || transferee == r->lead_transferee)
        return; /* not a voter, or already on its way */
    r->lead_transferee = transferee;
    r->election_elapsed = 0; /* the transfer gets one election timeout */
    if (pr->match == rlog_last_index(&r->log))
        send_timeout_now(r, transferee);
    else
        raft_send_append(r, transferee);
    /* LAB 3A STUB
    (void)r;
    (void)m;
    LAB 3A END */
}

void raft_maybe_finish_transfer(raft_t *r, uint64_t peer)
{
    /* LAB 3A BEGIN */
    raft_progress_t *pr = prs_find(&r->prs, peer);
    if (r->lead_transferee == peer && pr != NULL && pr->match == rlog_last_index(&r->log))
        send_timeout_now(r, peer);
    /* LAB 3A STUB
    (void)r;
    (void)peer;
    LAB 3A END */
}

void raft_check_conf_proposals(raft_t *r, raft_entry_t *ents, size_t n)
{
    /* LAB 3A BEGIN */
    for (size_t i = 0; i < n; i++) {
        if (ents[i].type != RAFT_ENTRY_CONF_CHANGE && ents[i].type != RAFT_ENTRY_CONF_CHANGE_V2)
            continue;
        if (r->pending_conf_index > r->log.applied) {
            /* Keep the slot (the proposer learns nothing was changed when
             * it applies an empty entry) but drop the change. */
            raft_entry_free(&ents[i]);
            ents[i].type = RAFT_ENTRY_NORMAL;
        } else {
            r->pending_conf_index = ents[i].index;
        }
    }
    /* LAB 3A STUB
    (void)r;
    (void)ents;
    (void)n;
    LAB 3A END */
}

int raft_has_unapplied_conf_change(const raft_t *r)
{
    /* LAB 3A BEGIN */
    uint64_t lo = r->log.applied + 1, hi = r->log.committed + 1;
    if (lo < rlog_first_index(&r->log))
        lo = rlog_first_index(&r->log); /* a pending snapshot covers the rest */
    if (lo >= hi)
        return 0;
    raft_entry_t *ents = NULL;
    size_t n = 0;
    /* Storage that cannot be read is no proof of safety: refuse. */
    if (rlog_slice(&r->log, lo, hi, UINT64_MAX, &ents, &n) != TKV_OK)
        return 1;
    int found = 0;
    for (size_t i = 0; i < n && !found; i++)
        found = ents[i].type == RAFT_ENTRY_CONF_CHANGE || ents[i].type == RAFT_ENTRY_CONF_CHANGE_V2;
    raft_entries_free(ents, n);
    return found;
    /* LAB 3A STUB
    (void)r;
    return 0;
    LAB 3A END */
}

void raft_add_node(raft_t *r, uint64_t id)
{
    /* LAB 3A BEGIN */
    prs_add(&r->prs, id, 0, rlog_last_index(&r->log) + 1);
    /* LAB 3A STUB
    (void)r;
    (void)id;
    LAB 3A END */
}

void raft_remove_node(raft_t *r, uint64_t id)
{
    /* LAB 3A BEGIN */
    if (!prs_remove(&r->prs, id))
        return;
    if (r->lead_transferee == id)
        r->lead_transferee = RAFT_NONE;
    if (r->role != RAFT_LEADER)
        return;
    if (id == r->id) {
        raft_become_follower(r, r->term, RAFT_NONE);
        return;
    }
    /* A smaller quorum may already hold entries the old one did not. */
    if (raft_maybe_commit(r))
        raft_bcast_append(r);
    /* LAB 3A STUB
    (void)r;
    (void)id;
    LAB 3A END */
}
