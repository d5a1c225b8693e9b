/*
 * Project 3B: membership change (ChangePeer) on a quiet cluster, peer by
 * peer: removed stores lose the region's data, added ones catch up from a
 * snapshot, and a removed peer stays dead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/expect.h"
#include "tests/harness/mr_cluster.h"

static uint64_t conf_ver_of(mr_cluster_t *m, int store, uint64_t region)
{
    peer_t *p = mr_peer_of(m, store, region);
    return p && peer_region(p)->region_epoch ? peer_region(p)->region_epoch->conf_ver : 0;
}

/* TinyKV's TestBasicConfChange3B, step by step. */
static void test_basic_conf_change(void **state)
{
    (void)state;
    mr_cluster_t *m = mr_cluster_new(5, 0, 311, NULL);
    mr_leader_of(m, 1, 5000);
    for (int s = 2; s <= 5; s++)
        mr_must_remove_peer(m, 1, s);
    for (int s = 2; s <= 5; s++)
        mr_must_none_peer(m, s, 1);
    mr_must_put(m, "k1", "v1");
    mr_must_get_on_store(m, 2, "k1", NULL);
    uint64_t cv = conf_ver_of(m, 1, 1);
    if (cv != 5)
        fail_msg("after four removals region 1's conf_ver should be 1 + 4 = 5; store 1 has %llu",
                 (unsigned long long)cv);

    mr_must_add_peer(m, 1, 2);
    mr_must_put(m, "k2", "v2");
    mr_must_get_on_store(m, 2, "k1", "v1");
    mr_must_get_on_store(m, 2, "k2", "v2");
    mr_must_get_on_store(m, 5, "k1", NULL);

    /* Move the region's second replica from store 2 to store 3. */
    mr_must_add_peer(m, 1, 3);
    mr_must_remove_peer(m, 1, 2);
    mr_must_put(m, "k3", "v3");
    mr_must_get_on_store(m, 3, "k1", "v1");
    mr_must_get_on_store(m, 3, "k3", "v3");
    mr_must_none_peer(m, 2, 1);
    mr_must_get_on_store(m, 2, "k1", NULL); /* its data went with it */
    mr_must_get_on_store(m, 2, "k2", NULL);

    /* Store 2 again, under a new peer id. */
    uint64_t old_id = 2;
    mr_must_add_peer(m, 1, 2);
    mr_must_have_peer(m, 2, 1);
    if (peer_id(mr_peer_of(m, 2, 1)) == old_id)
        fail_msg("store 2's re-added peer reuses the removed peer's id %llu",
                 (unsigned long long)old_id);
    mr_must_remove_peer(m, 1, 3);
    mr_must_put(m, "k4", "v4");
    mr_must_get_on_store(m, 2, "k1", "v1");
    mr_must_get_on_store(m, 2, "k4", "v4");
    mr_must_none_peer(m, 3, 1);
    mr_must_get_on_store(m, 3, "k1", NULL);

    /* Remove the leader itself: leadership moves first, the region goes on. */
    int leader = mr_leader_of(m, 1, 5000);
    mr_must_add_peer(m, 1, 4);
    mr_must_remove_peer(m, 1, leader);
    mr_must_none_peer(m, leader, 1);
    mr_must_put(m, "k5", "v5");
    int other = leader == 2 ? 1 : 2;
    mr_must_get_on_store(m, other, "k5", "v5");
    mr_must_get_on_store(m, 4, "k5", "v5");
    mr_must_get_on_store(m, leader, "k1", NULL);
    mr_cluster_free(m);
}

/* The region's peers on store 3 and its data are gone for good: restarting
 * store 3 does not bring the peer back, and late messages from before the
 * removal do not recreate it. */
