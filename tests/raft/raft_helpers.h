/*
 * Shared helpers for the Raft core tests: making nodes and storages, making
 * and collecting messages, and a small in-memory network that delivers
 * messages between raft_t nodes one by one (the etcd/raft test network).
 *
 * Conventions: a raft_t made here owns its mem_storage_t; free both with
 * rt_free_raft(). Message arrays from rt_take() are freed with rt_free_msgs().
 */
#ifndef TKV_TESTS_RAFT_HELPERS_H
#define TKV_TESTS_RAFT_HELPERS_H

#include "project2-raft/raft/raft.h"
#include "project2-raft/raft/rawnode.h"
#include "project2-raft/raft/storage.h"
#include "tests/harness/test.h"

#define RT_MAX_NODES 8

/* Ids 1..n, in a static array (valid for the program's life). */
const uint64_t *rt_ids(size_t n);

/* A storage holding entries of the given terms at indexes 1, 2, ... */
mem_storage_t *rt_storage_with_terms(const uint64_t *terms, size_t n);
/* A node in cluster `peers` over `ms` (NULL: a fresh empty storage), taking
 * ownership of ms. Fails the test on error. */
raft_t *rt_new_raft(uint64_t id, const uint64_t *peers, size_t n_peers, int election, int heartbeat,
                    mem_storage_t *ms);
/* Like rt_new_raft with peers 1..n, election 10, heartbeat 1. */
raft_t *rt_raft(uint64_t id, size_t n, mem_storage_t *ms);
void rt_free_raft(raft_t *r);
mem_storage_t *rt_storage_of(raft_t *r);

raft_message_t rt_msg(raft_msg_type_t type, uint64_t from, uint64_t to, uint64_t term);
/* Steps m into r and fails the test if raft_step returns an error. */
void rt_step(raft_t *r, raft_message_t m);
/* r's queued messages (caller frees with rt_free_msgs). */
raft_message_t *rt_take(raft_t *r, size_t *n);
void rt_free_msgs(raft_message_t *msgs, size_t n);
/* Drops r's queued messages. */
void rt_clear(raft_t *r);
/* Entry i (1-based) of r's log: its term, 0 if absent. */
uint64_t rt_term_at(raft_t *r, uint64_t i);
/* The number of entries in r's log after index 0 (last index). */
uint64_t rt_last(raft_t *r);
/* A proposal message with one entry holding `data` (a C string, borrowed). */
raft_message_t rt_propose_msg(uint64_t to, const char *data);
/* Steps a proposal with `data`, expecting success. */
void rt_propose(raft_t *r, const char *data);
/* Ticks r until it is no longer a follower or `max` ticks passed. */
void rt_tick_n(raft_t *r, int n);
/* Writes r's unstable entries (and pending snapshot) to its storage, as the
 * application would after a Ready, and tells the log they are stable. */
void rt_persist(raft_t *r);
/* Makes r a leader at term+1 without a network: candidate, then votes. */
void rt_make_leader(raft_t *r);

/* ---- the network ---- */
typedef struct {
    raft_t *nodes[RT_MAX_NODES + 1]; /* by id; NULL: absent; RT_BLACKHOLE: drops all */
    size_t n;
    int drop_perc[RT_MAX_NODES + 1][RT_MAX_NODES + 1];
    int ignore[32]; /* by message type */
    tkv_prng_t prng;
} rt_network_t;

extern raft_t rt_blackhole_node;
#define RT_BLACKHOLE (&rt_blackhole_node)

/* A network of n nodes with ids 1..n. preset (may be NULL) gives a node per
 * id (index id - 1): NULL for a fresh node, RT_BLACKHOLE, or a raft_t the
 * network takes over. */
rt_network_t *rt_net_new(size_t n, raft_t **preset);
void rt_net_free(rt_network_t *net);
/* Delivers m (copied) and every message it causes, until quiet. */
void rt_net_send(rt_network_t *net, raft_message_t m);
void rt_net_hup(rt_network_t *net, uint64_t id);
void rt_net_propose(rt_network_t *net, uint64_t id, const char *data);
void rt_net_cut(rt_network_t *net, uint64_t a, uint64_t b);
void rt_net_isolate(rt_network_t *net, uint64_t id);
void rt_net_ignore(rt_network_t *net, raft_msg_type_t t);
void rt_net_drop(rt_network_t *net, uint64_t from, uint64_t to, int perc);
void rt_net_recover(rt_network_t *net);
raft_t *rt_net_node(rt_network_t *net, uint64_t id);
/* Ticks node id n times, delivering what each tick makes it send. */
void rt_net_tick(rt_network_t *net, uint64_t id, int n);
/* Turns the election extensions (project2x) on or off on every node. */
void rt_net_set_features(rt_network_t *net, int pre_vote, int check_quorum);

/* ---- running the core suites with extensions on ----
 * TKV_RAFT_FEATURES=pre_vote,check_quorum,read_lease,flow_control,fast_backtrack
 * (any of them, comma-separated; read_lease only with check_quorum)
 * turns those features on in every node the helpers and the randomized
 * cluster make; unset, TinyKV's defaults. */
void rt_features_from_env(raft_config_t *cfg);
/* For a test that checks plain Raft's own messages or elections, which a
 * feature changes by design: skips it (cmocka's skip(), saying `why` on
 * stderr) when TKV_RAFT_FEATURES forces on any of `features`, a
 * comma-separated list whose items may be "a+b" (both on). Never skips when
 * the variable is unset, as in every graded run. */
void rt_plain_raft_only(const char *features, const char *why);

#endif
