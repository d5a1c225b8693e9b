/*
 * Region and peer helpers over protobuf messages (pb_util.h).
 */
#include "project2-raft/raftstore/pb_util.h"

Metapb__Region *pb_region_dup(const Metapb__Region *r)
{
    return (Metapb__Region *)pb_dup(r ? &r->base : NULL);
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
