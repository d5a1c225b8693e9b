/*
 * Region heartbeats: deciding whether what a region's leader reports is news
 * or an echo from the past (project 3C, part 1).
 *
 * Heartbeats travel over the network and are sent by whichever peer thinks
 * it leads, so one can arrive after a newer one, or come from a leader that
 * was deposed or a region that has since split. The region epoch orders
 * them (metapb.proto):
 *   - version grows on every split and merge (the range changed);
 *   - conf_ver grows on every membership change (the peers changed).
 * A heartbeat is stale, and must be rejected without changing anything, if
 *   - the region with the same id is known with a larger version or a
 *     larger conf_ver, or
 *   - a region it overlaps is known with a larger version: that region came
 *     out of a split or merge the sender has not heard of yet.
 * An accepted heartbeat replaces what it overlaps (cluster_put_region()).
 */
#include <stdlib.h>

#include "project3-multiraft/scheduler/cluster.h"

/* LAB 3C BEGIN */
static tkv_err_t stale(const Schedulerpb__RegionHeartbeatRequest *hb, const sched_region_t *known)
{
    const Metapb__RegionEpoch *e = hb->region->region_epoch;
    return tkv_errorf(TKV_ERR_STALE,
                      "region %llu epoch (conf_ver %llu, version %llu) is stale: region %llu is "
                      "known at (conf_ver %llu, version %llu)",
                      (unsigned long long)hb->region->id, (unsigned long long)e->conf_ver,
                      (unsigned long long)e->version, (unsigned long long)region_id(known),
                      (unsigned long long)region_conf_ver(known),
                      (unsigned long long)region_version(known));
}
/* LAB 3C END */

tkv_err_t cluster_process_region_heartbeat(sched_cluster_t *c,
                                           const Schedulerpb__RegionHeartbeatRequest *hb)
{
    /* LAB 3C BEGIN */
    if (hb == NULL || hb->region == NULL || hb->region->region_epoch == NULL)
        return tkv_errorf(TKV_ERR_INVALID, "region heartbeat without a region or an epoch");
    const Metapb__Region *region = hb->region;
    const Metapb__RegionEpoch *epoch = region->region_epoch;

    const sched_region_t *origin = cluster_get_region(c, region->id);
    if (origin != NULL &&
        (epoch->version < region_version(origin) || epoch->conf_ver < region_conf_ver(origin)))
        return stale(hb, origin);

    /* Other regions' conf_ver counts their own membership changes, not ours:
     * only the version (splits and merges) compares across regions. */
    sched_region_t **overlaps = NULL;
    size_t n = cluster_overlaps(c, slice_of(region->start_key.data, region->start_key.len),
                                slice_of(region->end_key.data, region->end_key.len), &overlaps);
    for (size_t i = 0; i < n; i++) {
        if (overlaps[i] != origin && epoch->version < region_version(overlaps[i])) {
            tkv_err_t e = stale(hb, overlaps[i]);
            free(overlaps);
            return e;
        }
    }
    free(overlaps);
    return cluster_put_region(c, hb);
    /* LAB 3C STUB
    // Check hb's epoch against the region with the same id and against
    // every region it overlaps (cluster_get_region, cluster_overlaps), then
    // record it with cluster_put_region.
    (void)c;
    (void)hb;
    return tkv_not_implemented("cluster_process_region_heartbeat");
    LAB 3C END */
}
