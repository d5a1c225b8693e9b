/*
 * The toy store's node (toy.h): a primary that applies, persists and then
 * answers, and backups that persist what the primary forwards.
 *
 * The disk is one file per node, rewritten whole (to a temporary name, then
 * renamed) after every change, so a crash at any point leaves the old or
 * the new state, never half of one. Memory is rebuilt from it at start.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/history.h"
#include "tests/sim/toy.h"
#include "tests/sim/toy_wire.h"

typedef struct {
    tkv_buf_t key, val;
} kv_t;

typedef struct {
    uint32_t client, seq;
    int found;
    tkv_buf_t result;
} session_t;

typedef struct {
    const sim_node_env_t *env;
    int bugs;
    kv_t *kv;
    size_t nkv;
    session_t *sessions;
    size_t nsessions;
    uint64_t served, ticks;
    char path[400];
} toy_node_t;

static kv_t *kv_find(toy_node_t *n, tkv_slice_t key, int create)
{
    for (size_t i = 0; i < n->nkv; i++) {
        if (slice_equal(buf_slice(&n->kv[i].key), key))
            return &n->kv[i];
    }
    if (!create)
        return NULL;
    n->kv = xrealloc(n->kv, (n->nkv + 1) * sizeof(*n->kv));
    kv_t *e = &n->kv[n->nkv++];
    buf_init(&e->key);
    buf_init(&e->val);
    buf_set(&e->key, key.data, key.len);
    return e;
}

static void kv_remove(toy_node_t *n, tkv_slice_t key)
{
    kv_t *e = kv_find(n, key, 0);
    if (e == NULL)
        return;
    buf_free(&e->key);
    buf_free(&e->val);
    *e = n->kv[--n->nkv];
}

static session_t *session_find(toy_node_t *n, uint32_t client)
{
    for (size_t i = 0; i < n->nsessions; i++) {
        if (n->sessions[i].client == client)
            return &n->sessions[i];
    }
    n->sessions = xrealloc(n->sessions, (n->nsessions + 1) * sizeof(*n->sessions));
    session_t *s = &n->sessions[n->nsessions++];
    memset(s, 0, sizeof(*s));
    s->client = client;
    return s;
}

/* The state file is a list of toy messages: replicate records for keys
 * (type 3) and reply records for sessions (type 2), reusing the codec. */
static tkv_err_t persist(toy_node_t *n)
{
    if (n->bugs & TOY_BUG_VOLATILE)
        return TKV_OK;
    tkv_buf_t out = TKV_BUF_INIT;
    for (size_t i = 0; i < n->nkv; i++) {
        toy_msg_t m = { TOY_MSG_REPLICATE,       0, 0, 0, buf_slice(&n->kv[i].key),
                        buf_slice(&n->kv[i].val) };
        tkv_buf_t one = TKV_BUF_INIT;
        toy_msg_encode(&m, &one);
        uint32_t len = (uint32_t)one.len;
        buf_append(&out, &len, sizeof(len));
        buf_append(&out, one.data, one.len);
        buf_free(&one);
    }
    for (size_t i = 0; i < n->nsessions; i++) {
        session_t *s = &n->sessions[i];
        toy_msg_t m = { TOY_MSG_REPLY,     s->client,         s->seq,
                        (uint8_t)s->found, slice_of(NULL, 0), buf_slice(&s->result) };
        tkv_buf_t one = TKV_BUF_INIT;
        toy_msg_encode(&m, &one);
        uint32_t len = (uint32_t)one.len;
        buf_append(&out, &len, sizeof(len));
        buf_append(&out, one.data, one.len);
        buf_free(&one);
    }
    char tmp[420];
    snprintf(tmp, sizeof(tmp), "%s.tmp", n->path);
    FILE *f = fopen(tmp, "wb");
    tkv_err_t err = TKV_OK;
    if (f == NULL || (out.len > 0 && fwrite(out.data, 1, out.len, f) != out.len) ||
        fclose(f) != 0 || rename(tmp, n->path) != 0)
        err = tkv_errorf(TKV_ERR_IO, "cannot write %s: %s", n->path, strerror(errno));
    buf_free(&out);
    return err;
}

static tkv_err_t load(toy_node_t *n)
{
    FILE *f = fopen(n->path, "rb");
    if (f == NULL)
        return TKV_OK; /* a fresh node */
    tkv_buf_t data = TKV_BUF_INIT;
    uint8_t chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&data, chunk, got);
    fclose(f);
    tkv_err_t err = TKV_OK;
    for (size_t off = 0; err == TKV_OK && off < data.len;) {
        uint32_t len;
        toy_msg_t m;
        if (data.len - off < sizeof(len)) {
            err = tkv_errorf(TKV_ERR_CORRUPT, "%s: truncated record", n->path);
            break;
        }
        memcpy(&len, data.data + off, sizeof(len));
        off += sizeof(len);
        if (data.len - off < len || toy_msg_decode(data.data + off, len, &m) != TKV_OK) {
            err = tkv_errorf(TKV_ERR_CORRUPT, "%s: bad record at %zu", n->path, off);
            break;
        }
        off += len;
        if (m.type == TOY_MSG_REPLICATE) {
            kv_t *e = kv_find(n, m.key, 1);
            buf_set(&e->val, m.value.data, m.value.len);
        } else {
            session_t *s = session_find(n, m.client);
            s->seq = m.seq;
            s->found = m.kind_or_flag;
            buf_set(&s->result, m.value.data, m.value.len);
        }
    }
    buf_free(&data);
    return err;
}

