/*
 * Reading a trace back (trace_model.h): one pass over the lines, each kind
 * the viewer understands handled by its own small parser.
 *
 * Pairing is done on the fly. A message lost in flight is reported by the
 * network at its arrival time, naming sender and receiver, so it is matched
 * to the latest message between the two due at that instant. Crashes stay
 * open until the node's next start; a partition lasts until the next
 * partition line ("healed" included).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "tests/harness/trace_model.h"

/* Makes room for one more element in a growing array. */
static void *grow(void *p, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return p;
    *cap = *cap ? 2 * *cap : 64;
    return xrealloc(p, *cap * elem);
}

typedef struct {
    trace_model_t *m;
    size_t cap_events, cap_kinds, cap_msgs, cap_states, cap_crashes, cap_parts, cap_ops, cap_checks;
    size_t prefix_next;
    int unsorted;       /* messages were added out of send order (net-recv) */
    int state_max_node; /* the highest endpoint that behaves like a node */
} parser_t;

static int intern_kind(parser_t *p, const char *kind, size_t len)
{
    trace_model_t *m = p->m;
    for (size_t i = 0; i < m->n_kinds; i++) {
        if (strlen(m->kinds[i]) == len && memcmp(m->kinds[i], kind, len) == 0)
            return (int)i;
    }
    m->kinds = grow(m->kinds, m->n_kinds, &p->cap_kinds, sizeof(*m->kinds));
    m->kinds[m->n_kinds] = (char *)bytes_dup(kind, len + 1);
    m->kinds[m->n_kinds][len] = '\0';
    return (int)m->n_kinds++;
}

static char *str_dup(const char *s)
{
    return (char *)bytes_dup(s, strlen(s) + 1);
}

/* The op with history id `id`, growing the table to hold it. */
static tm_op_t *op_at(parser_t *p, size_t id)
{
    trace_model_t *m = p->m;
    if (id > 1000000)
        return NULL; /* a damaged line; no history is that long */
    if (id >= p->cap_ops) {
        size_t cap = p->cap_ops ? p->cap_ops : 64;
        while (cap <= id)
            cap *= 2;
        m->ops = xrealloc(m->ops, cap * sizeof(*m->ops));
        memset(m->ops + p->cap_ops, 0, (cap - p->cap_ops) * sizeof(*m->ops));
        p->cap_ops = cap;
    }
    if (id >= m->n_ops)
        m->n_ops = id + 1;
    return &m->ops[id];
}

/* A quoted string starting at *s ("..." as hist_quote writes it, which
 * never contains a raw quote), copied with its quotes; NULL if none. */
static char *take_quoted(const char **s)
{
    const char *q = *s;
    while (*q == ' ')
        q++;
    if (*q != '"')
        return NULL;
    const char *end = strchr(q + 1, '"');
    if (end == NULL)
        return NULL;
    size_t len = (size_t)(end - q) + 1;
    char *out = (char *)bytes_dup(q, len + 1);
    out[len] = '\0';
    *s = end + 1;
    return out;
}

/* ---- one parser per kind ------------------------------------------------------ */

static void add_msg(parser_t *p, size_t ev, uint64_t t, int from, int to, int cls, uint64_t delay,
                    int dup, const char *reason)
{
    trace_model_t *m = p->m;
    m->msgs = grow(m->msgs, m->n_msgs, &p->cap_msgs, sizeof(*m->msgs));
    tm_msg_t *g = &m->msgs[m->n_msgs++];
    memset(g, 0, sizeof(*g));
    g->ev = ev;
    g->sent = t;
    g->arrive = t + delay;
    g->from = from;
    g->to = to;
    g->cls = cls;
    g->dup = dup;
    g->fate = reason != NULL ? TM_MSG_DROPPED : TM_MSG_DELIVERED;
    g->reason = reason != NULL ? str_dup(reason) : NULL;
}

