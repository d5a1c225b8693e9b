/*
 * cluster-check: bad input at the ports the cluster added.
 *
 * A store's Raft port (runtime/transport.h) takes frames from anyone who
 * connects. A stranger's bytes must get its connection closed, alone; a
 * well-formed Raft message that names a region the store does not have,
 * or another store as its destination, must be dropped (project 2's
 * route_message, project 3B's mr_on_unknown_region: a heartbeat over a
 * range this store's regions cover starts no peer); obeyed, the second one
 * (a term far ahead) would make the region's leader step down. The
 * scheduler's PutStore takes a store id on the caller's word: claiming a
 * known id at another up store's address must be refused with the reason,
 * so clients and the other stores keep reaching the real one; a heartbeat
 * of an id that never registered too.
 *
 * After each kind of input the check asserts the process is still running
 * and, at the end, that every key reads back and writes still go through
 * (so no region lost its leader for good or its data).
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/rpc_frame.h"
#include "runtime/raft_wire.h"
#include "tools/cluster_check/cc.h"

#define CLOSE_MS 10000

static int connect_to(const char *addr)
{
    char host[64];
    int port = 0;
    if (cli_split_addr(addr, host, sizeof(host), &port) != 0)
        die("cannot read the address %s", addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        die("cannot connect to %s: %s", addr, strerror(errno));
    return fd;
}

static void send_all(int fd, const void *data, size_t len)
{
    const uint8_t *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return; /* closed already: what the caller checks next */
        p += n;
        len -= (size_t)n;
    }
}

/* 1 when the other end closed `fd` within CLOSE_MS (bounded poll). */
static int closed_by_peer(int fd)
{
    uint64_t until = now_ms() + CLOSE_MS;
    while (now_ms() < until) {
        struct pollfd pf = { fd, POLLIN, 0 };
        if (poll(&pf, 1, 50) > 0) {
            char b[256];
            ssize_t n = recv(fd, b, sizeof(b), 0);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                return 1;
        }
    }
    return 0;
}

static void still_running(int i, const char *after)
{
    int status = 0;
    if (stores[i].pid <= 0 || waitpid(stores[i].pid, &status, WNOHANG) == stores[i].pid)
        die("store %d should survive %s; it is gone (status %d)", i + 1, after, status);
}

/* Sends `bytes` to store i's Raft port on a new connection and expects the
 * store to close it (a stranger's stream cannot be trusted). */
static void expect_closed(int i, const char *raft_addr, const void *bytes, size_t len,
                          const char *what)
{
    int fd = connect_to(raft_addr);
    send_all(fd, bytes, len);
    int closed = closed_by_peer(fd);
    close(fd);
    if (!closed)
        die("store %d should close a connection that sends %s to its Raft port within %d ms; "
            "it kept it open",
            i + 1, what, CLOSE_MS);
    still_running(i, what);
}

static void frame_of(const char *method, const void *payload, size_t len, tkv_buf_t *out)
{
    Rpcpb__RpcFrame f = RPCPB__RPC_FRAME__INIT;
    f.method = (char *)method;
    f.payload.data = (uint8_t *)payload;
    f.payload.len = len;
    if (rpc_frame_encode(&f, out) != TKV_OK)
        die("cannot encode a frame: %s", tkv_last_error());
}

/* A "Raft" frame with one message to store index `to` (its id claimed as
 * `to_store`) for `region_id`: a heartbeat at term `term` from a peer on
 * `from_store`. */
static void raft_message_frame(uint64_t region_id, uint64_t to_peer, uint64_t to_store,
                               uint64_t from_store, uint64_t term, tkv_buf_t *out)
{
    Metapb__Peer from = METAPB__PEER__INIT, to = METAPB__PEER__INIT;
    from.id = 900001;
    from.store_id = from_store;
    to.id = to_peer;
    to.store_id = to_store;
    Metapb__RegionEpoch ep = METAPB__REGION_EPOCH__INIT;
    ep.conf_ver = 1000;
    ep.version = 1000;
    Eraftpb__Message m = ERAFTPB__MESSAGE__INIT;
    m.msg_type = ERAFTPB__MESSAGE_TYPE__MSG_HEARTBEAT;
    m.from = from.id;
    m.to = to.id;
    m.term = term;
    m.commit = 0; /* a heartbeat committing nothing may create a peer */
    RaftServerpb__RaftMessage rm = RAFT_SERVERPB__RAFT_MESSAGE__INIT;
    rm.region_id = region_id;
    rm.from_peer = &from;
    rm.to_peer = &to;
    rm.message = &m;
    rm.region_epoch = &ep;
    wire_msg_t *w = wire_msg_encode(&rm);
    if (wire_batch_frame(w, 1, out) != TKV_OK)
        die("cannot encode a Raft frame: %s", tkv_last_error());
    free(w);
}

