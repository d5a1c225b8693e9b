/*
 * What the parts of cluster-check share (tools/cluster_check/): the
 * processes it runs, its calls to them, its tiny router, and the checks.
 *
 *   procs.c          start, kill -9 and restart the scheduler and the stores;
 *                    die() with what was expected and seen
 *   router.c         scheduler and store calls, one key through its leader,
 *                    replicas, leadership moves, counting regions
 *   region_errors.c  each region error provoked on purpose
 *   chaos.c          kill -9 under several clients, judged by the
 *                    linearizability checker (tests/harness/)
 *   replicas.c       a store back with a wiped data dir, its replicas rebuilt
 *   load.c           splits under load, regions spread over the stores
 *   bad_input.c      malformed frames and false claims, refused
 *   main.c           the order of the checks
 *
 * Single-threaded except where a file says otherwise: the globals below
 * belong to the main thread.
 *
 * Ownership: get_region() answers are the caller's (pb_free); a probe's
 * region error too. Everything else is static storage.
 */
#ifndef TKV_TOOLS_CLUSTER_CHECK_CC_H
#define TKV_TOOLS_CLUSTER_CHECK_CC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/pb.h"
#include "common/rpc_client.h"
#include "proto/errorpb.pb-c.h"
#include "proto/schedulerpb.pb-c.h"
#include "proto/tinykvpb.pb-c.h"

#define STORES  3
#define KEYS    300
#define WAIT_MS 30000
#define TOTAL_S 400

typedef struct {
    pid_t pid;
    char data[512], out[512], err[512];
    char addr[64];
    uint64_t store_id;
    int up; /* answers calls (started here, or found with --replicate) */
} proc_t;

extern char bin_dir[512];
extern char work_dir[400];
extern proc_t sched;
extern proc_t stores[STORES];
extern char sched_addr[64];
extern rpc_client_t *sched_client;
extern rpc_client_t *store_clients[STORES];
extern char log_level[16]; /* the processes' --log-level */
extern int n_stores;       /* fewer with --replicate on a smaller cluster */

/* ---- procs.c ---- */
void stop_all(void);
void show_tail(const char *path);
void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void on_alarm(int sig);
uint64_t now_ms(void);
void poll_pause(void);
int file_field(const char *path, const char *prefix, char stop, char *out, size_t size);
void start_proc(proc_t *p, char *const argv[], const char *what);
/* The scheduler on `addr` ("127.0.0.1:0": a free port; a restart passes
 * sched_addr, the stores know no other), on its data dir. */
void start_scheduler(const char *addr);
void kill_scheduler(void);
/* Store index i on its data dir (kept across restarts), on a free port or
 * on `addr`. */
void start_store(int i);
void start_store_at(int i, const char *addr);
void kill_store(int i);
int index_of_store(uint64_t store_id);

/* ---- router.c ---- */
typedef struct {
    int put;
    const char *key, *value;
    char got[512];
    int found;
} op_t;

tkv_err_t sched_call(const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp);
tkv_err_t store_call(int i, const char *method, const ProtobufCMessage *req,
                     ProtobufCMessage **resp);
Schedulerpb__GetRegionResponse *get_region(const char *key);
uint64_t alloc_id(void);
int try_op(op_t *op, int at, const Metapb__Region *region, const Metapb__Peer *peer, uint64_t *hint,
           char *why, size_t why_size);
void run_op(op_t *op);
void key_of(int i, char *key, size_t size);
void value_of(int i, int round, char *v, size_t size);
void put_keys(int from, int to, int round);
void check_keys(int from, int to, const int *rounds, const char *when);
int has_store(const Metapb__Region *r, uint64_t store_id);
void replicate(void);
int leader_store_of(const char *key);
void move_leader(const char *key, int to);
size_t count_regions(void);
void find_stores(void);

/* ---- region_errors.c ---- */
void check_region_errors(void);

/* ---- chaos.c ---- */
/* Clients writing and reading while a store, a region's leader and the
 * scheduler are kill -9'd and restarted; then the lost-write and
 * linearizability checks. `seed` picks the clients' operations. */
void check_chaos(uint64_t seed);

/* ---- replicas.c ---- */
/* kill -9 store index `victim`, wipe its data dir, restart it on the same
 * address: it must get a new id, every region its full replica count back,
 * and keys 0..KEYS (written in rounds[i]) must read back. */
void check_wiped_store(int victim, const int *rounds);

/* ---- load.c ---- */
/* A few MiB from several clients: regions split on their own, each has a
 * peer on every store; every key reads back. */
void check_split_under_load(void);

/* ---- bad_input.c ---- */
/* Strangers' bytes and false claims at a store's Raft port and at the
 * scheduler: refused, every process up, keys 0..KEYS intact (then written
 * again: rounds[] becomes 2). */
void check_bad_input(int *rounds);

#endif
