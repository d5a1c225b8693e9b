/*
 * Flag and address parsing shared by the programs in cmd/ (cli.h).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/log.h"

int cli_is_flag(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

const char *cli_flag_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (strcmp(argv[*i], name) == 0 && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

int cli_split_addr(const char *addr, char *host, size_t hsize, int *port)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || colon[1] == '\0')
        return -1;
    char *end = NULL;
    long p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 0 || p > 65535)
        return -1;
    size_t len = (size_t)(colon - addr);
    if (addr[0] == '[' && len >= 2 && addr[len - 1] == ']') {
        addr++;
        len -= 2;
    }
    if (len == 0 || len >= hsize)
        return -1;
    memcpy(host, addr, len);
    host[len] = '\0';
    *port = (int)p;
    return 0;
}

void cli_format_addr(const char *host, int port, char *out, size_t size)
{
    int v6 = strchr(host, ':') != NULL;
    snprintf(out, size, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
}

int cli_is_help(const char *arg)
{
    return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int cli_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    /* strtoull alone takes "-1" (as a huge number), " 5" and "" (as 0). */
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int cli_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n(try %s --help)\n", prog);
    va_end(ap);
    return 2;
}

int cli_parse_server(int argc, char **argv, const char *prog, const char *usage,
                     const char *default_addr, cli_server_opts_t *out)
{
    const char *addr = default_addr, *level_name = "info";
    out->data_dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (cli_is_help(argv[i])) {
            fputs(usage, stdout);
            return 0;
        } else if (cli_is_flag(argv[i], "--data-dir")) {
            if ((v = cli_flag_value(argc, argv, &i, "--data-dir")) == NULL)
                return cli_usage_error(prog, "%s needs a directory", "--data-dir");
            out->data_dir = v;
        } else if (cli_is_flag(argv[i], "--addr")) {
            if ((v = cli_flag_value(argc, argv, &i, "--addr")) == NULL)
                return cli_usage_error(prog, "%s needs HOST:PORT", "--addr");
            addr = v;
        } else if (cli_is_flag(argv[i], "--log-level")) {
            if ((v = cli_flag_value(argc, argv, &i, "--log-level")) == NULL)
                return cli_usage_error(prog, "%s needs a level", "--log-level");
            level_name = v;
        } else {
            return cli_usage_error(prog, "unknown argument '%s'", argv[i]);
        }
    }
    if (out->data_dir == NULL || *out->data_dir == '\0')
        return cli_usage_error(prog, "%s is required", "--data-dir");
    if (cli_split_addr(addr, out->host, sizeof(out->host), &out->port) != 0)
        return cli_usage_error(prog, "--addr '%s' is not HOST:PORT with a port in 0..65535", addr);
    tkv_log_level_t level;
    if (tkv_log_parse_level(level_name, &level) != 0)
        return cli_usage_error(prog, "--log-level '%s' is not error, warn, info, debug or trace",
                               level_name);
    tkv_log_set_level(level);
    return -1;
}
