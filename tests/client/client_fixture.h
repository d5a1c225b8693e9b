/*
 * What the client library's tests share: the real scheduler service on a
 * virtual clock (in this process, on a loopback port), fake stores
 * (fake_store.h) on their own ports, and a region cache pointed at the
 * scheduler whose waits never sleep: the injected sleep records each wait
 * and moves the virtual clock, so TSO timestamps and lock TTLs see the
 * time pass.
 *
 * The scheduler's view and the stores' truth are set apart on purpose: a
 * test makes the scheduler a step behind (an old leader, a region before
 * its split) and checks that the client finds its way.
 *
 * Ownership: setup allocates the fixture into *state; teardown frees all,
 * and cmocka runs it even when the test fails.
 */
#ifndef TKV_TESTS_CLIENT_FIXTURE_H
#define TKV_TESTS_CLIENT_FIXTURE_H

#include <pthread.h>

#include "client/region_cache.h"
#include "common/clock.h"
#include "project3-multiraft/scheduler/service.h"
#include "tests/client/fake_store.h"
#include "tests/harness/test.h"

#define CFIX_STORES    3
#define CFIX_MAX_WAITS 256

typedef struct {
    rpc_server_t *server;
    pthread_t thread;
    int running;
    char addr[64];
} cfix_server_t;

typedef struct cfix {
    char dir[256];
    tkv_vclock_t vc;
    sched_server_t *sched;
    cfix_server_t sched_srv;
    fake_cluster_t *fake;
    fake_store_t store_ctx[CFIX_STORES + 1]; /* by store id, 1.. */
    cfix_server_t stores[CFIX_STORES + 1];
    client_config_t cfg;
    uint64_t waits[CFIX_MAX_WAITS]; /* every wait asked, in order */
    size_t n_waits;
    uint64_t waited_ms;
    rcache_t *cache;
    /* Optional: called after each wait is recorded (the cluster changing
     * while the client waits). */
    void (*on_wait)(struct cfix *f);
} cfix_t;

/* A cluster of CFIX_STORES stores; one region 1 ["", "") on all of them
 * led by store 1, known alike to the scheduler and the stores. */
int cfix_setup(void **state);
int cfix_teardown(void **state);

/* The scheduler's view of a region (as a heartbeat from its leader). Peer
 * ids are id*100+store, as in the fakes. */
void cfix_sched_region(cfix_t *f, uint64_t id, const char *start, const char *end,
                       uint64_t conf_ver, uint64_t version, uint64_t leader_store);
/* The same region set alike in the scheduler and the stores' truth. */
void cfix_region(cfix_t *f, uint64_t id, const char *start, const char *end, uint64_t conf_ver,
                 uint64_t version, uint64_t leader_store);
/* Three regions ["", "g") ["g", "p") ["p", "") with ids 1, 2, 3, led from
 * stores 1, 2, 3, in both views. */
void cfix_three_regions(cfix_t *f);

/* Stops store `id`'s server: its port then refuses connections. */
void cfix_kill_store(cfix_t *f, uint64_t id);

/* A fresh TSO timestamp, as the client would get one. */
uint64_t cfix_tso(cfix_t *f);

/* Asserts that the call log holds exactly `n` calls and that call i went
 * to store stores[i] with method methods[i] (NULL: any). */
void cfix_expect_calls(cfix_t *f, size_t n, const uint64_t *stores, const char *const *methods);

/* Prints the call log to stderr (for failure messages). */
void cfix_dump_calls(cfix_t *f);

#endif
