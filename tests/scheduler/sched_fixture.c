/*
 * The scheduler tests' fixture and message builders (sched_fixture.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project3-multiraft/scheduler/operator.h"
#include "tests/harness/expect.h"
#include "tests/scheduler/sched_fixture.h"

int sfix_setup(void **state)
{
    sfix_t *f = test_calloc(1, sizeof(*f));
    tkv_tmpdir(f->dir, sizeof(f->dir));
    vclock_init(&f->vc, 1000000);
    expect_err(eng_open(f->dir, &f->eng), TKV_OK, "eng_open(f->dir, &f->eng)");
    expect_err(cluster_open(f->eng, &f->vc.clock, NULL, &f->c), TKV_OK,
               "cluster_open(f->eng, &f->vc.clock, NULL, &f->c)");
    expect_err(idalloc_open(f->eng, 100, &f->ids), TKV_OK, "idalloc_open(f->eng, 100, &f->ids)");
    f->next_region_id = 1000;
    *state = f;
    return 0;
}

int sfix_teardown(void **state)
{
    sfix_t *f = *state;
    idalloc_free(f->ids);
    cluster_free(f->c);
    eng_close(f->eng);
    tkv_rmdir(f->dir);
    test_free(f);
    return 0;
}

void sfix_reopen(sfix_t *f)
{
    uint32_t replicas = cluster_config(f->c)->max_replicas;
    idalloc_free(f->ids);
    cluster_free(f->c);
    eng_close(f->eng);
    expect_err(eng_open(f->dir, &f->eng), TKV_OK, "eng_open(f->dir, &f->eng)");
    expect_err(cluster_open(f->eng, &f->vc.clock, NULL, &f->c), TKV_OK,
               "cluster_open(f->eng, &f->vc.clock, NULL, &f->c)");
    cluster_set_max_replicas(f->c, replicas);
    expect_err(idalloc_open(f->eng, 100, &f->ids), TKV_OK, "idalloc_open(f->eng, 100, &f->ids)");
}

sched_region_t *mk_region_bytes(uint64_t id, tkv_slice_t start, tkv_slice_t end, uint64_t conf_ver,
                                uint64_t version, const uint64_t *stores, size_t n, int leader,
                                uint64_t size)
{
    Metapb__Peer peers[SFIX_MAX_STORES];
    Metapb__Peer *pp[SFIX_MAX_STORES] = { NULL };
    assert_true(n <= SFIX_MAX_STORES);
    for (size_t i = 0; i < n; i++) {
        metapb__peer__init(&peers[i]);
        peers[i].id = id * 100 + stores[i];
        peers[i].store_id = stores[i];
        pp[i] = &peers[i];
    }
    Metapb__RegionEpoch epoch = METAPB__REGION_EPOCH__INIT;
    epoch.conf_ver = conf_ver;
    epoch.version = version;
    Metapb__Region region = METAPB__REGION__INIT;
    region.id = id;
    region.start_key.data = (uint8_t *)start.data;
    region.start_key.len = start.len;
    region.end_key.data = (uint8_t *)end.data;
    region.end_key.len = end.len;
    region.region_epoch = &epoch;
    region.n_peers = n;
    region.peers = pp;
    Schedulerpb__RegionHeartbeatRequest hb = SCHEDULERPB__REGION_HEARTBEAT_REQUEST__INIT;
    hb.region = &region;
    hb.leader = (leader >= 0 && (size_t)leader < n) ? pp[leader] : NULL;
    hb.approximate_size = size;
    sched_region_t *r = region_copy(&hb);
    assert_non_null(r);
    return r;
}

sched_region_t *mk_region(uint64_t id, const char *start, const char *end, uint64_t conf_ver,
                          uint64_t version, const uint64_t *stores, size_t n, int leader,
                          uint64_t size)
{
    return mk_region_bytes(id, slice_of_str(start), slice_of_str(end), conf_ver, version, stores, n,
                           leader, size);
}

void region_set_start(sched_region_t *r, tkv_slice_t key)
{
    free(r->region->start_key.data);
    r->region->start_key.data = key.len ? bytes_dup(key.data, key.len) : NULL;
    r->region->start_key.len = key.len;
}

static Metapb__Peer *peer_dup(const Metapb__Peer *p)
{
    Metapb__Peer *q = malloc(sizeof(*q));
    metapb__peer__init(q);
    q->id = p->id;
    q->store_id = p->store_id;
    return q;
}

void region_set_pending(sched_region_t *r, uint64_t store_id)
{
    for (size_t i = 0; i < r->n_pending_peers; i++)
        metapb__peer__free_unpacked(r->pending_peers[i], NULL);
    free(r->pending_peers);
    r->pending_peers = NULL;
    r->n_pending_peers = 0;
    if (store_id == 0)
        return;
    const Metapb__Peer *p = region_store_peer(r, store_id);
    assert_non_null(p);
    r->pending_peers = malloc(sizeof(*r->pending_peers));
    r->pending_peers[0] = peer_dup(p);
    r->n_pending_peers = 1;
}

void region_keep_peers(sched_region_t *r, size_t n)
{
    for (size_t i = n; i < r->region->n_peers; i++)
        metapb__peer__free_unpacked(r->region->peers[i], NULL);
    if (r->region->n_peers > n)
        r->region->n_peers = n;
}

void region_set_leader(sched_region_t *r, size_t peer_index)
{
    assert_true(peer_index < r->region->n_peers);
    if (r->leader != NULL)
        metapb__peer__free_unpacked(r->leader, NULL);
    r->leader = peer_dup(r->region->peers[peer_index]);
}

void sfix_add_store(sfix_t *f, uint64_t id)
{
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%llu", (unsigned long long)(20000 + id));
    Metapb__Store store = METAPB__STORE__INIT;
    store.id = id;
    store.address = addr;
    expect_err(cluster_put_store(f->c, &store), TKV_OK, "cluster_put_store(f->c, &store)");
    Schedulerpb__StoreStats stats = SCHEDULERPB__STORE_STATS__INIT;
    stats.store_id = id;
    expect_err(cluster_store_heartbeat(f->c, &stats), TKV_OK,
               "cluster_store_heartbeat(f->c, &stats)");
}

void sfix_heartbeat_stores(sfix_t *f)
{
    for (size_t i = 0; i < cluster_store_count(f->c); i++) {
        uint64_t id = cluster_store_at(f->c, i)->meta->id;
        if (id <= SFIX_MAX_STORES && f->down[id])
            continue;
        Schedulerpb__StoreStats stats = SCHEDULERPB__STORE_STATS__INIT;
        stats.store_id = id;
        expect_err(cluster_store_heartbeat(f->c, &stats), TKV_OK,
                   "cluster_store_heartbeat(f->c, &stats)");
    }
}

void sfix_set_store_down(sfix_t *f, uint64_t id)
{
    assert_true(id <= SFIX_MAX_STORES);
    f->down[id] = 1;
    vclock_advance(&f->vc, cluster_config(f->c)->max_store_down_ms);
    sfix_heartbeat_stores(f);
}

void sfix_set_store_state(sfix_t *f, uint64_t id, Metapb__StoreState state)
{
    sched_store_t *s = cluster_get_store(f->c, id);
    expect_present(s, "store %llu in the cluster (it was put before)", (unsigned long long)id);
    Metapb__Store store = *s->meta;
    store.state = state;
    expect_err(cluster_put_store(f->c, &store), TKV_OK, "cluster_put_store(f->c, &store)");
}

/* The packed form of a region: two regions are equal when these are. */
static size_t pack(const sched_region_t *r, uint8_t **out)
{
    size_t n = schedulerpb__region_heartbeat_request__get_packed_size(r);
    *out = malloc(n + 1);
    schedulerpb__region_heartbeat_request__pack(r, *out);
    return n;
}

