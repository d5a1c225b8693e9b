/*
 * Shared helpers for the Raft core tests (raft_helpers.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "tests/harness/expect.h"
#include "tests/raft/raft_expect.h"
#include "tests/raft/raft_helpers.h"

raft_t rt_blackhole_node;

const uint64_t *rt_ids(size_t n)
{
    static const uint64_t ids[RT_MAX_NODES] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    assert_true(n <= RT_MAX_NODES);
    return ids;
}

mem_storage_t *rt_storage_with_terms(const uint64_t *terms, size_t n)
{
    mem_storage_t *ms = mem_storage_new();
    for (size_t i = 0; i < n; i++) {
        raft_entry_t e = { RAFT_ENTRY_NORMAL, terms[i], i + 1, NULL, 0 };
        expect_err(mem_storage_append(ms, &e, 1), TKV_OK, "mem_storage_append(ms, &e, 1)");
    }
    return ms;
}

raft_t *rt_new_raft(uint64_t id, const uint64_t *peers, size_t n_peers, int election, int heartbeat,
                    mem_storage_t *ms)
{
    if (ms == NULL)
        ms = mem_storage_new();
    raft_config_t cfg = { 0 };
    cfg.id = id;
    cfg.peers = peers;
    cfg.n_peers = n_peers;
    cfg.election_tick = election;
    cfg.heartbeat_tick = heartbeat;
    cfg.storage = mem_storage_as_storage(ms);
    rt_features_from_env(&cfg);
    raft_t *r = NULL;
    tkv_err_t err = raft_new(&cfg, &r);
    if (err != TKV_OK)
        fail_msg("raft_new: %s", tkv_last_error());
    return r;
}

raft_t *rt_raft(uint64_t id, size_t n, mem_storage_t *ms)
{
    return rt_new_raft(id, rt_ids(n), n, 10, 1, ms);
}

mem_storage_t *rt_storage_of(raft_t *r)
{
    return r->log.storage.self;
}

void rt_free_raft(raft_t *r)
{
    if (r == NULL || r == RT_BLACKHOLE)
        return;
    mem_storage_t *ms = rt_storage_of(r);
    raft_free(r);
    mem_storage_free(ms);
}

raft_message_t rt_msg(raft_msg_type_t type, uint64_t from, uint64_t to, uint64_t term)
{
    raft_message_t m = { 0 };
    m.type = type;
    m.from = from;
    m.to = to;
    m.term = term;
    return m;
}

void rt_step(raft_t *r, raft_message_t m)
{
    tkv_err_t err = raft_step(r, &m);
    if (err != TKV_OK)
        fail_msg("raft_step(%s) on node %llu: %s", raft_msg_type_name(m.type),
                 (unsigned long long)r->id, tkv_last_error());
}

raft_message_t *rt_take(raft_t *r, size_t *n)
{
    raft_message_t *msgs = NULL;
    raft_take_msgs(r, &msgs, n);
    return msgs;
}

void rt_free_msgs(raft_message_t *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        raft_message_free(&msgs[i]);
    free(msgs);
}

void rt_clear(raft_t *r)
{
    size_t n;
    raft_message_t *msgs = rt_take(r, &n);
    rt_free_msgs(msgs, n);
}

uint64_t rt_term_at(raft_t *r, uint64_t i)
{
    return rlog_term_or_zero(&r->log, i);
}

uint64_t rt_last(raft_t *r)
{
    return rlog_last_index(&r->log);
}

raft_message_t rt_propose_msg(uint64_t to, const char *data)
{
    raft_message_t m = rt_msg(RAFT_MSG_PROPOSE, to, to, 0);
    m.n_entries = 1;
    m.entries = xcalloc(1, sizeof(raft_entry_t));
    m.entries[0].len = strlen(data);
    m.entries[0].data = bytes_dup(data, m.entries[0].len);
    return m;
}

void rt_propose(raft_t *r, const char *data)
{
    raft_message_t m = rt_propose_msg(r->id, data);
    tkv_err_t err = raft_step(r, &m);
    raft_message_free(&m);
    if (err != TKV_OK)
        fail_msg("proposal on node %llu: %s", (unsigned long long)r->id, tkv_last_error());
}

void rt_tick_n(raft_t *r, int n)
{
    for (int i = 0; i < n; i++)
        raft_tick(r);
}

void rt_persist(raft_t *r)
{
    mem_storage_t *ms = rt_storage_of(r);
    const raft_snapshot_t *snap = rlog_pending_snapshot(&r->log);
    if (snap != NULL) {
        expect_err(mem_storage_apply_snapshot(ms, snap), TKV_OK,
                   "mem_storage_apply_snapshot(ms, snap)");
        rlog_stable_snap_to(&r->log, snap->metadata.index);
    }
    size_t n;
    const raft_entry_t *ents = rlog_unstable_entries(&r->log, &n);
    if (n == 0)
        return;
    expect_err(mem_storage_append(ms, ents, n), TKV_OK, "mem_storage_append(ms, ents, n)");
    rlog_stable_to(&r->log, ents[n - 1].index, ents[n - 1].term);
}

void rt_make_leader(raft_t *r)
{
    raft_become_candidate(r);
    for (size_t i = 0; i < r->prs.n; i++) {
        uint64_t id = r->prs.items[i].id;
        if (id == r->id)
            continue;
        raft_message_t m = rt_msg(RAFT_MSG_REQUEST_VOTE_RESPONSE, id, r->id, r->term);
        raft_step(r, &m);
    }
    if (r->prs.n == 1)
        raft_become_leader(r); /* nobody to ask */
    expect_role(r, RAFT_LEADER, "node %llu after rt_make_leader() gave it every vote",
                (unsigned long long)r->id);
}

