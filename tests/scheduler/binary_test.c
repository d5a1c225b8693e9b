/*
 * Frame: the tinykv-scheduler program, end to end over TCP. It is started
 * on a free port with a scratch data directory, answers Tso and AllocId,
 * stops cleanly on SIGTERM, and after a restart on the same directory hands
 * out only larger timestamps and ids.
 *
 * The program is looked up next to this test binary (build/bin beside
 * build/tests), so it needs `make build` (which the grader always runs).
 * Nothing here sleeps: the test blocks on the program's first line of
 * output, on RPC replies, and on waitpid().
 */
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/rpc_client.h"
#include "proto/schedulerpb.pb-c.h"
#include "tests/harness/test.h"

typedef struct {
    pid_t pid;
    FILE *out; /* the program's stdout */
    char addr[64];
} proc_t;

static void program_path(char *out, size_t size)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    assert_true(n > 0);
    self[n] = '\0';
    /* .../build/tests/scheduler -> .../build/bin/tinykv-scheduler */
    char *tests_dir = dirname(self);
    char *build_dir = dirname(tests_dir);
    snprintf(out, size, "%s/bin/tinykv-scheduler", build_dir);
    if (access(out, X_OK) != 0)
        fail_msg("%s is missing: run `make build` first", out);
}

static void start_with(proc_t *p, const char *data_dir, const char *flag, const char *value)
{
    char prog[4200];
    program_path(prog, sizeof(prog));
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    p->pid = fork();
    assert_true(p->pid >= 0);
    if (p->pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        if (flag != NULL)
            execl(prog, prog, "--data-dir", data_dir, "--addr", "127.0.0.1:0", "--log-level",
                  "error", flag, value, (char *)NULL);
        else
            execl(prog, prog, "--data-dir", data_dir, "--addr", "127.0.0.1:0", "--log-level",
                  "error", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    p->out = fdopen(fds[0], "r");
    assert_non_null(p->out);
    char line[512];
    if (fgets(line, sizeof(line), p->out) == NULL)
        fail_msg("tinykv-scheduler exited before listening");
    int port = 0;
    const char *at = strstr(line, "listening on 127.0.0.1:");
    if (at == NULL || sscanf(at, "listening on 127.0.0.1:%d", &port) != 1)
        fail_msg("unexpected first line from tinykv-scheduler: %s", line);
    snprintf(p->addr, sizeof(p->addr), "127.0.0.1:%d", port);
}

static void start(proc_t *p, const char *data_dir)
{
    start_with(p, data_dir, NULL, NULL);
}

static void stop(proc_t *p)
{
    assert_int_equal(kill(p->pid, SIGTERM), 0);
    int status = 0;
    assert_int_equal(waitpid(p->pid, &status, 0), p->pid);
    fclose(p->out);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("tinykv-scheduler did not stop cleanly (status %d)", status);
}

static uint64_t call_tso(rpc_client_t *c)
{
    Schedulerpb__TsoRequest req = SCHEDULERPB__TSO_REQUEST__INIT;
    req.count = 1;
    Schedulerpb__TsoResponse *resp = NULL;
    tkv_err_t e = rpc_client_call(c, &schedulerpb__scheduler__descriptor, "Tso", &req.base,
                                  (ProtobufCMessage **)&resp);
    if (e != TKV_OK)
        fail_msg("Tso: %s", tkv_last_error());
    assert_non_null(resp->timestamp);
    uint64_t ts = ((uint64_t)resp->timestamp->physical << 18) | (uint64_t)resp->timestamp->logical;
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return ts;
}

static uint64_t call_alloc_id(rpc_client_t *c)
{
    Schedulerpb__AllocIdRequest req = SCHEDULERPB__ALLOC_ID_REQUEST__INIT;
    Schedulerpb__AllocIdResponse *resp = NULL;
    tkv_err_t e = rpc_client_call(c, &schedulerpb__scheduler__descriptor, "AllocId", &req.base,
                                  (ProtobufCMessage **)&resp);
    if (e != TKV_OK)
        fail_msg("AllocId: %s", tkv_last_error());
    assert_null(resp->header->error);
    uint64_t id = resp->id;
    protobuf_c_message_free_unpacked(&resp->base, NULL);
    return id;
}

static void test_program_restarts_without_going_back(void **state)
{
    (void)state;
    char dir[256], data[300];
    tkv_tmpdir(dir, sizeof(dir));
    snprintf(data, sizeof(data), "%s/data", dir);
    uint64_t ts = 0, id = 0;
    for (int run = 0; run < 2; run++) {
        proc_t p;
        start(&p, data);
        rpc_client_t *c = NULL;
        if (rpc_client_connect(p.addr, 10000, &c) != TKV_OK)
            fail_msg("cannot connect to tinykv-scheduler: %s", tkv_last_error());
        for (int i = 0; i < 5; i++) {
            uint64_t t = call_tso(c), n = call_alloc_id(c);
            assert_true(t > ts);
            assert_true(n > id);
            ts = t;
            id = n;
        }
        rpc_client_close(c);
        stop(&p);
    }
    tkv_rmdir(dir);
}

/* The exit status of the program run with `flag value` that must refuse
 * it, and (in `err`) what it printed on stderr. */
static int refused(const char *data_dir, const char *flag, const char *value, char *err,
                   size_t size)
{
    char prog[4200];
    program_path(prog, sizeof(prog));
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(prog, prog, "--data-dir", data_dir, "--addr", "127.0.0.1:0", flag, value,
              (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < size && (r = read(fds[0], err + n, size - 1 - n)) > 0)
        n += (size_t)r;
    err[n] = '\0';
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_program_max_store_down_flag(void **state)
{
    (void)state;
    char dir[256], data[300], err[8192];
    tkv_tmpdir(dir, sizeof(dir));
    snprintf(data, sizeof(data), "%s/data", dir);
    const char *bad[] = { "abc", "0", "-5", "12x" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = refused(data, "--max-store-down-ms", bad[i], err, sizeof(err));
        if (rc != 2 || strstr(err, "--max-store-down-ms") == NULL)
            fail_msg("tinykv-scheduler --max-store-down-ms %s should exit 2 naming the flag; it "
                     "exited %d saying: %s",
                     bad[i], rc, err);
    }
    proc_t p;
    start_with(&p, data, "--max-store-down-ms", "1500");
    rpc_client_t *c = NULL;
    if (rpc_client_connect(p.addr, 10000, &c) != TKV_OK)
        fail_msg("cannot connect to tinykv-scheduler: %s", tkv_last_error());
    (void)call_alloc_id(c);
    rpc_client_close(c);
    stop(&p);
    tkv_rmdir(dir);
}

const tkv_test_t binary_tests[] = {
    { "frame", "scheduler_program_max_store_down_flag", 0,
      "tinykv-scheduler takes --max-store-down-ms MS and refuses a value that is not a positive "
      "number",
      test_program_max_store_down_flag, 30 },
    { "frame", "scheduler_program_restarts_without_going_back", 0,
      "tinykv-scheduler answers Tso and AllocId over TCP, stops on SIGTERM, and never goes back "
      "after a restart",
      test_program_restarts_without_going_back, 30 },
    { 0 },
};
