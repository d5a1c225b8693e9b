/*
 * Project 3B's hook table for the store (multiraft.h), and the state it
 * keeps per store and per peer.
 */
#include <stdlib.h>
#include <string.h>

#include "project3-multiraft/raftstore/mr_internal.h"

multiraft_config_t multiraft_config_default(void)
{
    multiraft_config_t c;
    memset(&c, 0, sizeof(c));
    c.split_check_tick = 10;
    c.region_max_size = 144u << 20;
    c.region_split_size = 96u << 20;
    c.heartbeat_tick = 10;
    c.store_heartbeat_tick = 100;
    return c;
}

static tkv_err_t mr_store_open(store_t *s, void *arg, void **state)
{
    if (arg == NULL)
        return tkv_errorf(TKV_ERR_INVALID,
                          "project 3B's store extension needs a multiraft_config_t");
    mr_store_t *ms = xcalloc(1, sizeof(*ms));
    ms->store = s;
    ms->cfg = arg;
    *state = ms;
    return TKV_OK;
}

static void mr_store_close(void *state)
{
    mr_store_t *ms = state;
    for (size_t i = 0; i < ms->n_asks; i++)
        buf_free(&ms->asks[i].key);
    free(ms->asks);
    free(ms);
}

static void mr_peer_free(peer_t *p)
{
    free(p->ext_state);
    p->ext_state = NULL;
}

mr_store_t *mr_store(store_t *s)
{
    return store_ext_state(s);
}

mr_peer_t *mr_peer(peer_t *p)
{
    if (p->ext_state == NULL)
        p->ext_state = xcalloc(1, sizeof(mr_peer_t));
    return p->ext_state;
}

multiraft_stats_t multiraft_stats(store_t *s)
{
    return mr_store(s)->stats;
}

const store_ext_t multiraft_store_ext = {
    .name = "project 3B",
    .store_open = mr_store_open,
    .store_close = mr_store_close,
    .peer_free = mr_peer_free,
    .check_proposal = mr_check_proposal,
    .propose_admin = mr_propose_admin,
    .apply_entry = mr_apply_entry,
    .on_unknown_region = mr_on_unknown_region,
    .filter_message = mr_filter_message,
    .on_tick = mr_on_tick,
    .on_store_tick = mr_on_store_tick,
};
