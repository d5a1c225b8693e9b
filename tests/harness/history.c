/*
 * The operation history behind history.h: a growable array of operations
 * with copied keys and values.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/history.h"

struct history {
    hist_op_t *ops;
    size_t len, cap;
    trace_t *trace; /* borrowed; NULL: not traced */
    int first_ep;
};

void history_set_trace(history_t *h, trace_t *tr, int first_ep)
{
    h->trace = tr;
    h->first_ep = first_ep;
}

trace_t *history_trace(const history_t *h)
{
    return h->trace;
}

int history_client_ep(const history_t *h, int client)
{
    return h->first_ep + client;
}

/* The op's call or answer as an "op" line (trace.h has the shapes). */
static void trace_op(const history_t *h, const hist_op_t *op, int answer)
{
    if (h->trace == NULL)
        return;
    tkv_buf_t b = TKV_BUF_INIT;
    if (!answer) {
        hist_quote(op->key.data, op->key.len, &b);
        if (op->kind == HIST_PUT || op->kind == HIST_APPEND) {
            buf_append_byte(&b, ' ');
            hist_quote(op->value.data, op->value.len, &b);
        }
        trace_event(h->trace, history_client_ep(h, op->client), "op", "#%zu c%d %s %.*s", op->id,
                    op->client, hist_kind_name(op->kind), (int)b.len, (char *)b.data);
    } else if (op->status == HIST_FAILED) {
        trace_event(h->trace, history_client_ep(h, op->client), "op", "#%zu failed", op->id);
    } else if (op->kind == HIST_GET && op->found) {
        hist_quote(op->result.data, op->result.len, &b);
        trace_event(h->trace, history_client_ep(h, op->client), "op", "#%zu ok %.*s", op->id,
                    (int)b.len, (char *)b.data);
    } else {
        trace_event(h->trace, history_client_ep(h, op->client), "op", "#%zu ok%s", op->id,
                    op->kind == HIST_GET ? " not-found" : "");
    }
    buf_free(&b);
}

history_t *history_new(void)
{
    return xcalloc(1, sizeof(history_t));
}

void history_free(history_t *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->len; i++) {
        buf_free(&h->ops[i].key);
        buf_free(&h->ops[i].value);
        buf_free(&h->ops[i].result);
    }
    free(h->ops);
    free(h);
}

size_t history_invoke(history_t *h, int client, hist_kind_t kind, const void *key, size_t klen,
                      const void *value, size_t vlen, uint64_t now)
{
    if (h->len == h->cap) {
        h->cap = h->cap ? h->cap * 2 : 64;
        h->ops = xrealloc(h->ops, h->cap * sizeof(*h->ops));
    }
    hist_op_t *op = &h->ops[h->len];
    memset(op, 0, sizeof(*op));
    op->id = h->len;
    op->client = client;
    op->kind = kind;
    buf_set(&op->key, key, klen);
    if (kind == HIST_PUT || kind == HIST_APPEND)
        buf_set(&op->value, value, vlen);
    op->status = HIST_PENDING;
    op->call = now;
    op->ret = HIST_NEVER;
    trace_op(h, op, 0);
    return h->len++;
}

size_t history_invoke_str(history_t *h, int client, hist_kind_t kind, const char *key,
                          const char *value, uint64_t now)
{
    return history_invoke(h, client, kind, key, strlen(key), value,
                          value != NULL ? strlen(value) : 0, now);
}

void history_complete(history_t *h, size_t id, uint64_t now, int found, const void *result,
                      size_t rlen)
{
    if (id >= h->len || h->ops[id].status != HIST_PENDING)
        return;
    hist_op_t *op = &h->ops[id];
    op->status = HIST_OK;
    op->ret = now;
    if (op->kind == HIST_GET) {
        op->found = found;
        if (found)
            buf_set(&op->result, result, rlen);
    }
    trace_op(h, op, 1);
}

void history_fail(history_t *h, size_t id, uint64_t now)
{
    if (id >= h->len || h->ops[id].status != HIST_PENDING)
        return;
    h->ops[id].status = HIST_FAILED;
    h->ops[id].ret = now;
    trace_op(h, &h->ops[id], 1);
}

size_t history_len(const history_t *h)
{
    return h->len;
}

const hist_op_t *history_op(const history_t *h, size_t id)
{
    return id < h->len ? &h->ops[id] : NULL;
}

const char *hist_kind_name(hist_kind_t kind)
{
    switch (kind) {
    case HIST_GET:
        return "get";
    case HIST_PUT:
        return "put";
    case HIST_APPEND:
        return "append";
    case HIST_DELETE:
        return "delete";
    }
    return "?";
}

static void appendf(tkv_buf_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void appendf(tkv_buf_t *out, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        buf_append(out, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

void hist_quote(const void *data, size_t len, tkv_buf_t *out)
{
    const uint8_t *p = data;
    const size_t max = 48;
    buf_append_byte(out, '"');
    for (size_t i = 0; i < len; i++) {
        if (len > max && i == max / 2) {
            appendf(out, "...(%zu bytes)...", len - max);
            i = len - max / 2 - 1;
            continue;
        }
        uint8_t c = p[i];
        if (c >= 32 && c < 127 && c != '"' && c != '\\')
            buf_append_byte(out, c);
        else
            appendf(out, "\\x%02x", c);
    }
    buf_append_byte(out, '"');
}

void hist_op_describe(const hist_op_t *op, tkv_buf_t *out)
{
    appendf(out, "#%zu c%d [%llu..", op->id, op->client, (unsigned long long)op->call);
    if (op->ret == HIST_NEVER)
        appendf(out, "?] ");
    else
        appendf(out, "%llu] ", (unsigned long long)op->ret);
    appendf(out, "%s(", hist_kind_name(op->kind));
    hist_quote(op->key.data, op->key.len, out);
    if (op->kind == HIST_PUT || op->kind == HIST_APPEND) {
        appendf(out, ", ");
        hist_quote(op->value.data, op->value.len, out);
    }
    appendf(out, ")");
    switch (op->status) {
    case HIST_PENDING:
        appendf(out, " pending (outcome unknown)");
        break;
    case HIST_FAILED:
        appendf(out, " failed (no effect)");
        break;
    case HIST_OK:
        if (op->kind != HIST_GET)
            appendf(out, " ok");
        else if (!op->found)
            appendf(out, " -> not found");
        else {
            appendf(out, " -> ");
            hist_quote(op->result.data, op->result.len, out);
        }
        break;
    }
    buf_append_byte(out, '\n');
}

void hist_op_print(const hist_op_t *op, FILE *out)
{
    tkv_buf_t b = TKV_BUF_INIT;
    hist_op_describe(op, &b);
    fwrite(b.data, 1, b.len, out);
    buf_free(&b);
}
