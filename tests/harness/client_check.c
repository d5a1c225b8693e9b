/*
 * The client-view check behind client_check.h.
 *
 * For each read, the value is consumed left to right: at each offset
 * exactly one of the client's append values can match (they are
 * prefix-free), which names the append that put those bytes there. The four
 * rules of the header are then checked on that sequence of appends.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/client_check.h"

void client_append_value(int client, int seq, char *out, size_t size)
{
    snprintf(out, size, "x %d %d y", client, seq);
}

static void say(tkv_buf_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(tkv_buf_t *out, const char *fmt, ...)
{
    if (out == NULL)
        return;
    char tmp[300];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n > 0)
        buf_append(out, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void say_op(tkv_buf_t *out, const char *prefix, const hist_op_t *op)
{
    if (out == NULL)
        return;
    say(out, "%s", prefix);
    hist_op_describe(op, out);
}

/* The violation into the history's trace (if attached) as one check-fail
 * line: the explanation's lines joined, each op in it named by its #id, so
 * the viewer highlights the read and the append. */
static void trace_failure(const history_t *h, const tkv_buf_t *why, size_t start)
{
    trace_t *tr = history_trace(h);
    if (tr == NULL)
        return;
    char line[480];
    size_t n = 0;
    for (size_t i = start; i < why->len && n + 4 < sizeof(line); i++) {
        char c = (char)why->data[i];
        if (c == '\n') {
            if (i + 1 < why->len) {
                line[n++] = ' ';
                line[n++] = '|';
            }
            continue;
        }
        if (c == ' ' && n > 0 && line[n - 1] == ' ')
            continue; /* the indentation */
        line[n++] = c;
    }
    line[n] = '\0';
    trace_event(tr, 0, "check-fail", "client view: %s", line);
}

/* Checks one read against the client's appends (in invocation order). */
static int check_read(const hist_op_t *get, const hist_op_t **apps, size_t napps,
                      tkv_buf_t *explain)
{
    int ok = 1;
    size_t *seen = xcalloc(napps + 1, sizeof(*seen)); /* position + 1 in the read, 0: absent */
    size_t pos = 0, count = 0;
    const uint8_t *v = get->found ? get->result.data : NULL;
    size_t vlen = get->found ? get->result.len : 0;
    size_t *order = xcalloc(vlen + 1, sizeof(*order)); /* append index of each token */
    while (ok && pos < vlen) {
        size_t match = napps;
        for (size_t i = 0; i < napps; i++) {
            const tkv_buf_t *a = &apps[i]->value;
            if (a->len > 0 && a->len <= vlen - pos && memcmp(v + pos, a->data, a->len) == 0) {
                match = i;
                break;
            }
        }
        if (match == napps) {
            say(explain, "client %d read bytes at offset %zu that none of its appends wrote:\n",
                get->client, pos);
            say_op(explain, "    ", get);
            ok = 0;
            break;
        }
        const hist_op_t *a = apps[match];
        if (a->status == HIST_FAILED || a->call > get->ret) {
            say(explain, "client %d read the value of an append that %s:\n", get->client,
                a->status == HIST_FAILED ? "definitely failed" : "it had not yet invoked");
            say_op(explain, "    read:   ", get);
            say_op(explain, "    append: ", a);
            ok = 0;
            break;
        }
        if (seen[match]) {
            say(explain, "client %d read one append twice (applied twice?):\n", get->client);
            say_op(explain, "    read:   ", get);
            say_op(explain, "    append: ", a);
            ok = 0;
            break;
        }
        seen[match] = ++count;
        order[count - 1] = match;
        pos += a->value.len;
    }
    for (size_t i = 0; ok && i < napps; i++) {
        const hist_op_t *a = apps[i];
        if (!seen[i] && a->status == HIST_OK && a->ret < get->call) {
            say(explain,
                "client %d's read misses an append that completed before it (lost "
                "write):\n",
                get->client);
            say_op(explain, "    read:   ", get);
            say_op(explain, "    append: ", a);
            ok = 0;
        }
    }
    for (size_t i = 0; ok && i < count; i++) {
        for (size_t j = i + 1; ok && j < count; j++) {
            const hist_op_t *first = apps[order[i]], *later = apps[order[j]];
            if (later->status == HIST_OK && later->ret < first->call) {
                say(explain, "client %d read its appends out of order:\n", get->client);
                say_op(explain, "    read:  ", get);
                say_op(explain, "    shown first, but invoked after the other completed: ", first);
                say_op(explain, "    shown second: ", later);
                ok = 0;
            }
        }
    }
    free(order);
    free(seen);
    return ok;
}

int client_check(const history_t *h, int client, const void *key, size_t klen, tkv_buf_t *explain)
{
    tkv_slice_t k = slice_of(key, klen);
    size_t n = history_len(h), napps = 0;
    const hist_op_t **apps = xcalloc(n + 1, sizeof(*apps));
    for (size_t i = 0; i < n; i++) {
        const hist_op_t *op = history_op(h, i);
        if (op->client == client && op->kind == HIST_APPEND && slice_equal(buf_slice(&op->key), k))
            apps[napps++] = op;
    }
    int ok = 1;
    /* The explanation is wanted for the trace too, even if not by the caller. */
    tkv_buf_t mine = TKV_BUF_INIT;
    tkv_buf_t *why = explain != NULL ? explain : &mine;
    size_t start = why->len;
    for (size_t i = 0; ok && i < n; i++) {
        const hist_op_t *op = history_op(h, i);
        if (op->client == client && op->kind == HIST_GET && op->status == HIST_OK &&
            slice_equal(buf_slice(&op->key), k))
            ok = check_read(op, apps, napps, why);
    }
    if (!ok)
        trace_failure(h, why, start);
    buf_free(&mine);
    free(apps);
    return ok;
}
