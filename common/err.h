/*
 * Errors as values.
 *
 * Every fallible function returns a tkv_err_t: TKV_OK (0) on success, a code
 * otherwise. The code says what kind of failure it was, so callers can branch
 * on it; the message says what failed and with which input, so people can act
 * on it. The message is kept per thread by tkv_errorf() and read back with
 * tkv_last_error(); it stays valid until the next tkv_errorf() on that thread.
 *
 *     if (len > MAX_FRAME)
 *         return tkv_errorf(TKV_ERR_INVALID, "frame of %zu bytes is over the %d limit", len,
 * MAX_FRAME);
 */
#ifndef TKV_COMMON_ERR_H
#define TKV_COMMON_ERR_H

typedef enum {
    TKV_OK = 0,
    TKV_ERR_NOT_FOUND,       /* a key, file or entity that does not exist */
    TKV_ERR_INVALID,         /* bad argument or bad input from outside */
    TKV_ERR_IO,              /* the disk or the database failed */
    TKV_ERR_CORRUPT,         /* stored or received bytes do not decode */
    TKV_ERR_NOMEM,           /* an allocation failed */
    TKV_ERR_NOT_IMPLEMENTED, /* a lab stub: "Your code here" */
    TKV_ERR_NOT_LEADER,      /* this node cannot serve: not the leader */
    TKV_ERR_STALE,           /* overtaken by a newer term, epoch or command */
    TKV_ERR_TIMEOUT,         /* no answer in the time allowed */
    TKV_ERR_CLOSED,          /* the object or connection was shut down */
    TKV_ERR_NET,             /* a network failure: refused, reset, unreachable */
    TKV_ERR_BUSY,            /* try again later */
    TKV_ERR__COUNT
} tkv_err_t;

/* Record a message for the calling thread and return `code`. */
tkv_err_t tkv_errorf(tkv_err_t code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Shorthand used by every lab stub: TKV_ERR_NOT_IMPLEMENTED naming the function. */
tkv_err_t tkv_not_implemented(const char *what);

/* The message of the last tkv_errorf() on this thread ("" if none). Borrowed. */
const char *tkv_last_error(void);

/* A short fixed name for a code, e.g. "not found". Static storage. */
const char *tkv_strerror(tkv_err_t code);

#endif
