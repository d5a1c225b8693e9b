/*
 * The simulated network behind sim_net.h.
 *
 * A message in flight is an event on the simulator whose argument is a copy
 * of its bytes; delivering it is running the event. Faults are decided when
 * the message is sent (loss, class loss, filters, delay, duplicates) and
 * re-checked when it arrives (partition, receiver down). The PRNG draws
 * happen in a fixed order per send, so the same seed and the same sends give
 * the same faults.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "tests/harness/sim_net.h"

typedef struct {
    int group;
    int external;
    int up;
} endpoint_t;

typedef struct {
    sim_net_filter_fn fn;
    void *ctx;
} filter_t;

struct sim_net {
    sim_t *sim;
    int n;
    endpoint_t *eps; /* eps[1..n] */
    sim_net_deliver_fn deliver;
    void *ctx;
    sim_net_opts_t opts;
    trace_t *trace;
    sim_net_classify_fn classify;
    void *classify_ctx;
    uint32_t class_num[SIM_NET_MAX_CLASSES], class_den[SIM_NET_MAX_CLASSES];
    uint64_t class_sent[SIM_NET_MAX_CLASSES];
    filter_t filters[SIM_NET_MAX_FILTERS];
    sim_net_stats_t stats;
    int next_isolated_group;
};

typedef struct {
    sim_net_t *net;
    int from, to;
    size_t len;
    uint8_t bytes[];
} flight_t;

sim_net_opts_t sim_net_opts_reliable(void)
{
    sim_net_opts_t o = { 0 };
    o.delay_min_ms = 1;
    o.delay_max_ms = 5;
    return o;
}

sim_net_opts_t sim_net_opts_unreliable(void)
{
    sim_net_opts_t o = sim_net_opts_reliable();
    o.drop_num = 1;
    o.drop_den = 10;
    o.slow_num = 1;
    o.slow_den = 10;
    o.slow_max_ms = 30;
    o.dup_num = 1;
    o.dup_den = 100;
    return o;
}

sim_net_t *sim_net_new(sim_t *sim, int endpoints, sim_net_deliver_fn deliver, void *ctx)
{
    sim_net_t *net = xcalloc(1, sizeof(*net));
    net->sim = sim;
    net->n = endpoints;
    net->eps = xcalloc((size_t)endpoints + 1, sizeof(*net->eps));
    for (int i = 1; i <= endpoints; i++)
        net->eps[i].up = 1;
    net->deliver = deliver;
    net->ctx = ctx;
    net->opts = sim_net_opts_reliable();
    net->next_isolated_group = 1000000;
    return net;
}

void sim_net_free(sim_net_t *net)
{
    if (net == NULL)
        return;
    free(net->eps);
    free(net);
}

int sim_net_endpoints(const sim_net_t *net)
{
    return net->n;
}

void sim_net_set_opts(sim_net_t *net, const sim_net_opts_t *opts)
{
    net->opts = *opts;
    if (net->opts.delay_max_ms < net->opts.delay_min_ms)
        net->opts.delay_max_ms = net->opts.delay_min_ms;
}

sim_net_opts_t sim_net_get_opts(const sim_net_t *net)
{
    return net->opts;
}

void sim_net_set_trace(sim_net_t *net, trace_t *tr)
{
    net->trace = tr;
}

static int valid_ep(const sim_net_t *net, int ep)
{
    return ep >= 1 && ep <= net->n;
}

int sim_net_connected(const sim_net_t *net, int from, int to)
{
    if (!valid_ep(net, from) || !valid_ep(net, to))
        return 0;
    const endpoint_t *a = &net->eps[from], *b = &net->eps[to];
    return a->external || b->external || a->group == b->group;
}

/* True with probability num/den; den 0 means never (and draws nothing, so
 * turning a fault off does not shift the other draws more than needed). */
static int chance(sim_net_t *net, uint32_t num, uint32_t den)
{
    if (den == 0 || num == 0)
        return 0;
    return prng_chance(sim_prng(net->sim), num, den);
}

