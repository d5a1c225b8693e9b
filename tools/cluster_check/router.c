/*
 * cluster-check's calls and its tiny router: the scheduler and store RPCs,
 * one key's get or put through its region leader (NotLeader hints, asking
 * the scheduler again), replicas added as an operator would, leadership
 * moved by TransferLeader.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cluster_check/cc.h"

/* ---- calls ---- */

tkv_err_t sched_call(const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
    if (sched_client == NULL && rpc_client_connect(sched_addr, 5000, &sched_client) != TKV_OK)
        return TKV_ERR_NET;
    tkv_err_t e =
        rpc_client_call(sched_client, &schedulerpb__scheduler__descriptor, method, req, resp);
    if (e != TKV_OK && e != TKV_ERR_INVALID && e != TKV_ERR_IO) {
        rpc_client_close(sched_client);
        sched_client = NULL;
    }
    return e;
}

tkv_err_t store_call(int i, const char *method, const ProtobufCMessage *req,
                     ProtobufCMessage **resp)
{
    *resp = NULL;
    if (i < 0 || !stores[i].up)
        return TKV_ERR_NET;
    if (store_clients[i] == NULL &&
        rpc_client_connect(stores[i].addr, 3000, &store_clients[i]) != TKV_OK)
        return TKV_ERR_NET;
    tkv_err_t e =
        rpc_client_call(store_clients[i], &tinykvpb__tiny_kv__descriptor, method, req, resp);
    if (e != TKV_OK && e != TKV_ERR_INVALID && e != TKV_ERR_IO) {
        rpc_client_close(store_clients[i]);
        store_clients[i] = NULL;
    }
    return e;
}

Schedulerpb__GetRegionResponse *get_region(const char *key)
{
    Schedulerpb__GetRegionRequest req = SCHEDULERPB__GET_REGION_REQUEST__INIT;
    req.region_key.data = (uint8_t *)key;
    req.region_key.len = strlen(key);
    Schedulerpb__GetRegionResponse *resp = NULL;
    if (sched_call("GetRegion", &req.base, (ProtobufCMessage **)&resp) != TKV_OK)
        return NULL;
    if (resp->region == NULL) {
        pb_free(resp);
        return NULL;
    }
    return resp;
}

uint64_t alloc_id(void)
{
    Schedulerpb__AllocIdRequest req = SCHEDULERPB__ALLOC_ID_REQUEST__INIT;
    Schedulerpb__AllocIdResponse *resp = NULL;
    if (sched_call("AllocId", &req.base, (ProtobufCMessage **)&resp) != TKV_OK)
        die("AllocId: %s", tkv_last_error());
    uint64_t id = resp->id;
    pb_free(resp);
    return id;
}

/* ---- the router ---- */

/* One try of `op` at store index `at` for `region`. Returns 1 done, 0 retry;
 * *hint is a store to try next (0: ask the scheduler). */
int try_op(op_t *op, int at, const Metapb__Region *region, const Metapb__Peer *peer, uint64_t *hint,
           char *why, size_t why_size)
{
    Kvrpcpb__Context ctx = KVRPCPB__CONTEXT__INIT;
    ctx.region_id = region->id;
    ctx.region_epoch = region->region_epoch;
    ctx.peer = (Metapb__Peer *)peer;
    const Errorpb__Error *re = NULL;
    ProtobufCMessage *resp = NULL;
    tkv_err_t e;
    int done = 0;
    *hint = 0;
    if (op->put) {
        Kvrpcpb__RawPutRequest req = KVRPCPB__RAW_PUT_REQUEST__INIT;
        req.context = &ctx;
        req.key.data = (uint8_t *)op->key;
        req.key.len = strlen(op->key);
        req.value.data = (uint8_t *)op->value;
        req.value.len = strlen(op->value);
        e = store_call(at, "RawPut", &req.base, &resp);
        if (e == TKV_OK) {
            Kvrpcpb__RawPutResponse *r = (void *)resp;
            re = r->region_error;
            if (re == NULL && r->error != NULL && r->error[0] != '\0')
                snprintf(why, why_size, "RawPut error: %s", r->error);
            else
                done = re == NULL;
        }
    } else {
        Kvrpcpb__RawGetRequest req = KVRPCPB__RAW_GET_REQUEST__INIT;
        req.context = &ctx;
        req.key.data = (uint8_t *)op->key;
        req.key.len = strlen(op->key);
        e = store_call(at, "RawGet", &req.base, &resp);
        if (e == TKV_OK) {
            Kvrpcpb__RawGetResponse *r = (void *)resp;
            re = r->region_error;
            if (re == NULL && r->error != NULL && r->error[0] != '\0') {
                snprintf(why, why_size, "RawGet error: %s", r->error);
            } else if (re == NULL) {
                op->found = !r->not_found;
                size_t n = r->value.len < sizeof(op->got) - 1 ? r->value.len : sizeof(op->got) - 1;
                if (n > 0) /* an empty value may come as NULL */
                    memcpy(op->got, r->value.data, n);
                op->got[n] = '\0';
                done = 1;
            }
        }
    }
    if (e != TKV_OK)
        snprintf(why, why_size, "call to store %d: %s", at + 1, tkv_last_error());
    if (re != NULL) {
        snprintf(why, why_size, "region error from store %d: %s", at + 1,
                 re->message ? re->message : "(no message)");
        if (re->not_leader != NULL && re->not_leader->leader != NULL)
            *hint = re->not_leader->leader->store_id;
    }
    if (resp != NULL)
        pb_free(resp);
    return done;
}

