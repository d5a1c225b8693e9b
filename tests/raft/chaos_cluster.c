/*
 * The randomized chaos cluster for Raft safety checks (chaos_cluster.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "project2-raft/raft/raft_pb.h"
#include "tests/harness/trace.h"
#include "tests/raft/chaos_cluster.h"
#include "tests/raft/raft_expect.h"

typedef struct {
    raft_message_t m;
    uint64_t deliver_at;
    uint64_t sent_at; /* for the trace */
} chaos_msg_t;

typedef struct {
    rawnode_t *rn; /* NULL while crashed */
    mem_storage_t *ms;
    tkv_prng_t prng;
    uint64_t applied; /* state machine: entries applied, in order */
    int group;        /* partition group */
    int was_leader;
    raft_conf_state_t cs; /* owned: the membership as of `applied` */
} chaos_node_t;

struct chaos {
    chaos_config_t cfg;
    uint64_t seed;
    tkv_prng_t prng;
    uint64_t now;
    int step;
    chaos_node_t nodes[RT_MAX_NODES + 1];
    chaos_msg_t *q;
    size_t nq, capq;
    uint64_t proposals;
    uint64_t snapshots;          /* installed from a leader */
    uint64_t membership_changes; /* conf changes applied that changed something */
    raft_conf_state_t model;     /* owned: the membership after the latest change applied */
    uint64_t model_index;        /* ...at this index (0: the initial one) */
    /* checker state */
    uint64_t *leader_of; /* by term */
    size_t leader_cap;
    uint64_t *g_term, *g_hash, *g_commit_term; /* the committed log, 1-based */
    size_t g_len, g_cap;
    /* The run in the simulator's trace format, a step a millisecond, written
     * with its viewer page if the test fails (trace.h). */
    tkv_vclock_t clock;
    trace_t *trace;
};

#define CHAOS_FAIL(s, ...)                                                                         \
    do {                                                                                           \
        char what_[512];                                                                           \
        snprintf(what_, sizeof(what_), __VA_ARGS__);                                               \
        trace_event((s)->trace, 0, "check-fail", "%s", what_);                                     \
        fail_msg("seed %llu step %d: %s", (unsigned long long)(s)->seed, (s)->step, what_);        \
    } while (0)

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

static void node_start(chaos_t *s, uint64_t id)
{
    chaos_node_t *nd = &s->nodes[id];
    raft_config_t cfg = { 0 };
    cfg.id = id;
    cfg.peers = rt_ids(s->cfg.nodes);
    cfg.n_peers = s->cfg.voters ? s->cfg.voters : s->cfg.nodes;
    cfg.election_tick = 10;
    cfg.heartbeat_tick = 2;
    cfg.storage = mem_storage_as_storage(nd->ms);
    cfg.max_size_per_msg = 4096;
    cfg.prng = &nd->prng;
    cfg.applied = 0; /* the state machine is rebuilt from the log */
    rt_features_from_env(&cfg);
    cfg.pre_vote |= s->cfg.pre_vote;
    cfg.check_quorum |= s->cfg.check_quorum;
    cfg.read_lease |= s->cfg.read_lease;
    cfg.flow_control |= s->cfg.flow_control;
    cfg.fast_backtrack |= s->cfg.fast_backtrack;
    nd->applied = 0;
    /* After a compaction the state machine restarts from the snapshot. */
    raft_snapshot_t snap;
    raft_storage_t st = mem_storage_as_storage(nd->ms);
    if (st.ops->snapshot(nd->ms, &snap) == TKV_OK) {
        cfg.applied = snap.metadata.index;
        nd->applied = snap.metadata.index;
        raft_snapshot_free(&snap);
    }
    nd->was_leader = 0;
    trace_event(s->trace, (int)id, "start", "from its memory storage");
    if (rawnode_new(&cfg, &nd->rn) != TKV_OK)
        CHAOS_FAIL(s, "node %llu did not start: %s", (unsigned long long)id, tkv_last_error());
    raft_conf_state_free(&nd->cs);
    prs_conf_state(&nd->rn->raft->prs, &nd->cs);
}

static int conf_state_equal(const raft_conf_state_t *a, const raft_conf_state_t *b)
{
    return a->n_nodes == b->n_nodes && a->n_learners == b->n_learners &&
           a->auto_leave == b->auto_leave && a->n_voters_outgoing == b->n_voters_outgoing &&
           (a->n_nodes == 0 || memcmp(a->nodes, b->nodes, a->n_nodes * 8) == 0) &&
           (a->n_learners == 0 || memcmp(a->learners, b->learners, a->n_learners * 8) == 0) &&
           (a->n_voters_outgoing == 0 ||
            memcmp(a->voters_outgoing, b->voters_outgoing, a->n_voters_outgoing * 8) == 0);
}

uint64_t chaos_membership_changes(const chaos_t *s)
{
    return s->membership_changes;
}