static void arrive(sim_t *sim, void *arg)
{
    (void)sim;
    flight_t *f = arg;
    sim_net_t *net = f->net;
    if (!net->eps[f->to].up) {
        net->stats.dropped_down++;
        trace_event(net->trace, f->from, "net-drop", "to n%d: receiver down (%zu bytes)", f->to,
                    f->len);
        return;
    }
    if (!sim_net_connected(net, f->from, f->to)) {
        net->stats.dropped_partition++;
        trace_event(net->trace, f->from, "net-drop", "to n%d: partitioned in flight", f->to);
        return;
    }
    net->stats.delivered++;
    net->deliver(net->ctx, f->from, f->to, f->bytes, f->len);
}

static void launch(sim_net_t *net, int from, int to, const void *bytes, size_t len, uint64_t delay)
{
    flight_t *f = xmalloc(sizeof(*f) + len);
    f->net = net;
    f->from = from;
    f->to = to;
    f->len = len;
    if (len > 0)
        memcpy(f->bytes, bytes, len);
    sim_schedule(net->sim, delay, arrive, f, free);
}

static uint64_t draw_delay(sim_net_t *net)
{
    const sim_net_opts_t *o = &net->opts;
    uint64_t d = o->delay_min_ms;
    if (o->delay_max_ms > o->delay_min_ms)
        d = prng_between(sim_prng(net->sim), o->delay_min_ms, o->delay_max_ms + 1);
    if (o->slow_max_ms > 0 && chance(net, o->slow_num, o->slow_den)) {
        net->stats.slowed++;
        d += prng_between(sim_prng(net->sim), 1, o->slow_max_ms + 1);
    }
    return d;
}

tkv_err_t sim_net_send(sim_net_t *net, int from, int to, const void *bytes, size_t len)
{
    if (!valid_ep(net, from) || !valid_ep(net, to))
        return tkv_errorf(TKV_ERR_INVALID, "sim_net_send from %d to %d: endpoints are 1..%d", from,
                          to, net->n);
    net->stats.sent++;
    net->stats.bytes_sent += len;
    int cls = 0;
    if (net->classify != NULL) {
        cls = net->classify(net->classify_ctx, from, to, bytes, len);
        if (cls < 0 || cls >= SIM_NET_MAX_CLASSES)
            cls = 0;
    }
    net->class_sent[cls]++;
    if (!net->eps[from].up || !net->eps[to].up) {
        net->stats.dropped_down++;
        trace_event(net->trace, from, "net-drop", "to n%d class %d: endpoint down", to, cls);
        return TKV_OK;
    }
    if (!sim_net_connected(net, from, to)) {
        net->stats.dropped_partition++;
        trace_event(net->trace, from, "net-drop", "to n%d class %d: partitioned", to, cls);
        return TKV_OK;
    }
    for (int i = 0; i < SIM_NET_MAX_FILTERS; i++) {
        if (net->filters[i].fn != NULL &&
            net->filters[i].fn(net->filters[i].ctx, from, to, bytes, len)) {
            net->stats.dropped_filter++;
            trace_event(net->trace, from, "net-drop", "to n%d class %d: filter %d", to, cls, i);
            return TKV_OK;
        }
    }
    if (chance(net, net->class_num[cls], net->class_den[cls])) {
        net->stats.dropped_class++;
        trace_event(net->trace, from, "net-drop", "to n%d class %d: class loss", to, cls);
        return TKV_OK;
    }
    if (chance(net, net->opts.drop_num, net->opts.drop_den)) {
        net->stats.dropped_random++;
        trace_event(net->trace, from, "net-drop", "to n%d class %d: random loss", to, cls);
        return TKV_OK;
    }
    uint64_t delay = draw_delay(net);
    trace_event(net->trace, from, "net-send", "to n%d class %d, %zu bytes, arrives in %llu ms", to,
                cls, len, (unsigned long long)delay);
    launch(net, from, to, bytes, len, delay);
    if (chance(net, net->opts.dup_num, net->opts.dup_den)) {
        net->stats.duplicated++;
        uint64_t d2 = draw_delay(net);
        trace_event(net->trace, from, "net-dup", "to n%d class %d, copy arrives in %llu ms", to,
                    cls, (unsigned long long)d2);
        launch(net, from, to, bytes, len, d2);
    }
    return TKV_OK;
}

/* The sides as the trace shows them, "n1 n4 | n2 n3 n5": the endpoints
 * that partitions apply to (not the external ones), grouped, groups in
 * order of their lowest member. */
