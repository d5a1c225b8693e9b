/*
 * Storage modifies as RaftCmdRequest requests (modify_cmd.h).
 */
#include <stdlib.h>

#include "common/engine.h"
#include "common/buf.h"
#include "project2-raft/raftstore/modify_cmd.h"

tkv_err_t modify_cmd_build(modify_cmd_t *m, const storage_modify_t *mods, size_t n)
{
    *m = (modify_cmd_t){ 0 };
    for (size_t i = 0; i < n; i++)
        if (!eng_cf_valid(mods[i].cf))
            return tkv_errorf(TKV_ERR_INVALID, "unknown column family '%s'",
                              mods[i].cf ? mods[i].cf : "(null)");
    if (n == 0)
        return TKV_OK;
    m->reqs = xcalloc(n, sizeof(*m->reqs));
    m->requests = xcalloc(n, sizeof(*m->requests));
    m->puts = xcalloc(n, sizeof(*m->puts));
    m->dels = xcalloc(n, sizeof(*m->dels));
    m->n_requests = n;
    for (size_t i = 0; i < n; i++) {
        RaftCmdpb__Request *r = &m->reqs[i];
        raft_cmdpb__request__init(r);
        m->requests[i] = r;
        if (mods[i].kind == MODIFY_PUT) {
            RaftCmdpb__PutRequest *p = &m->puts[i];
            raft_cmdpb__put_request__init(p);
            p->cf = (char *)mods[i].cf;
            p->key.data = (uint8_t *)mods[i].key.data;
            p->key.len = mods[i].key.len;
            p->value.data = (uint8_t *)mods[i].value.data;
            p->value.len = mods[i].value.len;
            r->cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_PUT;
            r->put = p;
        } else {
            RaftCmdpb__DeleteRequest *d = &m->dels[i];
            raft_cmdpb__delete_request__init(d);
            d->cf = (char *)mods[i].cf;
            d->key.data = (uint8_t *)mods[i].key.data;
            d->key.len = mods[i].key.len;
            r->cmd_type = RAFT_CMDPB__CMD_TYPE__CMD_DELETE;
            r->delete_ = d;
        }
    }
    return TKV_OK;
}

void modify_cmd_free(modify_cmd_t *m)
{
    free(m->reqs);
    free(m->requests);
    free(m->puts);
    free(m->dels);
    *m = (modify_cmd_t){ 0 };
}
