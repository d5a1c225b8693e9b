/*
 * Project 3C, region heartbeats: the scheduler takes a heartbeat only if its
 * epoch is not stale, and then knows exactly what it said (range, epoch,
 * peers, leader, pending peers, size) and counts it into the stores.
 *
 * Most tests start from the same cluster: stores 1-3 and three regions of
 * three peers, [r0, r1) [r1, r2) [r2, r3), all at epoch (2, 2).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project3-multiraft/scheduler/service.h"
#include "tests/harness/expect.h"
#include "tests/scheduler/sched_fixture.h"

#define NREG 3

typedef struct {
    sfix_t *f;
    sched_region_t *r[NREG]; /* what the cluster should hold */
} hfix_t;

static void heartbeat_ok(sfix_t *f, const sched_region_t *r)
{
    tkv_err_t e = cluster_process_region_heartbeat(f->c, r);
    if (e != TKV_OK)
        fail_msg("heartbeat of region %llu refused: %s", (unsigned long long)region_id(r),
                 tkv_last_error());
}

static void heartbeat_stale(sfix_t *f, const sched_region_t *r)
{
    expect_err(cluster_process_region_heartbeat(f->c, r), TKV_ERR_STALE,
               "a heartbeat of region %llu at epoch (conf_ver %llu, version %llu), older than "
               "what the cluster knows",
               (unsigned long long)region_id(r), (unsigned long long)region_conf_ver(r),
               (unsigned long long)region_version(r));
}

/* Replaces the expected region i with `r` (taking it) after heartbeating it. */
static void accept_as(hfix_t *h, size_t i, sched_region_t *r)
{
    heartbeat_ok(h->f, r);
    region_free(h->r[i]);
    h->r[i] = r;
    check_regions(h->f, h->r, NREG);
}

/* A deep copy of expected region i, to modify. */
static sched_region_t *clone(hfix_t *h, size_t i)
{
    return region_copy(h->r[i]);
}

static int hsetup(void **state)
{
    sfix_setup(state);
    hfix_t *h = test_calloc(1, sizeof(*h));
    h->f = *state;
    for (uint64_t s = 1; s <= 3; s++)
        sfix_add_store(h->f, s);
    for (size_t i = 0; i < NREG; i++) {
        char start[8], end[8];
        snprintf(start, sizeof(start), "r%zu", i);
        snprintf(end, sizeof(end), "r%zu", i + 1);
        /* Peers rotate over the stores so each store leads one region. */
        uint64_t stores[3] = { i % 3 + 1, (i + 1) % 3 + 1, (i + 2) % 3 + 1 };
        h->r[i] = mk_region(i + 1, start, end, 2, 2, stores, 3, 0, 10 * (i + 1));
        heartbeat_ok(h->f, h->r[i]);
        check_regions(h->f, h->r, i + 1);
    }
    *state = h;
    return 0;
}

static int hteardown(void **state)
{
    hfix_t *h = *state;
    for (size_t i = 0; i < NREG; i++)
        region_free(h->r[i]);
    void *f = h->f;
    test_free(h);
    return sfix_teardown(&f);
}

static void test_equal_epoch_changes_nothing(void **state)
{
    hfix_t *h = *state;
    for (size_t i = 0; i < NREG; i++) {
        heartbeat_ok(h->f, h->r[i]);
        check_regions(h->f, h->r, NREG);
    }
}

static void test_newer_version_updates(void **state)
{
    hfix_t *h = *state;
    for (size_t i = 0; i < NREG; i++) {
        sched_region_t *r = clone(h, i);
        r->region->region_epoch->version++;
        accept_as(h, i, r);
    }
    /* What was accepted is what a restarted scheduler knows. */
    sfix_reopen(h->f);
    check_regions(h->f, h->r, NREG);
}