static void test_removed_peer_stays_removed_across_restart(void **state)
{
    (void)state;
    mr_cluster_t *m = mr_cluster_new(3, 0, 312, NULL);
    mr_leader_of(m, 1, 5000);
    mr_must_put(m, "a", "1");
    mr_must_get_on_store(m, 3, "a", "1");
    mr_must_remove_peer(m, 1, 3);
    mr_must_none_peer(m, 3, 1);
    expect_err(sim_cluster_restart(m->c, 3), TKV_OK, "sim_cluster_restart(m->c, 3)");
    sim_run_for(mr_sim(m), 2000);
    if (mr_peer_of(m, 3, 1) != NULL)
        fail_msg("store 3 brought back the peer of region 1 it had destroyed (a tombstone must "
                 "keep it dead across a restart)");
    mr_must_get_on_store(m, 3, "a", NULL);
    mr_must_put(m, "b", "2");
    mr_must_get_on_store(m, 1, "b", "2");
    mr_cluster_free(m);
}

/* A peer cut off while it was removed never applies its removal; when the
 * partition heals, the region must tell it (a tombstone message) and it
 * must destroy itself rather than come back or serve reads. */
static void test_partitioned_removed_peer_is_destroyed(void **state)
{
    (void)state;
    mr_cluster_t *m = mr_cluster_new(3, 0, 313, NULL);
    mr_must_transfer_leader(m, 1, 1);
    mr_must_put(m, "a", "1");
    mr_must_get_on_store(m, 3, "a", "1");
    sim_net_isolate(sim_cluster_net(m->c), 3);
    mr_must_remove_peer(m, 1, 3);
    mr_must_put(m, "b", "2");
    if (mr_peer_of(m, 3, 1) == NULL)
        fail_msg("test setup: store 3 was cut off, it cannot know it was removed yet");
    sim_net_heal(sim_cluster_net(m->c));
    mr_must_none_peer(m, 3, 1);
    mr_must_get_on_store(m, 3, "a", NULL);
    /* It stays gone. */
    sim_run_for(mr_sim(m), 2000);
    if (mr_peer_of(m, 3, 1) != NULL)
        fail_msg("store 3's removed peer of region 1 came back after it was destroyed");
    mr_cluster_free(m);
}

/* Removed while cut off, then added again under a new id: the store drops
 * the stale peer and catches up as the new one. */
static void test_readded_with_new_id_after_partition(void **state)
{
    (void)state;
    mr_cluster_t *m = mr_cluster_new(3, 0, 314, NULL);
    mr_must_transfer_leader(m, 1, 1);
    mr_must_put(m, "a", "1");
    mr_must_get_on_store(m, 3, "a", "1");
    uint64_t old_id = peer_id(mr_peer_of(m, 3, 1));
    sim_net_isolate(sim_cluster_net(m->c), 3);
    mr_must_remove_peer(m, 1, 3);
    mr_must_put(m, "b", "2");
    mr_must_add_peer(m, 1, 3);
    mr_must_put(m, "c", "3");
    sim_net_heal(sim_cluster_net(m->c));
    mr_must_get_on_store(m, 3, "c", "3");
    mr_must_get_on_store(m, 3, "b", "2");
    peer_t *p = mr_peer_of(m, 3, 1);
    if (p == NULL || peer_id(p) == old_id)
        fail_msg("store 3 should host region 1 as its new peer, not the removed peer %llu",
                 (unsigned long long)old_id);
    mr_cluster_free(m);
}

#define T(name, pts, desc)                                                                         \
    {                                                                                              \
        "project3b", #name, pts, desc, test_##name, 120                                            \
    }

const tkv_test_t confchange_tests[] = {
    T(basic_conf_change, 5,
      "remove and re-add peers (the leader too, re-added ones with new ids): removed stores' "
      "data is destroyed, added ones catch up"),
    T(removed_peer_stays_removed_across_restart, 3,
      "a destroyed peer leaves a tombstone: a restart does not reopen it"),
    T(partitioned_removed_peer_is_destroyed, 4,
      "a peer removed while cut off learns it when the partition heals, and destroys itself"),
    T(readded_with_new_id_after_partition, 4,
      "a peer removed and re-added with a new id while cut off is replaced and catches up"),
    { 0 },
};
