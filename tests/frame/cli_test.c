/*
 * Address parsing shared by the programs: what they accept and refuse must
 * not depend on which program reads the flag.
 */
#include <string.h>

#include "common/cli.h"
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

const tkv_test_t cli_tests[] = {
    { "frame", "cli_split_addr_accepts_forms", 0, "HOST:PORT, [V6]:PORT and names are read",
      test_split_addr_accepts_v4_v6_and_names },
    { "frame", "cli_split_addr_refuses_malformed", 0, "malformed addresses are refused",
      test_split_addr_refuses_malformed },
    { "frame", "cli_flag_value_forms", 0, "--flag VALUE and --flag=VALUE both work",
      test_flag_value_forms },
    { 0 },
};