static void test_stale_version_rejected(void **state)
{
    hfix_t *h = *state;
    for (size_t i = 0; i < NREG; i++) {
        sched_region_t *origin = clone(h, i);
        sched_region_t *r = clone(h, i);
        r->region->region_epoch->version++;
        accept_as(h, i, r);
        /* Older version, newer conf_ver: still stale. */
        origin->region->region_epoch->conf_ver++;
        heartbeat_stale(h->f, origin);
        check_regions(h->f, h->r, NREG);
        region_free(origin);
    }
}

static void test_newer_version_and_conf_ver_update(void **state)
{
    hfix_t *h = *state;
    for (size_t i = 0; i < NREG; i++) {
        sched_region_t *r = clone(h, i);
        r->region->region_epoch->version++;
        r->region->region_epoch->conf_ver++;
        accept_as(h, i, r);
    }
}

static void test_stale_conf_ver_rejected(void **state)
{
    hfix_t *h = *state;
    for (size_t i = 0; i < NREG; i++) {
        sched_region_t *origin = clone(h, i);
        sched_region_t *r = clone(h, i);
        r->region->region_epoch->conf_ver++;
        accept_as(h, i, r);
        heartbeat_stale(h->f, origin);
        check_regions(h->f, h->r, NREG);
        region_free(origin);
    }
}

static void test_stale_heartbeat_not_persisted(void **state)
{
    hfix_t *h = *state;
    sched_region_t *origin = clone(h, 1);
    sched_region_t *r = clone(h, 1);
    r->region->region_epoch->conf_ver++;
    accept_as(h, 1, r);
    /* The stale one also claims a bigger size and another leader: none of it
     * may reach the disk. */
    origin->approximate_size = 999;
    region_set_leader(origin, 2);
    heartbeat_stale(h->f, origin);
    region_free(origin);
    sfix_reopen(h->f);
    check_regions(h->f, h->r, NREG);
}

static void test_stale_against_overlapping_region(void **state)
{
    hfix_t *h = *state;
    /* Region 2 [r1, r2) merged region 3 [r2, r3) away: version 3, [r1, r3). */
    uint64_t stores[3] = { 2, 3, 1 };
    sched_region_t *merged = mk_region(2, "r1", "r3", 2, 3, stores, 3, 0, 50);
    heartbeat_ok(h->f, merged);
    expect_absent(cluster_get_region(h->f->c, 3),
                  "region 3 in the cluster after region 2 merged it away");
    /* Region 3's old leader has not heard: its heartbeat at version 2 is
     * stale against the merged region, though region 3 itself is unknown. */
    heartbeat_stale(h->f, h->r[2]);
    expect_absent(cluster_get_region(h->f->c, 3),
                  "region 3 in the cluster after its stale heartbeat (refused: the merged region "
                  "overlapping it is newer)");
    check_region(cluster_search_region(h->f->c, slice_of_str("r2")), merged);
    region_free(merged);
}

static void test_pending_peers_added(void **state)
{
    hfix_t *h = *state;
    for (size_t i = 0; i < NREG; i++) {
        sched_region_t *r = clone(h, i);
        region_set_pending(r, r->region->peers[(i + 1) % 3]->store_id);
        accept_as(h, i, r);
    }
    for (uint64_t s = 1; s <= 3; s++)
        expect_u64(cluster_get_store(h->f->c, s)->pending_peer_count, 1,
                   "store %llu's pending peer count (one of its peers is pending)",
                   (unsigned long long)s);
}

static void test_pending_peers_removed(void **state)
{
    hfix_t *h = *state;
    for (size_t i = 0; i < NREG; i++) {
        sched_region_t *r = clone(h, i);
        region_set_pending(r, r->region->peers[1]->store_id);
        accept_as(h, i, r);
        r = clone(h, i);
        region_set_pending(r, 0);
        accept_as(h, i, r);
    }
    for (uint64_t s = 1; s <= 3; s++)
        expect_u64(cluster_get_store(h->f->c, s)->pending_peer_count, 0,
                   "store %llu's pending peer count after heartbeats cleared every pending peer",
                   (unsigned long long)s);
}