chaos_t *chaos_new(uint64_t seed, const chaos_config_t *cfg)
{
    chaos_t *s = xcalloc(1, sizeof(*s));
    s->cfg = *cfg;
    s->seed = seed;
    prng_seed(&s->prng, seed);
    vclock_init(&s->clock, 0);
    s->trace = trace_new(&s->clock.clock, 0);
    trace_cluster(s->trace, (int)cfg->nodes, 0, (int)cfg->nodes + 1);
    trace_write_on_failure(s->trace, "chaos");
    for (int t = 0; t <= RAFT_MSG_READ_INDEX_RESPONSE; t++) {
        if (strcmp(raft_msg_type_name((raft_msg_type_t)t), "MsgUnknown") != 0)
            trace_class_name(s->trace, t, raft_msg_type_name((raft_msg_type_t)t));
    }
    for (uint64_t id = 1; id <= cfg->nodes; id++) {
        s->nodes[id].ms = mem_storage_new();
        prng_seed(&s->nodes[id].prng, seed * 31 + id);
        node_start(s, id);
    }
    raft_conf_state_copy(&s->model, &s->nodes[1].cs);
    return s;
}

void chaos_free(chaos_t *s)
{
    for (uint64_t id = 1; id <= s->cfg.nodes; id++) {
        rawnode_free(s->nodes[id].rn);
        mem_storage_free(s->nodes[id].ms);
        raft_conf_state_free(&s->nodes[id].cs);
    }
    for (size_t i = 0; i < s->nq; i++)
        raft_message_free(&s->q[i].m);
    free(s->q);
    raft_conf_state_free(&s->model);
    free(s->leader_of);
    free(s->g_term);
    free(s->g_hash);
    free(s->g_commit_term);
    trace_free(s->trace);
    free(s);
}

uint64_t chaos_applied_max(const chaos_t *s)
{
    if (getenv("CHAOS_STATS") != NULL) {
        uint64_t maxterm = 0;
        for (uint64_t id = 1; id <= s->cfg.nodes; id++)
            if (s->nodes[id].rn && s->nodes[id].rn->raft->term > maxterm)
                maxterm = s->nodes[id].rn->raft->term;
        fprintf(stderr,
                "seed %llu nodes %zu: applied %zu, proposals %llu, max term %llu, "
                "snapshots installed %llu\n",
                (unsigned long long)s->seed, s->cfg.nodes, s->g_len,
                (unsigned long long)s->proposals, (unsigned long long)maxterm,
                (unsigned long long)s->snapshots);
    }
    return s->g_len;
}

static void enqueue(chaos_t *s, const raft_message_t *m, int faults)
{
    if (faults && prng_chance(&s->prng, (uint64_t)s->cfg.drop_pct, 100)) {
        trace_event(s->trace, (int)m->from, "net-drop", "to n%llu class %d: random loss",
                    (unsigned long long)m->to, (int)m->type);
        return;
    }
    int copies = faults && prng_chance(&s->prng, (uint64_t)s->cfg.dup_pct, 100) ? 2 : 1;
    for (int c = 0; c < copies; c++) {
        if (s->nq == s->capq) {
            s->capq = s->capq ? s->capq * 2 : 256;
            s->q = xrealloc(s->q, s->capq * sizeof(chaos_msg_t));
        }
        raft_message_copy(&s->q[s->nq].m, m);
        uint64_t delay = faults ? prng_below(&s->prng, (uint64_t)s->cfg.max_delay + 1) : 0;
        s->q[s->nq].deliver_at = s->now + delay;
        s->q[s->nq].sent_at = s->now;
        s->nq++;
    }
}

/* ---- checks ---- */

static void check_leader(chaos_t *s, uint64_t id)
{
    raft_t *r = s->nodes[id].rn->raft;
    if (r->role != RAFT_LEADER)
        return;
    if (r->term >= s->leader_cap) {
        size_t cap = s->leader_cap ? s->leader_cap : 64;
        while (cap <= r->term)
            cap *= 2;
        s->leader_of = xrealloc(s->leader_of, cap * sizeof(uint64_t));
        memset(s->leader_of + s->leader_cap, 0, (cap - s->leader_cap) * sizeof(uint64_t));
        s->leader_cap = cap;
    }
    if (s->leader_of[r->term] != 0 && s->leader_of[r->term] != id)
        CHAOS_FAIL(s, "election safety: nodes %llu and %llu both lead term %llu",
                   (unsigned long long)s->leader_of[r->term], (unsigned long long)id,
                   (unsigned long long)r->term);
    s->leader_of[r->term] = id;
    if (s->nodes[id].was_leader)
        return;
    s->nodes[id].was_leader = 1;
    /* Leader completeness: every entry committed in an earlier term. */
    uint64_t first = rlog_first_index(&r->log);
    for (uint64_t i = first; i <= s->g_len; i++) {
        if (s->g_commit_term[i] >= r->term)
            continue;
        uint64_t t = rlog_term_or_zero(&r->log, i);
        if (t != s->g_term[i])
            CHAOS_FAIL(s,
                       "leader completeness: leader %llu of term %llu has term %llu at %llu, "
                       "committed with term %llu",
                       (unsigned long long)id, (unsigned long long)r->term, (unsigned long long)t,
                       (unsigned long long)i, (unsigned long long)s->g_term[i]);
    }
}

