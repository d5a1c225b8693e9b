/*
 * Project 3B, one admin command at a time on a quiet cluster: leader
 * transfer, membership change, and the region errors a client sees.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/harness/mr_cluster.h"

static void expect_get(mr_cluster_t *m, const char *key, const char *want)
{
    char *v = mr_get(m, key);
    if ((v == NULL) != (want == NULL) || (v != NULL && strcmp(v, want) != 0))
        fail_msg("get %s: want %s, got %s", key, want ? want : "(nothing)", v ? v : "(nothing)");
    free(v);
}

/* TinyKV's TestTransferLeader3B: leadership moves to each peer in turn, and
 * the region keeps serving after every move. */
static void test_transfer_leader_to_each_peer(void **state)
{
    (void)state;
    mr_cluster_t *m = mr_cluster_new(5, 0, 301, NULL);
    if (mr_leader_of(m, 1, 5000) == 0)
        fail_msg("region 1 elected no leader in 5 s");
    for (int round = 0; round < 2; round++)
        for (int s = 1; s <= 5; s++) {
            mr_must_transfer_leader(m, 1, s);
            char key[16], val[16];
            snprintf(key, sizeof(key), "k%d", s);
            snprintf(val, sizeof(val), "v%d.%d", s, round);
            mr_must_put(m, key, val);
            expect_get(m, key, val);
        }
    mr_cluster_free(m);
}

#define T(name, pts, desc)                                                                         \
    {                                                                                              \
        "project3b", #name, pts, desc, test_##name, 120                                            \
    }

const tkv_test_t admin_tests[] = {
    T(transfer_leader_to_each_peer, 5,
      "TransferLeader moves leadership to each of 5 peers in turn; the region keeps serving"),
    { 0 },
};