static void parse_net(parser_t *p, size_t ev, const tm_event_t *e, const char *kind)
{
    int to = 0, cls = 0;
    unsigned long long delay = 0;
    size_t bytes = 0;
    if (strcmp(kind, "net-send") == 0) {
        if (sscanf(e->detail, "to n%d class %d, %zu bytes, arrives in %llu ms", &to, &cls, &bytes,
                   &delay) == 4)
            add_msg(p, ev, e->time, e->node, to, cls, delay, 0, NULL);
        return;
    }
    if (strcmp(kind, "net-recv") == 0) {
        /* A network that decides arrival only on delivery (the Raft chaos
         * cluster) records it then: "from n2 class 3, sent at 120 ms". */
        int from = 0;
        unsigned long long sent = 0;
        if (sscanf(e->detail, "from n%d class %d, sent at %llu ms", &from, &cls, &sent) == 3 &&
            sent <= e->time) {
            add_msg(p, ev, sent, from, e->node, cls, e->time - sent, 0, NULL);
            p->unsorted = 1;
        }
        return;
    }
    if (strcmp(kind, "net-dup") == 0) {
        if (sscanf(e->detail, "to n%d class %d, copy arrives in %llu ms", &to, &cls, &delay) == 3)
            add_msg(p, ev, e->time, e->node, to, cls, delay, 1, NULL);
        return;
    }
    /* net-drop: at send ("to n2 class 3: random loss") or in flight
     * ("to n2: receiver down (40 bytes)", "to n2: partitioned in flight"). */
    const char *colon = strchr(e->detail, ':');
    if (colon == NULL)
        return;
    const char *reason = colon + 1;
    while (*reason == ' ')
        reason++;
    if (sscanf(e->detail, "to n%d class %d:", &to, &cls) == 2) {
        add_msg(p, ev, e->time, e->node, to, cls, 0, 0, reason);
        return;
    }
    if (sscanf(e->detail, "to n%d:", &to) != 1)
        return;
    trace_model_t *m = p->m;
    /* The latest message from e->node to `to` due now; delays are short,
     * so the search never goes far back. */
    for (size_t i = m->n_msgs, looked = 0; i > 0 && looked < 20000; i--, looked++) {
        tm_msg_t *g = &m->msgs[i - 1];
        if (g->from == e->node && g->to == to && g->arrive == e->time &&
            g->fate == TM_MSG_DELIVERED) {
            g->fate = TM_MSG_LOST;
            g->drop_ev = ev;
            char why[128];
            snprintf(why, sizeof(why), "%s", reason);
            char *paren = strstr(why, " (");
            if (paren != NULL)
                *paren = '\0';
            g->reason = str_dup(why);
            return;
        }
    }
}

static void parse_crash_start(parser_t *p, const tm_event_t *e, int crash)
{
    trace_model_t *m = p->m;
    tm_crash_t *open = NULL;
    for (size_t i = 0; i < m->n_crashes; i++) {
        if (m->crashes[i].node == e->node && m->crashes[i].up == TM_NEVER)
            open = &m->crashes[i];
    }
    if (crash && open == NULL) {
        m->crashes = grow(m->crashes, m->n_crashes, &p->cap_crashes, sizeof(*m->crashes));
        m->crashes[m->n_crashes++] = (tm_crash_t){ e->node, e->time, TM_NEVER };
    } else if (!crash && open != NULL)
        open->up = e->time;
    if (e->node > p->state_max_node)
        p->state_max_node = e->node;
}

