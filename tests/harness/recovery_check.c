/*
 * The recovery check (recovery_check.h): the store's own log replayed into
 * a sorted list of the last write per key, then merged against the kv DB.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "project2-raft/raft/raft_pb.h"
#include "project2-raft/raftstore/keys.h"
#include "project2-raft/raftstore/pb_util.h"
#include "project2-raft/raftstore/peer.h"
#include "tests/harness/recovery_check.h"
#include "tests/harness/test.h"

typedef struct {
    int cf; /* index in cfs[] */
    tkv_buf_t key, value;
    int deleted;
    uint64_t seq; /* log order; the last write of a key wins */
    uint64_t index;
} write_t;

static const char *const cfs[] = { CF_DEFAULT, CF_LOCK, CF_WRITE };
#define N_CFS (sizeof(cfs) / sizeof(cfs[0]))

static int cf_index(const char *cf)
{
    if (cf == NULL || *cf == '\0')
        return 0;
    for (size_t i = 0; i < N_CFS; i++)
        if (strcmp(cf, cfs[i]) == 0)
            return (int)i;
    return -1;
}

static int by_cf_key_seq(const void *a, const void *b)
{
    const write_t *x = a, *y = b;
    if (x->cf != y->cf)
        return x->cf < y->cf ? -1 : 1;
    int c = slice_compare(buf_slice(&x->key), buf_slice(&y->key));
    if (c != 0)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq ? 1 : 0;
}

typedef struct {
    write_t *w;
    size_t n, cap;
} writes_t;

static void add_write(writes_t *ws, int cf, const ProtobufCBinaryData *key,
                      const ProtobufCBinaryData *value, uint64_t index)
{
    if (ws->n == ws->cap) {
        ws->cap = ws->cap ? 2 * ws->cap : 256;
        ws->w = realloc(ws->w, ws->cap * sizeof(*ws->w));
    }
    write_t *w = &ws->w[ws->n];
    memset(w, 0, sizeof(*w));
    w->cf = cf;
    buf_set(&w->key, key->data, key->len);
    if (value != NULL)
        buf_set(&w->value, value->data, value->len);
    w->deleted = value == NULL;
    w->seq = ws->n++;
    w->index = index;
}

/* The writes of one command, as the reference applies them: all or, if one
 * request is malformed or names an unknown column family, none. */
static void add_command(writes_t *ws, const RaftCmdpb__RaftCmdRequest *req, uint64_t index)
{
    if (req->admin_request != NULL)
        return;
    for (size_t i = 0; i < req->n_requests; i++) {
        const RaftCmdpb__Request *r = req->requests[i];
        const char *cf = NULL;
        if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_PUT && r->put != NULL)
            cf = r->put->cf;
        else if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_DELETE && r->delete_ != NULL)
            cf = r->delete_->cf;
        else if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_GET && r->get != NULL)
            cf = r->get->cf;
        else if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_SNAP)
            continue;
        else
            return;
        if (cf_index(cf) < 0)
            return;
    }
    for (size_t i = 0; i < req->n_requests; i++) {
        const RaftCmdpb__Request *r = req->requests[i];
        if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_PUT)
            add_write(ws, cf_index(r->put->cf), &r->put->key, &r->put->value, index);
        else if (r->cmd_type == RAFT_CMDPB__CMD_TYPE__CMD_DELETE)
            add_write(ws, cf_index(r->delete_->cf), &r->delete_->key, NULL, index);
    }
}

static void shown(tkv_buf_t *out, tkv_slice_t s)
{
    buf_append(out, "\"", 1);
    for (size_t i = 0; i < s.len && i < 40; i++) {
        char ch = (char)s.data[i];
        buf_append(out, (ch >= 0x20 && ch < 0x7f) ? &ch : "?", 1);
    }
    buf_append(out, "\"", 1);
}

static void writes_free(writes_t *ws)
{
    for (size_t i = 0; i < ws->n; i++) {
        buf_free(&ws->w[i].key);
        buf_free(&ws->w[i].value);
    }
    free(ws->w);
}

/* The last live write per key of `cf` from `at` on, skipping deletes and
 * superseded writes; returns its position or ws->n past the cf. */
static size_t next_live(const writes_t *ws, size_t at, int cf)
{
    while (at < ws->n && ws->w[at].cf == cf) {
        size_t last = at;
        while (last + 1 < ws->n && ws->w[last + 1].cf == cf &&
               slice_equal(buf_slice(&ws->w[last + 1].key), buf_slice(&ws->w[at].key)))
            last++;
        if (!ws->w[last].deleted)
            return last;
        at = last + 1;
    }
    return ws->n;
}

static size_t after_key(const writes_t *ws, size_t at)
{
    size_t i = at + 1;
    while (i < ws->n && ws->w[i].cf == ws->w[at].cf &&
           slice_equal(buf_slice(&ws->w[i].key), buf_slice(&ws->w[at].key)))
        i++;
    return i;
}

