/*
 * The client tests' fixture (client_fixture.h): the scheduler service and
 * the fake stores on loopback, and a cache that never really sleeps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/pb.h"
#include "proto/schedulerpb.pb-c.h"
#include "proto/tinykvpb.pb-c.h"
#include "tests/client/client_fixture.h"

static void *serve(void *arg)
{
    rpc_server_run(arg);
    return NULL;
}

static int start(cfix_server_t *s, const ProtobufCServiceDescriptor *svc,
                 const rpc_method_t *methods, void *ctx)
{
    if (rpc_server_new(svc, methods, ctx, &s->server) != TKV_OK ||
        rpc_server_listen(s->server, "127.0.0.1", 0) != TKV_OK) {
        fprintf(stderr, "cannot start a server: %s\n", tkv_last_error());
        return -1;
    }
    snprintf(s->addr, sizeof(s->addr), "127.0.0.1:%d", rpc_server_port(s->server));
    if (pthread_create(&s->thread, NULL, serve, s->server) != 0)
        return -1;
    s->running = 1;
    return 0;
}

static void stop(cfix_server_t *s)
{
    if (s->server == NULL)
        return;
    if (s->running) {
        rpc_server_stop(s->server);
        pthread_join(s->thread, NULL);
        s->running = 0;
    }
    rpc_server_free(s->server);
    s->server = NULL;
}

/* The injected sleep: record, and let virtual time pass. */
static void fake_sleep(void *arg, uint64_t ms)
{
    cfix_t *f = arg;
    if (f->n_waits < CFIX_MAX_WAITS)
        f->waits[f->n_waits++] = ms;
    f->waited_ms += ms;
    vclock_advance(&f->vc, ms);
    if (f->on_wait != NULL)
        f->on_wait(f);
}

static Metapb__Region *mk_region(uint64_t id, const char *start, const char *end, uint64_t conf_ver,
                                 uint64_t version, Metapb__Peer **peers, Metapb__Peer *peer_store,
                                 Metapb__RegionEpoch *epoch)
{
    static Metapb__Region r;
    metapb__region__init(&r);
    metapb__region_epoch__init(epoch);
    epoch->conf_ver = conf_ver;
    epoch->version = version;
    r.id = id;
    r.start_key.data = (uint8_t *)start;
    r.start_key.len = strlen(start);
    r.end_key.data = (uint8_t *)end;
    r.end_key.len = strlen(end);
    r.region_epoch = epoch;
    for (int i = 0; i < CFIX_STORES; i++) {
        metapb__peer__init(&peer_store[i]);
        peer_store[i].id = id * 100 + (uint64_t)(i + 1);
        peer_store[i].store_id = (uint64_t)(i + 1);
        peers[i] = &peer_store[i];
    }
    r.n_peers = CFIX_STORES;
    r.peers = peers;
    return &r;
}

void cfix_sched_region(cfix_t *f, uint64_t id, const char *start, const char *end,
                       uint64_t conf_ver, uint64_t version, uint64_t leader_store)
{
    Metapb__Peer *peers[CFIX_STORES], store[CFIX_STORES];
    Metapb__RegionEpoch epoch;
    Metapb__Region *r = mk_region(id, start, end, conf_ver, version, peers, store, &epoch);
    Schedulerpb__RegionHeartbeatRequest hb = SCHEDULERPB__REGION_HEARTBEAT_REQUEST__INIT;
    hb.region = r;
    hb.leader = leader_store ? peers[leader_store - 1] : NULL;
    /* No handler runs now: the client is blocking and between calls. */
    assert_int_equal(cluster_put_region(sched_server_cluster(f->sched), &hb), TKV_OK);
}

void cfix_region(cfix_t *f, uint64_t id, const char *start, const char *end, uint64_t conf_ver,
                 uint64_t version, uint64_t leader_store)
{
    const uint64_t stores[CFIX_STORES] = { 1, 2, 3 };
    fake_set_region(f->fake, id, start, end, conf_ver, version, stores, CFIX_STORES, leader_store);
    cfix_sched_region(f, id, start, end, conf_ver, version, leader_store);
}

void cfix_three_regions(cfix_t *f)
{
    cfix_region(f, 1, "", "g", 1, 2, 1);
    cfix_region(f, 2, "g", "p", 1, 2, 2);
    cfix_region(f, 3, "p", "", 1, 2, 3);
}