/* "n5 isolated", "5 endpoints regrouped: n1 n4 | n2 n3 n5", "healed". */
static void parse_partition(parser_t *p, const tm_event_t *e)
{
    trace_model_t *m = p->m;
    if (m->n_parts > 0 && m->parts[m->n_parts - 1].to == TM_NEVER)
        m->parts[m->n_parts - 1].to = e->time;
    if (strncmp(e->detail, "healed", 6) == 0)
        return;
    m->parts = grow(m->parts, m->n_parts, &p->cap_parts, sizeof(*m->parts));
    tm_partition_t *pt = &m->parts[m->n_parts++];
    memset(pt, 0, sizeof(*pt));
    pt->from = e->time;
    pt->to = TM_NEVER;
    pt->desc = str_dup(e->detail);
    const char *s = strchr(e->detail, ':');
    int group = 1;
    int ep = 0;
    if (sscanf(e->detail, "n%d isolated", &ep) == 1 && ep > 0 && ep < TM_MAX_EPS)
        pt->group[ep] = 1;
    for (; s != NULL && *s != '\0'; s++) {
        if (*s == '|')
            group++;
        else if (*s == 'n' && sscanf(s, "n%d", &ep) == 1 && ep > 0 && ep < TM_MAX_EPS)
            pt->group[ep] = group;
    }
}

static void parse_state(parser_t *p, size_t ev, const tm_event_t *e, int legacy)
{
    trace_model_t *m = p->m;
    tm_state_t st;
    memset(&st, 0, sizeof(st));
    st.ev = ev;
    st.time = e->time;
    st.node = e->node;
    unsigned long long region = 0, term = 0, commit = 0, applied = 0, cv = 0, ver = 0;
    if (!legacy) {
        if (sscanf(e->detail, "region %llu role %15s term %llu commit %llu applied %llu", &region,
                   st.role, &term, &commit, &applied) != 5)
            return;
        const char *ep = strstr(e->detail, " epoch ");
        if (ep != NULL)
            sscanf(ep, " epoch %llu/%llu", &cv, &ver);
        st.commit = commit;
    } else {
        /* The store adapter's older line: "leader at term 3, applied 17". */
        snprintf(st.role, sizeof(st.role), "%s",
                 strncmp(e->detail, "leader", 6) == 0 ? "leader" : "follower");
        const char *t = strstr(e->detail, "term ");
        const char *a = strstr(e->detail, "applied ");
        if (t == NULL || sscanf(t, "term %llu", &term) != 1)
            return;
        if (a != NULL)
            sscanf(a, "applied %llu", &applied);
        region = 1;
        st.commit = TM_NEVER;
    }
    st.region = region;
    st.term = term;
    st.applied = applied;
    st.conf_ver = cv;
    st.version = ver;
    m->states = grow(m->states, m->n_states, &p->cap_states, sizeof(*m->states));
    m->states[m->n_states++] = st;
    if (e->node > p->state_max_node)
        p->state_max_node = e->node;
}

/* "#12 c3 append "0" "x 3 4 y"", then "#12 ok", "#12 ok "v"", "#12 ok not-found",
 * "#12 failed". */
static void parse_op(parser_t *p, const tm_event_t *e)
{
    size_t id = 0;
    int client = 0, used = 0;
    char word[16] = { 0 };
    if (sscanf(e->detail, "#%zu %15s%n", &id, word, &used) != 2)
        return;
    tm_op_t *op = op_at(p, id);
    if (op == NULL)
        return;
    const char *rest = e->detail + used;
    if (word[0] == 'c' && sscanf(word, "c%d", &client) == 1) {
        char kind[8] = { 0 };
        int k = 0;
        if (sscanf(rest, " %7s%n", kind, &k) != 1)
            return;
        rest += k;
        free(op->key);
        free(op->value);
        op->present = 1;
        op->id = id;
        op->client = client;
        op->ep = e->node;
        snprintf(op->kind, sizeof(op->kind), "%s", kind);
        op->key = take_quoted(&rest);
        op->value = take_quoted(&rest);
        op->call = e->time;
        op->ret = TM_NEVER;
        op->status = TM_OP_PENDING;
        return;
    }
    if (!op->present)
        return;
    op->ret = e->time;
    if (strcmp(word, "failed") == 0) {
        op->status = TM_OP_FAILED;
        return;
    }
    op->status = TM_OP_OK;
    free(op->result);
    op->result = take_quoted(&rest);
    if (op->result == NULL && strstr(rest, "not-found") != NULL)
        op->result = str_dup("not found");
}

