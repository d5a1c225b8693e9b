/*
 * What the parts of the Raft core share among themselves and nobody else:
 * raft.c (elections and replication, 2A), raft_snapshot.c (2C),
 * raft_membership.c (leader transfer and conf changes, 3A) and the
 * extensions (2X): raft_prevote.c (pre-vote, check quorum) and
 * raft_read_index.c (ReadIndex, lease read) and raft_flow.c (flow control,
 * fast back-tracking).
 */
#ifndef TKV_RAFT_INTERNAL_H
#define TKV_RAFT_INTERNAL_H

#include "project2-raft/raft/raft.h"

/* Queues m for sending, filling in `from` and `term`. Takes ownership of
 * what m points to (its entries and snapshot). */
void raft_send(raft_t *r, raft_message_t *m);

/* ---- raft.c ---- */
/* Sends `to` the entries it lacks (or a snapshot, if they are compacted).
 * Returns 1 if a message was queued. */
int raft_send_append(raft_t *r, uint64_t to);
void raft_bcast_append(raft_t *r);
/* Starts an election now (a removed node does not, nor one with a committed
 * conf change it has not applied). */
void raft_campaign(raft_t *r, int transfer);
/* Recomputes the commit index from the members' match indexes. */
int raft_maybe_commit(raft_t *r);

/* ---- raft_snapshot.c ---- */
/* Sends pr a snapshot instead of entries it can no longer get. */
int raft_send_snapshot(raft_t *r, raft_progress_t *pr);
/* The follower side of MsgSnapshot. */
void raft_handle_snapshot(raft_t *r, const raft_message_t *m);

/* ---- raft_membership.c ---- */
/* The leader side of MsgTransferLeader. */
void raft_handle_transfer_leader(raft_t *r, const raft_message_t *m);
/* Called when a peer's match index advanced: hands leadership over if that
 * peer is the transferee and now up to date. */
void raft_maybe_finish_transfer(raft_t *r, uint64_t peer);
/* Vets entries a leader is about to append (indexes already assigned): a conf
 * change while another is pending becomes an empty normal entry. */
void raft_check_conf_proposals(raft_t *r, raft_entry_t *ents, size_t n);
/* True when a committed conf change is not applied yet: the node's idea of
 * the membership is stale, so it must not campaign. */
int raft_has_unapplied_conf_change(const raft_t *r);

/* ---- raft_prevote.c (2X) ---- */
/* Pre-vote and check quorum's part of raft_step(): returns 1 when it took m
 * whole (the step's result in *err), 0 to let the core go on with it. */
int raft_prevote_step(raft_t *r, const raft_message_t *m, tkv_err_t *err);
/* Check quorum's part of raft_tick(): returns 1 if the leader stepped down. */
int raft_check_quorum_tick(raft_t *r);

/* ---- raft_validate.c ---- */
/* Checks a peer's message against the invariants the core relies on (see
 * raft_validate.c): TKV_OK, or TKV_ERR_INVALID with a message naming it. */
tkv_err_t raft_validate_message(const raft_t *r, const raft_message_t *m);
/* raft_step() behind that check: a refused message is counted, logged and
 * dropped (r is untouched) and its error returned. rawnode_step() calls it. */
tkv_err_t raft_step_checked(raft_t *r, const raft_message_t *m);
/* Messages refused by raft_step_checked() in this process so far. */
uint64_t raft_invalid_messages(void);

/* ---- raft_read_index.c (2X) ---- */
/* ReadIndex's part of raft_step(), as raft_prevote_step(). */
int raft_read_index_step(raft_t *r, const raft_message_t *m, tkv_err_t *err);
/* Forgets the pending reads (frame code: raft_free() calls it). */
void raft_drop_reads(raft_t *r);

/* ---- raft_flow.c (2X) ---- */
/* True when nothing may be sent to pr now (probe unanswered, window full,
 * snapshot on its way). */
int raft_flow_paused(raft_t *r, raft_progress_t *pr);
/* raft_send() reports each message it queues. */
void raft_flow_sent(raft_t *r, const raft_message_t *m);
/* Flow control's part of raft_step() (answers free the window). */
int raft_flow_step(raft_t *r, const raft_message_t *m);
/* Fills a rejected append's (term, index) hint in resp. */
void raft_fill_reject_hint(raft_t *r, const raft_message_t *m, raft_message_t *resp);
/* The leader's next index after a rejection with a hint (given the core's). */
uint64_t raft_backtrack(raft_t *r, const raft_message_t *m, uint64_t next);

#endif
