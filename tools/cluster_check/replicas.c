/*
 * cluster-check: a store that comes back with a wiped data dir, and the
 * scheduler's repairs.
 *
 * The design (server/server_boot.h, scheduler/cluster.c cluster_put_store):
 * a store with no store.ident asks for a new id (AllocId); registering it
 * at the address of a store that is up tells the scheduler that the old
 * store is gone (one address is one process), so the old store goes
 * offline at once and the replica checker (scheduler/replica_check.h) moves
 * each of its replicas to a suitable store: here the new one, the only
 * store without a peer of every region. The check kill -9s a store, wipes
 * its data dir, restarts it on the same client address, and polls until
 * every region has its full replica count on the live stores again, none
 * on the old id; then the new store leads a region and every key reads
 * back through the leaders.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cluster_check/cc.h"

#define REPAIR_MS 90000

static int live_store(uint64_t id)
{
    int i = index_of_store(id);
    return i >= 0 && stores[i].up;
}

/* "" when every region has STORES peers on distinct live stores, none on
 * `gone`; otherwise the first region that does not, in `why`. */
static int regions_whole(uint64_t gone, size_t *n_regions, char *why, size_t size)
{
    char key[600] = "";
    *n_regions = 0;
    for (;;) {
        Schedulerpb__GetRegionResponse *g = get_region(key);
        if (g == NULL) {
            snprintf(why, size, "the scheduler did not answer GetRegion(\"%.100s\")", key);
            return 0;
        }
        const Metapb__Region *r = g->region;
        (*n_regions)++;
        int ok = r->n_peers == STORES;
        char peers[200] = "";
        size_t used = 0;
        for (size_t i = 0; i < r->n_peers; i++) {
            uint64_t s = r->peers[i]->store_id;
            if (s == gone || !live_store(s))
                ok = 0;
            for (size_t j = 0; j < i; j++)
                if (r->peers[j]->store_id == s)
                    ok = 0;
            used += (size_t)snprintf(peers + used, sizeof(peers) - used, "%s%llu", i ? "," : "",
                                     (unsigned long long)s);
            if (used >= sizeof(peers))
                break;
        }
        if (!ok) {
            snprintf(why, size, "region %llu (from \"%.*s\") has peers on stores {%s}",
                     (unsigned long long)r->id, (int)r->start_key.len, (char *)r->start_key.data,
                     peers);
            pb_free(g);
            return 0;
        }
        size_t len = r->end_key.len;
        if (len == 0 || len >= sizeof(key)) {
            pb_free(g);
            return 1;
        }
        memcpy(key, r->end_key.data, len);
        key[len] = '\0';
        pb_free(g);
    }
}

void check_wiped_store(int victim, const int *rounds)
{
    uint64_t t0 = now_ms();
    uint64_t old_id = stores[victim].store_id;
    char addr[64];
    snprintf(addr, sizeof(addr), "%s", stores[victim].addr);
    kill_store(victim);
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", stores[victim].data);
    if (system(cmd) != 0)
        die("cannot wipe %s", stores[victim].data);
    start_store_at(victim, addr);
    uint64_t new_id = stores[victim].store_id;
    if (new_id == old_id)
        die("store %d restarted with a wiped data dir should get a new store id; it says it is "
            "store %llu again",
            victim + 1, (unsigned long long)old_id);
    printf("cluster-check: store %d: kill -9, data dir wiped, restarted on %s: it is store %llu "
           "now (was %llu)\n",
           victim + 1, addr, (unsigned long long)new_id, (unsigned long long)old_id);

    uint64_t until = now_ms() + REPAIR_MS;
    char why[400] = "";
    size_t n = 0;
    while (!regions_whole(old_id, &n, why, sizeof(why))) {
        if (now_ms() > until)
            die("within %d ms of store %llu replacing store %llu, every region should have %d "
                "peers on the live stores {%llu,%llu,%llu} and none on %llu; %s",
                REPAIR_MS, (unsigned long long)new_id, (unsigned long long)old_id, STORES,
                (unsigned long long)stores[0].store_id, (unsigned long long)stores[1].store_id,
                (unsigned long long)stores[2].store_id, (unsigned long long)old_id, why);
        poll_pause();
    }
    /* The new replicas hold the data: the new store leads the first key's
     * region (Raft hands leadership only to an up-to-date peer) and every
     * key reads back. */
    char first[32];
    key_of(0, first, sizeof(first));
    move_leader(first, victim);
    check_keys(0, KEYS, rounds, "after a store was replaced with a wiped data dir");
    printf("cluster-check: the scheduler rebuilt the replicas of store %llu: %zu regions with %d "
           "peers each on the live stores; store %llu leads %s's region and every key reads back "
           "(%.1f s)\n",
           (unsigned long long)old_id, n, STORES, (unsigned long long)new_id, first,
           (double)(now_ms() - t0) / 1000.0);
}