int cfix_setup(void **state)
{
    cfix_t *f = xcalloc(1, sizeof(*f));
    *state = f;
    tkv_tmpdir(f->dir, sizeof(f->dir));
    vclock_init(&f->vc, 1000000);
    if (sched_server_open(f->dir, &f->vc.clock, NULL, &f->sched) != TKV_OK) {
        fprintf(stderr, "cannot open the scheduler: %s\n", tkv_last_error());
        return -1;
    }
    f->fake = fake_new();
    for (uint64_t id = 1; id <= CFIX_STORES; id++) {
        f->store_ctx[id].fake = f->fake;
        f->store_ctx[id].store_id = id;
        if (start(&f->stores[id], &tinykvpb__tiny_kv__descriptor, fake_store_methods,
                  &f->store_ctx[id]) != 0)
            return -1;
    }
    if (start(&f->sched_srv, &schedulerpb__scheduler__descriptor, sched_service_methods,
              f->sched) != 0)
        return -1;

    /* Bootstrap with store 1 and region 1, then the other stores. */
    Metapb__Peer *peers[CFIX_STORES], pst[CFIX_STORES];
    Metapb__RegionEpoch epoch;
    Metapb__Region *r = mk_region(1, "", "", 1, 1, peers, pst, &epoch);
    for (uint64_t id = 1; id <= CFIX_STORES; id++) {
        Metapb__Store st = METAPB__STORE__INIT;
        st.id = id;
        st.address = f->stores[id].addr;
        if (id == 1) {
            Schedulerpb__BootstrapRequest req = SCHEDULERPB__BOOTSTRAP_REQUEST__INIT;
            Schedulerpb__BootstrapResponse *out = xmalloc(sizeof(*out));
            schedulerpb__bootstrap_response__init(out);
            req.store = &st;
            req.region = r;
            tkv_err_t e = sched_server_call(f->sched, "Bootstrap", &req.base, &out->base);
            int refused = out->header != NULL && out->header->error != NULL;
            pb_free(out);
            if (e != TKV_OK || refused) {
                fprintf(stderr, "the scheduler refused Bootstrap\n");
                return -1;
            }
        } else if (cluster_put_store(sched_server_cluster(f->sched), &st) != TKV_OK) {
            fprintf(stderr, "cannot add store %llu: %s\n", (unsigned long long)id,
                    tkv_last_error());
            return -1;
        }
    }
    cfix_region(f, 1, "", "", 1, 1, 1);
    /* The tests make up region ids below 10 and peer ids below 1000: the
     * ids AskSplit hands out must not collide with them. */
    for (int i = 0; i < 1000; i++) {
        Schedulerpb__AllocIdRequest req = SCHEDULERPB__ALLOC_ID_REQUEST__INIT;
        Schedulerpb__AllocIdResponse *out = xmalloc(sizeof(*out));
        schedulerpb__alloc_id_response__init(out);
        tkv_err_t e = sched_server_call(f->sched, "AllocId", &req.base, &out->base);
        pb_free(out);
        if (e != TKV_OK)
            return -1;
    }

    f->cfg = client_config_default();
    f->cfg.timeout_ms = 20000; /* a safety net, never waited for */
    f->cfg.sleep = fake_sleep;
    f->cfg.sleep_arg = f;
    if (rcache_new(f->sched_srv.addr, &f->cfg, &f->cache) != TKV_OK)
        return -1;
    return 0;
}

int cfix_teardown(void **state)
{
    cfix_t *f = *state;
    if (f == NULL)
        return 0;
    rcache_free(f->cache);
    stop(&f->sched_srv);
    for (int id = 1; id <= CFIX_STORES; id++)
        stop(&f->stores[id]);
    fake_free(f->fake);
    sched_server_close(f->sched);
    if (f->dir[0])
        tkv_rmdir(f->dir);
    free(f);
    return 0;
}

void cfix_kill_store(cfix_t *f, uint64_t id)
{
    stop(&f->stores[id]);
}

uint64_t cfix_tso(cfix_t *f)
{
    uint64_t ts = 0;
    assert_int_equal(rcache_tso(f->cache, &ts), TKV_OK);
    return ts;
}

void cfix_dump_calls(cfix_t *f)
{
    size_t n = fake_n_calls(f->fake);
    fprintf(stderr, "the stores saw %zu calls:\n", n);
    for (size_t i = 0; i < n; i++) {
        fake_call_t c = fake_call(f->fake, i);
        fprintf(stderr,
                "  %2zu. store %llu %-16s region %llu (v%llu c%llu) peer %llu@%llu keys [%s]%s\n",
                i, (unsigned long long)c.store_id, c.method, (unsigned long long)c.region_id,
                (unsigned long long)c.version, (unsigned long long)c.conf_ver,
                (unsigned long long)c.peer_id, (unsigned long long)c.peer_store, c.keys,
                c.region_error ? "  -> region error" : "");
    }
}

void cfix_expect_calls(cfix_t *f, size_t n, const uint64_t *stores, const char *const *methods)
{
    size_t got = fake_n_calls(f->fake);
    int ok = got == n;
    for (size_t i = 0; ok && i < n; i++) {
        fake_call_t c = fake_call(f->fake, i);
        ok = c.store_id == stores[i] &&
             (methods == NULL || methods[i] == NULL || strcmp(c.method, methods[i]) == 0);
    }
    if (!ok) {
        fprintf(stderr, "expected %zu calls, to stores", n);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %llu%s%s", (unsigned long long)stores[i],
                    methods && methods[i] ? ":" : "", methods && methods[i] ? methods[i] : "");
        fprintf(stderr, "\n");
        cfix_dump_calls(f);
        fail_msg("the client's calls were not the expected ones (see above)");
    }
}
