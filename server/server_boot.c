/*
 * A cluster store's start-up (server_boot.h): its ident file, the first
 * region's bootstrap, its registration with the scheduler.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/pb.h"
#include "proto/schedulerpb.pb-c.h"
#include "server/server_boot.h"

#define IDENT_FILE  "store.ident"
#define MARKER_FILE "bootstrap.region"

static void path_of(char *out, size_t size, const char *dir, const char *file)
{
    snprintf(out, size, "%s/%s", dir, file);
}

/* Writes data to dir/file atomically and durably (temp file, fsync, rename). */
static tkv_err_t write_file(const char *dir, const char *file, const void *data, size_t len)
{
    char path[4200], tmp[4300];
    path_of(path, sizeof(path), dir, file);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return tkv_errorf(TKV_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    ssize_t n = write(fd, data, len);
    int ok = n == (ssize_t)len && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0)
        return tkv_errorf(TKV_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    int dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return TKV_OK;
}

/* Reads dir/file into out. TKV_ERR_NOT_FOUND when absent. */
static tkv_err_t read_file(const char *dir, const char *file, tkv_buf_t *out)
{
    char path[4200];
    path_of(path, sizeof(path), dir, file);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return errno == ENOENT
                   ? TKV_ERR_NOT_FOUND
                   : tkv_errorf(TKV_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    uint8_t chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(out, chunk, n);
    fclose(f);
    return TKV_OK;
}

static tkv_err_t write_ident(const char *dir, uint64_t cluster, uint64_t store)
{
    char text[128];
    int n = snprintf(text, sizeof(text), "tinykv-store cluster=%llu store=%llu\n",
                     (unsigned long long)cluster, (unsigned long long)store);
    return write_file(dir, IDENT_FILE, text, (size_t)n);
}

static tkv_err_t read_ident(const char *dir, uint64_t *cluster, uint64_t *store)
{
    tkv_buf_t b = TKV_BUF_INIT;
    tkv_err_t e = read_file(dir, IDENT_FILE, &b);
    if (e == TKV_OK) {
        buf_append(&b, "", 1);
        unsigned long long c = 0, s = 0;
        if (sscanf((const char *)b.data, "tinykv-store cluster=%llu store=%llu", &c, &s) != 2 ||
            s == 0)
            e = tkv_errorf(TKV_ERR_CORRUPT, "%s/%s is not a store ident", dir, IDENT_FILE);
        *cluster = c;
        *store = s;
    }
    buf_free(&b);
    return e;
}

/* The error of a scheduler response header, as a code (TKV_OK: none). */
static tkv_err_t header_error(const char *method, const Schedulerpb__ResponseHeader *h)
{
    if (h == NULL || h->error == NULL || h->error->type == SCHEDULERPB__ERROR_TYPE__ERR_OK)
        return TKV_OK;
    return tkv_errorf(TKV_ERR_INVALID, "%s: the scheduler says: %s", method,
                      h->error->message ? h->error->message : "(no message)");
}

/* A call, retried while the scheduler cannot be reached, until `deadline`. */
static tkv_err_t call(sched_link_t *l, const char *method, const ProtobufCMessage *req,
                      ProtobufCMessage **resp, uint64_t deadline)
{
    for (;;) {
        tkv_err_t e = sched_link_call(l, method, req, resp);
        if (e == TKV_OK || (e != TKV_ERR_NET && e != TKV_ERR_TIMEOUT && e != TKV_ERR_CLOSED) ||
            clock_now_ms(clock_real()) >= deadline)
            return e;
        struct timespec pause = { 0, 100 * 1000000L }; /* the scheduler may be starting */
        nanosleep(&pause, NULL);
    }
}

static tkv_err_t alloc_id(sched_link_t *l, uint64_t deadline, uint64_t *out)
{
    Schedulerpb__AllocIdRequest req = SCHEDULERPB__ALLOC_ID_REQUEST__INIT;
    Schedulerpb__AllocIdResponse *resp = NULL;
    tkv_err_t e = call(l, "AllocId", &req.base, (ProtobufCMessage **)&resp, deadline);
    if (e != TKV_OK)
        return e;
    e = header_error("AllocId", resp->header);
    *out = resp->id;
    pb_free(resp);
    return e;
}

static Metapb__Store *store_meta(uint64_t id, const char *addr, const char *raft_addr)
{
    Metapb__Store *s = xmalloc(sizeof(*s));
    metapb__store__init(s);
    s->id = id;
    s->address = strdup(addr);
    s->peer_address = strdup(raft_addr);
    s->state = METAPB__STORE_STATE__STORE_UP;
    return s;
}

static Metapb__Region *first_region(uint64_t region_id, uint64_t peer_id, uint64_t store_id)
{
    Metapb__Region *r = xmalloc(sizeof(*r));
    metapb__region__init(r);
    r->id = region_id;
    r->region_epoch = xmalloc(sizeof(*r->region_epoch));
    metapb__region_epoch__init(r->region_epoch);
    r->region_epoch->conf_ver = 1;
    r->region_epoch->version = 1;
    r->n_peers = 1;
    r->peers = xmalloc(sizeof(*r->peers));
    r->peers[0] = xmalloc(sizeof(*r->peers[0]));
    metapb__peer__init(r->peers[0]);
    r->peers[0]->id = peer_id;
    r->peers[0]->store_id = store_id;
    return r;
}

static tkv_err_t remove_marker(const char *dir)
{
    char path[4200];
    path_of(path, sizeof(path), dir, MARKER_FILE);
    if (unlink(path) != 0 && errno != ENOENT)
        return tkv_errorf(TKV_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    return TKV_OK;
}

tkv_err_t server_boot_done(const char *data_dir)
{
    return remove_marker(data_dir);
}

/* Tries to start the cluster with `region`. *won: it did. */
static tkv_err_t try_bootstrap(sched_link_t *l, uint64_t store_id, const char *addr,
                               const char *raft_addr, Metapb__Region *region, uint64_t deadline,
                               int *won)
{
    *won = 0;
    /* A fresh cluster id, so a data dir of another cluster is told apart. */
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t proposal =
        ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec) ^ ((uint64_t)getpid() << 40);
    proposal &= 0x7fffffffffffffffULL;
    if (proposal == 0)
        proposal = 1;
    Schedulerpb__RequestHeader h = SCHEDULERPB__REQUEST_HEADER__INIT;
    h.cluster_id = proposal;
    Schedulerpb__BootstrapRequest req = SCHEDULERPB__BOOTSTRAP_REQUEST__INIT;
    req.header = &h;
    req.store = store_meta(store_id, addr, raft_addr);
    req.region = region;
    Schedulerpb__BootstrapResponse *resp = NULL;
    tkv_err_t e = call(l, "Bootstrap", &req.base, (ProtobufCMessage **)&resp, deadline);
    pb_free(req.store);
    if (e != TKV_OK)
        return e;
    if (resp->header != NULL && resp->header->error != NULL &&
        resp->header->error->type == SCHEDULERPB__ERROR_TYPE__ERR_ALREADY_BOOTSTRAPPED) {
        pb_free(resp);
        return TKV_OK;
    }
    e = header_error("Bootstrap", resp->header);
    if (e == TKV_OK)
        *won = 1;
    pb_free(resp);
    return e;
}

/* Whether the scheduler knows region `id` (a bootstrap that went through
 * before a crash). */
static tkv_err_t scheduler_has_region(sched_link_t *l, uint64_t id, uint64_t deadline, int *has)
{
    Schedulerpb__GetRegionByIdRequest req = SCHEDULERPB__GET_REGION_BY_ID_REQUEST__INIT;
    req.region_id = id;
    Schedulerpb__GetRegionResponse *resp = NULL;
    tkv_err_t e = call(l, "GetRegionById", &req.base, (ProtobufCMessage **)&resp, deadline);
    if (e != TKV_OK)
        return e;
    *has = resp->region != NULL;
    pb_free(resp);
    return TKV_OK;
}

static tkv_err_t is_bootstrapped(sched_link_t *l, uint64_t deadline, int *yes, uint64_t *cluster)
{
    Schedulerpb__IsBootstrappedRequest req = SCHEDULERPB__IS_BOOTSTRAPPED_REQUEST__INIT;
    Schedulerpb__IsBootstrappedResponse *resp = NULL;
    tkv_err_t e = call(l, "IsBootstrapped", &req.base, (ProtobufCMessage **)&resp, deadline);
    if (e != TKV_OK)
        return e;
    *yes = resp->bootstrapped;
    *cluster = resp->header != NULL ? resp->header->cluster_id : 0;
    pb_free(resp);
    return TKV_OK;
}

tkv_err_t server_boot(sched_link_t *l, const char *dir, const char *addr, const char *raft_addr,
                      int wait_ms, server_boot_t *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t deadline = clock_now_ms(clock_real()) + (uint64_t)(wait_ms > 0 ? wait_ms : 0);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return tkv_errorf(TKV_ERR_IO, "cannot create %s: %s", dir, strerror(errno));
    uint64_t cluster = 0, store = 0;
    tkv_err_t e = read_ident(dir, &cluster, &store);
    if (e != TKV_OK && e != TKV_ERR_NOT_FOUND)
        return e;
    int boot = 0;
    uint64_t theirs = 0;
    e = is_bootstrapped(l, deadline, &boot, &theirs);
    if (e != TKV_OK)
        return e;
    /* Refused before anything is written, here or at the scheduler. */
    if (cluster != 0 && (!boot || theirs != cluster))
        return tkv_errorf(TKV_ERR_INVALID,
                          "%s belongs to store %llu of cluster %llu, but the scheduler serves %s "
                          "%llu: use an empty data dir to join it",
                          dir, (unsigned long long)store, (unsigned long long)cluster,
                          boot ? "cluster" : "a new, empty cluster", (unsigned long long)theirs);
    if (store == 0) {
        e = alloc_id(l, deadline, &store);
        if (e == TKV_OK)
            e = write_ident(dir, 0, store);
        if (e != TKV_OK)
            return e;
    }

    /* The region this store proposed before, if a crash cut it short. */
    Metapb__Region *marker = NULL;
    tkv_buf_t mb = TKV_BUF_INIT;
    e = read_file(dir, MARKER_FILE, &mb);
    if (e == TKV_OK) {
        marker = metapb__region__unpack(NULL, mb.len, mb.data);
        if (marker == NULL)
            e = tkv_errorf(TKV_ERR_CORRUPT, "%s/%s does not decode", dir, MARKER_FILE);
    } else if (e == TKV_ERR_NOT_FOUND) {
        e = TKV_OK;
    }
    buf_free(&mb);
    if (e == TKV_OK && !boot && marker == NULL) {
        uint64_t region_id = 0, peer_id = 0;
        e = alloc_id(l, deadline, &region_id);
        if (e == TKV_OK)
            e = alloc_id(l, deadline, &peer_id);
        if (e == TKV_OK) {
            marker = first_region(region_id, peer_id, store);
            size_t n = metapb__region__get_packed_size(marker);
            uint8_t *bytes = xmalloc(n + 1);
            metapb__region__pack(marker, bytes);
            e = write_file(dir, MARKER_FILE, bytes, n);
            free(bytes);
        }
    }
    if (e == TKV_OK && marker != NULL) {
        int ours = 0;
        if (!boot)
            e = try_bootstrap(l, store, addr, raft_addr, marker, deadline, &ours);
        else
            e = scheduler_has_region(l, marker->id, deadline, &ours);
        if (e == TKV_OK && ours) {
            out->bootstrap = marker;
            marker = NULL;
        } else if (e == TKV_OK) {
            e = remove_marker(dir); /* another store started the cluster */
        }
    }
    pb_free(marker);
    if (e != TKV_OK) {
        pb_free(out->bootstrap);
        out->bootstrap = NULL;
        return e;
    }

    Schedulerpb__PutStoreRequest req = SCHEDULERPB__PUT_STORE_REQUEST__INIT;
    req.store = store_meta(store, addr, raft_addr);
    Schedulerpb__PutStoreResponse *resp = NULL;
    e = call(l, "PutStore", &req.base, (ProtobufCMessage **)&resp, deadline);
    pb_free(req.store);
    theirs = 0;
    if (e == TKV_OK) {
        e = header_error("PutStore", resp->header);
        theirs = resp->header ? resp->header->cluster_id : 0;
        pb_free(resp);
    }
    if (e == TKV_OK && cluster != 0 && theirs != 0 && theirs != cluster)
        e = tkv_errorf(TKV_ERR_INVALID,
                       "%s belongs to store %llu of cluster %llu, but the scheduler serves cluster "
                       "%llu: use an empty data dir to join this cluster",
                       dir, (unsigned long long)store, (unsigned long long)cluster,
                       (unsigned long long)theirs);
    if (e == TKV_OK && cluster == 0 && theirs != 0) {
        cluster = theirs;
        e = write_ident(dir, cluster, store);
    }
    if (e != TKV_OK) {
        pb_free(out->bootstrap);
        out->bootstrap = NULL;
        return e;
    }
    out->cluster_id = cluster;
    out->store_id = store;
    return TKV_OK;
}