/* The last write of `key` in `cf` (deleted or not), or NULL. */
static const write_t *last_write(const writes_t *ws, int cf, tkv_slice_t key)
{
    const write_t *found = NULL;
    for (size_t i = 0; i < ws->n; i++)
        if (ws->w[i].cf == cf && slice_equal(buf_slice(&ws->w[i].key), key))
            found = &ws->w[i];
    return found;
}

static void fail_differ(int id, uint64_t applied, int cf, tkv_slice_t key, const tkv_slice_t *disk,
                        const writes_t *ws)
{
    tkv_buf_t m = TKV_BUF_INIT;
    shown(&m, key);
    const write_t *w = last_write(ws, cf, key);
    const char *lead = disk == NULL ? " is missing from the kv DB" : " holds ";
    buf_append(&m, lead, strlen(lead));
    if (disk != NULL)
        shown(&m, *disk);
    buf_append(&m, "", 1);
    char want[160] = "absent (no entry up to it writes the key)";
    if (w != NULL && w->deleted)
        snprintf(want, sizeof(want), "absent (deleted by entry %llu)",
                 (unsigned long long)w->index);
    else if (w != NULL)
        snprintf(want, sizeof(want), "what entry %llu put there", (unsigned long long)w->index);
    fail_msg("store %d restarted with region 1 applied up to %llu, but key %s (column family "
             "%s); entries up to %llu leave it %s. An entry's data and the new apply state "
             "must be written in one kv batch: data ahead of the apply state is applied twice "
             "after the restart, data behind it is lost",
             id, (unsigned long long)applied, (char *)m.data, cfs[cf], (unsigned long long)applied,
             want);
}

void recovery_check(store_t *s, int id)
{
    peer_t *p = store_peer(s, 1);
    if (p == NULL)
        return;
    const peer_storage_t *ps = peer_storage(p);
    if (ps->truncated_index != RAFT_INIT_LOG_INDEX)
        return;
    uint64_t applied = ps->applied_index;
    writes_t ws = { NULL, 0, 0 };
    for (uint64_t i = RAFT_INIT_LOG_INDEX + 1; i <= applied; i++) {
        tkv_buf_t key = TKV_BUF_INIT, val = TKV_BUF_INIT;
        keys_raft_log_key(&key, 1, i);
        tkv_err_t err = eng_get(store_raft_db(s), NULL, buf_slice(&key), &val);
        buf_free(&key);
        raft_entry_t e;
        memset(&e, 0, sizeof(e));
        if (err == TKV_OK)
            err = raft_pb_decode_entry(val.data, val.len, &e);
        buf_free(&val);
        if (err != TKV_OK)
            fail_msg("store %d restarted with region 1 applied up to %llu, but entry %llu is "
                     "not in its raft DB: %s (an entry is applied only once it is saved)",
                     id, (unsigned long long)applied, (unsigned long long)i, tkv_strerror(err));
        if (e.type == RAFT_ENTRY_NORMAL && e.len > 0) {
            RaftCmdpb__RaftCmdRequest *req =
                raft_cmdpb__raft_cmd_request__unpack(NULL, e.len, e.data);
            if (req != NULL)
                add_command(&ws, req, i);
            pb_free(req);
        }
        raft_entry_free(&e);
    }
    qsort(ws.w, ws.n, sizeof(*ws.w), by_cf_key_seq);
    size_t at = 0;
    for (int cf = 0; cf < (int)N_CFS; cf++) {
        eng_iter_t *it = eng_iter_new(store_kv_db(s), NULL, cfs[cf]);
        eng_iter_seek_first(it);
        while (at < ws.n && ws.w[at].cf < cf)
            at++;
        size_t want = next_live(&ws, at, cf);
        for (;;) {
            while (eng_iter_valid(it) && eng_iter_key(it).len > 0 &&
                   eng_iter_key(it).data[0] == KEYS_LOCAL_PREFIX)
                eng_iter_next(it); /* the store's own keys, not data */
            int have = eng_iter_valid(it), expect = want < ws.n;
            if (!have && !expect)
                break;
            int c = !have     ? 1
                    : !expect ? -1
                              : slice_compare(eng_iter_key(it), buf_slice(&ws.w[want].key));
            if (c > 0) {
                fail_differ(id, applied, cf, buf_slice(&ws.w[want].key), NULL, &ws);
                break;
            }
            if (c < 0 || !slice_equal(eng_iter_value(it), buf_slice(&ws.w[want].value))) {
                tkv_slice_t v = eng_iter_value(it);
                fail_differ(id, applied, cf, eng_iter_key(it), &v, &ws);
                break;
            }
            eng_iter_next(it);
            want = next_live(&ws, after_key(&ws, want), cf);
        }
        eng_iter_free(it);
        while (at < ws.n && ws.w[at].cf == cf)
            at++;
    }
    writes_free(&ws);
}
