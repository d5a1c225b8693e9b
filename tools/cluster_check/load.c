/*
 * cluster-check: split and spread under load, on their own.
 *
 * Four client threads (client/, one region cache each) write LOAD_BYTES in
 * LOAD_VALUE-byte values to keys load-NNNNN; the stores run with a 16 KiB
 * --region-split-size, so the regions these keys land in must split as
 * they grow (a leader measures its region every 10 ticks and asks the
 * scheduler to split past 1.5x). The check polls, with a bound, until the
 * scheduler knows at least MIN_REGIONS regions, each with a peer on every
 * store (the replica checker's work for regions born of a split is none:
 * they keep their parent's peers), prints how leaders and peers fall on the
 * stores, and reads every key back through the routing client.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/raw_client.h"
#include "tools/cluster_check/cc.h"

#define LOAD_BYTES   (2 * 1024 * 1024)
#define LOAD_VALUE   2048
#define LOAD_KEYS    (LOAD_BYTES / LOAD_VALUE)
#define LOAD_THREADS 4
#define MIN_REGIONS  10
#define SPLIT_MS     60000

typedef struct {
    int id, reading;
    pthread_t thread;
    char error[300]; /* the first failure; "" if none */
} loader_t;

static void load_value(int i, char *v)
{
    int n = snprintf(v, LOAD_VALUE + 1, "load-value-%05d-", i);
    memset(v + n, 'a' + i % 26, (size_t)(LOAD_VALUE - n));
    v[LOAD_VALUE] = '\0';
}

static void *loader_main(void *arg)
{
    loader_t *l = arg;
    client_config_t cfg = client_config_default();
    cfg.max_attempts = 20; /* splits under way answer EpochNotMatch: route again */
    rcache_t *cache = NULL;
    if (rcache_new(sched_addr, &cfg, &cache) != TKV_OK) {
        snprintf(l->error, sizeof(l->error), "rcache_new: %s", tkv_last_error());
        return NULL;
    }
    static char v[LOAD_THREADS][LOAD_VALUE + 1];
    char *value = v[l->id];
    for (int i = l->id; i < LOAD_KEYS && l->error[0] == '\0'; i += LOAD_THREADS) {
        char key[32];
        snprintf(key, sizeof(key), "load-%05d", i);
        load_value(i, value);
        if (!l->reading) {
            if (rawc_put(cache, "", slice_of_str(key), slice_of_str(value)) != TKV_OK)
                snprintf(l->error, sizeof(l->error), "put %s: %.200s", key, tkv_last_error());
            continue;
        }
        tkv_buf_t got = TKV_BUF_INIT;
        tkv_err_t e = rawc_get(cache, "", slice_of_str(key), &got);
        if (e != TKV_OK)
            snprintf(l->error, sizeof(l->error), "get %s: %.200s", key, tkv_last_error());
        else if (got.len != LOAD_VALUE || memcmp(got.data, value, LOAD_VALUE) != 0)
            snprintf(l->error, sizeof(l->error),
                     "%s should read back as the %d bytes written; it read %zu bytes", key,
                     LOAD_VALUE, got.len);
        buf_free(&got);
    }
    rcache_free(cache);
    return NULL;
}

static void run_loaders(int reading)
{
    loader_t l[LOAD_THREADS];
    memset(l, 0, sizeof(l));
    for (int i = 0; i < LOAD_THREADS; i++) {
        l[i].id = i;
        l[i].reading = reading;
        if (pthread_create(&l[i].thread, NULL, loader_main, &l[i]) != 0)
            die("cannot start loader thread %d", i);
    }
    for (int i = 0; i < LOAD_THREADS; i++)
        pthread_join(l[i].thread, NULL);
    for (int i = 0; i < LOAD_THREADS; i++)
        if (l[i].error[0] != '\0')
            die("%s %d keys of %d bytes with %d clients: %s", reading ? "reading" : "writing",
                LOAD_KEYS, LOAD_VALUE, LOAD_THREADS, l[i].error);
}

typedef struct {
    size_t regions, leaders[STORES], peers[STORES], short_regions;
} spread_t;

/* How the regions the scheduler knows fall on the stores. */
static void spread_of(spread_t *s)
{
    memset(s, 0, sizeof(*s));
    char key[600] = "";
    for (;;) {
        Schedulerpb__GetRegionResponse *g = get_region(key);
        if (g == NULL)
            return;
        const Metapb__Region *r = g->region;
        s->regions++;
        if (r->n_peers < STORES)
            s->short_regions++;
        for (size_t i = 0; i < r->n_peers; i++) {
            int at = index_of_store(r->peers[i]->store_id);
            if (at >= 0)
                s->peers[at]++;
        }
        if (g->leader != NULL && index_of_store(g->leader->store_id) >= 0)
            s->leaders[index_of_store(g->leader->store_id)]++;
        size_t len = r->end_key.len;
        if (len == 0 || len >= sizeof(key)) {
            pb_free(g);
            return;
        }
        memcpy(key, r->end_key.data, len);
        key[len] = '\0';
        pb_free(g);
    }
}

static int spread_enough(const spread_t *s)
{
    if (s->regions < MIN_REGIONS || s->short_regions > 0)
        return 0;
    for (int i = 0; i < STORES; i++)
        if (s->peers[i] < MIN_REGIONS)
            return 0;
    return 1;
}

void check_split_under_load(void)
{
    uint64_t t0 = now_ms();
    size_t before = count_regions();
    run_loaders(0);
    uint64_t written = now_ms();
    spread_t s;
    uint64_t until = now_ms() + SPLIT_MS;
    for (spread_of(&s); !spread_enough(&s); spread_of(&s)) {
        if (now_ms() > until)
            die("after writing %d KiB with a 16 KiB split size, the scheduler should know at "
                "least %d regions, each with %d peers, and each store should hold a peer of at "
                "least %d, within %d ms; it knows %zu regions (%zu before the writes; %zu with "
                "fewer than %d peers), peers per store %zu/%zu/%zu, leaders %zu/%zu/%zu",
                LOAD_BYTES / 1024, MIN_REGIONS, STORES, MIN_REGIONS, SPLIT_MS, s.regions, before,
                s.short_regions, STORES, s.peers[0], s.peers[1], s.peers[2], s.leaders[0],
                s.leaders[1], s.leaders[2]);
        poll_pause();
    }
    run_loaders(1);
    printf("cluster-check: wrote %d KiB (%d keys, %d clients) in %.1f s: %zu regions (%zu "
           "before), peers per store %zu/%zu/%zu, leaders per store %zu/%zu/%zu; every key reads "
           "back (%.1f s)\n",
           LOAD_BYTES / 1024, LOAD_KEYS, LOAD_THREADS, (double)(written - t0) / 1000.0, s.regions,
           before, s.peers[0], s.peers[1], s.peers[2], s.leaders[0], s.leaders[1], s.leaders[2],
           (double)(now_ms() - t0) / 1000.0);
}
