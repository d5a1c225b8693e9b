/*
 * Writing the trace viewer page (trace_page.h).
 *
 * The model goes into the page as one JavaScript object literal, `T`, in
 * flat arrays (a record is a run of numbers and strings, see the comments
 * below and the reader in trace_page.js), because 100 000 events as arrays
 * of small objects would be several times larger and slower to load.
 * Strings are escaped so that nothing in a trace can end the script
 * element or break out of a string: '<', '>', '&', quotes, backslashes
 * and control characters become \u escapes.
 */
#include <stdio.h>
#include <string.h>

#include "tests/harness/trace_page.h"
/* trace_page_css[] and trace_page_js[], generated at build time from
 * tests/harness/trace_page.css and .js (see the Makefile). */
#include "trace_page_assets.h"

static void put_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p < 0x20 || *p == '"' || *p == '\\' || *p == '<' || *p == '>' || *p == '&')
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static long long num_or_never(uint64_t v)
{
    return v == TM_NEVER ? -1 : (long long)v;
}

/* The index of `s` in a small table of distinct strings, adding it. */
static int str_index(const char **table, int *n, int cap, const char *s)
{
    for (int i = 0; i < *n; i++) {
        if (strcmp(table[i], s) == 0)
            return i;
    }
    if (*n == cap)
        return cap - 1; /* the last slot stands for "other" */
    table[*n] = s;
    return (*n)++;
}

static void put_table(FILE *out, const char *name, const char **table, int n)
{
    fprintf(out, "%s:[", name);
    for (int i = 0; i < n; i++) {
        if (i)
            fputc(',', out);
        put_str(out, table[i]);
    }
    fputs("],\n", out);
}

static void render_data(const trace_model_t *m, const trace_page_info_t *info, FILE *out)
{
    fputs("const T={title:", out);
    put_str(out, info && info->title ? info->title : "trace");
    fputs(",replay:", out);
    put_str(out, info && info->replay ? info->replay : "");
    fprintf(out, ",nodes:%d,clients:%d,firstClient:%d,maxEp:%d,tEnd:%llu,droppedEarlier:%llu,\n",
            m->nodes, m->clients, m->first_client, m->max_ep, (unsigned long long)m->t_end,
            (unsigned long long)m->dropped_earlier);
    put_table(out, "kinds", (const char **)m->kinds, (int)m->n_kinds);
    /* classNames: by class number, "" where unnamed */
    fputs("classNames:[", out);
    for (int i = 0; i < TM_MAX_CLASSES; i++) {
        if (i)
            fputc(',', out);
        put_str(out, m->class_names[i] ? m->class_names[i] : "");
    }
    fputs("],\n", out);

    /* ev: time, node, kind index, detail */
    fputs("ev:[", out);
    for (size_t i = 0; i < m->n_events; i++) {
        const tm_event_t *e = &m->events[i];
        fprintf(out, "%s%llu,%d,%d,", i ? "," : "", (unsigned long long)e->time, e->node, e->kind);
        put_str(out, e->detail);
        if (i % 16 == 15)
            fputc('\n', out);
    }
    fputs("],\n", out);

    /* msg: event, sent, arrive, from, to, class, fate (0 delivered, 1 dropped
     * at send, 2 lost in flight), dup, drop event (-1), reason index (-1) */
    enum { MAX_REASONS = 64 };
    const char *reasons[MAX_REASONS];
    int n_reasons = 0;
    fputs("msg:[", out);
    for (size_t i = 0; i < m->n_msgs; i++) {
        const tm_msg_t *g = &m->msgs[i];
        int reason = g->reason ? str_index(reasons, &n_reasons, MAX_REASONS, g->reason) : -1;
        fprintf(out, "%s%zu,%llu,%llu,%d,%d,%d,%d,%d,%lld,%d", i ? "," : "", g->ev,
                (unsigned long long)g->sent, (unsigned long long)g->arrive, g->from, g->to, g->cls,
                (int)g->fate, g->dup, g->fate == TM_MSG_LOST ? (long long)g->drop_ev : -1LL,
                reason);
        if (i % 16 == 15)
            fputc('\n', out);
    }
    fputs("],\n", out);
    put_table(out, "reasons", reasons, n_reasons);

    /* st: event, time, node, region, role index, term, commit (-1: not
     * recorded), applied, conf_ver, version */
    enum { MAX_ROLES = 16 };
    const char *roles[MAX_ROLES];
    int n_roles = 0;
    fputs("st:[", out);
    for (size_t i = 0; i < m->n_states; i++) {
        const tm_state_t *s = &m->states[i];
        fprintf(out, "%s%zu,%llu,%d,%llu,%d,%llu,%lld,%llu,%llu,%llu", i ? "," : "", s->ev,
                (unsigned long long)s->time, s->node, (unsigned long long)s->region,
                str_index(roles, &n_roles, MAX_ROLES, s->role), (unsigned long long)s->term,
                num_or_never(s->commit), (unsigned long long)s->applied,
                (unsigned long long)s->conf_ver, (unsigned long long)s->version);
        if (i % 16 == 15)
            fputc('\n', out);
    }
    fputs("],\n", out);
    put_table(out, "roles", roles, n_roles);

    /* crash: node, down, up (-1: never) */
    fputs("crash:[", out);
    for (size_t i = 0; i < m->n_crashes; i++)
        fprintf(out, "%s%d,%llu,%lld", i ? "," : "", m->crashes[i].node,
                (unsigned long long)m->crashes[i].down, num_or_never(m->crashes[i].up));
    fputs("],\n", out);

    /* part: [from, to (-1), description, [group of each endpoint 0..maxEp]] */
    fputs("part:[", out);
    for (size_t i = 0; i < m->n_parts; i++) {
        const tm_partition_t *p = &m->parts[i];
        fprintf(out, "%s[%llu,%lld,", i ? "," : "", (unsigned long long)p->from,
                num_or_never(p->to));
        put_str(out, p->desc);
        fputs(",[", out);
        for (int ep = 0; ep <= m->max_ep && ep < TM_MAX_EPS; ep++)
            fprintf(out, "%s%d", ep ? "," : "", p->group[ep]);
        fputs("]]", out);
    }
    fputs("],\n", out);

    /* ops: [id, client, endpoint, kind, key, value, call, ret (-1), status
     * (0 pending, 1 ok, 2 failed), result, failed check, prefix position] */
    fputs("ops:[", out);
    int first = 1;
    for (size_t i = 0; i < m->n_ops; i++) {
        const tm_op_t *o = &m->ops[i];
        if (!o->present)
            continue;
        fprintf(out, "%s[%zu,%d,%d,", first ? "" : ",\n", o->id, o->client, o->ep);
        first = 0;
        put_str(out, o->kind);
        fputc(',', out);
        put_str(out, o->key);
        fputc(',', out);
        if (o->value)
            put_str(out, o->value);
        else
            fputs("null", out);
        fprintf(out, ",%llu,%lld,%d,", (unsigned long long)o->call, num_or_never(o->ret),
                (int)o->status);
        if (o->result)
            put_str(out, o->result);
        else
            fputs("null", out);
        fprintf(out, ",%d,%zu]", o->failed_check, o->prefix_pos);
    }
    fputs("],\n", out);

    /* checks: [text, event] */
    fputs("checks:[", out);
    for (size_t i = 0; i < m->n_checks; i++) {
        fputs(i ? ",[" : "[", out);
        put_str(out, m->checks[i].text);
        fprintf(out, ",%zu]", m->checks[i].ev);
    }
    fputs("]};\n", out);
}