static void toy_stop(void *state)
{
    toy_node_t *n = state;
    for (size_t i = 0; i < n->nkv; i++) {
        buf_free(&n->kv[i].key);
        buf_free(&n->kv[i].val);
    }
    for (size_t i = 0; i < n->nsessions; i++)
        buf_free(&n->sessions[i].result);
    free(n->kv);
    free(n->sessions);
    free(n);
}

static tkv_err_t toy_start(const sim_node_env_t *env, void **state)
{
    toy_node_t *n = xcalloc(1, sizeof(*n));
    n->env = env;
    const toy_config_t *cfg = env->user;
    n->bugs = cfg != NULL ? cfg->bugs : 0;
    snprintf(n->path, sizeof(n->path), "%s/toy.state", env->dir);
    tkv_err_t err = load(n);
    if (err != TKV_OK) {
        toy_stop(n);
        return err;
    }
    trace_event(env->trace, env->id, "recover", "%zu keys, %zu sessions from disk", n->nkv,
                n->nsessions);
    *state = n;
    return TKV_OK;
}

static void send_msg(toy_node_t *n, int to, const toy_msg_t *m)
{
    tkv_buf_t out = TKV_BUF_INIT;
    toy_msg_encode(m, &out);
    sim_node_send(n->env, to, out.data, out.len);
    buf_free(&out);
}

static void reply(toy_node_t *n, int to, const session_t *s)
{
    toy_msg_t m = { TOY_MSG_REPLY,     s->client,         s->seq,
                    (uint8_t)s->found, slice_of(NULL, 0), buf_slice(&s->result) };
    send_msg(n, to, &m);
    n->served++;
}

static void serve(toy_node_t *n, int from, const toy_msg_t *req)
{
    session_t *s = session_find(n, req->client);
    if (!(n->bugs & TOY_BUG_NO_DEDUP)) {
        if (req->seq == s->seq) {
            trace_event(n->env->trace, n->env->id, "dedup", "c%u#%u answered again", req->client,
                        req->seq);
            reply(n, from, s);
            return;
        }
        if (req->seq < s->seq)
            return; /* an old retry, overtaken: the client moved on */
    }
    s->seq = req->seq;
    s->found = 0;
    buf_clear(&s->result);
    kv_t *e = kv_find(n, req->key, 0);
    int wrote = 1;
    switch ((hist_kind_t)req->kind_or_flag) {
    case HIST_GET:
        wrote = 0;
        if (e != NULL) {
            s->found = 1;
            buf_set(&s->result, e->val.data, e->val.len);
        }
        break;
    case HIST_PUT:
        e = kv_find(n, req->key, 1);
        buf_set(&e->val, req->value.data, req->value.len);
        break;
    case HIST_APPEND:
        e = kv_find(n, req->key, 1);
        buf_append(&e->val, req->value.data, req->value.len);
        break;
    case HIST_DELETE:
        kv_remove(n, req->key);
        e = NULL;
        break;
    }
    trace_event(n->env->trace, n->env->id, "apply", "c%u#%u %s %.*s", req->client, req->seq,
                hist_kind_name((hist_kind_t)req->kind_or_flag), (int)req->key.len,
                (const char *)req->key.data);
    /* Durable before answered: the answer promises the write survives. */
    if (persist(n) != TKV_OK) {
        trace_event(n->env->trace, n->env->id, "io-error", "%s", tkv_last_error());
        return;
    }
    reply(n, from, s);
    if (!wrote)
        return;
    for (int b = 2; b <= n->env->nodes; b++) {
        toy_msg_t m = {
            TOY_MSG_REPLICATE,    0,        0,
            (uint8_t)(e == NULL), req->key, e ? buf_slice(&e->val) : slice_of(NULL, 0)
        };
        send_msg(n, b, &m);
    }
}

static void toy_deliver(void *state, int from, const uint8_t *bytes, size_t len)
{
    toy_node_t *n = state;
    toy_msg_t m;
    if (toy_msg_decode(bytes, len, &m) != TKV_OK) {
        trace_event(n->env->trace, n->env->id, "bad-msg", "from n%d: %s", from, tkv_last_error());
        return;
    }
    if (m.type == TOY_MSG_REQUEST && n->env->id == 1) {
        serve(n, from, &m);
    } else if (m.type == TOY_MSG_REPLICATE && n->env->id != 1) {
        if (m.kind_or_flag) {
            kv_remove(n, m.key);
        } else {
            kv_t *e = kv_find(n, m.key, 1);
            buf_set(&e->val, m.value.data, m.value.len);
        }
        trace_event(n->env->trace, n->env->id, "replica", "%.*s %s", (int)m.key.len,
                    (const char *)m.key.data, m.kind_or_flag ? "deleted" : "set");
        persist(n);
    }
}

static void toy_tick(void *state)
{
    toy_node_t *n = state;
    n->ticks++;
}

const sim_node_ops_t toy_node_ops = { "toy", toy_start, toy_stop, toy_deliver, toy_tick };

toy_peek_t toy_peek(void *node_state)
{
    toy_node_t *n = node_state;
    toy_peek_t p = { n->served, n->ticks, n->nkv };
    return p;
}

int toy_classify(void *ctx, int from, int to, const uint8_t *bytes, size_t len)
{
    (void)ctx;
    (void)from;
    (void)to;
    return len > 0 ? bytes[0] : 0;
}
