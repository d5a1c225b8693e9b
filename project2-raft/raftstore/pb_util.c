/*
 * Protobuf helpers (pb_util.h).
 */
#include <stdlib.h>

#include "project2-raft/raftstore/pb_util.h"

void pb_pack(const ProtobufCMessage *msg, tkv_buf_t *out)
{
    size_t n = protobuf_c_message_get_packed_size(msg);
    buf_clear(out);
    buf_reserve(out, n + 1);
    protobuf_c_message_pack(msg, out->data);
    out->len = n;
}

ProtobufCMessage *pb_dup(const ProtobufCMessage *msg)
{
    if (msg == NULL)
        return NULL;
    tkv_buf_t b = TKV_BUF_INIT;
    pb_pack(msg, &b);
    ProtobufCMessage *copy = protobuf_c_message_unpack(msg->descriptor, NULL, b.len, b.data);
    buf_free(&b);
    if (copy == NULL)
        abort(); /* we packed it ourselves: only out-of-memory gets here */
    return copy;
}

Metapb__Region *pb_region_dup(const Metapb__Region *r)
{
    return (Metapb__Region *)pb_dup(r ? &r->base : NULL);
}

void pb_free(void *msg)
{
    if (msg != NULL)
        protobuf_c_message_free_unpacked((ProtobufCMessage *)msg, NULL);
}

const Metapb__Peer *pb_region_find_peer(const Metapb__Region *region, uint64_t peer_id)
{
    for (size_t i = 0; region != NULL && i < region->n_peers; i++)
        if (region->peers[i]->id == peer_id)
            return region->peers[i];
    return NULL;
}

const Metapb__Peer *pb_region_peer_on_store(const Metapb__Region *region, uint64_t store_id)
{
    for (size_t i = 0; region != NULL && i < region->n_peers; i++)
        if (region->peers[i]->store_id == store_id)
            return region->peers[i];
    return NULL;
}