void check_region(const sched_region_t *got, const sched_region_t *want)
{
    expect_true(want != NULL, "check_region needs a region to compare with");
    expect_true(got != NULL, "the cluster must hold region %llu (conf_ver %llu, version %llu)",
                (unsigned long long)region_id(want), (unsigned long long)region_conf_ver(want),
                (unsigned long long)region_version(want));
    uint8_t *a = NULL, *b = NULL;
    size_t na = pack(got, &a), nb = pack(want, &b);
    int same = na == nb && memcmp(a, b, na) == 0;
    free(a);
    free(b);
    if (!same) {
        fail_msg("region %llu: the cluster holds (conf_ver %llu, version %llu, %zu peers, "
                 "size %llu), expected (conf_ver %llu, version %llu, %zu peers, size %llu)",
                 (unsigned long long)region_id(want), (unsigned long long)region_conf_ver(got),
                 (unsigned long long)region_version(got), got->region->n_peers,
                 (unsigned long long)got->approximate_size,
                 (unsigned long long)region_conf_ver(want),
                 (unsigned long long)region_version(want), want->region->n_peers,
                 (unsigned long long)want->approximate_size);
    }
}

void check_regions(sfix_t *f, sched_region_t *const *want, size_t n)
{
    expect_u64(cluster_region_count(f->c), n, "regions the cluster holds");
    for (size_t i = 0; i < n; i++)
        check_region(cluster_get_region(f->c, region_id(want[i])), want[i]);
    for (size_t s = 0; s < cluster_store_count(f->c); s++) {
        const sched_store_t *st = cluster_store_at(f->c, s);
        uint64_t count = 0, size = 0, leaders = 0, leader_size = 0, pending = 0;
        for (size_t i = 0; i < n; i++) {
            const Metapb__Peer *p = region_store_peer(want[i], st->meta->id);
            if (p == NULL)
                continue;
            count++;
            size += want[i]->approximate_size;
            if (want[i]->leader != NULL && want[i]->leader->id == p->id) {
                leaders++;
                leader_size += want[i]->approximate_size;
            }
            pending += region_peer_is_pending(want[i], p->id);
        }
        unsigned long long id = (unsigned long long)st->meta->id;
        expect_u64(st->region_count, count, "store %llu's region count", id);
        expect_u64(st->region_size, size, "store %llu's region size (sum of its regions')", id);
        expect_u64(st->leader_count, leaders, "store %llu's leader count", id);
        expect_u64(st->leader_size, leader_size, "store %llu's leader size", id);
        expect_u64(st->pending_peer_count, pending, "store %llu's pending peer count", id);
    }
}

const char *sfix_step_name(int kind)
{
    switch (kind) {
    case OP_STEP_ADD_PEER:
        return "AddPeer";
    case OP_STEP_TRANSFER_LEADER:
        return "TransferLeader";
    case OP_STEP_REMOVE_PEER:
        return "RemovePeer";
    }
    return "an unknown step";
}
