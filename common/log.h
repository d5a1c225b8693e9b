/*
 * Levelled logging to stderr.
 *
 * Each line says when (on whatever clock the process runs: virtual in the
 * simulator), how serious, and who: the node, store or peer that logged it,
 * so interleaved lines of a five-node cluster can be told apart.
 *
 *     2350ms INFO  [store 2 peer 5] became leader at term 3
 *
 * The level comes from the TKV_LOG environment variable (error, warn, info,
 * debug, trace; default warn) or from tkv_log_set_level().
 */
#ifndef TKV_COMMON_LOG_H
#define TKV_COMMON_LOG_H

#include "common/clock.h"

typedef enum {
    TKV_LOG_ERROR = 0,
    TKV_LOG_WARN,
    TKV_LOG_INFO,
    TKV_LOG_DEBUG,
    TKV_LOG_TRACE,
} tkv_log_level_t;

void tkv_log_set_level(tkv_log_level_t level);
/* Parses a level name; returns 0 and sets *out, or -1 for an unknown name. */
int tkv_log_parse_level(const char *name, tkv_log_level_t *out);
/* Timestamps come from `clock` (borrowed; NULL: no timestamps). */
void tkv_log_set_clock(const tkv_clock_t *clock);
/* True when a message at `level` would be printed: check it before building
 * expensive log arguments. */
int tkv_log_enabled(tkv_log_level_t level);

/* `who` names the speaker, e.g. "peer 3"; it may be NULL. */
void tkv_logf(tkv_log_level_t level, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
