/*
 * ReadIndex and lease read (project2x; Raft thesis §6.4): linearizable reads
 * without writing a log entry.
 *
 * ReadIndex. The leader notes its commit index C when a read comes in, then
 * makes sure it is still the leader: it sends a round of heartbeats naming
 * the read, and once a quorum (itself included) has answered, no other
 * leader can have committed anything it does not have. The read is then
 * handed back (a raft_read_state_t in the next Ready) and the application
 * serves it once it has applied C. A follower forwards the read to its
 * leader and gets the index back in MsgReadIndexResponse. A leader that has
 * not committed an entry of its own term yet does not know the latest
 * commit index (§5.4.2), so it refuses (TKV_ERR_BUSY: retry).
 *
 * Heartbeats here carry a context of 9 bytes: a kind ('r' a read round, 'l'
 * a lease beat) and a 64-bit number, big-endian. Followers echo it
 * (raft.c's handle_heartbeat). A peer's ack of round s confirms every read
 * of rounds up to s: they all came in before it.
 *
 * Lease read (read_lease, on top of check quorum). With check quorum a
 * follower that heard from the leader ignores other candidates for an
 * election timeout (raft_prevote.c). So when a quorum acknowledged a
 * heartbeat the leader sent at tick t, nobody else can be elected before
 * tick t + election_tick, as long as every clock ticks at the same rate: the
 * leader answers reads at once until then, with no round. Leader heartbeats
 * carry their tick for that ('l'). The lease is off for the rest of a term
 * once a leader transfer begins: the transferee's campaign ignores leases.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "project2-raft/raft/raft_internal.h"

void raft_drop_reads(raft_t *r)
{
    for (size_t i = 0; i < r->n_reads; i++)
        free(r->reads[i].ctx);
    r->n_reads = 0;
}

/* LAB 2X BEGIN */
#define CTX_LEN 9

static void encode_ctx(uint8_t out[CTX_LEN], uint8_t kind, uint64_t v)
{
    out[0] = kind;
    for (int i = 0; i < 8; i++)
        out[1 + i] = (uint8_t)(v >> (56 - 8 * i));
}

static int decode_ctx(const raft_message_t *m, uint8_t kind, uint64_t *v)
{
    if (m->context_len != CTX_LEN || m->context[0] != kind)
        return 0;
    *v = 0;
    for (int i = 0; i < 8; i++)
        *v = (*v << 8) | m->context[1 + i];
    return 1;
}

static void push_read_state(raft_t *r, uint64_t index, const uint8_t *ctx, size_t len)
{
    if (r->n_read_states == r->cap_read_states) {
        r->cap_read_states = r->cap_read_states ? r->cap_read_states * 2 : 8;
        r->read_states = xrealloc(r->read_states, r->cap_read_states * sizeof(raft_read_state_t));
    }
    raft_read_state_t *rs = &r->read_states[r->n_read_states++];
    rs->index = index;
    rs->ctx_len = len;
    rs->ctx = len ? bytes_dup(ctx, len) : NULL;
}

/* The read may go once `index` is applied: tell whoever asked. */
static void answer(raft_t *r, uint64_t from, uint64_t index, const uint8_t *ctx, size_t len)
{
    if (from == r->id) {
        push_read_state(r, index, ctx, len);
        return;
    }
    raft_message_t m = { 0 };
    m.type = RAFT_MSG_READ_INDEX_RESPONSE;
    m.to = from;
    m.index = index;
    raft_message_set_context(&m, ctx, len);
    raft_send(r, &m);
}

static void bcast_heartbeat(raft_t *r, uint8_t kind, uint64_t v)
{
    uint8_t ctx[CTX_LEN];
    encode_ctx(ctx, kind, v);
    for (size_t i = 0; i < r->prs.n; i++) {
        raft_progress_t *pr = &r->prs.items[i];
        if (pr->id == r->id)
            continue;
        raft_message_t hb = { 0 };
        hb.type = RAFT_MSG_HEARTBEAT;
        hb.to = pr->id;
        hb.commit = pr->match < r->log.committed ? pr->match : r->log.committed;
        raft_message_set_context(&hb, ctx, CTX_LEN);
        raft_send(r, &hb);
    }
}

static int lease_valid(raft_t *r)
{
    if (!r->read_lease || r->lease_off_term == r->term)
        return 0;
    /* lease_tick is the acked heartbeat's send tick + 1 (0: none). */
    uint64_t *at = xmalloc(r->prs.n * sizeof(uint64_t));
    for (size_t i = 0; i < r->prs.n; i++)
        at[i] = r->prs.items[i].id == r->id ? r->ticks + 1 : r->prs.items[i].lease_tick;
    uint64_t q = prs_quorum_value(&r->prs, at);
    free(at);
    return q != 0 && r->ticks - (q - 1) < (uint64_t)r->election_tick;
}

/* Whether a quorum (this node included) acknowledged round seq. */
static int confirmed(raft_t *r, uint64_t seq)
{
    uint64_t *acked = xmalloc(r->prs.n * sizeof(uint64_t));
    for (size_t i = 0; i < r->prs.n; i++) {
        const raft_progress_t *pr = &r->prs.items[i];
        acked[i] = pr->id == r->id || pr->read_seq >= seq;
    }
    int ok = prs_quorum_value(&r->prs, acked) >= 1;
    free(acked);
    return ok;
}

