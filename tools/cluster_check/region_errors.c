/*
 * cluster-check: each region error the server promises, provoked on purpose
 * (NotLeader with the hint, EpochNotMatch, KeyNotInRegion, RegionNotFound,
 * StoreNotMatch) and looked for in the response.
 */
#include <string.h>

#include "tools/cluster_check/cc.h"

/* ---- region errors ---- */

typedef struct {
    uint64_t region_id;
    Metapb__RegionEpoch epoch;
    const Metapb__Peer *peer;
    int put;
    tkv_slice_t key;
} probe_t;

/* Sends one RawGet or RawPut to store index `at`; the caller frees the
 * returned region error (NULL: none came). */
static Errorpb__Error *probe(int at, const probe_t *p)
{
    Kvrpcpb__Context ctx = KVRPCPB__CONTEXT__INIT;
    ctx.region_id = p->region_id;
    Metapb__RegionEpoch ep = p->epoch;
    ctx.region_epoch = &ep;
    ctx.peer = (Metapb__Peer *)p->peer;
    ProtobufCMessage *resp = NULL;
    Errorpb__Error **re = NULL;
    tkv_err_t e;
    if (p->put) {
        Kvrpcpb__RawPutRequest req = KVRPCPB__RAW_PUT_REQUEST__INIT;
        req.context = &ctx;
        req.key.data = (uint8_t *)p->key.data;
        req.key.len = p->key.len;
        req.value.data = (uint8_t *)"x";
        req.value.len = 1;
        e = store_call(at, "RawPut", &req.base, &resp);
        if (e == TKV_OK)
            re = &((Kvrpcpb__RawPutResponse *)resp)->region_error;
    } else {
        Kvrpcpb__RawGetRequest req = KVRPCPB__RAW_GET_REQUEST__INIT;
        req.context = &ctx;
        req.key.data = (uint8_t *)p->key.data;
        req.key.len = p->key.len;
        e = store_call(at, "RawGet", &req.base, &resp);
        if (e == TKV_OK)
            re = &((Kvrpcpb__RawGetResponse *)resp)->region_error;
    }
    if (e != TKV_OK)
        die("a probe of store %d failed: %s", at + 1, tkv_last_error());
    Errorpb__Error *out = *re;
    *re = NULL;
    pb_free(resp);
    return out;
}

static const char *error_name(const Errorpb__Error *e)
{
    if (e == NULL)
        return "no region error";
    return e->not_leader          ? "NotLeader"
           : e->epoch_not_match   ? "EpochNotMatch"
           : e->key_not_in_region ? "KeyNotInRegion"
           : e->region_not_found  ? "RegionNotFound"
           : e->store_not_match   ? "StoreNotMatch"
           : e->server_is_busy    ? "ServerIsBusy"
           : e->stale_command     ? "StaleCommand"
                                  : "another region error";
}

static void expect_error(const char *what, Errorpb__Error *e, int ok)
{
    if (!ok)
        die("%s should be answered with its region error; the response had %s (%s)", what,
            error_name(e), e && e->message ? e->message : "");
    pb_free(e);
}

/* Each region error the server promises, provoked on purpose. */
void check_region_errors(void)
{
    uint64_t until = now_ms() + WAIT_MS;
    Schedulerpb__GetRegionResponse *g = NULL;
    for (;;) {
        g = get_region("key00000");
        if (g != NULL && g->leader != NULL && g->region->n_peers >= 2 && g->region->end_key.len > 0)
            break;
        if (now_ms() > until)
            die("key00000's region should have a leader, 2+ peers and an end (it split) within "
                "%d ms",
                WAIT_MS);
        pb_free(g);
        poll_pause();
    }
    const Metapb__Region *r = g->region;
    int leader = index_of_store(g->leader->store_id);
    const Metapb__Peer *follower = NULL;
    for (size_t i = 0; i < r->n_peers; i++)
        if (r->peers[i]->store_id != g->leader->store_id)
            follower = r->peers[i];
    if (follower == NULL)
        die("key00000's region should have a follower; it has %zu peers", r->n_peers);
    probe_t p = { r->id, *r->region_epoch, g->leader, 0, slice_of((const uint8_t *)"key00000", 8) };

    /* NotLeader, with the leader's hint, from a follower. */
    probe_t pf = p;
    pf.peer = follower;
    Errorpb__Error *e = probe(index_of_store(follower->store_id), &pf);
    expect_error("a read sent to a follower", e,
                 e && e->not_leader && e->not_leader->leader &&
                     e->not_leader->leader->store_id == g->leader->store_id);
    /* EpochNotMatch for an epoch the region has left. */
    probe_t pe = p;
    pe.epoch.version += 100;
    pe.put = 1;
    e = probe(leader, &pe);
    expect_error("a write with a wrong epoch", e, e && e->epoch_not_match);
    /* KeyNotInRegion, for a write and for a read. */
    probe_t pk = p;
    pk.key = slice_of(r->end_key.data, r->end_key.len); /* the next region's first key */
    pk.put = 1;
    e = probe(leader, &pk);
    expect_error("a write of a key past the region's end", e, e && e->key_not_in_region);
    pk.put = 0;
    e = probe(leader, &pk);
    expect_error("a read of a key past the region's end", e, e && e->key_not_in_region);
    /* RegionNotFound for a region this store never had. */
    probe_t pn = p;
    pn.region_id = 999999999;
    e = probe(leader, &pn);
    expect_error("a read of an unknown region", e, e && e->region_not_found);
    /* StoreNotMatch for a peer of another store. */
    probe_t ps = p;
    ps.peer = follower;
    e = probe(leader, &ps);
    expect_error("a read naming another store's peer", e, e && e->store_not_match);
    pb_free(g);
}