void run_op(op_t *op)
{
    uint64_t until = now_ms() + WAIT_MS;
    char why[600] = "no region known for the key";
    uint64_t hint = 0;
    while (now_ms() < until) {
        Schedulerpb__GetRegionResponse *g = get_region(op->key);
        if (g == NULL) {
            poll_pause();
            continue;
        }
        /* The scheduler's leader, or a hint from the last try, or each peer. */
        uint64_t target = hint ? hint : (g->leader ? g->leader->store_id : 0);
        for (size_t tries = 0; tries <= g->region->n_peers; tries++) {
            if (target == 0)
                target = g->region->peers[tries % g->region->n_peers]->store_id;
            const Metapb__Peer *peer = NULL;
            for (size_t i = 0; i < g->region->n_peers; i++)
                if (g->region->peers[i]->store_id == target)
                    peer = g->region->peers[i];
            if (peer != NULL &&
                try_op(op, index_of_store(target), g->region, peer, &hint, why, sizeof(why))) {
                pb_free(g);
                return;
            }
            if (hint == 0 || hint == target)
                break; /* ask the scheduler again */
            target = hint;
        }
        pb_free(g);
        poll_pause();
    }
    die("%s %s did not succeed within %d ms; last: %s", op->put ? "put" : "get", op->key, WAIT_MS,
        why);
}

void key_of(int i, char *key, size_t size)
{
    snprintf(key, size, "key%05d", i);
}

void value_of(int i, int round, char *v, size_t size)
{
    snprintf(v, size, "value-%05d-round-%d-%0200d", i, round, i);
}

void put_keys(int from, int to, int round)
{
    for (int i = from; i < to; i++) {
        char k[32], v[300];
        key_of(i, k, sizeof(k));
        value_of(i, round, v, sizeof(v));
        op_t op = { 1, k, v, "", 0 };
        run_op(&op);
    }
}

void check_keys(int from, int to, const int *rounds, const char *when)
{
    for (int i = from; i < to; i++) {
        char k[32], v[300];
        key_of(i, k, sizeof(k));
        value_of(i, rounds[i], v, sizeof(v));
        op_t op = { 0, k, NULL, "", 0 };
        run_op(&op);
        if (!op.found || strcmp(op.got, v) != 0)
            die("%s: %s should read back as written (round %d); it read %s", when, k, rounds[i],
                op.found ? op.got : "(not found)");
    }
}

/* ---- replicas ---- */

int has_store(const Metapb__Region *r, uint64_t store_id)
{
    for (size_t i = 0; i < r->n_peers; i++)
        if (r->peers[i]->store_id == store_id)
            return 1;
    return 0;
}

/* Every store gets a replica of the first region. */
void replicate(void)
{
    uint64_t until = now_ms() + WAIT_MS;
    for (;;) {
        Schedulerpb__GetRegionResponse *g = get_region("");
        int missing = -1;
        if (g != NULL)
            for (int i = 0; i < n_stores && missing < 0; i++)
                if (!has_store(g->region, stores[i].store_id))
                    missing = i;
        if (g != NULL && missing < 0) {
            pb_free(g);
            return;
        }
        if (now_ms() > until)
            die("the first region should have a replica on each of the %d stores within %d ms; "
                "the scheduler shows %zu",
                n_stores, WAIT_MS, g ? g->region->n_peers : 0);
        if (g != NULL && g->leader != NULL) {
            Metapb__Peer np = METAPB__PEER__INIT;
            np.id = alloc_id();
            np.store_id = stores[missing].store_id;
            RaftCmdpb__ChangePeerRequest cp = RAFT_CMDPB__CHANGE_PEER_REQUEST__INIT;
            cp.change_type = ERAFTPB__CONF_CHANGE_TYPE__ADD_NODE;
            cp.peer = &np;
            RaftCmdpb__AdminRequest admin = RAFT_CMDPB__ADMIN_REQUEST__INIT;
            admin.cmd_type = RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_CHANGE_PEER;
            admin.change_peer = &cp;
            RaftCmdpb__RaftRequestHeader h = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
            h.region_id = g->region->id;
            h.region_epoch = g->region->region_epoch;
            h.peer = g->leader;
            RaftCmdpb__RaftCmdRequest req = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
            req.header = &h;
            req.admin_request = &admin;
            ProtobufCMessage *resp = NULL;
            if (store_call(index_of_store(g->leader->store_id), "RaftCmd", &req.base, &resp) ==
                TKV_OK)
                pb_free(resp);
            /* Wait for the scheduler to see it (the leader's next heartbeat). */
            uint64_t seen = now_ms() + 3000;
            while (now_ms() < seen) {
                Schedulerpb__GetRegionResponse *g2 = get_region("");
                int added = g2 != NULL && has_store(g2->region, np.store_id);
                pb_free(g2);
                if (added)
                    break;
                poll_pause();
            }
        }
        pb_free(g);
        poll_pause();
    }
}

