/*
 * The fuzz suite's budget and counts (fuzz.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz.h"

long fuzz_budget(long default_steps)
{
    const char *v = getenv("FUZZ_STEPS");
    if (v == NULL || *v == '\0')
        return default_steps;
    char *end = NULL;
    long n = strtol(v, &end, 10);
    if (*end != '\0' || n <= 0)
        fail_msg("FUZZ_STEPS='%s' is not a positive number", v);
    return n;
}

void fuzz_count(fuzz_counts_t *c, tkv_err_t err, int mutated)
{
    c->tried++;
    c->mutated += mutated != 0;
    if (err == TKV_OK)
        c->accepted++;
    else if (err == TKV_ERR_INVALID || err == TKV_ERR_CORRUPT)
        c->refused++;
    else
        c->other++;
}

void fuzz_report(const char *name, uint64_t seed, const fuzz_counts_t *c)
{
    printf("fuzz %s seed %llu: tried %lu (%lu mutated), refused %lu, accepted %lu, other "
           "errors %lu, crashes 0\n",
           name, (unsigned long long)seed, c->tried, c->mutated, c->refused, c->accepted, c->other);
    fflush(stdout);
}

/* ---- mutations ---- */

static uint64_t nearby(tkv_prng_t *g, uint64_t v)
{
    switch (prng_below(g, 4)) {
    case 0:
        return v + prng_between(g, 1, 3);
    case 1:
        return v >= 3 ? v - prng_between(g, 1, 3) : 0;
    case 2:
        return prng_next(g);
    default:
        return prng_chance(g, 1, 2) ? 0 : UINT64_MAX - prng_below(g, 3);
    }
}

void fuzz_mutate_message(tkv_prng_t *g, raft_message_t *m, uint64_t max_id)
{
    int times = (int)prng_between(g, 1, 3);
    for (int t = 0; t < times; t++) {
        switch (prng_below(g, 14)) {
        case 0:
            m->index = nearby(g, m->index);
            break;
        case 1:
            m->log_term = nearby(g, m->log_term);
            break;
        case 2:
            m->term = nearby(g, m->term);
            break;
        case 3:
            m->commit = nearby(g, m->commit);
            break;
        case 4:
            if (m->n_entries > 0) {
                raft_entry_t *e = &m->entries[prng_below(g, m->n_entries)];
                e->index = nearby(g, e->index);
            } else
                m->index = m->index + prng_between(g, 1, 100); /* a gap */
            break;
        case 5:
            if (m->n_entries > 0) {
                raft_entry_t *e = &m->entries[prng_below(g, m->n_entries)];
                e->term = nearby(g, e->term);
            }
            break;
        case 6:
            if (m->n_entries > 1) { /* drop the first entries, keep the index */
                size_t drop = (size_t)prng_between(g, 1, m->n_entries);
                for (size_t k = 0; k < drop; k++)
                    raft_entry_free(&m->entries[k]);
                memmove(m->entries, m->entries + drop,
                        (m->n_entries - drop) * sizeof(raft_entry_t));
                m->n_entries -= drop;
            }
            break;
        case 7:
            m->type = (raft_msg_type_t)prng_below(g, 16);
            break;
        case 8:
            if (prng_chance(g, 1, 2))
                m->from = prng_below(g, max_id + 2);
            else
                m->to = prng_below(g, max_id + 2);
            break;
        case 9:
            m->reject = !m->reject;
            m->reject_hint = nearby(g, m->reject_hint);
            break;
        case 10:
            m->snapshot.metadata.index = nearby(g, m->snapshot.metadata.index);
            break;
        case 11:
            m->snapshot.metadata.term = nearby(g, m->snapshot.metadata.term);
            break;
        case 12:
            if (m->n_entries > 0) { /* entry data the application must decode */
                raft_entry_t *e = &m->entries[prng_below(g, m->n_entries)];
                if (e->len > 0)
                    e->data[prng_below(g, e->len)] ^= (uint8_t)prng_between(g, 1, 256);
            }
            break;
        default:
            if (m->snapshot.metadata.conf_state.n_nodes > 0)
                m->snapshot.metadata.conf_state
                    .nodes[prng_below(g, m->snapshot.metadata.conf_state.n_nodes)] =
                    prng_below(g, max_id + 2);
            break;
        }
    }
}