static void test_peers_removed(void **state)
{
    hfix_t *h = *state;
    for (size_t i = 0; i < NREG; i++) {
        sched_region_t *r = clone(h, i);
        region_keep_peers(r, 1);
        accept_as(h, i, r);
    }
}

static void test_peers_added_back(void **state)
{
    hfix_t *h = *state;
    for (size_t i = 0; i < NREG; i++) {
        sched_region_t *origin = clone(h, i);
        sched_region_t *r = clone(h, i);
        region_keep_peers(r, 1);
        accept_as(h, i, r);
        accept_as(h, i, origin);
    }
}

static void test_leader_change(void **state)
{
    hfix_t *h = *state;
    for (size_t i = 0; i < NREG; i++) {
        sched_region_t *r = clone(h, i);
        region_set_leader(r, 1);
        accept_as(h, i, r);
    }
}

static void test_approximate_size_change(void **state)
{
    hfix_t *h = *state;
    for (size_t i = 0; i < NREG; i++) {
        sched_region_t *r = clone(h, i);
        r->approximate_size = 144;
        accept_as(h, i, r);
    }
}

static void test_region_counts(void **state)
{
    hfix_t *h = *state;
    /* Every store has one peer of each region and leads exactly one. */
    for (uint64_t s = 1; s <= 3; s++) {
        const sched_store_t *st = cluster_get_store(h->f->c, s);
        expect_u64(st->region_count, NREG,
                   "store %llu's region count (it holds a peer of each region)",
                   (unsigned long long)s);
        expect_u64(st->leader_count, 1, "store %llu's leader count (it leads one region)",
                   (unsigned long long)s);
        expect_u64(st->region_size, 10 + 20 + 30,
                   "store %llu's region size (the sum of its regions' sizes)",
                   (unsigned long long)s);
    }
}

static void test_get_regions(void **state)
{
    hfix_t *h = *state;
    /* In key order, by id, by key. */
    expect_u64(cluster_region_count(h->f->c), NREG, "regions the cluster holds");
    for (size_t i = 0; i < NREG; i++) {
        check_region(cluster_region_at(h->f->c, i), h->r[i]);
        check_region(cluster_get_region(h->f->c, i + 1), h->r[i]);
        check_region(cluster_search_region(h->f->c, region_start(h->r[i])), h->r[i]);
    }
    expect_absent(cluster_get_region(h->f->c, 99), "region 99 (never reported) in the cluster");
    expect_absent(cluster_search_region(h->f->c, slice_of_str("a")),
                  "a region holding key \"a\" (below every region's range)");
    expect_absent(cluster_search_region(h->f->c, slice_of_str("r3")),
                  "a region holding key \"r3\" (the last region ends there)");
}

static void test_region_stores(void **state)
{
    hfix_t *h = *state;
    /* The stores a region names are known, and each store's statistics add
     * up over the regions it holds. */
    for (size_t i = 0; i < NREG; i++) {
        const sched_region_t *r = cluster_get_region(h->f->c, i + 1);
        for (size_t p = 0; p < r->region->n_peers; p++) {
            const sched_store_t *st = cluster_get_store(h->f->c, r->region->peers[p]->store_id);
            expect_present(st, "store %llu, named by region %zu's peers, in the cluster",
                           (unsigned long long)r->region->peers[p]->store_id, i + 1);
            expect_present(region_store_peer(r, st->meta->id), "region %zu's peer on store %llu",
                           i + 1, (unsigned long long)st->meta->id);
        }
        expect_u64(region_leader_store(r), r->region->peers[0]->store_id,
                   "the store leading region %zu (its first peer's)", i + 1);
    }
    check_regions(h->f, h->r, NREG);
}

/* ---- splits and merges -------------------------------------------------- */

