/*
 * Joint consensus and learners (project3x; Raft thesis §4.3, etcd's
 * ConfChangeV2), beside 3A's one-node-at-a-time changes.
 *
 * A ConfChangeV2 entry names several changes (add a voter, add a learner,
 * remove a node). Changing one voter at a time is safe as it is (3A); more
 * at once could let an old majority and a new one decide apart. So the
 * cluster first enters a joint configuration: the new voters ("incoming")
 * and the old ones ("outgoing") both count, and every decision (a commit, an
 * election) needs a majority of each half (progress.c does the sums). A
 * second entry, a ConfChangeV2 with no changes, leaves it: from then on only
 * the incoming voters count. With the AUTO and JOINT_IMPLICIT transitions
 * the leader proposes that entry itself once it has applied the first.
 *
 * Learners receive the log like anyone but never vote and never count in a
 * quorum; adding a learner as a voter promotes it, which is how a new node
 * catches up before it can slow down commits. A change that would leave no
 * voter at all, or demote a voter straight to learner, is refused.
 *
 * Like 3A's changes these take effect when the application applies the
 * entry (rawnode_apply_conf_change_v2()).
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "project2-raft/raft/raft_internal.h"
#include "project2-raft/raft/raft_pb.h"

/* LAB 3X BEGIN */
typedef struct {
    uint64_t id;
    int voter, voter_out, learner;
} member_t;

typedef struct {
    member_t *m; /* owned */
    size_t n;
    int joint, auto_leave;
} plan_t;

static member_t *plan_find(plan_t *p, uint64_t id)
{
    for (size_t i = 0; i < p->n; i++) {
        if (p->m[i].id == id)
            return &p->m[i];
    }
    p->m[p->n].id = id;
    p->m[p->n].voter = p->m[p->n].voter_out = p->m[p->n].learner = 0;
    return &p->m[p->n++];
}

/* The configuration cc would lead to, from r's; an error (and *p freed)
 * when cc is not allowed. */
static tkv_err_t plan_change(const raft_t *r, const raft_conf_change_v2_t *cc, plan_t *p)
{
    memset(p, 0, sizeof(*p));
    p->m = xmalloc((r->prs.n + cc->n_changes + 1) * sizeof(member_t));
    for (size_t i = 0; i < r->prs.n; i++) {
        const raft_progress_t *pr = &r->prs.items[i];
        member_t mm = { pr->id, pr->voter, pr->voter_out, pr->learner };
        p->m[p->n++] = mm;
    }
    int joint = prs_is_joint(&r->prs);
    tkv_err_t err = TKV_OK;
    if (cc->n_changes == 0) {
        if (!joint) {
            err = tkv_errorf(TKV_ERR_INVALID, "leaving a joint configuration, but not in one");
            goto fail;
        }
        for (size_t i = 0; i < p->n; i++)
            p->m[i].voter_out = 0;
        return TKV_OK;
    }
    if (joint) {
        err = tkv_errorf(TKV_ERR_INVALID, "a conf change while joint: leave the joint "
                                          "configuration first");
        goto fail;
    }
    for (size_t i = 0; i < cc->n_changes; i++) {
        const raft_conf_change_single_t *c = &cc->changes[i];
        if (c->node_id == RAFT_NONE) {
            err = tkv_errorf(TKV_ERR_INVALID, "conf change %zu names node 0", i);
            goto fail;
        }
        member_t *mm = plan_find(p, c->node_id);
        switch (c->type) {
        case RAFT_CONF_ADD_NODE:
            mm->voter = 1;
            mm->learner = 0; /* a learner is promoted */
            break;
        case RAFT_CONF_ADD_LEARNER_NODE:
            if (mm->voter) {
                err = tkv_errorf(TKV_ERR_INVALID,
                                 "node %llu votes: remove it before adding it "
                                 "back as a learner",
                                 (unsigned long long)c->node_id);
                goto fail;
            }
            mm->learner = 1;
            break;
        case RAFT_CONF_REMOVE_NODE:
            mm->voter = mm->learner = 0;
            break;
        default:
            err = tkv_errorf(TKV_ERR_INVALID, "conf change of unknown type %d", (int)c->type);
            goto fail;
        }
    }
    size_t voters = 0, changed = 0;
    for (size_t i = 0; i < p->n; i++) {
        const raft_progress_t *old = prs_find((raft_progress_set_t *)&r->prs, p->m[i].id);
        int was = old != NULL && old->voter;
        voters += p->m[i].voter;
        changed += was != p->m[i].voter;
    }
    if (voters == 0) {
        err = tkv_errorf(TKV_ERR_INVALID, "the conf change would leave no voter");
        goto fail;
    }
    p->joint = cc->transition != RAFT_TRANSITION_AUTO || changed > 1;
    p->auto_leave = p->joint && cc->transition != RAFT_TRANSITION_JOINT_EXPLICIT;
    if (p->joint) {
        for (size_t i = 0; i < p->n; i++) {
            const raft_progress_t *old = prs_find((raft_progress_set_t *)&r->prs, p->m[i].id);
            p->m[i].voter_out = old != NULL && old->voter;
        }
    }
    return TKV_OK;
fail:
    free(p->m);
    p->m = NULL;
    return err;
}
/* LAB 3X END */

