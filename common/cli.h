/*
 * Small pieces every command-line program here needs, kept in one place so
 * the servers, tinykv-ctl, the benchmarks and the examples read their flags,
 * numbers and addresses the same way, and fail on bad usage the same way.
 *
 * Flags are written "--name VALUE" or "--name=VALUE". Addresses are
 * HOST:PORT, with an IPv6 host in brackets ("[::1]:20160").
 */
#ifndef TKV_COMMON_CLI_H
#define TKV_COMMON_CLI_H

#include <stddef.h>
#include <stdint.h>

/* True when `arg` is flag `name`, alone or as "name=...". */
int cli_is_flag(const char *arg, const char *name);

/* The value of flag `name` at argv[*i]: after '=', or the next argument
 * (then *i moves past it). NULL when the flag has no value. Borrowed from argv. */
const char *cli_flag_value(int argc, char **argv, int *i, const char *name);

/* True when `arg` asks for the usage text: "--help" or "-h". */
int cli_is_help(const char *arg);

/* Reads `s` as a whole decimal number in [min, max] (no sign, no spaces, no
 * trailing characters). Returns 0 with *out set, or -1 and *out unchanged. */
int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Prints "PROG: MESSAGE" and "(try PROG --help)" to stderr, MESSAGE made
 * from fmt as printf does, and returns 2: the exit status of a usage error
 * for every program here (0: --help, 1: the work itself failed). */
int cli_usage_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Splits "HOST:PORT" or "[V6HOST]:PORT" into host (brackets removed) and a
 * port in 0..65535. Returns 0, or -1 when `addr` is not of that form or the
 * host does not fit in hsize bytes. */
int cli_split_addr(const char *addr, char *host, size_t hsize, int *port);

/* Writes host:port back in the form cli_split_addr() reads ("[::1]:20160"). */
void cli_format_addr(const char *host, int port, char *out, size_t size);

/* The flags every server program takes: --data-dir DIR (required),
 * --addr HOST:PORT (default `default_addr`), --log-level LEVEL (default info,
 * applied to the logger here), --help (prints `usage`). */
typedef struct {
    const char *data_dir; /* borrowed from argv */
    char host[256];
    int port;
} cli_server_opts_t;

/* Returns -1 when the program should go on with *out filled; otherwise the
 * exit status to return at once: 0 after --help, 2 after a usage error
 * (already printed to stderr, naming `prog`). */
int cli_parse_server(int argc, char **argv, const char *prog, const char *usage,
                     const char *default_addr, cli_server_opts_t *out);

#endif