/* "v1 v2 o1 l3": voters, outgoing voters, learners. */
static const char *conf_describe(const raft_conf_state_t *cs, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = 0;
    const struct {
        const char *tag;
        const uint64_t *ids;
        size_t len;
    } parts[] = { { "v", cs->nodes, cs->n_nodes },
                  { "o", cs->voters_outgoing, cs->n_voters_outgoing },
                  { "l", cs->learners, cs->n_learners } };
    for (size_t p = 0; p < 3; p++) {
        for (size_t i = 0; i < parts[p].len && n + 24 < cap; i++) {
            int w = snprintf(buf + n, cap - n, "%s%s%llu", n ? " " : "", parts[p].tag,
                             (unsigned long long)parts[p].ids[i]);
            n += w > 0 ? (size_t)w : 0;
        }
    }
    return buf;
}

/* A conf change entry: the membership changes when it is applied. */
static void apply_conf_change(chaos_t *s, uint64_t id, const raft_entry_t *e)
{
    chaos_node_t *nd = &s->nodes[id];
    raft_conf_state_t cs;
    memset(&cs, 0, sizeof(cs));
    tkv_err_t err;
    if (e->type == RAFT_ENTRY_CONF_CHANGE) {
        raft_conf_change_t cc;
        if (raft_pb_decode_conf_change(e->data, e->len, &cc) != TKV_OK)
            CHAOS_FAIL(s, "node %llu: conf change at %llu does not decode", (unsigned long long)id,
                       (unsigned long long)e->index);
        err = rawnode_apply_conf_change(nd->rn, &cc, &cs);
        raft_conf_change_free(&cc);
    } else {
        raft_conf_change_v2_t cc;
        if (raft_pb_decode_conf_change_v2(e->data, e->len, &cc) != TKV_OK)
            CHAOS_FAIL(s, "node %llu: conf change at %llu does not decode", (unsigned long long)id,
                       (unsigned long long)e->index);
        err = rawnode_apply_conf_change_v2(nd->rn, &cc, &cs);
        raft_conf_change_v2_free(&cc);
    }
    if (getenv("CHAOS_CONF") != NULL) {
        char b1[128], b2[128];
        raft_conf_state_t now;
        memset(&now, 0, sizeof(now));
        prs_conf_state(&nd->rn->raft->prs, &now);
        fprintf(stderr, "step %d n%llu applies conf change at %llu (type %d): %s; was %s, now %s\n",
                s->step, (unsigned long long)id, (unsigned long long)e->index, (int)e->type,
                err == TKV_OK ? "ok" : tkv_last_error(), conf_describe(&nd->cs, b1, sizeof(b1)),
                conf_describe(&now, b2, sizeof(b2)));
        raft_conf_state_free(&now);
    }
    if (err != TKV_OK)
        return; /* refused (the same way on every node): nothing changes */
    if (!conf_state_equal(&cs, &nd->cs))
        s->membership_changes++;
    if (e->index > s->model_index) {
        s->model_index = e->index;
        raft_conf_state_free(&s->model);
        raft_conf_state_copy(&s->model, &cs);
    }
    raft_conf_state_free(&nd->cs);
    nd->cs = cs;
}

static void apply_entry(chaos_t *s, uint64_t id, const raft_entry_t *e)
{
    chaos_node_t *nd = &s->nodes[id];
    if (e->index != nd->applied + 1)
        CHAOS_FAIL(s, "node %llu applied %llu after %llu", (unsigned long long)id,
                   (unsigned long long)e->index, (unsigned long long)nd->applied);
    nd->applied = e->index;
    if (e->type != RAFT_ENTRY_NORMAL)
        apply_conf_change(s, id, e);
    uint64_t h = hash_bytes(e->data, e->len);
    if (e->index <= s->g_len) {
        if (s->g_term[e->index] != e->term || s->g_hash[e->index] != h)
            CHAOS_FAIL(s,
                       "state machine safety: node %llu applied (%llu, term %llu), others "
                       "applied term %llu there",
                       (unsigned long long)id, (unsigned long long)e->index,
                       (unsigned long long)e->term, (unsigned long long)s->g_term[e->index]);
        return;
    }
    if (s->g_len + 1 == s->g_cap || s->g_cap == 0) {
        s->g_cap = s->g_cap ? s->g_cap * 2 : 256;
        s->g_term = xrealloc(s->g_term, s->g_cap * sizeof(uint64_t));
        s->g_hash = xrealloc(s->g_hash, s->g_cap * sizeof(uint64_t));
        s->g_commit_term = xrealloc(s->g_commit_term, s->g_cap * sizeof(uint64_t));
    }
    s->g_len++;
    s->g_term[s->g_len] = e->term;
    s->g_hash[s->g_len] = h;
    s->g_commit_term[s->g_len] = nd->rn->raft->term;
}

