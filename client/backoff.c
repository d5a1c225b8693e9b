/*
 * The retry budget of one request (backoff.h): attempts counted, waits
 * doubled, sleeping delegated to the config so tests never sleep.
 */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "client/backoff.h"

client_config_t client_config_default(void)
{
    client_config_t c = { 5000, 13, 4, 1000, NULL, NULL, 3000, 10 };
    return c;
}

void backoff_init(backoff_t *bo, const client_config_t *cfg)
{
    bo->cfg = cfg;
    bo->attempts = 0;
    bo->next_wait_ms = 0;
    bo->waited_ms = 0;
}

static void do_sleep(const client_config_t *cfg, uint64_t ms)
{
    if (ms == 0)
        return;
    if (cfg->sleep != NULL) {
        cfg->sleep(cfg->sleep_arg, ms);
        return;
    }
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0) {
    }
}

tkv_err_t client_wrap_error(tkv_err_t code, const char *fmt, ...)
{
    char below[1024], front[512];
    snprintf(below, sizeof(below), "%s", tkv_last_error());
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(front, sizeof(front), fmt, ap);
    va_end(ap);
    return tkv_errorf(code, "%s: %s", front, below);
}

tkv_err_t backoff_retry(backoff_t *bo, const char *why)
{
    char copy[1024]; /* why may be tkv_last_error(), which tkv_errorf() rewrites */
    snprintf(copy, sizeof(copy), "%s", why ? why : "");
    why = copy;
    int max = bo->cfg->max_attempts > 0 ? bo->cfg->max_attempts : 1;
    if (++bo->attempts >= max)
        return tkv_errorf(TKV_ERR_TIMEOUT, "gave up after %d tries (waited %llu ms): %s",
                          bo->attempts, (unsigned long long)bo->waited_ms, why);
    return TKV_OK;
}

tkv_err_t backoff_wait(backoff_t *bo, const char *why)
{
    tkv_err_t e = backoff_retry(bo, why);
    if (e != TKV_OK)
        return e;
    uint64_t base = bo->cfg->backoff_base_ms, max = bo->cfg->backoff_max_ms;
    if (bo->next_wait_ms == 0)
        bo->next_wait_ms = base;
    uint64_t ms = bo->next_wait_ms < max ? bo->next_wait_ms : max;
    bo->next_wait_ms = ms * 2 > ms ? ms * 2 : ms;
    bo->waited_ms += ms;
    do_sleep(bo->cfg, ms);
    return TKV_OK;
}

tkv_err_t backoff_wait_ms(backoff_t *bo, uint64_t ms, const char *why)
{
    tkv_err_t e = backoff_retry(bo, why);
    if (e != TKV_OK)
        return e;
    uint64_t max = bo->cfg->backoff_max_ms;
    ms = ms < max ? ms : max;
    bo->waited_ms += ms;
    do_sleep(bo->cfg, ms);
    return TKV_OK;
}