static void describe_groups(const sim_net_t *net, char *out, size_t size)
{
    size_t len = 0;
    out[0] = '\0';
    for (int first = 1; first <= net->n; first++) {
        const endpoint_t *a = &net->eps[first];
        int seen = a->external;
        for (int j = 1; j < first && !seen; j++)
            seen = !net->eps[j].external && net->eps[j].group == a->group;
        if (seen)
            continue;
        for (int j = first; j <= net->n && len + 8 < size; j++) {
            if (net->eps[j].external || net->eps[j].group != a->group)
                continue;
            int w = snprintf(out + len, size - len, "%s%sn%d", len == 0 ? "" : " ",
                             j == first && len > 0 ? "| " : "", j);
            len += w > 0 ? (size_t)w : 0;
        }
    }
}

void sim_net_partition(sim_net_t *net, const int *groups, int n)
{
    for (int i = 0; i < n && i < net->n; i++)
        net->eps[i + 1].group = groups[i];
    char sides[256];
    describe_groups(net, sides, sizeof(sides));
    trace_event(net->trace, 0, "partition", "%d endpoints regrouped: %s", n, sides);
}

void sim_net_partition2(sim_net_t *net, const int *a, int na, const int *b, int nb)
{
    /* Fresh group numbers, so endpoints not named keep talking only to
     * whoever shares their old group. */
    int ga = net->next_isolated_group++, gb = net->next_isolated_group++;
    for (int i = 0; i < na; i++) {
        if (valid_ep(net, a[i]))
            net->eps[a[i]].group = ga;
    }
    for (int i = 0; i < nb; i++) {
        if (valid_ep(net, b[i]))
            net->eps[b[i]].group = gb;
    }
    char sides[256];
    describe_groups(net, sides, sizeof(sides));
    trace_event(net->trace, 0, "partition", "%d | %d endpoints: %s", na, nb, sides);
}

void sim_net_isolate(sim_net_t *net, int ep)
{
    if (!valid_ep(net, ep))
        return;
    net->eps[ep].group = net->next_isolated_group++;
    char sides[256];
    describe_groups(net, sides, sizeof(sides));
    trace_event(net->trace, 0, "partition", "n%d isolated: %s", ep, sides);
}

void sim_net_heal(sim_net_t *net)
{
    for (int i = 1; i <= net->n; i++)
        net->eps[i].group = 0;
    trace_event(net->trace, 0, "partition", "healed");
}

void sim_net_set_external(sim_net_t *net, int ep, int external)
{
    if (valid_ep(net, ep))
        net->eps[ep].external = external;
}

void sim_net_set_up(sim_net_t *net, int ep, int up)
{
    if (valid_ep(net, ep))
        net->eps[ep].up = up;
}

int sim_net_is_up(const sim_net_t *net, int ep)
{
    return valid_ep(net, ep) && net->eps[ep].up;
}

void sim_net_set_classifier(sim_net_t *net, sim_net_classify_fn fn, void *ctx)
{
    net->classify = fn;
    net->classify_ctx = ctx;
}

void sim_net_drop_class(sim_net_t *net, int cls, uint32_t num, uint32_t den)
{
    if (cls < 0 || cls >= SIM_NET_MAX_CLASSES)
        return;
    net->class_num[cls] = num;
    net->class_den[cls] = den;
}

int sim_net_add_filter(sim_net_t *net, sim_net_filter_fn fn, void *ctx)
{
    for (int i = 0; i < SIM_NET_MAX_FILTERS; i++) {
        if (net->filters[i].fn == NULL) {
            net->filters[i].fn = fn;
            net->filters[i].ctx = ctx;
            return i;
        }
    }
    return -1;
}

void sim_net_remove_filter(sim_net_t *net, int slot)
{
    if (slot >= 0 && slot < SIM_NET_MAX_FILTERS)
        net->filters[slot].fn = NULL;
}

void sim_net_clear_filters(sim_net_t *net)
{
    memset(net->filters, 0, sizeof(net->filters));
}

uint64_t sim_net_class_sent(const sim_net_t *net, int cls)
{
    return cls >= 0 && cls < SIM_NET_MAX_CLASSES ? net->class_sent[cls] : 0;
}

sim_net_stats_t sim_net_stats(const sim_net_t *net)
{
    return net->stats;
}