static void check_log_matching(chaos_t *s)
{
    raft_entry_t *logs[RT_MAX_NODES + 1] = { NULL };
    size_t lens[RT_MAX_NODES + 1] = { 0 };
    uint64_t firsts[RT_MAX_NODES + 1] = { 0 };
    for (uint64_t id = 1; id <= s->cfg.nodes; id++) {
        if (s->nodes[id].rn == NULL)
            continue;
        raft_log_t *l = &s->nodes[id].rn->raft->log;
        firsts[id] = rlog_first_index(l);
        if (rlog_slice(l, firsts[id], rlog_last_index(l) + 1, UINT64_MAX, &logs[id], &lens[id]) !=
            TKV_OK)
            CHAOS_FAIL(s, "node %llu: cannot read its own log: %s", (unsigned long long)id,
                       tkv_last_error());
    }
    for (uint64_t a = 1; a <= s->cfg.nodes; a++) {
        for (uint64_t b = a + 1; b <= s->cfg.nodes; b++) {
            if (logs[a] == NULL || logs[b] == NULL)
                continue;
            uint64_t lo = firsts[a] > firsts[b] ? firsts[a] : firsts[b];
            uint64_t ha = firsts[a] + lens[a], hb = firsts[b] + lens[b];
            uint64_t hi = ha < hb ? ha : hb; /* exclusive */
            /* the highest index where both agree on the term... */
            uint64_t top = 0;
            for (uint64_t i = hi; i > lo; i--) {
                if (logs[a][i - 1 - firsts[a]].term == logs[b][i - 1 - firsts[b]].term) {
                    top = i - 1;
                    break;
                }
            }
            /* ...and everything before it must be identical */
            for (uint64_t i = lo; top != 0 && i <= top; i++) {
                const raft_entry_t *x = &logs[a][i - firsts[a]], *y = &logs[b][i - firsts[b]];
                if (x->term != y->term || x->len != y->len ||
                    (x->len && memcmp(x->data, y->data, x->len) != 0))
                    CHAOS_FAIL(s,
                               "log matching: nodes %llu and %llu agree at %llu but differ "
                               "at %llu",
                               (unsigned long long)a, (unsigned long long)b,
                               (unsigned long long)top, (unsigned long long)i);
            }
        }
    }
    for (uint64_t id = 1; id <= s->cfg.nodes; id++)
        raft_entries_free(logs[id], lens[id]);
}

/* ---- driving ---- */

static void maybe_compact(chaos_t *s, uint64_t id)
{
    chaos_node_t *nd = &s->nodes[id];
    if (s->cfg.compact_every == 0)
        return;
    uint64_t first = 0;
    raft_storage_t st = mem_storage_as_storage(nd->ms);
    st.ops->first_index(nd->ms, &first);
    uint64_t last = 0;
    st.ops->last_index(nd->ms, &last);
    uint64_t upto = nd->applied < last ? nd->applied : last;
    if (upto < first + (uint64_t)s->cfg.compact_every)
        return;
    if (upto != nd->applied)
        return; /* the membership we know is the one as of applied */
    /* The "state machine image" is just the index it covers. A restart
     * starts from the snapshot's membership (the stored conf state). */
    char img[32];
    int len = snprintf(img, sizeof(img), "sm@%llu", (unsigned long long)upto);
    if (mem_storage_create_snapshot(nd->ms, upto, &nd->cs, img, (size_t)len) == TKV_OK) {
        mem_storage_compact(nd->ms, upto);
        mem_storage_set_conf_state(nd->ms, &nd->cs);
    }
}

