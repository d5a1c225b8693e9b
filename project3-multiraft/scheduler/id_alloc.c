/*
 * Batched, persisted id allocation (id_alloc.h).
 */
#include <stdlib.h>

#include "project3-multiraft/scheduler/id_alloc.h"
#include "project3-multiraft/scheduler/sched_keys.h"
#include "proto/schedulerpb.pb-c.h"

struct sched_id_alloc {
    eng_t *eng;
    uint64_t step;
    uint64_t base; /* the last id handed out */
    uint64_t end;  /* the saved bound: ids up to here are reserved */
};

tkv_err_t idalloc_open(eng_t *eng, uint64_t step, sched_id_alloc_t **out)
{
    *out = NULL;
    uint64_t end = 0;
    ProtobufCMessage *m = NULL;
    tkv_err_t e = eng_get_msg(eng, slice_of_str(SCHED_KEY_ALLOC_ID),
                              &schedulerpb__alloc_id_response__descriptor, &m);
    if (e == TKV_OK) {
        end = ((Schedulerpb__AllocIdResponse *)m)->id;
        protobuf_c_message_free_unpacked(m, NULL);
    } else if (e != TKV_ERR_NOT_FOUND) {
        return e;
    }
    sched_id_alloc_t *a = xcalloc(1, sizeof(*a));
    a->eng = eng;
    a->step = step ? step : 1000;
    a->base = end; /* everything up to the old end may have been used */
    a->end = end;
    *out = a;
    return TKV_OK;
}

void idalloc_free(sched_id_alloc_t *a)
{
    free(a);
}

tkv_err_t idalloc_next(sched_id_alloc_t *a, uint64_t *id)
{
    if (a->base == a->end) {
        /* Save the new bound before handing out anything below it, synced:
         * after a crash the saved bound must cover every id given away. */
        Schedulerpb__AllocIdResponse rec = SCHEDULERPB__ALLOC_ID_RESPONSE__INIT;
        rec.id = a->end + a->step;
        eng_batch_t *b = eng_batch_new();
        eng_batch_put_msg(b, slice_of_str(SCHED_KEY_ALLOC_ID), &rec.base);
        tkv_err_t e = eng_write(a->eng, b, 1);
        eng_batch_free(b);
        if (e != TKV_OK)
            return e;
        a->end = rec.id;
    }
    *id = ++a->base;
    return TKV_OK;
}
