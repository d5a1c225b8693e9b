/*
 * tinykv-server's durability flag, on the real program: --help says that
 * writes are synced by default and names --no-sync; the server starts with
 * --no-sync and without it, and stops cleanly. (Whether an fsync happened
 * cannot be seen from outside short of pulling the power; what is checked
 * here is the program's promise and that both modes run.)
 */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/harness/test.h"

static void server_path(char *out, size_t size)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    assert_true(n > 0);
    self[n] = '\0';
    snprintf(out, size, "%s/bin/tinykv-server", dirname(dirname(self)));
    if (access(out, X_OK) != 0)
        fail_msg("%s is missing: run `make build` first", out);
}

/* Starts the server with `flag` (NULL: none), waits for its listening line,
 * stops it with SIGTERM and returns its exit status. */
static int run_once(const char *prog, const char *dir, const char *flag)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        if (flag != NULL)
            execl(prog, prog, "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-level", "error",
                  flag, (char *)NULL);
        else
            execl(prog, prog, "--data-dir", dir, "--addr", "127.0.0.1:0", "--log-level", "error",
                  (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *out = fdopen(fds[0], "r");
    char line[512] = "";
    if (fgets(line, sizeof(line), out) == NULL || strstr(line, "listening on") == NULL)
        fail_msg("tinykv-server %s did not start: \"%s\"", flag ? flag : "", line);
    kill(pid, SIGTERM);
    int status = 0;
    pid_t w;
    while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    if (w != pid)
        fail_msg("cannot wait for tinykv-server: %s", strerror(errno));
    fclose(out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_server_syncs_by_default(void **state)
{
    (void)state;
    char prog[4200], cmd[4300], dir[256];
    server_path(prog, sizeof(prog));
    snprintf(cmd, sizeof(cmd), "%s --help", prog);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char help[4096];
    size_t n = fread(help, 1, sizeof(help) - 1, p);
    help[n] = '\0';
    pclose(p); /* the text is what is checked */
    if (strstr(help, "--no-sync") == NULL || strstr(help, "synced to disk") == NULL)
        fail_msg("tinykv-server --help should say writes are synced by default and name "
                 "--no-sync:\n%s",
                 help);
    tkv_tmpdir(dir, sizeof(dir));
    assert_int_equal(run_once(prog, dir, NULL), 0);
    assert_int_equal(run_once(prog, dir, "--no-sync"), 0);
    tkv_rmdir(dir);
}

const tkv_test_t server_sync_tests[] = {
    { "frame", "server_syncs_by_default", 0,
      "tinykv-server --help promises synced writes and --no-sync; both modes start and stop",
      test_server_syncs_by_default },
    { 0 },
};
