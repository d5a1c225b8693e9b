/*
 * The timestamp oracle (tso.h).
 */
#include <stdlib.h>

#include "project3-multiraft/scheduler/sched_keys.h"
#include "project3-multiraft/scheduler/tso.h"
#include "proto/schedulerpb.pb-c.h"

struct sched_tso {
    eng_t *eng;
    const tkv_clock_t *clock;
    uint64_t window;
    uint64_t physical; /* of the last timestamp handed out */
    uint64_t logical;
    uint64_t bound; /* saved: no timestamp will have a physical part above it */
};

uint64_t tso_compose(int64_t physical, int64_t logical)
{
    return ((uint64_t)physical << TSO_LOGICAL_BITS) | (uint64_t)logical;
}

static tkv_err_t save_bound(sched_tso_t *t, uint64_t bound)
{
    Schedulerpb__Timestamp rec = SCHEDULERPB__TIMESTAMP__INIT;
    rec.physical = (int64_t)bound;
    eng_batch_t *b = eng_batch_new();
    eng_batch_put_msg(b, slice_of_str(SCHED_KEY_TSO), &rec.base);
    tkv_err_t e = eng_write(t->eng, b, 1);
    eng_batch_free(b);
    if (e == TKV_OK)
        t->bound = bound;
    return e;
}

tkv_err_t tso_open(eng_t *eng, const tkv_clock_t *clock, uint64_t window_ms, sched_tso_t **out)
{
    *out = NULL;
    uint64_t saved = 0;
    ProtobufCMessage *m = NULL;
    tkv_err_t e =
        eng_get_msg(eng, slice_of_str(SCHED_KEY_TSO), &schedulerpb__timestamp__descriptor, &m);
    if (e == TKV_OK) {
        saved = (uint64_t)((Schedulerpb__Timestamp *)m)->physical;
        protobuf_c_message_free_unpacked(m, NULL);
    } else if (e != TKV_ERR_NOT_FOUND) {
        return e;
    }
    sched_tso_t *t = xcalloc(1, sizeof(*t));
    t->eng = eng;
    t->clock = clock;
    t->window = window_ms ? window_ms : 3000;
    /* Start past everything the previous run may have handed out, even if
     * this machine's clock is behind the old one. */
    uint64_t now = clock_now_ms(clock);
    t->physical = now > saved ? now : saved + 1;
    t->logical = 0;
    e = save_bound(t, t->physical + t->window);
    if (e != TKV_OK) {
        free(t);
        return e;
    }
    *out = t;
    return TKV_OK;
}

void tso_free(sched_tso_t *t)
{
    free(t);
}

tkv_err_t tso_get(sched_tso_t *t, uint32_t count, int64_t *physical, int64_t *logical)
{
    if (count == 0 || count >= TSO_MAX_LOGICAL)
        return tkv_errorf(TKV_ERR_INVALID, "tso: cannot reserve %u timestamps at once (1..%d)",
                          count, TSO_MAX_LOGICAL - 1);
    uint64_t phys = t->physical, logi = t->logical;
    uint64_t now = clock_now_ms(t->clock);
    if (now > phys) {
        phys = now;
        logi = 0;
    }
    if (logi + count >= TSO_MAX_LOGICAL) {
        /* This millisecond is used up: borrow the next one. */
        phys++;
        logi = 0;
    }
    if (phys > t->bound) {
        tkv_err_t e = save_bound(t, phys + t->window);
        if (e != TKV_OK)
            return e;
    }
    t->physical = phys;
    t->logical = logi + count;
    *physical = (int64_t)t->physical;
    *logical = (int64_t)t->logical;
    return TKV_OK;
}
