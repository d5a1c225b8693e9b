/*
 * A structured fuzzer for the store's door (store_step), through its public
 * API only: three stores in this process, each with its databases in a
 * scratch directory, hold one region; their transports feed a queue that
 * this test delivers in random order, dropping and duplicating, while
 * clients put keys. A third of the deliveries are mutated, half at the level
 * of the Raft message inside (fuzz_mutate_message: indexes, terms, entries,
 * entry data, snapshots, types, ids; half of the mutated snapshots have a
 * field of their data changed instead), half at the level of the envelope
 * or its bytes (region id, peers, epoch; flipped bytes, cut-off tails).
 *
 * What must hold after every delivery: no crash, no hang, nothing for the
 * sanitizers; store_step answers (an error or TKV_OK); the store's peer
 * keeps committed <= last index and its term never goes back.
 *
 * Budget: FUZZ_STEPS deliveries (default 1500 for `make test`).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/pb.h"
#include "project2-raft/raft/raft_pb.h"
#include "project2-raft/raftstore/peer_internal.h"
#include "project2-raft/raftstore/store.h"
#include "tests/fuzz/fuzz.h"
#include "tests/harness/expect.h"

#define N_STORES 3

typedef struct {
    uint64_t to;
    tkv_buf_t bytes;
} envelope_t;

typedef struct {
    char dir[N_STORES + 1][256];
    store_t *s[N_STORES + 1];
    envelope_t *queue;
    size_t n_queue, cap_queue;
    tkv_prng_t rng;
    fuzz_counts_t counts;
    unsigned long puts_done;
    unsigned long closed; /* store_step answers TKV_ERR_CLOSED: the peer broke */
} stores_t;

static void on_send(void *arg, uint64_t to_store, const uint8_t *data, size_t len)
{
    stores_t *c = arg;
    if (c->n_queue == c->cap_queue) {
        c->cap_queue = c->cap_queue ? c->cap_queue * 2 : 64;
        c->queue = xrealloc(c->queue, c->cap_queue * sizeof(envelope_t));
    }
    envelope_t *e = &c->queue[c->n_queue++];
    e->to = to_store;
    buf_init(&e->bytes);
    buf_set(&e->bytes, data, len);
}

static void on_put_done(void *arg, RaftCmdpb__RaftCmdResponse *resp, eng_snap_t *snap)
{
    stores_t *c = arg;
    c->puts_done += resp != NULL && resp->header != NULL && resp->header->error == NULL;
    pb_free(resp);
    if (snap != NULL)
        eng_snapshot_free(snap);
}

static void propose_put(stores_t *c, uint64_t store, long step)
{
    char key[32], value[32];
    snprintf(key, sizeof(key), "k%ld", step % 50);
    snprintf(value, sizeof(value), "v%ld", step);
    RaftCmdpb__RaftRequestHeader hdr = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
    hdr.region_id = 1;
    RaftCmdpb__PutRequest put = RAFT_CMDPB__PUT_REQUEST__INIT;
    put.cf = CF_DEFAULT;
    put.key.data = (uint8_t *)key;
    put.key.len = strlen(key);
    put.value.data = (uint8_t *)value;
    put.value.len = strlen(value);
    RaftCmdpb__Request r = RAFT_CMDPB__REQUEST__INIT;
    r.cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_PUT;
    r.put = &put;
    RaftCmdpb__Request *rs[1] = { &r };
    RaftCmdpb__RaftCmdRequest cmd = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
    cmd.header = &hdr;
    cmd.n_requests = 1;
    cmd.requests = rs;
    peer_cb_t cb = { on_put_done, c };
    store_propose(c->s[store], &cmd, cb);
}

/* A snapshot's data (RaftSnapshotData) changed in one field the store must
 * check before the Raft core takes it (peer_storage_check_snapshot): a
 * pair's column family or key, the region's id, range or peers, the apply
 * state's index. */