static void test_heartbeat_after_split(void **state)
{
    sfix_t *f = *state;
    uint64_t none[1] = { 0 };
    /* 1: [, ) */
    sched_region_t *r1 = mk_region(1, "", "", 1, 1, none, 0, -1, 0);
    heartbeat_ok(f, r1);
    check_region(cluster_search_region(f->c, slice_of_str("foo")), r1);

    /* Split: 2 [, m) and 1 [m, ); region 2 reports first. */
    region_set_start(r1, slice_of_str("m"));
    r1->region->region_epoch->version++;
    sched_region_t *r2 = mk_region(2, "", "m", 1, 1, none, 0, -1, 0);
    heartbeat_ok(f, r2);
    check_region(cluster_search_region(f->c, slice_of_str("a")), r2);
    /* [m, ) is unknown until region 1 reports. */
    expect_absent(
        cluster_search_region(f->c, slice_of_str("z")),
        "a region holding key \"z\" ([m, ) is unknown until region 1 reports after the split)");
    heartbeat_ok(f, r1);
    check_region(cluster_search_region(f->c, slice_of_str("z")), r1);

    /* Split: 3 [m, q) and 1 [q, ); region 1 reports first. */
    region_set_start(r1, slice_of_str("q"));
    r1->region->region_epoch->version++;
    sched_region_t *r3 = mk_region(3, "m", "q", 1, 1, none, 0, -1, 0);
    heartbeat_ok(f, r1);
    check_region(cluster_search_region(f->c, slice_of_str("z")), r1);
    check_region(cluster_search_region(f->c, slice_of_str("a")), r2);
    expect_absent(cluster_search_region(f->c, slice_of_str("n")),
                  "a region holding key \"n\" ([m, q) is unknown until region 3 reports)");
    heartbeat_ok(f, r3);
    check_region(cluster_search_region(f->c, slice_of_str("n")), r3);
    region_free(r1);
    region_free(r2);
    region_free(r3);
}

static void test_stale_after_split(void **state)
{
    sfix_t *f = *state;
    uint64_t s1[1] = { 1 };
    sched_region_t *old = mk_region(1, "", "", 1, 1, s1, 1, 0, 10);
    heartbeat_ok(f, old);
    /* Split at "m": both halves are one version up; the new left half
     * reports first and replaces region 1. */
    sched_region_t *left = mk_region(2, "", "m", 1, 2, s1, 1, 0, 5);
    heartbeat_ok(f, left);
    expect_absent(cluster_search_region(f->c, slice_of_str("z")),
                  "a region holding key \"z\" after the left half of a split replaced region 1 "
                  "(the right half has not reported)");
    /* A slow old leader of region 1 still reports the whole range. */
    heartbeat_stale(f, old);
    check_region(cluster_search_region(f->c, slice_of_str("a")), left);
    expect_absent(cluster_get_region(f->c, 1),
                  "region 1 in the cluster after a stale heartbeat from before its split");
    expect_absent(
        cluster_search_region(f->c, slice_of_str("z")),
        "a region holding key \"z\" after a stale heartbeat from before the split (refused)");
    sched_region_t *right = mk_region(1, "m", "", 1, 2, s1, 1, 0, 5);
    heartbeat_ok(f, right);
    check_region(cluster_search_region(f->c, slice_of_str("z")), right);
    expect_u64(cluster_region_count(f->c), 2,
               "regions the cluster holds after both halves of the split reported");
    region_free(old);
    region_free(left);
    region_free(right);
}

/* One generation of regions covering the key space. */
typedef struct {
    sched_region_t *r[256];
    size_t n;
} gen_t;

static uint8_t first_byte(tkv_slice_t k, uint8_t dflt)
{
    return k.len ? k.data[0] : dflt;
}

/* Every region split in two at the middle of its first bytes, both halves
 * one version up, under fresh ids. */
