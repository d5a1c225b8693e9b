/*
 * libFuzzer target: the store's check of snapshot data
 * (peer_storage_check_snapshot, peer_storage.h) and the install behind it.
 *
 * Bytes are the data of a MsgSnapshot for region 1 (peers 1..3, range
 * ["", "m")), newer than what the peer applied. The property: what the
 * check accepts, peer_storage_apply_snapshot() installs without a decode
 * or column family error (a refusal there breaks the peer for good), and
 * the check never crashes on anything. The first input byte picks the
 * snapshot's voters (bit 0: the data's own region peers, or 1..3) and
 * whether the rest comes after the encoding of a good snapshot (bit 1):
 * protobuf merges concatenated messages, so the fuzzer's bytes then change
 * a valid region and pairs instead of having to find their encoding blind
 * (protobuf-c is not instrumented). One scratch store for the whole run,
 * in a temp directory removed at exit.
 * Built and run by `make fuzz`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/pb.h"
#include "project2-raft/raftstore/peer_storage.h"
#include "proto/raft_serverpb.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static tkv_buf_t good; /* RaftSnapshotData of region 1 with one pair */
static eng_t *raft_db, *kv_db;
static peer_storage_t *ps;

static void remove_dir(void)
{
    buf_free(&good);
    peer_storage_free(ps);
    eng_close(raft_db);
    eng_close(kv_db);
    char path[128];
    snprintf(path, sizeof(path), "%s/raft", dir);
    eng_destroy(path);
    snprintf(path, sizeof(path), "%s/kv", dir);
    eng_destroy(path);
    rmdir(dir);
}

static void open_store(void)
{
    snprintf(dir, sizeof(dir), "/tmp/tinykv-fuzz-snap-XXXXXX");
    if (mkdtemp(dir) == NULL)
        abort();
    char path[128];
    snprintf(path, sizeof(path), "%s/raft", dir);
    if (eng_open(path, &raft_db) != TKV_OK)
        abort();
    snprintf(path, sizeof(path), "%s/kv", dir);
    if (eng_open(path, &kv_db) != TKV_OK)
        abort();
    Metapb__Peer peers[3];
    Metapb__Peer *pp[3];
    for (int i = 0; i < 3; i++) {
        metapb__peer__init(&peers[i]);
        peers[i].id = peers[i].store_id = (uint64_t)i + 1;
        pp[i] = &peers[i];
    }
    Metapb__RegionEpoch ep = METAPB__REGION_EPOCH__INIT;
    Metapb__Region region = METAPB__REGION__INIT;
    region.id = 1;
    region.region_epoch = &ep;
    region.end_key.data = (uint8_t *)"m";
    region.end_key.len = 1;
    region.n_peers = 3;
    region.peers = pp;
    if (peer_storage_bootstrap(raft_db, kv_db, &region) != TKV_OK ||
        peer_storage_open(raft_db, kv_db, 1, 0, &ps) != TKV_OK)
        abort();
    RaftServerpb__SnapshotKV kv = RAFT_SERVERPB__SNAPSHOT_KV__INIT;
    kv.cf = "default";
    kv.key.data = (uint8_t *)"apple";
    kv.key.len = 5;
    kv.value.data = (uint8_t *)"red";
    kv.value.len = 3;
    RaftServerpb__SnapshotKV *kvs[1] = { &kv };
    RaftServerpb__RaftSnapshotData d = RAFT_SERVERPB__RAFT_SNAPSHOT_DATA__INIT;
    d.region = &region;
    d.n_data = 1;
    d.data = kvs;
    pb_pack(&d.base, &good);
    atexit(remove_dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tkv_log_set_level(TKV_LOG_ERROR);
    if (ps == NULL)
        open_store();
    if (size == 0)
        return 0;
    int own_voters = data[0] & 1;
    tkv_buf_t bytes = TKV_BUF_INIT;
    if (data[0] & 2)
        buf_append(&bytes, good.data, good.len);
    buf_append(&bytes, data + 1, size - 1);
    raft_snapshot_t snap;
    memset(&snap, 0, sizeof(snap));
    snap.data = bytes.data; /* borrowed from `bytes` */
    snap.len = bytes.len;
    snap.metadata.index = ps->applied_index + 1;
    snap.metadata.term = 6;
    uint64_t nodes[16] = { 1, 2, 3 };
    snap.metadata.conf_state.nodes = nodes;
    snap.metadata.conf_state.n_nodes = 3;
    if (own_voters) {
        RaftServerpb__RaftSnapshotData *d =
            raft_serverpb__raft_snapshot_data__unpack(NULL, snap.len, snap.data);
        if (d != NULL && d->region != NULL && d->region->n_peers <= 16) {
            for (size_t i = 0; i < d->region->n_peers; i++)
                nodes[i] = d->region->peers[i] ? d->region->peers[i]->id : 0;
            snap.metadata.conf_state.n_nodes = d->region->n_peers;
        }
        pb_free(d);
    }
    if (peer_storage_check_snapshot(1, &snap) != TKV_OK) {
        buf_free(&bytes);
        return 0;
    }
    eng_batch_t *wb = eng_batch_new();
    tkv_err_t err = peer_storage_apply_snapshot(ps, &snap, wb);
    eng_batch_free(wb);
    buf_free(&bytes);
    if (err == TKV_ERR_CORRUPT) {
        fprintf(stderr, "accepted by the check, refused by the install: %s\n", tkv_last_error());
        abort();
    }
    return 0;
}
