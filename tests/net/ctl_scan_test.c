/*
 * tinykv-ctl raw scan follows the server's "more": three values of 6 MiB do
 * not fit in one RawScan reply, and the program, run as a real process
 * against the fixture's server, still prints all three, in order.
 */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/net/net_fixture.h"

#define VLEN (6u * 1024u * 1024u)

static void ctl_path(char *out, size_t size)
{
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    assert_true(n > 0);
    self[n] = '\0';
    /* .../build/tests/net -> .../build/bin/tinykv-ctl */
    snprintf(out, size, "%s/bin/tinykv-ctl", dirname(dirname(self)));
    if (access(out, X_OK) != 0)
        fail_msg("%s is missing: run `make build` first", out);
}

static void test_ctl_scan_follows_more(void **state)
{
    net_fixture_t *f = *state;
    char *v = malloc(VLEN);
    for (int k = 0; k < 3; k++) {
        memset(v, 'a' + k, VLEN);
        char key[2] = { (char)('a' + k), 0 };
        net_put(f->client, "", key, 1, v, VLEN);
    }
    free(v);
    char prog[4200], cmd[4400];
    ctl_path(prog, sizeof(prog));
    snprintf(cmd, sizeof(cmd), "%s --addr %s raw scan '' 10", prog, f->addr);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    /* Each line: key '=' value. */
    int lines = 0, ok = 1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, p)) > 0) {
        char want = (char)('a' + lines);
        ok &= n == (ssize_t)VLEN + 3 && line[0] == want && line[1] == '=' && line[n - 1] == '\n' &&
              line[2] == want && line[n - 2] == want && memchr(line + 2, want ^ 1, VLEN) == NULL;
        lines++;
    }
    free(line);
    int status = pclose(p);
    if (status != 0 || lines != 3 || !ok)
        fail_msg("tinykv-ctl raw scan over 3 values of 6 MiB printed %d lines (%s), exit status "
                 "%d; expected 3 whole key=value lines: it must scan again while the reply says "
                 "more",
                 lines, ok ? "as stored" : "not as stored", status);
}

const tkv_test_t ctl_scan_tests[] = {
    { "project1", "ctl_scan_follows_more", 1,
      "tinykv-ctl raw scan prints every pair even when the server splits the scan (more)",
      test_ctl_scan_follows_more, 0, net_setup_standalone, net_teardown },
    { 0 },
};