static void handle_readies(chaos_t *s, uint64_t id)
{
    chaos_node_t *nd = &s->nodes[id];
    while (nd->rn != NULL && rawnode_has_ready(nd->rn)) {
        raft_ready_t rd;
        if (rawnode_ready(nd->rn, &rd) != TKV_OK)
            CHAOS_FAIL(s, "node %llu ready: %s", (unsigned long long)id, tkv_last_error());
        if (!raft_hard_state_is_empty(&rd.hard_state))
            mem_storage_set_hard_state(nd->ms, &rd.hard_state);
        if (!raft_snapshot_is_empty(&rd.snapshot)) {
            if (mem_storage_apply_snapshot(nd->ms, &rd.snapshot) != TKV_OK)
                CHAOS_FAIL(s, "node %llu: snapshot %llu not newer than stored",
                           (unsigned long long)id, (unsigned long long)rd.snapshot.metadata.index);
            /* The snapshot's image replaces the state machine. */
            uint64_t idx = rd.snapshot.metadata.index;
            if (idx > s->g_len)
                CHAOS_FAIL(s, "node %llu installed snapshot %llu beyond anything applied",
                           (unsigned long long)id, (unsigned long long)idx);
            nd->applied = idx;
            raft_conf_state_free(&nd->cs);
            raft_conf_state_copy(&nd->cs, &rd.snapshot.metadata.conf_state);
            s->snapshots++;
        }
        if (mem_storage_append(nd->ms, rd.entries, rd.n_entries) != TKV_OK)
            CHAOS_FAIL(s, "node %llu append: %s", (unsigned long long)id, tkv_last_error());
        for (size_t i = 0; i < rd.n_messages; i++) {
            char line[512];
            trace_event(s->trace, (int)id, "send", "%s",
                        rt_msg_describe(&rd.messages[i], line, sizeof(line)));
            enqueue(s, &rd.messages[i], 1);
        }
        if (rd.n_committed_entries > 0 &&
            prng_chance(&s->prng, (uint64_t)s->cfg.crash_before_apply_pct10, 1000)) {
            /* Persisted and sent, but nothing applied: down it goes. */
            raft_ready_free(&rd);
            rawnode_free(nd->rn);
            nd->rn = NULL;
            return;
        }
        for (size_t i = 0; i < rd.n_committed_entries; i++)
            apply_entry(s, id, &rd.committed_entries[i]);
        rawnode_advance(nd->rn, &rd);
        raft_ready_free(&rd);
        maybe_compact(s, id);
        if (nd->rn->raft->role != RAFT_LEADER)
            nd->was_leader = 0;
        check_leader(s, id);
    }
}

static void deliver(chaos_t *s, size_t at, int check_partition)
{
    chaos_msg_t sm = s->q[at];
    s->q[at] = s->q[--s->nq]; /* order is not kept: the network reorders */
    uint64_t to = sm.m.to;
    if (to >= 1 && to <= s->cfg.nodes && s->nodes[to].rn != NULL &&
        (!check_partition || s->nodes[to].group == s->nodes[sm.m.from].group)) {
        trace_event(s->trace, (int)to, "net-recv", "from n%llu class %d, sent at %llu ms",
                    (unsigned long long)sm.m.from, (int)sm.m.type, (unsigned long long)sm.sent_at);
        rawnode_step(s->nodes[to].rn, &sm.m);
        handle_readies(s, to);
    } else {
        trace_event(s->trace, (int)sm.m.from, "net-drop", "to n%llu class %d: %s",
                    (unsigned long long)to, (int)sm.m.type,
                    to < 1 || to > s->cfg.nodes || s->nodes[to].rn == NULL ? "receiver down"
                                                                           : "partitioned");
    }
    raft_message_free(&sm.m);
}

static int in_model(const chaos_t *s, uint64_t id)
{
    const raft_conf_state_t *m = &s->model;
    for (size_t i = 0; i < m->n_nodes; i++)
        if (m->nodes[i] == id)
            return 1;
    for (size_t i = 0; i < m->n_learners; i++)
        if (m->learners[i] == id)
            return 1;
    for (size_t i = 0; i < m->n_voters_outgoing; i++)
        if (m->voters_outgoing[i] == id)
            return 1;
    return 0;
}

/* Whether id votes in the latest applied configuration (either half). */
static int is_model_voter(const chaos_t *s, uint64_t id)
{
    const raft_conf_state_t *m = &s->model;
    for (size_t i = 0; i < m->n_nodes; i++)
        if (m->nodes[i] == id)
            return 1;
    for (size_t i = 0; i < m->n_voters_outgoing; i++)
        if (m->voters_outgoing[i] == id)
            return 1;
    return 0;
}

/* A random membership change, proposed on a leader (if there is one).
 *
 * Never one that removes or demotes the leader itself: as TiKV does, the
 * application hands leadership over first. A leader removed by a change it
 * applied steps down at once (3A's rule), and the survivors may not have
 * heard that the change committed: in {2,3} -> {2}, node 2 holds the entry
 * but not the commit index, so it still counts {2,3} and needs the vote of
 * 3, which no longer takes part (and whose longer log refuses 2 anyway).
 * etcd avoids that by letting a removed leader go on leading; with
 * changes applied at commit, nothing in Raft itself lets node 2 find out. */