/* Sends a well-formed frame; the connection may stay open. */
static void send_frame(int i, const char *raft_addr, const tkv_buf_t *frame, const char *what)
{
    int fd = connect_to(raft_addr);
    send_all(fd, frame->data, frame->len);
    /* Give the store the time to read it: a bounded wait for an answer or
     * a close (the Raft port never answers), then go on either way. */
    struct pollfd pf = { fd, POLLIN, 0 };
    (void)poll(&pf, 1, 300);
    close(fd);
    still_running(i, what);
}

static void raft_port_checks(int i, int other)
{
    char raft_addr[64];
    if (!file_field(stores[i].out, "raft on ", ',', raft_addr, sizeof(raft_addr)))
        die("store %d did not say its Raft address in %s", i + 1, stores[i].out);

    /* Strangers: bytes that are no frame, frames that are no Raft. */
    static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    expect_closed(i, raft_addr, http, sizeof(http) - 1,
                  "an HTTP request (a length prefix of 1.2 GB)");
    uint8_t zero[8] = { 0 };
    expect_closed(i, raft_addr, zero, sizeof(zero), "a zero-length frame");
    uint8_t junk[4 + 64];
    rpc_frame_put_len(junk, 64);
    for (size_t k = 4; k < sizeof(junk); k++)
        junk[k] = (uint8_t)(0xff - k);
    expect_closed(i, raft_addr, junk, sizeof(junk), "a frame whose body is not an RpcFrame");
    tkv_buf_t f = TKV_BUF_INIT;
    frame_of("Bogus", "x", 1, &f);
    expect_closed(i, raft_addr, f.data, f.len, "a frame of an unknown method");
    buf_clear(&f);
    frame_of(WIRE_METHOD_BATCH, junk + 4, 64, &f);
    expect_closed(i, raft_addr, f.data, f.len, "a Raft frame whose payload is no BatchRaftMessage");
    buf_clear(&f);
    RaftServerpb__RaftMessageChunk ch = RAFT_SERVERPB__RAFT_MESSAGE_CHUNK__INIT;
    ch.id = 7;
    ch.total_len = (uint64_t)1 << 40; /* a terabyte, announced at the first piece */
    ch.data.data = junk;
    ch.data.len = 16;
    uint8_t packed[64];
    size_t plen = raft_serverpb__raft_message_chunk__pack(&ch, packed);
    frame_of(WIRE_METHOD_CHUNK, packed, plen, &f);
    expect_closed(i, raft_addr, f.data, f.len, "a RaftChunk announcing a 1 TiB message");
    buf_clear(&f);
    /* Two messages' pieces interleaved: 7 starts, 8 starts before 7 ended. */
    ch.total_len = 64;
    plen = raft_serverpb__raft_message_chunk__pack(&ch, packed);
    frame_of(WIRE_METHOD_CHUNK, packed, plen, &f);
    ch.id = 8;
    plen = raft_serverpb__raft_message_chunk__pack(&ch, packed);
    frame_of(WIRE_METHOD_CHUNK, packed, plen, &f);
    expect_closed(i, raft_addr, f.data, f.len, "RaftChunk pieces of two messages interleaved");
    buf_clear(&f);

    /* Well-formed messages that must change nothing. */
    raft_message_frame(987654321, 900002, stores[i].store_id, stores[other].store_id, 7, &f);
    send_frame(i, raft_addr, &f, "a heartbeat for a region it does not have");
    buf_clear(&f);
    Schedulerpb__GetRegionResponse *g = get_region("");
    if (g == NULL)
        die("the scheduler should know the first region");
    uint64_t rid = g->region->id;
    pb_free(g);
    /* To the first region, at a term far ahead, claiming another store as
     * its destination: obeyed, it would make the leader step down. */
    raft_message_frame(rid, 900003, stores[other].store_id, stores[other].store_id, 1000000, &f);
    send_frame(i, raft_addr, &f, "a heartbeat of a known region addressed to another store");
    buf_free(&f);
}

