/*
 * cluster-check: the replicated store as real processes, end to end.
 *
 *   cluster-check [--bin DIR] [--dir DIR] [--keep] [--seed N] [--log-level L]
 *
 * Starts tinykv-scheduler and three tinykv-server stores on loopback ports
 * (a small --region-split-size, so regions split as keys go in), gives the
 * first region a replica on every store, writes keys through each key's
 * region leader and reads them back, provokes each region error (NotLeader
 * with the leader's hint, EpochNotMatch, KeyNotInRegion, RegionNotFound,
 * StoreNotMatch) and checks the response carries it, kill -9s the leader's store and goes
 * on writing and reading, restarts it on its data dir and sees it catch up
 * (leadership moves to it, which Raft allows only to an up-to-date peer, and
 * every key reads back through it). Then several clients write and read
 * while a store, a region's leader and the scheduler are each kill -9'd and
 * restarted (chaos.c): no acknowledged write may be lost and the history
 * must be linearizable. Exit status 0 when all of that held; 1
 * with what was expected and what was seen otherwise. CI runs it (`make
 * cluster-check`).
 *
 * Replicas: the scheduler may add replicas on its own (a replica checker);
 * where it does not, this program adds them as an operator would, with
 * RaftCmd ChangePeer on the region's leader and peer ids from AllocId.
 *
 * Routing: a tiny router, not the client library: ask the scheduler which
 * region holds the key and who leads it, call that store with the region
 * in the Context, follow NotLeader hints, ask again after any other region
 * error, until a deadline.
 *
 * Time: every wait polls a condition with a bound; a global alarm stops
 * the whole check (and every process it started) if something hangs.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools/cluster_check/cc.h"

static const char usage[] =
    "usage: cluster-check [--bin DIR] [--dir DIR] [--keep] [--seed N] [--log-level L]\n"
    "       cluster-check --replicate SCHEDULER_ADDR\n"
    "\n"
    "Starts tinykv-scheduler and 3 tinykv-server stores (from DIR, default\n"
    "build/bin) in a scratch directory (--dir; removed after a success unless\n"
    "--keep), and checks writes and reads through region leaders, the region\n"
    "errors, kill -9 of a leader's store, its restart and catch-up; then\n"
    "kill -9 of a store, a region's leader and the scheduler under several\n"
    "clients, judged by the linearizability checker (--seed: their operations;\n"
    "default 1). --log-level: the processes' (default warn; logs in --dir).\n"
    "\n"
    "--replicate: on a running cluster, gives the first region a replica on\n"
    "every store (at most 3) and checks a write and a read go through.\n"
    "\n"
    "exit status: 0 ok, 1 a check failed (what was expected and seen on\n"
    "stderr), 2 bad usage\n";

int main(int argc, char **argv)
{
    int keep = 0;
    uint64_t seed = 1;
    const char *replicate_at = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--bin") == 0 && i + 1 < argc)
            snprintf(bin_dir, sizeof(bin_dir), "%s", argv[++i]);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            snprintf(work_dir, sizeof(work_dir), "%.390s", argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc)
            snprintf(log_level, sizeof(log_level), "%s", argv[++i]);
        else if (strcmp(argv[i], "--keep") == 0)
            keep = 1;
        else if (strcmp(argv[i], "--replicate") == 0 && i + 1 < argc)
            replicate_at = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return 0;
        } else {
            fprintf(stderr,
                    "cluster-check: unknown or incomplete option '%s'\n"
                    "(try cluster-check --help)\n",
                    argv[i]);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    if (replicate_at != NULL) {
        /* A running cluster: every store (up to 3) gets a replica of the
         * first region, then a write and a read go through. */
        alarm(60);
        signal(SIGALRM, on_alarm);
        snprintf(sched_addr, sizeof(sched_addr), "%s", replicate_at);
        find_stores();
        replicate();
        op_t put = { 1, "__cluster_ready", "yes", "", 0 };
        run_op(&put);
        op_t get = { 0, "__cluster_ready", NULL, "", 0 };
        run_op(&get);
        if (!get.found || strcmp(get.got, "yes") != 0)
            die("__cluster_ready should read back as yes");
        printf("cluster-check: %d stores, the first region replicated on each, serving\n",
               n_stores);
        return 0;
    }
    if (work_dir[0] == '\0') {
        snprintf(work_dir, sizeof(work_dir), "/tmp/tinykv-cluster-check-XXXXXX");
        if (mkdtemp(work_dir) == NULL) {
            fprintf(stderr, "cluster-check: cannot make a scratch directory\n");
            return 1;
        }
    } else {
        mkdir(work_dir, 0755);
    }
    signal(SIGALRM, on_alarm);
    signal(SIGPIPE, SIG_IGN);
    alarm(TOTAL_S);
    uint64_t t0 = now_ms();

    start_scheduler("127.0.0.1:0");
    for (int i = 0; i < STORES; i++)
        start_store(i);
    printf("cluster-check: scheduler %s, stores", sched_addr);
    for (int i = 0; i < STORES; i++)
        printf(" %llu@%s", (unsigned long long)stores[i].store_id, stores[i].addr);
    printf("\n");

    replicate();
    printf("cluster-check: the first region has a replica on every store\n");

    static int rounds[KEYS];
    put_keys(0, KEYS / 2, 0);
    check_keys(0, KEYS / 2, rounds, "before any failure");
    size_t regions = count_regions();
    printf("cluster-check: %d keys written and read back; %zu regions\n", KEYS / 2, regions);
    check_region_errors();
    printf("cluster-check: NotLeader (with the leader), EpochNotMatch, KeyNotInRegion, "
           "RegionNotFound and StoreNotMatch come back as region errors\n");

    /* kill -9 the store leading the last key's region, and go on. */
    char probe[32];
    key_of(KEYS / 2 - 1, probe, sizeof(probe));
    int victim = leader_store_of(probe);
    if (victim < 0)
        victim = 0;
    kill_store(victim);
    printf("cluster-check: killed store %d (kill -9), the leader of %s's region\n", victim + 1,
           probe);
    put_keys(KEYS / 2, KEYS, 0);
    for (int i = 0; i < KEYS / 4; i++)
        rounds[i] = 1;
    put_keys(0, KEYS / 4, 1);
    check_keys(0, KEYS, rounds, "with a store down");
    printf("cluster-check: %d more writes and every key read back with store %d down\n",
           KEYS / 2 + KEYS / 4, victim + 1);

    start_store(victim);
    printf("cluster-check: restarted store %d on its data dir\n", victim + 1);
    move_leader(probe, victim);
    check_keys(0, KEYS, rounds, "after the restart");
    printf("cluster-check: store %d caught up: it leads %s's region again and every key reads "
           "back\n",
           victim + 1, probe);

    check_chaos(seed);
    char first[32];
    key_of(0, first, sizeof(first));
    int wiped = leader_store_of(first);
    check_wiped_store(wiped >= 0 ? wiped : 0, rounds);
    check_split_under_load();
    check_bad_input(rounds);

    regions = count_regions();
    printf("cluster-check: ok (%zu regions, %.1f s)\n", regions, (double)(now_ms() - t0) / 1000.0);
    rpc_client_close(sched_client);
    for (int i = 0; i < STORES; i++)
        rpc_client_close(store_clients[i]);
    /* A clean stop: SIGTERM, and each process exits 0. */
    for (int i = 0; i < STORES; i++) {
        int status = 0;
        kill(stores[i].pid, SIGTERM);
        waitpid(stores[i].pid, &status, 0);
        stores[i].pid = 0;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            die("store %d should stop cleanly on SIGTERM (exit 0); status %d", i + 1, status);
    }
    stop_all();
    if (!keep) {
        char cmd[700];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", work_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cluster-check: could not remove %s\n", work_dir);
    }
    return 0;
}
