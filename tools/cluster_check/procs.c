/*
 * cluster-check's processes: starting the scheduler and the stores, kill -9,
 * and failing with what was expected and seen (stopping everything first).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <time.h>
#include <unistd.h>

#include "tools/cluster_check/cc.h"

char bin_dir[512] = "build/bin";
char work_dir[400];
proc_t sched;
proc_t stores[STORES];
char sched_addr[64];
rpc_client_t *sched_client;
rpc_client_t *store_clients[STORES];
char log_level[16] = "warn";
int n_stores = STORES; /* fewer with --replicate on a smaller cluster */

void stop_all(void)
{
    for (int i = 0; i < STORES; i++)
        if (stores[i].pid > 0) {
            kill(stores[i].pid, SIGKILL);
            waitpid(stores[i].pid, NULL, 0);
            stores[i].pid = 0;
        }
    if (sched.pid > 0) {
        kill(sched.pid, SIGKILL);
        waitpid(sched.pid, NULL, 0);
        sched.pid = 0;
    }
}

void show_tail(const char *path)
{
    char cmd[700];
    snprintf(cmd, sizeof(cmd), "tail -n 15 '%s' 1>&2", path);
    if (system(cmd) != 0)
        fprintf(stderr, "(cannot show %s)\n", path);
}

void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "cluster-check: FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    for (int i = 0; i < STORES; i++)
        if (stores[i].err[0] != '\0') {
            fprintf(stderr, "--- store %d (%s) said:\n", i + 1, stores[i].err);
            show_tail(stores[i].err);
        }
    stop_all();
    exit(1);
}

void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "cluster-check: FAIL: the whole check took over its bound\n";
    if (write(2, msg, sizeof(msg) - 1) < 0) {
    }
    for (int i = 0; i < STORES; i++)
        if (stores[i].pid > 0)
            kill(stores[i].pid, SIGKILL);
    if (sched.pid > 0)
        kill(sched.pid, SIGKILL);
    _exit(1);
}

uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The pause between two looks at a condition. */
void poll_pause(void)
{
    struct timespec ts = { 0, 50 * 1000000L };
    nanosleep(&ts, NULL);
}

/* The value after `prefix` in file `path`, up to `stop`, or "" (bounded poll). */
int file_field(const char *path, const char *prefix, char stop, char *out, size_t size)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return 0;
    char line[1024];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        char *at = strstr(line, prefix);
        if (at == NULL)
            continue;
        at += strlen(prefix);
        size_t n = 0;
        while (at[n] != '\0' && at[n] != stop && at[n] != '\n' && n + 1 < size)
            n++;
        memcpy(out, at, n);
        out[n] = '\0';
        found = 1;
    }
    fclose(f);
    return found;
}

void start_proc(proc_t *p, char *const argv[], const char *what)
{
    unlink(p->out); /* a restart must not read the last run's address */
    fflush(stdout); /* or the child prints our buffered lines again */
    fflush(stderr);
    p->pid = fork();
    if (p->pid < 0)
        die("cannot fork: %s", strerror(errno));
    if (p->pid == 0) {
#ifdef __linux__
        /* If the check itself crashes (die() and the alarm stop everything,
         * a sanitizer abort or a segfault would not), its processes go
         * with it rather than stay running on CI. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
        if (freopen(p->out, "w", stdout) == NULL || freopen(p->err, "a", stderr) == NULL)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    const char *prefix = ": listening on ";
    uint64_t until = now_ms() + WAIT_MS;
    while (!file_field(p->out, prefix, ',', p->addr, sizeof(p->addr))) {
        int status = 0;
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            p->pid = 0;
            show_tail(p->err);
            die("%s exited before it listened (status %d)", what, status);
        }
        if (now_ms() > until)
            die("%s did not listen within %d ms", what, WAIT_MS);
        poll_pause();
    }
}

void start_scheduler(const char *addr)
{
    snprintf(sched.data, sizeof(sched.data), "%s/scheduler", work_dir);
    snprintf(sched.out, sizeof(sched.out), "%s/scheduler.out", work_dir);
    snprintf(sched.err, sizeof(sched.err), "%s/scheduler.log", work_dir);
    char prog[600];
    snprintf(prog, sizeof(prog), "%s/tinykv-scheduler", bin_dir);
    char at[64];
    snprintf(at, sizeof(at), "%s", addr);
    char *argv[] = { prog, "--data-dir", sched.data, "--addr", at, "--log-level", log_level, NULL };
    start_proc(&sched, argv, "tinykv-scheduler");
    snprintf(sched_addr, sizeof(sched_addr), "%s", sched.addr);
    rpc_client_close(sched_client);
    sched_client = NULL;
    if (rpc_client_connect(sched_addr, 5000, &sched_client) != TKV_OK)
        die("cannot connect to the scheduler at %s: %s", sched_addr, tkv_last_error());
}

void kill_scheduler(void)
{
    kill(sched.pid, SIGKILL);
    waitpid(sched.pid, NULL, 0);
    sched.pid = 0;
    rpc_client_close(sched_client);
    sched_client = NULL;
}

void start_store(int i)
{
    start_store_at(i, "127.0.0.1:0");
}

void start_store_at(int i, const char *addr)
{
    proc_t *p = &stores[i];
    snprintf(p->data, sizeof(p->data), "%s/store%d", work_dir, i + 1);
    snprintf(p->out, sizeof(p->out), "%s/store%d.out", work_dir, i + 1);
    snprintf(p->err, sizeof(p->err), "%s/store%d.log", work_dir, i + 1);
    char prog[600], what[64];
    snprintf(prog, sizeof(prog), "%s/tinykv-server", bin_dir);
    snprintf(what, sizeof(what), "store %d", i + 1);
    char at[64];
    snprintf(at, sizeof(at), "%s", addr);
    char *argv[] = {
        prog,      "--scheduler", sched_addr, "--data-dir",          p->data, "--addr",
        at,        "--tick-ms",   "50",       "--region-split-size", "16K",   "--log-level",
        log_level, NULL
    };
    start_proc(p, argv, what);
    char id[32];
    if (!file_field(p->out, ": store ", ' ', id, sizeof(id)))
        die("%s did not say its store id", what);
    p->store_id = strtoull(id, NULL, 10);
    p->up = 1;
    rpc_client_close(store_clients[i]);
    store_clients[i] = NULL;
}

void kill_store(int i)
{
    kill(stores[i].pid, SIGKILL);
    waitpid(stores[i].pid, NULL, 0);
    stores[i].pid = 0;
    stores[i].up = 0;
    rpc_client_close(store_clients[i]);
    store_clients[i] = NULL;
}

int index_of_store(uint64_t store_id)
{
    for (int i = 0; i < STORES; i++)
        if (stores[i].store_id == store_id)
            return i;
    return -1;
}
