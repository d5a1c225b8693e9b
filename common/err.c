/*
 * Per-thread error messages behind tkv_errorf(). A thread-local buffer keeps
 * the message alive after the failing function returns, without allocating
 * and without one thread overwriting another's message.
 */
#include <stdarg.h>
#include <stdio.h>

#include "common/err.h"

static _Thread_local char last_msg[1024];

tkv_err_t tkv_errorf(tkv_err_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_msg, sizeof(last_msg), fmt, ap);
    va_end(ap);
    return code;
}

tkv_err_t tkv_not_implemented(const char *what)
{
    return tkv_errorf(TKV_ERR_NOT_IMPLEMENTED, "%s is not implemented yet (your code here)", what);
}

const char *tkv_last_error(void)
{
    return last_msg;
}

const char *tkv_strerror(tkv_err_t code)
{
    static const char *const names[TKV_ERR__COUNT] = {
        [TKV_OK] = "ok",
        [TKV_ERR_NOT_FOUND] = "not found",
        [TKV_ERR_INVALID] = "invalid argument",
        [TKV_ERR_IO] = "i/o error",
        [TKV_ERR_CORRUPT] = "corrupt data",
        [TKV_ERR_NOMEM] = "out of memory",
        [TKV_ERR_NOT_IMPLEMENTED] = "not implemented",
        [TKV_ERR_NOT_LEADER] = "not leader",
        [TKV_ERR_STALE] = "stale",
        [TKV_ERR_TIMEOUT] = "timed out",
        [TKV_ERR_CLOSED] = "closed",
        [TKV_ERR_NET] = "network error",
        [TKV_ERR_BUSY] = "busy",
    };
    if ((int)code < 0 || code >= TKV_ERR__COUNT)
        return "unknown error";
    return names[code];
}