/* check-fail and check-prefix lines name ops as #id. */
static void parse_check(parser_t *p, size_t ev, const tm_event_t *e, int prefix)
{
    trace_model_t *m = p->m;
    if (!prefix) {
        m->checks = grow(m->checks, m->n_checks, &p->cap_checks, sizeof(*m->checks));
        m->checks[m->n_checks++] = (tm_check_t){ str_dup(e->detail), ev };
    }
    for (const char *s = strchr(e->detail, '#'); s != NULL; s = strchr(s + 1, '#')) {
        char *end = NULL;
        unsigned long long id = strtoull(s + 1, &end, 10);
        if (end == s + 1)
            continue;
        tm_op_t *op = op_at(p, (size_t)id);
        if (op == NULL)
            continue;
        if (prefix)
            op->prefix_pos = ++p->prefix_next;
        else
            op->failed_check = 1;
    }
}

/* ---- lines ------------------------------------------------------------------ */

/* "   1530 ms  n2  kind       detail" -> event; 0 if the line is not one. */
static int parse_line(parser_t *p, const char *line, size_t len)
{
    char buf[1024];
    if (len >= sizeof(buf))
        len = sizeof(buf) - 1;
    memcpy(buf, line, len);
    buf[len] = '\0';
    char *s = buf;
    while (*s == ' ')
        s++;
    char *end = NULL;
    errno = 0;
    unsigned long long t = strtoull(s, &end, 10);
    if (end == s || errno != 0 || strncmp(end, " ms  n", 6) != 0)
        return 0;
    s = end + 6;
    long node = strtol(s, &end, 10);
    if (end == s || node < 0 || node >= 1000000)
        return 0;
    s = end;
    while (*s == ' ')
        s++;
    char *kind = s;
    while (*s != ' ' && *s != '\0')
        s++;
    size_t klen = (size_t)(s - kind);
    if (klen == 0)
        return 0;
    while (*s == ' ')
        s++;
    trace_model_t *m = p->m;
    m->events = grow(m->events, m->n_events, &p->cap_events, sizeof(*m->events));
    size_t ev = m->n_events++;
    tm_event_t *e = &m->events[ev];
    e->time = t;
    e->node = (int)node;
    e->kind = intern_kind(p, kind, klen);
    e->detail = str_dup(s);
    if (t > m->t_end)
        m->t_end = t;
    if (e->node > m->max_ep)
        m->max_ep = e->node;
    const char *k = m->kinds[e->kind];
    if (strncmp(k, "net-", 4) == 0)
        parse_net(p, ev, e, k);
    else if (strcmp(k, "crash") == 0)
        parse_crash_start(p, e, 1);
    else if (strcmp(k, "start") == 0)
        parse_crash_start(p, e, 0);
    else if (strcmp(k, "partition") == 0)
        parse_partition(p, e);
    else if (strcmp(k, "state") == 0)
        parse_state(p, ev, e, 0);
    else if (strcmp(k, "role") == 0)
        parse_state(p, ev, e, 1);
    else if (strcmp(k, "op") == 0)
        parse_op(p, e);
    else if (strcmp(k, "check-fail") == 0)
        parse_check(p, ev, e, 0);
    else if (strcmp(k, "check-prefix") == 0)
        parse_check(p, ev, e, 1);
    else if (strcmp(k, "class") == 0) {
        int cls = -1, used = 0;
        if (sscanf(e->detail, "%d %n", &cls, &used) == 1 && cls >= 0 && cls < TM_MAX_CLASSES &&
            e->detail[used] != '\0') {
            free(m->class_names[cls]);
            m->class_names[cls] = str_dup(e->detail + used);
        }
    } else if (strcmp(k, "cluster") == 0)
        sscanf(e->detail, "%d nodes, %d clients from n%d", &m->nodes, &m->clients,
               &m->first_client);
    return 1;
}

