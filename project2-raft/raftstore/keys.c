/*
 * The local key layout (keys.h): building and reading back metadata keys.
 */
#include "project2-raft/raftstore/keys.h"
#include "common/codec.h"

static void region_key(tkv_buf_t *out, uint8_t kind, uint64_t region_id, uint8_t suffix)
{
    buf_clear(out);
    buf_append_byte(out, KEYS_LOCAL_PREFIX);
    buf_append_byte(out, kind);
    codec_put_u64(out, region_id);
    buf_append_byte(out, suffix);
}

void keys_store_ident(tkv_buf_t *out)
{
    buf_clear(out);
    buf_append_byte(out, KEYS_LOCAL_PREFIX);
    buf_append_byte(out, KEYS_STORE_IDENT);
}

void keys_raft_log_key(tkv_buf_t *out, uint64_t region_id, uint64_t index)
{
    region_key(out, KEYS_REGION_RAFT, region_id, KEYS_RAFT_LOG);
    codec_put_u64(out, index);
}

void keys_raft_state_key(tkv_buf_t *out, uint64_t region_id)
{
    region_key(out, KEYS_REGION_RAFT, region_id, KEYS_RAFT_STATE);
}

void keys_apply_state_key(tkv_buf_t *out, uint64_t region_id)
{
    region_key(out, KEYS_REGION_RAFT, region_id, KEYS_APPLY_STATE);
}

void keys_region_state_key(tkv_buf_t *out, uint64_t region_id)
{
    region_key(out, KEYS_REGION_META, region_id, KEYS_REGION_STATE);
}

void keys_region_meta_prefix(tkv_buf_t *out)
{
    buf_clear(out);
    buf_append_byte(out, KEYS_LOCAL_PREFIX);
    buf_append_byte(out, KEYS_REGION_META);
}

tkv_err_t keys_decode_raft_log_key(tkv_slice_t key, uint64_t *region_id, uint64_t *index)
{
    if (key.len != KEYS_LOG_KEY_LEN || key.data[0] != KEYS_LOCAL_PREFIX ||
        key.data[1] != KEYS_REGION_RAFT || key.data[10] != KEYS_RAFT_LOG)
        return tkv_errorf(TKV_ERR_CORRUPT, "a key of %zu bytes is not a raft log key", key.len);
    *region_id = codec_get_u64(key.data + 2);
    *index = codec_get_u64(key.data + 11);
    return TKV_OK;
}

tkv_err_t keys_decode_region_state_key(tkv_slice_t key, uint64_t *region_id)
{
    if (key.len != KEYS_REGION_KEY_LEN || key.data[0] != KEYS_LOCAL_PREFIX ||
        key.data[1] != KEYS_REGION_META || key.data[10] != KEYS_REGION_STATE)
        return tkv_errorf(TKV_ERR_CORRUPT, "a key of %zu bytes is not a region state key", key.len);
    *region_id = codec_get_u64(key.data + 2);
    return TKV_OK;
}