/* Hands back, in order, every read a quorum has confirmed. */
static void release_reads(raft_t *r)
{
    size_t done = 0;
    while (done < r->n_reads) {
        raft_read_request_t *rq = &r->reads[done];
        if (!confirmed(r, rq->seq))
            break;
        answer(r, rq->from, rq->index, rq->ctx, rq->ctx_len);
        free(rq->ctx);
        done++;
    }
    memmove(r->reads, r->reads + done, (r->n_reads - done) * sizeof(raft_read_request_t));
    r->n_reads -= done;
}

static void handle_read_index(raft_t *r, const raft_message_t *m, tkv_err_t *err)
{
    int local = m->from == RAFT_NONE || m->from == r->id;
    if (!local && m->term != r->term)
        return; /* forwarded under another term: the asker will retry */
    uint64_t from = local ? r->id : m->from;
    if (r->role != RAFT_LEADER) {
        if (!local)
            return;
        if (r->lead == RAFT_NONE || r->role != RAFT_FOLLOWER) {
            *err = tkv_errorf(TKV_ERR_NOT_LEADER, "node %llu knows no leader to confirm a read",
                              (unsigned long long)r->id);
            return;
        }
        raft_message_t fwd = { 0 };
        fwd.type = RAFT_MSG_READ_INDEX;
        fwd.to = r->lead;
        raft_message_set_context(&fwd, m->context, m->context_len);
        raft_send(r, &fwd);
        return;
    }
    if (rlog_term_or_zero(&r->log, r->log.committed) != r->term) {
        if (local)
            *err = tkv_errorf(TKV_ERR_BUSY,
                              "leader %llu has not committed an entry of term %llu "
                              "yet: it does not know the commit index",
                              (unsigned long long)r->id, (unsigned long long)r->term);
        return;
    }
    if (confirmed(r, r->read_seq + 1) || lease_valid(r)) { /* alone, or a lease */
        answer(r, from, r->log.committed, m->context, m->context_len);
        return;
    }
    if (r->n_reads == r->cap_reads) {
        r->cap_reads = r->cap_reads ? r->cap_reads * 2 : 8;
        r->reads = xrealloc(r->reads, r->cap_reads * sizeof(raft_read_request_t));
    }
    raft_read_request_t *rq = &r->reads[r->n_reads++];
    rq->seq = ++r->read_seq;
    rq->index = r->log.committed;
    rq->from = from;
    rq->ctx_len = m->context_len;
    rq->ctx = m->context_len ? bytes_dup(m->context, m->context_len) : NULL;
    bcast_heartbeat(r, 'r', rq->seq);
}

static void handle_heartbeat_response(raft_t *r, const raft_message_t *m)
{
    raft_progress_t *pr = prs_find(&r->prs, m->from);
    uint64_t v;
    if (pr == NULL)
        return;
    if (decode_ctx(m, 'r', &v)) {
        if (v > pr->read_seq)
            pr->read_seq = v;
        release_reads(r);
    } else if (decode_ctx(m, 'l', &v) && v + 1 > pr->lease_tick) {
        pr->lease_tick = v + 1;
    }
}

/* Reads and lease acks belong to one leadership: start afresh otherwise. */
static void check_leadership(raft_t *r)
{
    if (r->role == RAFT_LEADER && r->reads_term == r->term) {
        if (r->lead_transferee != RAFT_NONE)
            r->lease_off_term = r->term;
        return;
    }
    raft_drop_reads(r);
    if (r->role != RAFT_LEADER)
        return;
    r->reads_term = r->term;
    for (size_t i = 0; i < r->prs.n; i++) {
        r->prs.items[i].read_seq = 0;
        r->prs.items[i].lease_tick = 0;
    }
}
/* LAB 2X END */

int raft_read_index_step(raft_t *r, const raft_message_t *m, tkv_err_t *err)
{
    *err = TKV_OK;
    /* LAB 2X BEGIN */
    check_leadership(r);
    switch (m->type) {
    case RAFT_MSG_READ_INDEX:
        handle_read_index(r, m, err);
        return 1;
    case RAFT_MSG_READ_INDEX_RESPONSE:
        if (m->term > r->term)
            return 0; /* the core adopts the term; the asker retries the read */
        if (m->term == r->term && r->role == RAFT_FOLLOWER && m->from == r->lead)
            push_read_state(r, m->index, m->context, m->context_len);
        return 1;
    case RAFT_MSG_HEARTBEAT_RESPONSE:
        if (r->role == RAFT_LEADER && m->term == r->term)
            handle_heartbeat_response(r, m);
        return 0; /* the core still catches the peer up */
    case RAFT_MSG_BEAT:
        if (r->role != RAFT_LEADER || !r->read_lease)
            return 0;
        bcast_heartbeat(r, 'l', r->ticks);
        return 1;
    default:
        return 0;
    }
    /* LAB 2X STUB
    // Until ReadIndex is written, a read is refused in so many words: the
    // store (raftstore/peer_read.c) then serves reads through the log.
    (void)r;
    if (m->type == RAFT_MSG_READ_INDEX) {
        *err = tkv_not_implemented("raft_read_index_step");
        return 1;
    }
    return 0;
    LAB 2X END */
}