tkv_err_t raft_check_conf_change_v2(const raft_t *r, const raft_conf_change_v2_t *cc)
{
    /* LAB 3X BEGIN */
    plan_t p;
    tkv_err_t err = plan_change(r, cc, &p);
    if (err == TKV_OK)
        free(p.m);
    return err;
    /* LAB 3X STUB
    (void)r;
    (void)cc;
    return tkv_not_implemented("raft_check_conf_change_v2");
    LAB 3X END */
}

tkv_err_t raft_apply_conf_change_v2(raft_t *r, const raft_conf_change_v2_t *cc)
{
    /* LAB 3X BEGIN */
    plan_t p;
    tkv_err_t err = plan_change(r, cc, &p);
    if (err != TKV_OK)
        return err;
    uint64_t next = rlog_last_index(&r->log) + 1;
    for (size_t i = 0; i < p.n; i++) {
        const member_t *mm = &p.m[i];
        if (!mm->voter && !mm->voter_out && !mm->learner) {
            prs_remove(&r->prs, mm->id);
            if (r->lead_transferee == mm->id)
                r->lead_transferee = RAFT_NONE;
            continue;
        }
        raft_progress_t *pr = prs_add(&r->prs, mm->id, 0, next);
        pr->voter = mm->voter;
        pr->voter_out = mm->voter_out;
        pr->learner = mm->learner;
    }
    /* In the progress set, so it is in every conf state handed out (and
     * persisted) and comes back with a restart or a snapshot. */
    r->prs.auto_leave = cc->n_changes > 0 ? p.auto_leave : 0;
    free(p.m);
    tkv_logf(TKV_LOG_INFO, "raft", "node %llu: conf change applied (%s)", (unsigned long long)r->id,
             prs_is_joint(&r->prs) ? "joint" : "simple");
    if (r->role != RAFT_LEADER)
        return TKV_OK;
    if (!prs_is_voter(&r->prs, r->id)) {
        raft_become_follower(r, r->term, RAFT_NONE); /* no longer ours to lead */
        return TKV_OK;
    }
    /* Either half may now be satisfied by what is already replicated. */
    if (raft_maybe_commit(r))
        raft_bcast_append(r);
    return TKV_OK;
    /* LAB 3X STUB
    (void)r;
    (void)cc;
    return tkv_not_implemented("raft_apply_conf_change_v2");
    LAB 3X END */
}

void raft_maybe_auto_leave(raft_t *r)
{
    /* LAB 3X BEGIN */
    if (r->role != RAFT_LEADER || !r->prs.auto_leave || !prs_is_joint(&r->prs) ||
        r->pending_conf_index > r->log.applied)
        return;
    raft_conf_change_v2_t leave = { RAFT_TRANSITION_AUTO, NULL, 0, NULL, 0 };
    raft_entry_t e = { RAFT_ENTRY_CONF_CHANGE_V2, 0, 0, NULL, 0 };
    if (raft_pb_encode_conf_change_v2(&leave, &e.data, &e.len) != TKV_OK)
        return;
    raft_message_t m = { 0 };
    m.type = RAFT_MSG_PROPOSE;
    m.from = r->id;
    m.entries = &e;
    m.n_entries = 1;
    if (raft_step(r, &m) == TKV_OK)
        tkv_logf(TKV_LOG_INFO, "raft", "node %llu: leaving the joint configuration",
                 (unsigned long long)r->id);
    free(e.data);
    /* LAB 3X STUB
    (void)r;
    LAB 3X END */
}