static void split_all(sfix_t *f, gen_t *g)
{
    gen_t out = { { 0 }, 0 };
    uint64_t none[1] = { 0 };
    for (size_t i = 0; i < g->n; i++) {
        sched_region_t *r = g->r[i];
        uint8_t lo = first_byte(region_start(r), 0), hi = first_byte(region_end(r), 255);
        uint8_t mid[1] = { (uint8_t)(lo / 2 + hi / 2) };
        uint64_t v = region_version(r) + 1, cv = region_conf_ver(r);
        out.r[out.n++] = mk_region_bytes(f->next_region_id++, region_start(r), slice_of(mid, 1), cv,
                                         v, none, 0, -1, 0);
        out.r[out.n++] = mk_region_bytes(f->next_region_id++, slice_of(mid, 1), region_end(r), cv,
                                         v, none, 0, -1, 0);
        region_free(r);
    }
    *g = out;
}

/* Neighbours merged pairwise into a region one version above both. */
static void merge_all(sfix_t *f, gen_t *g)
{
    gen_t out = { { 0 }, 0 };
    uint64_t none[1] = { 0 };
    for (size_t i = 0; i < g->n; i += 2) {
        sched_region_t *l = g->r[i], *r = i + 1 < g->n ? g->r[i + 1] : g->r[i];
        uint64_t v =
            (region_version(l) > region_version(r) ? region_version(l) : region_version(r)) + 1;
        out.r[out.n++] = mk_region_bytes(f->next_region_id++, region_start(l), region_end(r),
                                         region_conf_ver(l), v, none, 0, -1, 0);
        region_free(l);
        if (r != l)
            region_free(r);
    }
    *g = out;
}

/* Heartbeats a generation in order and checks each region is found by id,
 * by its start key and by the last key below its end, both right after its
 * heartbeat and when all have reported. */
static void heartbeat_generation(sfix_t *f, const gen_t *g)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < g->n; i++) {
            const sched_region_t *r = g->r[i];
            if (pass == 0)
                heartbeat_ok(f, r);
            check_region(cluster_get_region(f->c, region_id(r)), r);
            check_region(cluster_search_region(f->c, region_start(r)), r);
            tkv_slice_t end = region_end(r);
            if (end.len > 0) {
                uint8_t below[1] = { (uint8_t)(end.data[0] - 1) };
                check_region(cluster_search_region(f->c, slice_of(below, 1)), r);
                if (pass == 1) {
                    uint8_t above[1] = { (uint8_t)(end.data[0] + 1) };
                    const sched_region_t *other = cluster_search_region(f->c, slice_of(above, 1));
                    expect_true(other == NULL || region_id(other) != region_id(r),
                                "region %llu must not hold key 0x%02x, above its end",
                                (unsigned long long)region_id(r), above[0]);
                }
            }
        }
    }
    expect_u64(cluster_region_count(f->c), g->n,
               "regions the cluster holds after a generation of splits or merges reported");
}

static void test_split_and_merge(void **state)
{
    sfix_t *f = *state;
    uint64_t none[1] = { 0 };
    gen_t g = { { 0 }, 0 };
    g.r[g.n++] = mk_region(f->next_region_id++, "", "", 1, 1, none, 0, -1, 0);
    const int n = 7; /* 2^7 regions; first bytes stay distinct */
    for (int i = 0; i < n; i++) {
        split_all(f, &g);
        heartbeat_generation(f, &g);
    }
    for (int i = 0; i < n; i++) {
        merge_all(f, &g);
        heartbeat_generation(f, &g);
    }
    /* Split twice, merge once. */
    for (int i = 0; i < 2 * n; i++) {
        if ((i + 1) % 3 == 0)
            merge_all(f, &g);
        else
            split_all(f, &g);
        heartbeat_generation(f, &g);
    }
    sfix_reopen(f);
    heartbeat_generation(f, &g);
    for (size_t i = 0; i < g.n; i++)
        region_free(g.r[i]);
}

