/*
 * tinykv-server's cluster mode (cluster_server.h): wiring and the order of
 * start and stop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/log.h"
#include "common/pb.h"
#include "common/rpc_server.h"
#include "project2-raft/raftstore/keys.h"
#include "project4-txn/latches.h"
#include "proto/tinykvpb.pb-c.h"
#include "server/cluster_server.h"
#include "server/cluster_service.h"
#include "server/cluster_storage.h"
#include "server/sched_link.h"
#include "server/server_boot.h"
#include "server/store_loop.h"

/* How long the start waits for the scheduler to answer. */
#define BOOT_WAIT_MS 20000

typedef struct {
    store_loop_t *loop; /* set before the transport starts */
    sched_link_t *link;
} wiring_t;

static void deliver(void *arg, RaftServerpb__RaftMessage *msg)
{
    wiring_t *w = arg;
    (void)store_loop_step(w->loop, msg); /* a full mailbox drops it: Raft resends */
}

static void sched_submit(void *arg, uint64_t id, const char *method, const uint8_t *data,
                         size_t len)
{
    wiring_t *w = arg;
    sched_link_submit(w->link, id, method, data, len);
}

static void sched_reply(void *arg, uint64_t id, const char *method, const uint8_t *data, size_t len)
{
    wiring_t *w = arg;
    (void)store_loop_sched_reply(w->loop, id, method, data, len);
}

/* Whether region `id` was ever written to this store (a tombstone too). */
static int region_known(store_t *s, uint64_t id)
{
    tkv_buf_t key = TKV_BUF_INIT, val = TKV_BUF_INIT;
    keys_region_state_key(&key, id);
    int known = eng_get(store_kv_db(s), NULL, buf_slice(&key), &val) == TKV_OK;
    buf_free(&key);
    buf_free(&val);
    return known;
}

static int fail(const char *prog, const char *what)
{
    fprintf(stderr, "%s: %s: %s\n", prog, what, tkv_last_error());
    return 1;
}

int cluster_server_main(const cluster_server_opts_t *o)
{
    const char *prog = o->prog;
    int rc = 1;
    wiring_t w = { NULL, NULL };
    transport_t *transport = NULL;
    rpc_server_t *server = NULL;
    store_loop_t *loop = NULL;
    storage_t *storage = NULL;
    latches_t *latches = NULL;
    server_boot_t boot = { 0, 0, NULL };
    static cluster_service_t svc; /* the RPC server's table points into it */
    char addr[300], raft_addr[300];

    /* RPC handlers run on libuv's thread pool and each waits for its
     * region's answer: 4 threads (libuv's default) would serve only 4
     * requests at once. Before the pool's first use; an operator's own
     * setting wins. */
    setenv("UV_THREADPOOL_SIZE", "64", 0);
    w.link = sched_link_new(o->scheduler, 3000);

    /* The ports first: the scheduler is told both addresses. */
    transport_config_t tc;
    transport_config_default(&tc);
    tc.resolve = sched_link_resolve;
    tc.resolve_arg = w.link;
    tc.deliver = deliver;
    tc.deliver_arg = &w;
    if (transport_new(&tc, &transport) != TKV_OK ||
        transport_listen(transport, o->raft_host, o->raft_port) != TKV_OK) {
        rc = fail(prog, "cannot listen for Raft messages");
        goto out;
    }
    cli_format_addr(o->raft_host, transport_port(transport), raft_addr, sizeof(raft_addr));
    cluster_service_init(&svc);
    if (rpc_server_new(&tinykvpb__tiny_kv__descriptor, svc.methods, NULL, &server) != TKV_OK ||
        rpc_server_listen(server, o->host, o->port) != TKV_OK) {
        rc = fail(prog, "cannot listen for clients");
        goto out;
    }
    cli_format_addr(o->host, rpc_server_port(server), addr, sizeof(addr));

    if (server_boot(w.link, o->data_dir, addr, raft_addr, BOOT_WAIT_MS, &boot) != TKV_OK) {
        rc = fail(prog, "cannot join the cluster");
        goto out;
    }

    store_loop_config_t lc;
    memset(&lc, 0, sizeof(lc));
    lc.store_id = boot.store_id;
    lc.data_dir = o->data_dir;
    lc.peer = peer_config_default();
    lc.peer.sync = o->sync;
    lc.peer.read_mode = (peer_read_mode_t)o->read_mode;
    lc.multiraft = 1;
    lc.mr = multiraft_config_default();
    if (o->region_split_size > 0) {
        lc.mr.region_split_size = o->region_split_size;
        lc.mr.region_max_size = o->region_split_size + o->region_split_size / 2;
    }
    lc.tick_ms = o->tick_ms;
    lc.transport = transport;
    lc.sched = sched_submit;
    lc.sched_arg = &w;
    char store_dir[4200];
    snprintf(store_dir, sizeof(store_dir), "%s/store", o->data_dir);
    lc.data_dir = store_dir;
    if (store_loop_open(&lc, &loop) != TKV_OK) {
        rc = fail(prog, "cannot open the store");
        goto out;
    }
    w.loop = loop;
    if (boot.bootstrap != NULL) {
        store_t *s = store_loop_store(loop);
        if (!region_known(s, boot.bootstrap->id) &&
            store_bootstrap_region(s, boot.bootstrap) != TKV_OK) {
            rc = fail(prog, "cannot write the cluster's first region");
            goto out;
        }
        if (server_boot_done(o->data_dir) != TKV_OK) {
            rc = fail(prog, "cannot finish the bootstrap");
            goto out;
        }
        tkv_logf(TKV_LOG_INFO, prog, "bootstrapped the cluster with region %llu",
                 (unsigned long long)boot.bootstrap->id);
    }
    if (cluster_storage_new(loop, o->request_timeout_ms, &storage) != TKV_OK) {
        rc = fail(prog, "cannot make the storage");
        goto out;
    }
    latches = latches_new();
    cluster_service_bind(&svc, boot.store_id, storage, latches, loop, o->request_timeout_ms);

    if (store_loop_start(loop) != TKV_OK || transport_start(transport) != TKV_OK ||
        sched_link_start(w.link, sched_reply, &w) != TKV_OK) {
        rc = fail(prog, "cannot start");
        goto out;
    }
    printf("%s: store %llu of cluster %llu, raft on %s, scheduler %s\n", prog,
           (unsigned long long)boot.store_id, (unsigned long long)boot.cluster_id, raft_addr,
           o->scheduler);
    printf("%s: listening on %s, data in %s\n", prog, addr, o->data_dir);
    fflush(stdout);
    if (rpc_server_run_until_signal(server) != TKV_OK) {
        rc = fail(prog, "serving failed");
        goto out;
    }
    tkv_logf(TKV_LOG_INFO, prog, "stopped cleanly");
    rc = 0;

out:
    /* Clients first (their handlers are done when this returns), then the
     * store's inputs, then the store. */
    rpc_server_free(server);
    store_loop_stop(loop);
    transport_stop(transport);
    sched_link_stop(w.link);
    store_loop_free(loop);
    transport_free(transport);
    sched_link_free(w.link);
    storage_free(storage);
    latches_free(latches);
    pb_free(boot.bootstrap);
    return rc;
}