static void propose_conf_change(chaos_t *s)
{
    uint64_t lead = 0;
    for (uint64_t j = 1; j <= s->cfg.nodes; j++) {
        if (s->nodes[j].rn != NULL && s->nodes[j].rn->raft->role == RAFT_LEADER)
            lead = j;
    }
    if (lead == 0)
        return;
    rawnode_t *rn = s->nodes[lead].rn;
    raft_progress_set_t *prs = &rn->raft->prs;
    uint64_t target = 1 + prng_below(&s->prng, s->cfg.nodes);
    if (s->cfg.conf_changes == 1) {
        size_t voters = 0;
        for (size_t i = 0; i < prs->n; i++)
            voters += prs->items[i].voter;
        raft_conf_change_t cc = { RAFT_CONF_ADD_NODE, target, NULL, 0 };
        if (prs_is_voter(prs, target) && voters > 1)
            cc.type = RAFT_CONF_REMOVE_NODE;
        if (cc.type == RAFT_CONF_REMOVE_NODE && target == lead)
            return; /* the application moves leadership first (see above) */
        rawnode_propose_conf_change(rn, &cc);
    } else if (prs_is_joint(prs)) {
        raft_conf_change_v2_t leave = { RAFT_TRANSITION_AUTO, NULL, 0, NULL, 0 };
        rawnode_propose_conf_change_v2(rn, &leave);
    } else {
        raft_conf_change_single_t ch[3];
        size_t n = 1 + prng_below(&s->prng, 3);
        for (size_t i = 0; i < n; i++) {
            ch[i].type = (raft_conf_change_type_t)prng_below(&s->prng, 3);
            ch[i].node_id = i == 0 ? target : 1 + prng_below(&s->prng, s->cfg.nodes);
            if (ch[i].node_id == lead)
                ch[i].type = RAFT_CONF_ADD_NODE; /* the leader stays a voter (see above) */
        }
        raft_conf_change_v2_t cc = { (raft_conf_transition_t)prng_below(&s->prng, 3), ch, n, NULL,
                                     0 };
        rawnode_propose_conf_change_v2(rn, &cc); /* refused ones: fine */
    }
    handle_readies(s, lead);
}

void chaos_propose_healed_conf_change(chaos_t *s)
{
    uint64_t lead = 0;
    for (uint64_t j = 1; j <= s->cfg.nodes; j++) {
        if (s->nodes[j].rn != NULL && s->nodes[j].rn->raft->role == RAFT_LEADER && in_model(s, j))
            lead = j;
    }
    if (lead == 0)
        CHAOS_FAIL(s, "no leader in the healed cluster to propose a conf change to");
    rawnode_t *rn = s->nodes[lead].rn;
    raft_progress_set_t *prs = &rn->raft->prs;
    /* A node outside joins; if none is, a voter other than the leader goes. */
    raft_conf_change_single_t ch = { RAFT_CONF_ADD_NODE, 0 };
    for (uint64_t j = 1; j <= s->cfg.nodes && ch.node_id == 0; j++) {
        if (prs_find(prs, j) == NULL)
            ch.node_id = j;
    }
    for (uint64_t j = 1; j <= s->cfg.nodes && ch.node_id == 0; j++) {
        if (j != lead && prs_is_voter(prs, j)) {
            ch.type = RAFT_CONF_REMOVE_NODE;
            ch.node_id = j;
        }
    }
    tkv_err_t err;
    if (s->cfg.conf_changes == 1) {
        raft_conf_change_t cc = { ch.type, ch.node_id, NULL, 0 };
        err = rawnode_propose_conf_change(rn, &cc);
    } else {
        raft_conf_change_v2_t cc = { RAFT_TRANSITION_AUTO, &ch, 1, NULL, 0 };
        err = rawnode_propose_conf_change_v2(rn, &cc);
    }
    if (err != TKV_OK)
        CHAOS_FAIL(s, "leader %llu refused a conf change in the healed cluster: %s",
                   (unsigned long long)lead, tkv_last_error());
    handle_readies(s, lead);
}

void chaos_check_membership(chaos_t *s)
{
    for (uint64_t id = 1; id <= s->cfg.nodes; id++) {
        if (!in_model(s, id))
            continue;
        raft_conf_state_t cs;
        memset(&cs, 0, sizeof(cs));
        prs_conf_state(&s->nodes[id].rn->raft->prs, &cs);
        int same = conf_state_equal(&cs, &s->model) && conf_state_equal(&s->nodes[id].cs, &cs);
        char core[128], applied[128], model[128];
        conf_describe(&cs, core, sizeof(core));
        conf_describe(&s->nodes[id].cs, applied, sizeof(applied));
        conf_describe(&s->model, model, sizeof(model));
        raft_conf_state_free(&cs);
        if (!same)
            CHAOS_FAIL(s,
                       "membership: node %llu's configuration (core: %s; as applied: %s) is not "
                       "the one the applied conf changes (last at %llu) lead to (%s)",
                       (unsigned long long)id, core, applied, (unsigned long long)s->model_index,
                       model);
    }
}

static uint64_t random_node(chaos_t *s)
{
    return 1 + prng_below(&s->prng, s->cfg.nodes);
}

static void propose(chaos_t *s, uint64_t id)
{
    chaos_node_t *nd = &s->nodes[id];
    if (nd->rn == NULL)
        return;
    char data[48];
    int len = snprintf(data, sizeof(data), "put k%llu v%llu", (unsigned long long)s->proposals,
                       (unsigned long long)s->seed);
    s->proposals++;
    rawnode_propose(nd->rn, data, (size_t)len); /* fails unless leader: fine */
    handle_readies(s, id);
}

