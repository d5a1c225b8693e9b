/*
 * The balance-region scheduler: moves replicas from the store holding the
 * most region bytes to the one holding the fewest, so that disk use evens
 * out across the cluster (project 3C, part 2; the rules are in
 * balance_region.c and docs/project3c-scheduler.md).
 */
#ifndef TKV_SCHED_BALANCE_REGION_H
#define TKV_SCHED_BALANCE_REGION_H

#include "common/err.h"
#include "project3-multiraft/scheduler/cluster.h"
#include "project3-multiraft/scheduler/id_alloc.h"
#include "project3-multiraft/scheduler/operator.h"

/* Looks at `c` and decides one move. *out is the operator (caller frees with
 * free(), or hands it to opctl_add()), or NULL when nothing is worth moving.
 * The new peer's id comes from `ids`. */
tkv_err_t balance_region_schedule(sched_cluster_t *c, sched_id_alloc_t *ids,
                                  sched_operator_t **out);

#endif