static void sched_claims(int i, int other)
{
    /* PutStore with store i's id from somewhere else. */
    Metapb__Store st = METAPB__STORE__INIT;
    st.id = stores[i].store_id;
    st.address = stores[other].addr; /* another process's address */
    st.peer_address = "127.0.0.1:1";
    Schedulerpb__PutStoreRequest req = SCHEDULERPB__PUT_STORE_REQUEST__INIT;
    req.store = &st;
    Schedulerpb__PutStoreResponse *resp = NULL;
    if (sched_call("PutStore", &req.base, (ProtobufCMessage **)&resp) != TKV_OK)
        die("PutStore should be answered (with an error in its header): %s", tkv_last_error());
    int refused = resp->header != NULL && resp->header->error != NULL;
    char said[300];
    snprintf(said, sizeof(said), "%s",
             refused && resp->header->error->message ? resp->header->error->message : "");
    pb_free(resp);
    if (!refused)
        die("PutStore claiming the id of store %llu, which is up at %s, with another address "
            "(%s) should be refused; the scheduler took it",
            (unsigned long long)stores[i].store_id, stores[i].addr, stores[other].addr);
    /* The scheduler still sends everyone to the real store. */
    Schedulerpb__GetStoreRequest gs = SCHEDULERPB__GET_STORE_REQUEST__INIT;
    gs.store_id = stores[i].store_id;
    Schedulerpb__GetStoreResponse *gr = NULL;
    if (sched_call("GetStore", &gs.base, (ProtobufCMessage **)&gr) != TKV_OK || gr->store == NULL)
        die("GetStore %llu should answer", (unsigned long long)stores[i].store_id);
    int same = gr->store->address != NULL && strcmp(gr->store->address, stores[i].addr) == 0;
    pb_free(gr);
    if (!same)
        die("after a refused PutStore, store %llu should still be at %s",
            (unsigned long long)stores[i].store_id, stores[i].addr);
    /* A heartbeat for a store the scheduler never registered. (One with a
     * registered id is taken on its word: it carries statistics only, and
     * nothing in it says which process sent it.) */
    Schedulerpb__StoreStats stats = SCHEDULERPB__STORE_STATS__INIT;
    stats.store_id = 987654321;
    Schedulerpb__StoreHeartbeatRequest hb = SCHEDULERPB__STORE_HEARTBEAT_REQUEST__INIT;
    hb.stats = &stats;
    Schedulerpb__StoreHeartbeatResponse *hr = NULL;
    if (sched_call("StoreHeartbeat", &hb.base, (ProtobufCMessage **)&hr) != TKV_OK)
        die("StoreHeartbeat should be answered (with an error in its header): %s",
            tkv_last_error());
    int hb_refused = hr->header != NULL && hr->header->error != NULL;
    pb_free(hr);
    if (!hb_refused)
        die("a StoreHeartbeat from store 987654321, which never registered, should be refused");
    if (sched.pid <= 0 || waitpid(sched.pid, NULL, WNOHANG) == sched.pid)
        die("the scheduler should survive the false claims; it is gone");
    printf("cluster-check: PutStore claiming store %llu's id from another address is refused "
           "(\"%s\"); so is a heartbeat of an unknown store\n",
           (unsigned long long)stores[i].store_id, said);
}

void check_bad_input(int *rounds)
{
    int i = 0, other = 1;
    raft_port_checks(i, other);
    printf("cluster-check: store %d's Raft port closed 7 kinds of stranger's streams and refused "
           "a message for an unknown region and one for another store; it still runs\n",
           i + 1);
    sched_claims(i, other);
    check_keys(0, KEYS, rounds, "after bad input at the Raft port and the scheduler");
    /* Writes still go through, so every region of the key space has a leader. */
    put_keys(0, KEYS, 2);
    for (int k = 0; k < KEYS; k++)
        rounds[k] = 2;
    check_keys(0, KEYS, rounds, "after bad input, written again");
    printf("cluster-check: after the bad input every key reads back and takes a write\n");
}