/* Every live node's role, term, commit and applied (trace_state() keeps
 * only changes). */
static void trace_states(chaos_t *s)
{
    for (uint64_t j = 1; j <= s->cfg.nodes; j++) {
        const raft_t *r = s->nodes[j].rn ? s->nodes[j].rn->raft : NULL;
        if (r == NULL)
            continue;
        trace_state_t st = {
            0, raft_role_name(r->role), r->term, r->log.committed, s->nodes[j].applied, 0, 0
        };
        trace_state(s->trace, (int)j, &st);
    }
}

/* Each step: node states into the trace (trace_states), and with
 * CHAOS_TRACE=1 a line with every node's role, term, partition group, commit
 * and last index on stderr every 200 steps. */
static void chaos_trace_step(chaos_t *s)
{
    trace_states(s);
    if (getenv("CHAOS_TRACE") == NULL || s->step % 200 != 0)
        return;
    char line[512];
    int n = snprintf(line, sizeof(line), "q %zu:", s->nq);
    for (uint64_t j = 1; j <= s->cfg.nodes && n > 0 && (size_t)n < sizeof(line); j++) {
        raft_t *r = s->nodes[j].rn ? s->nodes[j].rn->raft : NULL;
        if (r == NULL)
            n += snprintf(line + n, sizeof(line) - (size_t)n, " [down]");
        else
            n += snprintf(line + n, sizeof(line) - (size_t)n, " [%s t%llu g%d c%llu l%llu]",
                          raft_role_name(r->role), (unsigned long long)r->term, s->nodes[j].group,
                          (unsigned long long)r->log.committed,
                          (unsigned long long)rlog_last_index(&r->log));
    }
    fprintf(stderr, "step %d %s\n", s->step, line);
}

/* The partition as the simulator writes it: "n1 n3 | n2". */
static void trace_groups(chaos_t *s)
{
    char sides[256] = "";
    size_t len = 0;
    for (int g = 0; g < 4; g++) {
        int any = 0;
        for (uint64_t j = 1; j <= s->cfg.nodes && len + 16 < sizeof(sides); j++) {
            if (s->nodes[j].group != g)
                continue;
            int w = snprintf(sides + len, sizeof(sides) - len, "%s%sn%llu", len ? " " : "",
                             len && !any ? "| " : "", (unsigned long long)j);
            len += w > 0 ? (size_t)w : 0;
            any = 1;
        }
    }
    trace_event(s->trace, 0, "partition", "%zu endpoints regrouped: %s", s->cfg.nodes, sides);
}

void chaos_run(chaos_t *s, int steps)
{
    for (int i = 0; i < steps; i++, s->step++) {
        s->now++;
        vclock_set(&s->clock, s->now);
        uint64_t roll = prng_below(&s->prng, 1000);
        uint64_t id = random_node(s);
        if (roll < 300) {
            if (s->nodes[id].rn != NULL) {
                rawnode_tick(s->nodes[id].rn);
                handle_readies(s, id);
            }
        } else if (roll < 850) {
            for (int k = 0; k < 3 && s->nq > 0; k++) {
                size_t at = (size_t)prng_below(&s->prng, s->nq);
                if (s->q[at].deliver_at <= s->now)
                    deliver(s, at, 1);
            }
        } else if (roll < 950) {
            /* mostly where a client would send it: to a leader */
            for (uint64_t j = 1; j <= s->cfg.nodes && prng_chance(&s->prng, 4, 5); j++) {
                if (s->nodes[j].rn != NULL && s->nodes[j].rn->raft->role == RAFT_LEADER)
                    id = j;
            }
            propose(s, id);
        } else if (roll < 954) {
            /* a new partition half of the time, else a healed network */
            int groups = prng_chance(&s->prng, 1, 2) ? 1 : (int)prng_below(&s->prng, 3) + 2;
            for (uint64_t j = 1; j <= s->cfg.nodes; j++)
                s->nodes[j].group = (int)prng_below(&s->prng, (uint64_t)groups);
            trace_groups(s);
        } else if (roll < 954 + (uint64_t)s->cfg.crash_pct10) {
            /* Keep a majority up most of the time, so there is progress to
             * check; minorities crash freely. With membership changes the
             * majority that matters is of the voters (nodes outside the
             * cluster crash freely), and a majority of them stays up:
             * counting every node, two of three voters could stay down for
             * most of a run. */
            size_t down = 0, n = 0;
            for (uint64_t j = 1; j <= s->cfg.nodes; j++) {
                if (s->cfg.conf_changes && !is_model_voter(s, j))
                    continue;
                n++;
                down += s->nodes[j].rn == NULL;
            }
            int allowed = down + 1 < (n + 1) / 2 + 1;
            if (s->cfg.conf_changes)
                allowed = !is_model_voter(s, id) || n - down - 1 >= n / 2 + 1;
            if (s->nodes[id].rn != NULL && allowed) {
                rawnode_free(s->nodes[id].rn); /* unpersisted state is lost */
                s->nodes[id].rn = NULL;
                trace_event(s->trace, (int)id, "crash", "unpersisted state lost");
            }
        } else if (roll < 970) {
            if (s->nodes[id].rn == NULL) {
                node_start(s, id);
                /* A node that crashed before applying may tick (and
                 * campaign) before it handles its first Ready. */
                if (s->cfg.crash_before_apply_pct10 && prng_chance(&s->prng, 1, 2)) {
                    for (int t = 0; t < 20; t++)
                        rawnode_tick(s->nodes[id].rn);
                }
                handle_readies(s, id);
            }
        } else if (roll < 980 && s->cfg.conf_changes) {
            propose_conf_change(s);
        }
        /* a network that is not drained does not grow without bound */
        while (s->nq > 4000)
            deliver(s, (size_t)prng_below(&s->prng, s->nq), 1);
        chaos_trace_step(s);
        if (s->step % 25 == 0)
            check_log_matching(s);
    }
    check_log_matching(s);
}