/* ---- concurrency ----------------------------------------------------------- */

#define CONC_REGIONS 2000
#define CONC_THREADS 8

typedef struct {
    sched_server_t *srv;
    int first;
    int failures;
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    uint64_t stores[1] = { 1 };
    for (int i = w->first; i < CONC_REGIONS; i += CONC_THREADS) {
        char start[16], end[16];
        snprintf(start, sizeof(start), "%5d", i);
        snprintf(end, sizeof(end), "%5d", i + 1);
        sched_region_t *r = mk_region(100 + i, i == 0 ? "" : start,
                                      i == CONC_REGIONS - 1 ? "" : end, 1, 1, stores, 1, 0, 1);
        Schedulerpb__RegionHeartbeatResponse resp = SCHEDULERPB__REGION_HEARTBEAT_RESPONSE__INIT;
        tkv_err_t e = sched_server_call(w->srv, "RegionHeartbeat", &r->base, &resp.base);
        if (e != TKV_OK || resp.header == NULL || resp.header->error != NULL)
            w->failures++;
        /* The response struct is ours; only its fields are malloc'd. */
        if (resp.header != NULL)
            schedulerpb__response_header__free_unpacked(resp.header, NULL);
        if (resp.change_peer != NULL)
            schedulerpb__change_peer__free_unpacked(resp.change_peer, NULL);
        if (resp.transfer_leader != NULL)
            schedulerpb__transfer_leader__free_unpacked(resp.transfer_leader, NULL);
        if (resp.region_epoch != NULL)
            metapb__region_epoch__free_unpacked(resp.region_epoch, NULL);
        if (resp.target_peer != NULL)
            metapb__peer__free_unpacked(resp.target_peer, NULL);
        region_free(r);
    }
    return NULL;
}