int leader_store_of(const char *key)
{
    Schedulerpb__GetRegionResponse *g = get_region(key);
    int i = (g != NULL && g->leader != NULL) ? index_of_store(g->leader->store_id) : -1;
    pb_free(g);
    return i;
}

/* Moves the leadership of `key`'s region to store index `to`; polls the
 * region until a read through `to` is answered by it as leader. */
void move_leader(const char *key, int to)
{
    uint64_t until = now_ms() + WAIT_MS;
    char why[600] = "";
    while (now_ms() < until) {
        Schedulerpb__GetRegionResponse *g = get_region(key);
        if (g == NULL || g->leader == NULL) {
            pb_free(g);
            poll_pause();
            continue;
        }
        const Metapb__Peer *target = NULL;
        for (size_t i = 0; i < g->region->n_peers; i++)
            if (g->region->peers[i]->store_id == stores[to].store_id)
                target = g->region->peers[i];
        if (target == NULL)
            die("the region of %s has no peer on store %d", key, to + 1);
        /* Is it the leader already? A read sent to it says. */
        op_t op = { 0, key, NULL, "", 0 };
        uint64_t hint = 0;
        if (try_op(&op, to, g->region, target, &hint, why, sizeof(why))) {
            pb_free(g);
            return;
        }
        RaftCmdpb__TransferLeaderRequest tl = RAFT_CMDPB__TRANSFER_LEADER_REQUEST__INIT;
        tl.peer = (Metapb__Peer *)target;
        RaftCmdpb__AdminRequest admin = RAFT_CMDPB__ADMIN_REQUEST__INIT;
        admin.cmd_type = RAFT_CMDPB__ADMIN_CMD_TYPE__ADMIN_TRANSFER_LEADER;
        admin.transfer_leader = &tl;
        RaftCmdpb__RaftRequestHeader h = RAFT_CMDPB__RAFT_REQUEST_HEADER__INIT;
        h.region_id = g->region->id;
        h.region_epoch = g->region->region_epoch;
        h.peer = g->leader;
        RaftCmdpb__RaftCmdRequest req = RAFT_CMDPB__RAFT_CMD_REQUEST__INIT;
        req.header = &h;
        req.admin_request = &admin;
        ProtobufCMessage *resp = NULL;
        if (store_call(index_of_store(hint ? hint : g->leader->store_id), "RaftCmd", &req.base,
                       &resp) == TKV_OK)
            pb_free(resp);
        pb_free(g);
        poll_pause();
    }
    die("leadership of the region of %s should move to the restarted store %d within %d ms "
        "(it must catch up first); last: %s",
        key, to + 1, WAIT_MS, why);
}

size_t count_regions(void)
{
    /* Walk the key space region by region through the scheduler. */
    size_t n = 0;
    char key[600] = "";
    for (;;) {
        Schedulerpb__GetRegionResponse *g = get_region(key);
        if (g == NULL)
            return n;
        n++;
        size_t len = g->region->end_key.len;
        if (len == 0 || len >= sizeof(key)) {
            pb_free(g);
            return n;
        }
        memcpy(key, g->region->end_key.data, len);
        key[len] = '\0';
        pb_free(g);
    }
}

/* --replicate: the stores of a running cluster, from the scheduler. */

void find_stores(void)
{
    Schedulerpb__GetAllStoresRequest req = SCHEDULERPB__GET_ALL_STORES_REQUEST__INIT;
    req.exclude_tombstone_stores = 1;
    Schedulerpb__GetAllStoresResponse *resp = NULL;
    uint64_t until = now_ms() + WAIT_MS;
    while (sched_call("GetAllStores", &req.base, (ProtobufCMessage **)&resp) != TKV_OK) {
        if (now_ms() > until)
            die("the scheduler at %s does not answer GetAllStores", sched_addr);
        poll_pause();
    }
    n_stores = 0;
    for (size_t i = 0; i < resp->n_stores && n_stores < STORES; i++) {
        proc_t *p = &stores[n_stores++];
        p->store_id = resp->stores[i]->id;
        snprintf(p->addr, sizeof(p->addr), "%s", resp->stores[i]->address);
        p->up = 1;
    }
    pb_free(resp);
}