/* On a failure to converge: every node's view, on stderr, to say who is
 * stuck and with which configuration. */
static void dump_nodes(const chaos_t *s)
{
    for (uint64_t id = 1; id <= s->cfg.nodes; id++) {
        const raft_t *r = s->nodes[id].rn ? s->nodes[id].rn->raft : NULL;
        if (r == NULL) {
            fprintf(stderr, "  n%llu down\n", (unsigned long long)id);
            continue;
        }
        char mem[256];
        int n = 0;
        for (size_t i = 0; i < r->prs.n && n >= 0 && (size_t)n < sizeof(mem); i++) {
            const raft_progress_t *pr = &r->prs.items[i];
            n +=
                snprintf(mem + n, sizeof(mem) - (size_t)n, " %llu%s%s%s(m%llu)",
                         (unsigned long long)pr->id, pr->voter ? "v" : "", pr->voter_out ? "o" : "",
                         pr->learner ? "l" : "", (unsigned long long)pr->match);
        }
        if (r->prs.n == 0)
            snprintf(mem, sizeof(mem), " (none)");
        fprintf(stderr,
                "  n%llu %s term %llu lead %llu commit %llu applied %llu last %llu%s auto_leave "
                "%d pending_conf %llu members:%s\n",
                (unsigned long long)id, raft_role_name(r->role), (unsigned long long)r->term,
                (unsigned long long)r->lead, (unsigned long long)r->log.committed,
                (unsigned long long)s->nodes[id].applied,
                (unsigned long long)rlog_last_index(&r->log), in_model(s, id) ? "" : " (outside)",
                r->prs.auto_leave, (unsigned long long)r->pending_conf_index, mem);
    }
}

void chaos_converge(chaos_t *s, int max_rounds)
{
    /* Faults off first: a node restarted here must not crash again in its
     * first Ready. */
    s->cfg.drop_pct = s->cfg.dup_pct = s->cfg.max_delay = 0;
    s->cfg.crash_before_apply_pct10 = 0;
    for (uint64_t id = 1; id <= s->cfg.nodes; id++) {
        s->nodes[id].group = 0;
        if (s->nodes[id].rn == NULL) {
            node_start(s, id);
            handle_readies(s, id);
        }
    }
    int proposed = 0;
    uint64_t target = 0;
    for (int round = 0; round < max_rounds; round++, s->step++) {
        s->now++;
        vclock_set(&s->clock, s->now);
        for (uint64_t id = 1; id <= s->cfg.nodes; id++) {
            /* Nodes outside the cluster are left alone: one removed before
             * it heard of it would campaign for ever (thesis §4.2.3). */
            if (s->cfg.conf_changes && !in_model(s, id))
                continue;
            rawnode_tick(s->nodes[id].rn);
            handle_readies(s, id);
        }
        while (s->nq > 0)
            deliver(s, 0, 0);
        for (uint64_t id = 1; id <= s->cfg.nodes && !proposed; id++) {
            if (s->cfg.conf_changes && !in_model(s, id))
                continue;
            raft_t *r = s->nodes[id].rn->raft;
            if (r->role == RAFT_LEADER && r->log.committed == rlog_last_index(&r->log)) {
                propose(s, id);
                target = rlog_last_index(&r->log);
                proposed = 1;
            }
        }
        while (s->nq > 0)
            deliver(s, 0, 0);
        chaos_trace_step(s);
        if (!proposed)
            continue;
        int done = 1;
        for (uint64_t id = 1; id <= s->cfg.nodes; id++)
            done &= (s->cfg.conf_changes && !in_model(s, id)) || s->nodes[id].applied >= target;
        if (done) {
            check_log_matching(s);
            return;
        }
    }
    dump_nodes(s);
    CHAOS_FAIL(s, "no progress: a healed cluster did not commit a new proposal in %d rounds",
               max_rounds);
}
