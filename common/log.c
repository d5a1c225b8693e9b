/*
 * The logger behind log.h. One line per call, written with a single fprintf
 * so that lines from different threads do not interleave mid-line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static tkv_log_level_t current_level = TKV_LOG_WARN;
static int level_from_env_done;
static const tkv_clock_t *log_clock;

static const char *const level_names[] = { "error", "warn", "info", "debug", "trace" };

int tkv_log_parse_level(const char *name, tkv_log_level_t *out)
{
    for (int i = 0; i <= TKV_LOG_TRACE; i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (tkv_log_level_t)i;
            return 0;
        }
    }
    return -1;
}

static void level_from_env(void)
{
    /* Read once, lazily, so no program has to remember to call an init. */
    if (level_from_env_done)
        return;
    level_from_env_done = 1;
    const char *env = getenv("TKV_LOG");
    if (env != NULL && tkv_log_parse_level(env, &current_level) != 0)
        fprintf(stderr, "TKV_LOG=%s is not a level (error, warn, info, debug, trace)\n", env);
}

void tkv_log_set_level(tkv_log_level_t level)
{
    level_from_env_done = 1;
    current_level = level;
}

void tkv_log_set_clock(const tkv_clock_t *clock)
{
    log_clock = clock;
}

int tkv_log_enabled(tkv_log_level_t level)
{
    level_from_env();
    return level <= current_level;
}

void tkv_logf(tkv_log_level_t level, const char *who, const char *fmt, ...)
{
    if (!tkv_log_enabled(level))
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    char when[32] = "";
    if (log_clock != NULL)
        snprintf(when, sizeof(when), "%llums ", (unsigned long long)clock_now_ms(log_clock));
    char upper[8];
    const char *name = level_names[level];
    size_t i = 0;
    for (; i < sizeof(upper) - 1 && name[i] != '\0'; i++)
        upper[i] = (char)(name[i] - 'a' + 'A');
    upper[i] = '\0';
    if (who != NULL)
        fprintf(stderr, "%s%-5s [%s] %s\n", when, upper, who, msg);
    else
        fprintf(stderr, "%s%-5s %s\n", when, upper, msg);
}