void trace_page_render(const trace_model_t *m, const trace_page_info_t *info, FILE *out)
{
    fputs("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", out);
    /* The title as text: the same escaping keeps markup out of it. */
    for (const char *s = info && info->title ? info->title : "trace"; *s; s++) {
        if (*s == '<' || *s == '>' || *s == '&')
            fprintf(out, "&#%d;", *s);
        else
            fputc(*s, out);
    }
    fputs(" - trace</title>\n<style>\n", out);
    fputs(trace_page_css, out);
    fputs("</style></head>\n<body data-tv-status=\"loading\">\n"
          "<div id=\"tv-error\" hidden></div>\n"
          "<noscript>The trace viewer needs JavaScript.</noscript>\n"
          "<script>\n",
          out);
    render_data(m, info, out);
    fputs("</script>\n<script>\n", out);
    fputs(trace_page_js, out);
    fputs("</script>\n</body></html>\n", out);
}

tkv_err_t trace_page_write(const char *trace_path, const char *html_path,
                           const trace_page_info_t *info, trace_page_stats_t *stats)
{
    trace_model_t *m = NULL;
    tkv_err_t err = trace_model_load(trace_path, &m);
    if (err != TKV_OK)
        return err;
    trace_page_info_t def = { NULL, NULL };
    if (info == NULL)
        info = &def;
    if (info->title == NULL) {
        const char *slash = strrchr(trace_path, '/');
        def.title = slash ? slash + 1 : trace_path;
        def.replay = info->replay;
        info = &def;
    }
    FILE *out = fopen(html_path, "w");
    if (out == NULL) {
        trace_model_free(m);
        return tkv_errorf(TKV_ERR_IO, "cannot write page %s", html_path);
    }
    trace_page_render(m, info, out);
    int bad = ferror(out);
    if (fclose(out) != 0 || bad) {
        trace_model_free(m);
        return tkv_errorf(TKV_ERR_IO, "cannot write page %s", html_path);
    }
    if (stats != NULL) {
        memset(stats, 0, sizeof(*stats));
        stats->events = m->n_events;
        stats->messages = m->n_msgs;
        for (size_t i = 0; i < m->n_msgs; i++)
            stats->dropped += m->msgs[i].fate != TM_MSG_DELIVERED;
        stats->states = m->n_states;
        for (size_t i = 0; i < m->n_ops; i++)
            stats->ops += m->ops[i].present != 0;
        stats->failed_ops = trace_model_failed_ops(m);
        stats->nodes = m->nodes;
        stats->clients = m->clients;
    }
    trace_model_free(m);
    return TKV_OK;
}