static void test_concurrent_heartbeats(void **state)
{
    sfix_t *f = *state;
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/server", f->dir);
    sched_server_t *srv = NULL;
    expect_err(sched_server_open(dir, &f->vc.clock, NULL, &srv), TKV_OK,
               "sched_server_open(dir, &f->vc.clock, NULL, &srv)");

    Metapb__Store store = METAPB__STORE__INIT;
    store.id = 1;
    store.address = "127.0.0.1:20001";
    Metapb__RegionEpoch epoch = METAPB__REGION_EPOCH__INIT;
    epoch.conf_ver = 1;
    epoch.version = 1;
    Metapb__Region first = METAPB__REGION__INIT;
    first.id = 99;
    first.region_epoch = &epoch;
    Schedulerpb__BootstrapRequest boot = SCHEDULERPB__BOOTSTRAP_REQUEST__INIT;
    boot.store = &store;
    boot.region = &first;
    Schedulerpb__BootstrapResponse bresp = SCHEDULERPB__BOOTSTRAP_RESPONSE__INIT;
    expect_err(sched_server_call(srv, "Bootstrap", &boot.base, &bresp.base), TKV_OK,
               "sched_server_call(srv, \"Bootstrap\", &boot.base, &bresp.base)");
    expect_absent(bresp.header->error, "the error in the Bootstrap response");
    schedulerpb__response_header__free_unpacked(bresp.header, NULL);

    pthread_t th[CONC_THREADS];
    worker_t w[CONC_THREADS];
    for (int i = 0; i < CONC_THREADS; i++) {
        w[i] = (worker_t){ srv, i, 0 };
        assert_int_equal(pthread_create(&th[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < CONC_THREADS; i++) {
        pthread_join(th[i], NULL);
        expect_u64(w[i].failures, 0,
                   "RegionHeartbeat calls by thread %d that failed (error code, missing header or "
                   "header error)",
                   i);
    }
    /* The 2000 regions cover the key space and replaced the first one. */
    sched_cluster_t *c = sched_server_cluster(srv);
    expect_u64(cluster_region_count(c), CONC_REGIONS,
               "regions the cluster holds after %d concurrent heartbeats", CONC_REGIONS);
    for (int i = 0; i < CONC_REGIONS; i++) {
        char key[16];
        snprintf(key, sizeof(key), "%5d", i);
        const sched_region_t *r = cluster_search_region(c, slice_of_str(key));
        expect_present(r, "a region holding key \"%s\"", key);
        expect_u64(region_id(r), 100 + i, "the id of the region holding key \"%s\"", key);
    }
    expect_u64(cluster_get_store(c, 1)->region_count, CONC_REGIONS,
               "store 1's region count after the concurrent heartbeats");
    expect_u64(cluster_get_store(c, 1)->leader_count, CONC_REGIONS,
               "store 1's leader count after the concurrent heartbeats");
    sched_server_close(srv);
}

#define H(name, pts, desc, fn)                                                                     \
    {                                                                                              \
        "project3c", name, pts, desc, fn, 0, hsetup, hteardown                                     \
    }
#define F(name, pts, desc, fn)                                                                     \
    {                                                                                              \
        "project3c", name, pts, desc, fn, 0, sfix_setup, sfix_teardown                             \
    }

const tkv_test_t heartbeat_tests[] = {
    H("region_not_updated_on_equal_epoch", 2,
      "a heartbeat repeating the known epoch is accepted and changes nothing",
      test_equal_epoch_changes_nothing),
    H("region_updates_on_version", 3,
      "a heartbeat with a newer version replaces the region (and survives a restart)",
      test_newer_version_updates),
    H("region_stale_version_rejected", 4,
      "a heartbeat with an older version is refused (TKV_ERR_STALE) even with a newer conf_ver",
      test_stale_version_rejected),
    H("region_updates_on_version_and_conf_ver", 2,
      "a heartbeat with a newer version and conf_ver replaces the region",
      test_newer_version_and_conf_ver_update),
    H("region_stale_conf_ver_rejected", 4,
      "a heartbeat with an older conf_ver is refused (TKV_ERR_STALE) and changes nothing",
      test_stale_conf_ver_rejected),
    H("stale_heartbeat_not_persisted", 3,
      "a refused heartbeat leaves the database untouched: a restart sees the accepted state",
      test_stale_heartbeat_not_persisted),
    H("stale_against_overlapping_region", 3,
      "a heartbeat older (version) than a region it overlaps is refused",
      test_stale_against_overlapping_region),
    H("pending_peers_added", 2, "pending peers are recorded and counted per store",
      test_pending_peers_added),
    H("pending_peers_removed", 2,
      "pending peers cleared by a heartbeat are forgotten and uncounted",
      test_pending_peers_removed),
    H("peers_removed", 2, "a heartbeat with fewer peers removes them from the region and stores",
      test_peers_removed),
    H("peers_added_back", 2, "peers removed and then reported again are back",
      test_peers_added_back),
    H("leader_change", 2, "a new leader is recorded and leader counts move with it",
      test_leader_change),
    H("approximate_size_change", 2, "a new approximate size is recorded and summed per store",
      test_approximate_size_change),
    H("region_counts", 2, "each store counts the regions and leaders it holds", test_region_counts),
    H("get_regions", 2, "regions are found by id, by key and in key order", test_get_regions),
    H("region_stores", 2, "every peer's store is known and store statistics add up",
      test_region_stores),
    F("heartbeat_after_split", 4,
      "after a split each half is found by key, whichever reports first",
      test_heartbeat_after_split),
    F("stale_after_split", 3,
      "a heartbeat from before a split is refused once a half of the split is known",
      test_stale_after_split),
    F("split_and_merge", 4,
      "seven rounds of splits, of merges, then mixed: every region found by id and key",
      test_split_and_merge),
    F("concurrent_heartbeats", 4, "2000 heartbeats from 8 threads through the service all land",
      test_concurrent_heartbeats),
    { 0 },
};
