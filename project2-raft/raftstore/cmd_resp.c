/*
 * Response builders (cmd_resp.h). Everything is malloc'd piece by piece so
 * the generated free_unpacked can free it, exactly as if it had been
 * unpacked from the wire.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "project2-raft/raftstore/cmd_resp.h"

RaftCmdpb__RaftCmdResponse *cmd_resp_new(uint64_t term)
{
    RaftCmdpb__RaftCmdResponse *resp = xmalloc(sizeof(*resp));
    raft_cmdpb__raft_cmd_response__init(resp);
    resp->header = xmalloc(sizeof(*resp->header));
    raft_cmdpb__raft_response_header__init(resp->header);
    resp->header->current_term = term;
    return resp;
}

RaftCmdpb__Response *cmd_resp_add(RaftCmdpb__RaftCmdResponse *resp, RaftCmdpb__CmdType type)
{
    resp->responses = xrealloc(resp->responses, (resp->n_responses + 1) * sizeof(void *));
    RaftCmdpb__Response *r = xmalloc(sizeof(*r));
    raft_cmdpb__response__init(r);
    r->cmd_type = type;
    switch (type) {
    case RAFT_CMDPB__CMD_TYPE__CMD_GET:
        r->get = xmalloc(sizeof(*r->get));
        raft_cmdpb__get_response__init(r->get);
        break;
    case RAFT_CMDPB__CMD_TYPE__CMD_PUT:
        r->put = xmalloc(sizeof(*r->put));
        raft_cmdpb__put_response__init(r->put);
        break;
    case RAFT_CMDPB__CMD_TYPE__CMD_DELETE:
        r->delete_ = xmalloc(sizeof(*r->delete_));
        raft_cmdpb__delete_response__init(r->delete_);
        break;
    case RAFT_CMDPB__CMD_TYPE__CMD_SNAP:
        r->snap = xmalloc(sizeof(*r->snap));
        raft_cmdpb__snap_response__init(r->snap);
        break;
    default:
        break;
    }
    resp->responses[resp->n_responses++] = r;
    return r;
}

static Errorpb__Error *set_error(RaftCmdpb__RaftCmdResponse *resp, const char *msg)
{
    Errorpb__Error *e = xmalloc(sizeof(*e));
    errorpb__error__init(e);
    e->message = strdup(msg);
    resp->header->error = e;
    return e;
}

RaftCmdpb__RaftCmdResponse *cmd_resp_not_leader(uint64_t region_id, const Metapb__Peer *leader,
                                                uint64_t term)
{
    RaftCmdpb__RaftCmdResponse *resp = cmd_resp_new(term);
    Errorpb__Error *e = set_error(resp, "not leader");
    e->not_leader = xmalloc(sizeof(*e->not_leader));
    errorpb__not_leader__init(e->not_leader);
    e->not_leader->region_id = region_id;
    if (leader != NULL) {
        e->not_leader->leader = xmalloc(sizeof(Metapb__Peer));
        metapb__peer__init(e->not_leader->leader);
        e->not_leader->leader->id = leader->id;
        e->not_leader->leader->store_id = leader->store_id;
    }
    return resp;
}

RaftCmdpb__RaftCmdResponse *cmd_resp_stale(uint64_t term, const char *why)
{
    RaftCmdpb__RaftCmdResponse *resp = cmd_resp_new(term);
    Errorpb__Error *e = set_error(resp, why);
    e->stale_command = xmalloc(sizeof(*e->stale_command));
    errorpb__stale_command__init(e->stale_command);
    return resp;
}

RaftCmdpb__RaftCmdResponse *cmd_resp_region_not_found(uint64_t region_id)
{
    RaftCmdpb__RaftCmdResponse *resp = cmd_resp_new(0);
    Errorpb__Error *e = set_error(resp, "region not found");
    e->region_not_found = xmalloc(sizeof(*e->region_not_found));
    errorpb__region_not_found__init(e->region_not_found);
    e->region_not_found->region_id = region_id;
    return resp;
}

RaftCmdpb__RaftCmdResponse *cmd_resp_error(uint64_t term, const char *msg)
{
    RaftCmdpb__RaftCmdResponse *resp = cmd_resp_new(term);
    set_error(resp, msg);
    return resp;
}

const Errorpb__Error *cmd_resp_region_error(const RaftCmdpb__RaftCmdResponse *resp)
{
    return resp->header != NULL ? resp->header->error : NULL;
}
