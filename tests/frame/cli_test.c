/*
 * The command line shared by the programs (common/cli.h): what they accept
 * and refuse must not depend on which program reads the flag. And every
 * program in build/bin answers --help (exit 0, a usage line on stdout) and
 * refuses an unknown option (exit 2, naming itself on stderr).
 */
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cli.h"
#include "tests/harness/expect.h"
#include "tests/harness/test.h"

static void test_split_addr_accepts_v4_v6_and_names(void **state)
{
    (void)state;
    char host[64], shown[80];
    int port = -1;
    assert_int_equal(cli_split_addr("127.0.0.1:20160", host, sizeof(host), &port), 0);
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 20160);
    assert_int_equal(cli_split_addr("[::1]:0", host, sizeof(host), &port), 0);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 0);
    cli_format_addr(host, 7, shown, sizeof(shown));
    assert_string_equal(shown, "[::1]:7");
    assert_int_equal(cli_split_addr("localhost:65535", host, sizeof(host), &port), 0);
    assert_string_equal(host, "localhost");
}

static void test_split_addr_refuses_malformed(void **state)
{
    (void)state;
    char host[8];
    int port = 0;
    const char *bad[] = { "nohost",  ":80",     "host:", "host:65536",
                          "host:-1", "host:8x", "[]:80", "a-much-too-long-name:80" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (cli_split_addr(bad[i], host, sizeof(host), &port) == 0)
            fail_msg("'%s' was accepted as host '%s' port %d", bad[i], host, port);
    }
}

static void test_flag_value_forms(void **state)
{
    (void)state;
    char *argv[] = { "prog", "--addr=1.2.3.4:5", "--data-dir", "/d", "--cf" };
    int i = 1;
    assert_true(cli_is_flag(argv[1], "--addr"));
    assert_false(cli_is_flag(argv[1], "--add"));
    assert_string_equal(cli_flag_value(5, argv, &i, "--addr"), "1.2.3.4:5");
    assert_int_equal(i, 1);
    i = 2;
    assert_string_equal(cli_flag_value(5, argv, &i, "--data-dir"), "/d");
    assert_int_equal(i, 3);
    i = 4;
    assert_null(cli_flag_value(5, argv, &i, "--cf"));
}

static void test_parse_u64_whole_numbers_only(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_int_equal(cli_parse_u64("42", 1, 100, &v), 0);
    expect_u64(v, 42, "\"42\" read as");
    assert_int_equal(cli_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
    expect_u64(v, UINT64_MAX, "the largest 64-bit number read as");
    const char *bad[] = { "", "-1", " 5", "+5", "5x", "0x10", "101", "0", "18446744073709551616" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 7;
        if (cli_parse_u64(bad[i], 1, 100, &v) == 0)
            fail_msg("'%s' was accepted as a number in 1..100 (read as %llu)", bad[i],
                     (unsigned long long)v);
        expect_u64(v, 7, "the value after refusing '%s' (unchanged)", bad[i]);
    }
    expect_true(cli_is_help("--help") && cli_is_help("-h"), "--help and -h ask for help");
    expect_true(!cli_is_help("--helpme"), "--helpme does not ask for help");
}

/* Runs `prog arg`, keeps the start of its stdout and stderr, returns its
 * exit status (-1: killed). Outputs are short (a usage text), well within a
 * pipe's buffer, so reading after the exit cannot block the child. */
static int run_program(const char *prog, const char *arg, char *out, char *err, size_t size)
{
    int po[2], pe[2];
    assert_int_equal(pipe(po), 0);
    assert_int_equal(pipe(pe), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]);
        close(pe[0]);
        execl(prog, prog, arg, (char *)NULL);
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        ;
    ssize_t n = read(po[0], out, size - 1);
    out[n > 0 ? n : 0] = '\0';
    n = read(pe[0], err, size - 1);
    err[n > 0 ? n : 0] = '\0';
    close(po[0]);
    close(pe[0]);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_programs_answer_help(void **state)
{
    (void)state;
    /* Every program of every tree (the handout maker stays with the
     * instructor: checked where it exists). */
    const char *progs[] = { "tinykv-server", "tinykv-ctl", "tinykv-scheduler",
                            "five_mem_node", "bench-raft", "bench-txn",
                            "bench-runtime", "grade",      "trace-view",
                            "handout",       NULL };
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    assert_true(n > 0);
    self[n] = '\0';
    const char *build = dirname(dirname(self));
    for (int i = 0; progs[i] != NULL; i++) {
        char prog[4200], out[8192], err[8192], want[64];
        snprintf(prog, sizeof(prog), "%s/bin/%s", build, progs[i]);
        if (access(prog, X_OK) != 0) {
            if (strcmp(progs[i], "handout") == 0)
                continue;
            fail_msg("%s is missing: run `make build` first", prog);
        }
        int rc = run_program(prog, "--help", out, err, sizeof(out));
        snprintf(want, sizeof(want), "usage: %s", progs[i]);
        if (rc != 0 || strncmp(out, want, strlen(want)) != 0)
            fail_msg("%s --help should exit 0 and print \"%s ...\" on stdout; it exited %d "
                     "and printed:\n%s%s",
                     progs[i], want, rc, out, err);
        rc = run_program(prog, "--no-such-option", out, err, sizeof(out));
        if (rc != 2 || strstr(err, progs[i]) == NULL || strstr(err, "--no-such-option") == NULL)
            fail_msg("%s --no-such-option should exit 2 with a message naming the program and "
                     "the option on stderr; it exited %d and printed:\n%s%s",
                     progs[i], rc, out, err);
    }
}

const tkv_test_t cli_tests[] = {
    { "frame", "cli_split_addr_accepts_forms", 0, "HOST:PORT, [V6]:PORT and names are read",
      test_split_addr_accepts_v4_v6_and_names },
    { "frame", "cli_split_addr_refuses_malformed", 0, "malformed addresses are refused",
      test_split_addr_refuses_malformed },
    { "frame", "cli_flag_value_forms", 0, "--flag VALUE and --flag=VALUE both work",
      test_flag_value_forms },
    { "frame", "cli_parse_u64_whole_numbers_only", 0,
      "a number flag takes a whole decimal number in range, nothing else",
      test_parse_u64_whole_numbers_only },
    { "frame", "programs_answer_help", 0,
      "every program answers --help (exit 0) and refuses an unknown option (exit 2)",
      test_programs_answer_help },
    { 0 },
};
