/*
 * The toy store's clients (toy.h): sequential, retrying, giving up.
 *
 * A client is a little state machine on the simulator: send, then either an
 * answer arrives (record it, think a moment, next op) or the retry timer
 * fires (resend, or give up and leave the op pending). Every choice (which
 * op, which key, how long to think) is drawn from the run's PRNG.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/harness/client_check.h"
#include "tests/sim/toy.h"
#include "tests/sim/toy_wire.h"

enum { RETRY_MS = 40, GIVE_UP_MS = 500, THINK_MAX_MS = 10 };

typedef struct {
    toy_clients_t *tc;
    int idx;
    int done;     /* operations finished (answered or given up) */
    int appended; /* own-append workload: appends made */
    uint32_t seq;
    int waiting;
    size_t op;
    uint64_t started;
    uint64_t timer;
    tkv_buf_t request; /* the encoded request, kept for resends */
} client_t;

struct toy_clients {
    sim_cluster_t *cluster;
    sim_t *sim;
    history_t *h;
    toy_workload_t workload;
    int n, ops;
    client_t *clients;
    uint64_t completed, given_up;
};

static void client_next(sim_t *sim, void *arg);

static void resend(client_t *c)
{
    sim_cluster_client_send(c->tc->cluster, c->idx, 1, c->request.data, c->request.len);
}

static void finish_op(client_t *c)
{
    c->waiting = 0;
    c->done++;
    sim_t *sim = c->tc->sim;
    sim_schedule(sim, prng_below(sim_prng(sim), THINK_MAX_MS + 1), client_next, c, NULL);
}

static void on_timer(sim_t *sim, void *arg)
{
    client_t *c = arg;
    if (!c->waiting)
        return;
    if (sim_now(sim) - c->started >= GIVE_UP_MS) {
        c->tc->given_up++; /* the op stays pending: it may yet take effect */
        finish_op(c);
        return;
    }
    resend(c);
    c->timer = sim_schedule(sim, RETRY_MS, on_timer, c, NULL);
}

static void on_reply(void *ctx, int from, const uint8_t *bytes, size_t len)
{
    (void)from;
    client_t *c = ctx;
    toy_msg_t m;
    if (toy_msg_decode(bytes, len, &m) != TKV_OK || m.type != TOY_MSG_REPLY || !c->waiting ||
        m.seq != c->seq)
        return; /* garbage, a duplicate or an answer to an op given up on */
    history_complete(c->tc->h, c->op, sim_now(c->tc->sim), m.kind_or_flag, m.value.data,
                     m.value.len);
    c->tc->completed++;
    sim_cancel(c->tc->sim, c->timer);
    finish_op(c);
}

static void choose_op(client_t *c, hist_kind_t *kind, char *key, char *val, size_t size)
{
    tkv_prng_t *p = sim_prng(c->tc->sim);
    if (c->tc->workload == TOY_OWN_APPENDS) {
        snprintf(key, size, "%d", c->idx);
        /* Read every third op, and always last, so every append is seen. */
        if (c->done == c->tc->ops - 1 || c->done % 3 == 2) {
            *kind = HIST_GET;
            val[0] = '\0';
        } else {
            *kind = HIST_APPEND;
            client_append_value(c->idx, c->appended++, val, size);
        }
        return;
    }
    static const hist_kind_t kinds[10] = { HIST_GET,    HIST_GET,   HIST_GET,    HIST_GET,
                                           HIST_PUT,    HIST_PUT,   HIST_APPEND, HIST_APPEND,
                                           HIST_APPEND, HIST_DELETE };
    *kind = kinds[prng_below(p, 10)];
    snprintf(key, size, "k%d", (int)prng_below(p, 2));
    snprintf(val, size, "<%d.%u>", c->idx, c->seq);
}

static void client_next(sim_t *sim, void *arg)
{
    client_t *c = arg;
    if (c->done >= c->tc->ops)
        return;
    c->seq++;
    hist_kind_t kind;
    char key[32], val[32];
    choose_op(c, &kind, key, val, sizeof(val));
    c->op = history_invoke_str(c->tc->h, c->idx, kind, key, val, sim_now(sim));
    toy_msg_t m = { TOY_MSG_REQUEST, (uint32_t)c->idx,  c->seq,
                    (uint8_t)kind,   slice_of_str(key), slice_of_str(val) };
    buf_clear(&c->request);
    toy_msg_encode(&m, &c->request);
    c->waiting = 1;
    c->started = sim_now(sim);
    resend(c);
    c->timer = sim_schedule(sim, RETRY_MS, on_timer, c, NULL);
}

toy_clients_t *toy_clients_new(sim_cluster_t *cl, int n, int ops, toy_workload_t w, history_t *h)
{
    toy_clients_t *tc = xcalloc(1, sizeof(*tc));
    tc->cluster = cl;
    tc->sim = sim_cluster_sim(cl);
    tc->h = h;
    tc->workload = w;
    tc->n = n;
    tc->ops = ops;
    tc->clients = xcalloc((size_t)n, sizeof(*tc->clients));
    for (int i = 0; i < n; i++) {
        client_t *c = &tc->clients[i];
        c->tc = tc;
        c->idx = i;
        buf_init(&c->request);
        sim_cluster_on_client(cl, i, on_reply, c);
        sim_schedule(tc->sim, prng_below(sim_prng(tc->sim), THINK_MAX_MS + 1), client_next, c,
                     NULL);
    }
    return tc;
}

void toy_clients_free(toy_clients_t *tc)
{
    if (tc == NULL)
        return;
    for (int i = 0; i < tc->n; i++)
        buf_free(&tc->clients[i].request);
    free(tc->clients);
    free(tc);
}

int toy_clients_busy(void *arg)
{
    toy_clients_t *tc = arg;
    for (int i = 0; i < tc->n; i++) {
        if (tc->clients[i].done < tc->ops)
            return 1;
    }
    return 0;
}

uint64_t toy_clients_completed(const toy_clients_t *tc)
{
    return tc->completed;
}

uint64_t toy_clients_given_up(const toy_clients_t *tc)
{
    return tc->given_up;
}