/* By send time, then by the event that recorded them (a total order). */
static int msg_cmp(const void *pa, const void *pb)
{
    const tm_msg_t *a = pa, *b = pb;
    if (a->sent != b->sent)
        return a->sent < b->sent ? -1 : 1;
    return a->ev < b->ev ? -1 : a->ev > b->ev;
}

tkv_err_t trace_model_parse(const char *text, size_t len, trace_model_t **out)
{
    parser_t p;
    memset(&p, 0, sizeof(p));
    p.m = xcalloc(1, sizeof(*p.m));
    size_t start = 0;
    while (start < len) {
        const char *nl = memchr(text + start, '\n', len - start);
        size_t end = nl != NULL ? (size_t)(nl - text) : len;
        if (!parse_line(&p, text + start, end - start) && text[start] == '(') {
            /* trace_print()'s header when the ring overflowed. */
            char head[80];
            size_t n = end - start < sizeof(head) - 1 ? end - start : sizeof(head) - 1;
            memcpy(head, text + start, n);
            head[n] = '\0';
            if (strstr(head, " earlier events dropped)") != NULL)
                p.m->dropped_earlier = strtoull(head + 1, NULL, 10);
        }
        start = end + 1;
    }
    trace_model_t *m = p.m;
    /* The viewer finds messages by send time. */
    if (p.unsorted)
        qsort(m->msgs, m->n_msgs, sizeof(*m->msgs), msg_cmp);
    /* Without a cluster line: whoever starts, crashes or reports a Raft
     * state is a node; the endpoints above are clients. */
    if (m->nodes == 0) {
        m->nodes = p.state_max_node;
        m->first_client = m->nodes + 1;
        m->clients = m->max_ep > m->nodes ? m->max_ep - m->nodes : 0;
    }
    if (m->max_ep < m->first_client + m->clients - 1)
        m->max_ep = m->first_client + m->clients - 1;
    *out = m;
    return TKV_OK;
}

tkv_err_t trace_model_load(const char *path, trace_model_t **out)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return tkv_errorf(TKV_ERR_IO, "cannot read trace %s: %s", path, strerror(errno));
    tkv_buf_t text = TKV_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&text, chunk, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        buf_free(&text);
        return tkv_errorf(TKV_ERR_IO, "cannot read trace %s", path);
    }
    tkv_err_t err = trace_model_parse((const char *)text.data, text.len, out);
    buf_free(&text);
    if (err == TKV_OK && (*out)->n_events == 0) {
        trace_model_free(*out);
        *out = NULL;
        return tkv_errorf(TKV_ERR_INVALID,
                          "%s holds no trace events (lines like "
                          "\"  1530 ms  n2  send  ...\")",
                          path);
    }
    return err;
}

size_t trace_model_failed_ops(const trace_model_t *m)
{
    size_t n = 0;
    for (size_t i = 0; i < m->n_ops; i++)
        n += m->ops[i].failed_check != 0;
    return n;
}

void trace_model_free(trace_model_t *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->n_events; i++)
        free(m->events[i].detail);
    free(m->events);
    for (size_t i = 0; i < m->n_kinds; i++)
        free(m->kinds[i]);
    free(m->kinds);
    for (size_t i = 0; i < m->n_msgs; i++)
        free(m->msgs[i].reason);
    free(m->msgs);
    free(m->states);
    free(m->crashes);
    for (size_t i = 0; i < m->n_parts; i++)
        free(m->parts[i].desc);
    free(m->parts);
    for (size_t i = 0; i < m->n_ops; i++) {
        free(m->ops[i].key);
        free(m->ops[i].value);
        free(m->ops[i].result);
    }
    free(m->ops);
    for (size_t i = 0; i < m->n_checks; i++)
        free(m->checks[i].text);
    free(m->checks);
    for (int i = 0; i < TM_MAX_CLASSES; i++)
        free(m->class_names[i]);
    free(m);
}