static void mutate_snapshot_data(tkv_prng_t *g, raft_snapshot_t *snap)
{
    RaftServerpb__RaftSnapshotData *d =
        raft_serverpb__raft_snapshot_data__unpack(NULL, snap->len, snap->data);
    if (d == NULL)
        return;
    static char bad_cf[] = "defaulx";
    static uint8_t far_key[] = { 0xff, 0xff, 'z' };
    switch (prng_below(g, 5)) {
    case 0:
        if (d->n_data > 0) {
            RaftServerpb__SnapshotKV *kv = d->data[prng_below(g, d->n_data)];
            if (prng_chance(g, 1, 2)) {
                free(kv->cf);
                kv->cf = strdup(bad_cf);
            } else {
                free(kv->key.data);
                kv->key.data = xmalloc(sizeof(far_key));
                memcpy(kv->key.data, far_key, sizeof(far_key));
                kv->key.len = sizeof(far_key);
            }
        }
        break;
    case 1:
        if (d->region != NULL)
            d->region->id = prng_below(g, 3);
        break;
    case 2:
        if (d->region != NULL && d->region->n_peers > 0)
            d->region->peers[prng_below(g, d->region->n_peers)]->id = prng_below(g, 6);
        break;
    case 3:
        if (d->region != NULL) {
            /* An end before the start: an empty or inverted range. */
            free(d->region->end_key.data);
            d->region->end_key.data = xmalloc(1);
            d->region->end_key.data[0] = 'a';
            d->region->end_key.len = 1;
            free(d->region->start_key.data);
            d->region->start_key.data = xmalloc(1);
            d->region->start_key.data[0] = 'b';
            d->region->start_key.len = 1;
        }
        break;
    default:
        if (d->apply_state != NULL)
            d->apply_state->applied_index += prng_between(g, 1, 3);
        break;
    }
    tkv_buf_t packed = TKV_BUF_INIT;
    pb_pack(&d->base, &packed);
    raft_serverpb__raft_snapshot_data__free_unpacked(d, NULL);
    free(snap->data);
    snap->len = packed.len;
    snap->data = buf_take(&packed);
}

/* Half structural (the Raft message inside), half the envelope or bytes. */
static void mutate(stores_t *c, tkv_buf_t *bytes)
{
    tkv_prng_t *g = &c->rng;
    if (prng_chance(g, 1, 4)) { /* bytes: flip a few, or cut the tail off */
        if (bytes->len == 0)
            return;
        if (prng_chance(g, 1, 3)) {
            bytes->len = (size_t)prng_below(g, bytes->len);
        } else {
            for (int k = 0; k < 3; k++)
                bytes->data[prng_below(g, bytes->len)] ^= (uint8_t)prng_between(g, 1, 256);
        }
        return;
    }
    RaftServerpb__RaftMessage *msg =
        raft_serverpb__raft_message__unpack(NULL, bytes->len, bytes->data);
    if (msg == NULL)
        return;
    if (prng_chance(g, 2, 3) && msg->message != NULL) {
        raft_message_t m;
        raft_pb_message_from_pb(msg->message, &m);
        if (m.type == RAFT_MSG_SNAPSHOT && m.snapshot.len > 0 && prng_chance(g, 1, 2))
            mutate_snapshot_data(g, &m.snapshot);
        else
            fuzz_mutate_message(g, &m, N_STORES);
        eraftpb__message__free_unpacked(msg->message, NULL);
        msg->message = raft_pb_message_to_pb(&m);
        raft_message_free(&m);
    } else {
        switch (prng_below(g, 4)) {
        case 0:
            msg->region_id = prng_below(g, 3);
            break;
        case 1:
            if (msg->to_peer != NULL)
                msg->to_peer->id = prng_below(g, N_STORES + 2);
            break;
        case 2:
            if (msg->from_peer != NULL)
                msg->from_peer->store_id = prng_below(g, N_STORES + 2);
            break;
        default:
            if (msg->region_epoch != NULL)
                msg->region_epoch->conf_ver = prng_below(g, 4);
            break;
        }
    }
    pb_pack(&msg->base, bytes);
    raft_serverpb__raft_message__free_unpacked(msg, NULL);
}

static void check_store(stores_t *c, uint64_t i, uint64_t *last_term)
{
    peer_t *p = store_peer(c->s[i], 1);
    if (p == NULL)
        return;
    const raft_t *r = peer_raft(p);
    unsigned long long seed = (unsigned long long)tkv_current_seed();
    if (r->term < last_term[i])
        fail_msg("store %llu's term went back from %llu to %llu (seed %llu)", (unsigned long long)i,
                 (unsigned long long)last_term[i], (unsigned long long)r->term, seed);
    if (r->log.committed > rlog_last_index(&r->log))
        fail_msg("store %llu: committed %llu past last index %llu (seed %llu)",
                 (unsigned long long)i, (unsigned long long)r->log.committed,
                 (unsigned long long)rlog_last_index(&r->log), seed);
    last_term[i] = r->term;
}