/* ---- the network ---- */

rt_network_t *rt_net_new(size_t n, raft_t **preset)
{
    assert_true(n >= 1 && n <= RT_MAX_NODES);
    rt_network_t *net = xcalloc(1, sizeof(*net));
    net->n = n;
    prng_seed(&net->prng, 1);
    for (size_t i = 0; i < n; i++) {
        raft_t *p = preset ? preset[i] : NULL;
        net->nodes[i + 1] = p ? p : rt_raft(i + 1, n, NULL);
    }
    return net;
}

void rt_net_free(rt_network_t *net)
{
    for (size_t i = 1; i <= net->n; i++)
        rt_free_raft(net->nodes[i]);
    free(net);
}

raft_t *rt_net_node(rt_network_t *net, uint64_t id)
{
    assert_true(id >= 1 && id <= net->n);
    return net->nodes[id];
}

static int net_drops(rt_network_t *net, const raft_message_t *m)
{
    if (m->to < 1 || m->to > net->n || net->ignore[m->type])
        return 1;
    int perc = net->drop_perc[m->from][m->to];
    return perc > 0 && (int)prng_below(&net->prng, 100) < perc;
}

void rt_net_send(rt_network_t *net, raft_message_t first)
{
    size_t cap = 64, head = 0, tail = 0;
    raft_message_t *q = xmalloc(cap * sizeof(*q));
    raft_message_copy(&q[tail++], &first);
    while (head < tail) {
        raft_message_t m = q[head++];
        raft_t *to = (m.to >= 1 && m.to <= net->n) ? net->nodes[m.to] : NULL;
        if (to != NULL && to != RT_BLACKHOLE) {
            raft_step(to, &m); /* proposals may fail; that is the test's business */
            size_t n;
            raft_message_t *out = rt_take(to, &n);
            for (size_t i = 0; i < n; i++) {
                if (net_drops(net, &out[i])) {
                    raft_message_free(&out[i]);
                    continue;
                }
                if (tail == cap) {
                    /* compact the consumed head, then grow */
                    memmove(q, q + head, (tail - head) * sizeof(*q));
                    tail -= head;
                    head = 0;
                    if (tail == cap) {
                        cap *= 2;
                        q = xrealloc(q, cap * sizeof(*q));
                    }
                }
                q[tail++] = out[i];
            }
            free(out);
        }
        raft_message_free(&m);
    }
    free(q);
}

void rt_net_hup(rt_network_t *net, uint64_t id)
{
    rt_net_send(net, rt_msg(RAFT_MSG_HUP, id, id, 0));
}

void rt_net_propose(rt_network_t *net, uint64_t id, const char *data)
{
    raft_message_t m = rt_propose_msg(id, data);
    rt_net_send(net, m);
    raft_message_free(&m);
}

void rt_net_cut(rt_network_t *net, uint64_t a, uint64_t b)
{
    net->drop_perc[a][b] = 100;
    net->drop_perc[b][a] = 100;
}

void rt_net_isolate(rt_network_t *net, uint64_t id)
{
    for (uint64_t i = 1; i <= net->n; i++) {
        if (i != id)
            rt_net_cut(net, id, i);
    }
}

void rt_net_ignore(rt_network_t *net, raft_msg_type_t t)
{
    net->ignore[t] = 1;
}

void rt_net_drop(rt_network_t *net, uint64_t from, uint64_t to, int perc)
{
    net->drop_perc[from][to] = perc;
}

void rt_net_tick(rt_network_t *net, uint64_t id, int n)
{
    raft_t *r = rt_net_node(net, id);
    for (int i = 0; i < n; i++) {
        raft_tick(r);
        size_t k;
        raft_message_t *out = rt_take(r, &k);
        for (size_t j = 0; j < k; j++) {
            if (!net_drops(net, &out[j]))
                rt_net_send(net, out[j]);
            raft_message_free(&out[j]);
        }
        free(out);
    }
}

void rt_net_set_features(rt_network_t *net, int pre_vote, int check_quorum)
{
    for (uint64_t i = 1; i <= net->n; i++) {
        raft_t *r = net->nodes[i];
        if (r == NULL || r == RT_BLACKHOLE)
            continue;
        r->pre_vote = pre_vote;
        r->check_quorum = check_quorum;
    }
}

void rt_features_from_env(raft_config_t *cfg)
{
    const char *f = getenv("TKV_RAFT_FEATURES");
    if (f == NULL)
        return;
    cfg->pre_vote = strstr(f, "pre_vote") != NULL;
    cfg->check_quorum = strstr(f, "check_quorum") != NULL;
    cfg->read_lease = cfg->check_quorum && strstr(f, "read_lease") != NULL;
    cfg->flow_control = strstr(f, "flow_control") != NULL;
    cfg->fast_backtrack = strstr(f, "fast_backtrack") != NULL;
}

void rt_plain_raft_only(const char *features, const char *why)
{
    const char *f = getenv("TKV_RAFT_FEATURES");
    if (f == NULL)
        return;
    char list[128];
    snprintf(list, sizeof(list), "%s", features);
    char *save = NULL;
    for (char *item = strtok_r(list, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
        int all = 1;
        char *save2 = NULL;
        for (char *one = strtok_r(item, "+", &save2); one != NULL;
             one = strtok_r(NULL, "+", &save2))
            all &= strstr(f, one) != NULL;
        if (all) {
            fprintf(stderr, "skipped under TKV_RAFT_FEATURES=%s: %s\n", f, why);
            skip();
        }
    }
}

void rt_net_recover(rt_network_t *net)
{
    memset(net->drop_perc, 0, sizeof(net->drop_perc));
    memset(net->ignore, 0, sizeof(net->ignore));
}
