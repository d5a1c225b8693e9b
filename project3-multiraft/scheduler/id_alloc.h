/*
 * The id allocator: unique ids for stores, regions and peers, cluster-wide
 * and across restarts.
 *
 * Writing every id to disk would make each allocation a disk sync, so ids
 * are reserved in batches: the allocator persists "ids up to `end` may have
 * been handed out" and then serves end-step+1 .. end from memory. A restart
 * starts after the saved end, skipping whatever the last batch did not use,
 * so no id is ever handed out twice. Ids start at 1; 0 means "none".
 *
 * Not thread-safe (the service holds a mutex). Ownership: idalloc_open()
 * borrows `eng`, which must outlive the allocator freed with idalloc_free().
 */
#ifndef TKV_SCHED_ID_ALLOC_H
#define TKV_SCHED_ID_ALLOC_H

#include <stdint.h>

#include "common/engine.h"
#include "common/err.h"

typedef struct sched_id_alloc sched_id_alloc_t;

/* `step` ids are reserved per disk write (0: 1000, as TinyKV). */
tkv_err_t idalloc_open(eng_t *eng, uint64_t step, sched_id_alloc_t **out);
void idalloc_free(sched_id_alloc_t *a);
/* The next id. TKV_ERR_IO when a new batch cannot be saved (then nothing
 * is handed out). */
tkv_err_t idalloc_next(sched_id_alloc_t *a, uint64_t *id);

#endif