static void run(uint64_t seed, void *arg)
{
    (void)arg;
    long steps = fuzz_budget(1500);
    stores_t *c = xcalloc(1, sizeof(*c));
    prng_seed(&c->rng, seed);
    Metapb__Peer peers[N_STORES];
    Metapb__Peer *pp[N_STORES];
    for (int i = 0; i < N_STORES; i++) {
        metapb__peer__init(&peers[i]);
        peers[i].id = (uint64_t)i + 1;
        peers[i].store_id = (uint64_t)i + 1;
        pp[i] = &peers[i];
    }
    Metapb__RegionEpoch ep = METAPB__REGION_EPOCH__INIT;
    ep.conf_ver = 1;
    ep.version = 1;
    Metapb__Region region = METAPB__REGION__INIT;
    region.id = 1;
    region.region_epoch = &ep;
    region.n_peers = N_STORES;
    region.peers = pp;
    for (uint64_t i = 1; i <= N_STORES; i++) {
        tkv_tmpdir(c->dir[i], sizeof(c->dir[i]));
        store_config_t cfg;
        memset(&cfg, 0, sizeof(cfg));
        cfg.store_id = i;
        cfg.data_dir = c->dir[i];
        cfg.peer = peer_config_default();
        cfg.peer.sync = 0; /* a crash here is a close: no need to wait for the disk */
        cfg.peer.raft_log_gc_count_limit = 20; /* compact often: snapshots travel */
        cfg.transport.send = on_send;
        cfg.transport.arg = c;
        cfg.prng = &c->rng;
        expect_err(store_open(&cfg, &c->s[i]), TKV_OK, "store_open(&cfg, &c->s[i])");
        expect_err(store_bootstrap_region(c->s[i], &region), TKV_OK,
                   "store_bootstrap_region(c->s[i], &region)");
    }
    (void)store_campaign(c->s[1], 1);
    uint64_t last_term[N_STORES + 1] = { 0 };
    for (long step = 0; step < steps; step++) {
        if (step % 6 == 0)
            for (uint64_t i = 1; i <= N_STORES; i++)
                store_tick(c->s[i]);
        if (step % 4 == 0)
            for (uint64_t i = 1; i <= N_STORES; i++) {
                peer_t *p = store_peer(c->s[i], 1);
                if (p != NULL && peer_is_leader(p))
                    propose_put(c, i, step);
            }
        if (c->n_queue == 0)
            continue;
        size_t k = (size_t)prng_below(&c->rng, c->n_queue);
        envelope_t e = c->queue[k];
        c->queue[k] = c->queue[--c->n_queue];
        if (e.to < 1 || e.to > N_STORES || prng_chance(&c->rng, 1, 10)) {
            buf_free(&e.bytes);
            continue;
        }
        int mutated = prng_chance(&c->rng, 1, 3);
        if (mutated)
            mutate(c, &e.bytes);
        int times = prng_chance(&c->rng, 1, 20) ? 2 : 1;
        for (int t = 0; t < times; t++) {
            tkv_err_t err = store_step(c->s[e.to], e.bytes.data, e.bytes.len);
            fuzz_count(&c->counts, err, mutated);
            c->closed += err == TKV_ERR_CLOSED;
            check_store(c, e.to, last_term);
        }
        buf_free(&e.bytes);
    }
    fuzz_report("store", seed, &c->counts);
    /* A broken peer (a write or a decode failed: it refuses all input until
     * reopened, TKV_ERR_CLOSED) is counted, not failed: on a handout
     * without 2C every snapshot breaks one. On the reference, snapshots
     * with bad data broke peers in 40 of the first 100 seeds at 20000 steps
     * until peer_step checked them (tests/faults/snapshot_door_test.c). */
    printf("fuzz store seed %llu: %lu puts answered OK, %lu messages refused by a broken peer\n",
           (unsigned long long)seed, c->puts_done, c->closed);
    for (uint64_t i = 1; i <= N_STORES; i++) {
        store_close(c->s[i]);
        tkv_rmdir(c->dir[i]);
    }
    for (size_t k = 0; k < c->n_queue; k++)
        buf_free(&c->queue[k].bytes);
    free(c->queue);
    free(c);
}

static void test_store_survives_mutated_traffic(void **state)
{
    (void)state;
    tkv_log_set_level(TKV_LOG_ERROR);
    tkv_for_each_seed(1, run, NULL);
}

const tkv_test_t store_fuzz_tests[] = {
    { "frame", "fuzz_store_mutated_traffic", 0,
      "three stores under mutated, dropped, duplicated RaftMessages keep their invariants",
      test_store_survives_mutated_traffic, 30 },
    { 0 },
};
