/*
 * Key building for the scheduler's database (sched_keys.h).
 */
#include <string.h>

#include "common/codec.h"
#include "project3-multiraft/scheduler/sched_keys.h"

void sched_key_with_id(tkv_buf_t *out, const char *prefix, uint64_t id)
{
    buf_set(out, prefix, strlen(prefix));
    codec_put_u64(out, id);
}
