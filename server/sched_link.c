/*
 * The scheduler link (sched_link.h): a queue of requests, one thread that
 * sends them, an address book of stores.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/rpc_client.h"
#include "proto/schedulerpb.pb-c.h"
#include "server/sched_link.h"

#define QUEUE_MAX    4096
#define RECONNECT_MS 200
#define REFRESH_MS   3000
#define MAX_STORES   256

typedef struct req {
    struct req *next;
    uint64_t id;
    char method[32];
    size_t len;
    uint8_t data[];
} req_t;

typedef struct {
    uint64_t id;
    char addr[128];
} book_entry_t;

struct sched_link {
    char addr[256];
    int timeout_ms;
    sched_reply_fn reply;
    void *reply_arg;

    /* The connection, and when the last failed attempt was. */
    pthread_mutex_t call_mu;
    rpc_client_t *client;
    uint64_t failed_at_ms;

    /* The queue, the book and the thread's state. */
    pthread_mutex_t mu;
    pthread_cond_t cond;
    req_t *head, *tail;
    size_t n_queued;
    book_entry_t book[MAX_STORES];
    size_t n_book;
    int want_refresh;
    uint64_t refreshed_at_ms;
    int stop, started;
    pthread_t thread;
};

static uint64_t now_ms(void)
{
    return clock_now_ms(clock_real());
}

sched_link_t *sched_link_new(const char *addr, int timeout_ms)
{
    sched_link_t *l = xcalloc(1, sizeof(*l));
    snprintf(l->addr, sizeof(l->addr), "%s", addr);
    l->timeout_ms = timeout_ms;
    pthread_mutex_init(&l->call_mu, NULL);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cond, NULL);
    l->want_refresh = 1;
    return l;
}

/* The connection, made if needed. Called with call_mu held. */
static tkv_err_t connected(sched_link_t *l)
{
    if (l->client != NULL)
        return TKV_OK;
    uint64_t now = now_ms();
    if (l->failed_at_ms != 0 && now - l->failed_at_ms < RECONNECT_MS)
        return tkv_errorf(TKV_ERR_NET, "the scheduler at %s did not answer a moment ago", l->addr);
    tkv_err_t e = rpc_client_connect(l->addr, l->timeout_ms, &l->client);
    if (e != TKV_OK) {
        l->failed_at_ms = now;
        l->client = NULL;
        return e;
    }
    l->failed_at_ms = 0;
    return TKV_OK;
}

/* After an error the client gives its connection up (rpc_client.h). */
static void after_call(sched_link_t *l, tkv_err_t e)
{
    if (e == TKV_ERR_NET || e == TKV_ERR_TIMEOUT || e == TKV_ERR_CORRUPT || e == TKV_ERR_CLOSED) {
        rpc_client_close(l->client);
        l->client = NULL;
        l->failed_at_ms = now_ms();
    }
}

tkv_err_t sched_link_call(sched_link_t *l, const char *method, const ProtobufCMessage *req,
                          ProtobufCMessage **resp)
{
    *resp = NULL;
    pthread_mutex_lock(&l->call_mu);
    tkv_err_t e = connected(l);
    if (e == TKV_OK) {
        e = rpc_client_call(l->client, &schedulerpb__scheduler__descriptor, method, req, resp);
        after_call(l, e);
    }
    pthread_mutex_unlock(&l->call_mu);
    return e;
}

/* One queued request: its answer goes to the reply callback. */
static void send_one(sched_link_t *l, const req_t *r)
{
    Rpcpb__RpcFrame *frame = NULL;
    pthread_mutex_lock(&l->call_mu);
    tkv_err_t e = connected(l);
    if (e == TKV_OK) {
        e = rpc_client_call_raw(l->client, r->method, r->data, r->len, &frame);
        after_call(l, e);
    }
    pthread_mutex_unlock(&l->call_mu);
    if (e != TKV_OK) {
        tkv_logf(TKV_LOG_DEBUG, "sched-link", "%s dropped: %s", r->method, tkv_last_error());
        return;
    }
    if (frame->status == RPCPB__STATUS__STATUS_OK)
        l->reply(l->reply_arg, r->id, r->method, frame->payload.data, frame->payload.len);
    else
        tkv_logf(TKV_LOG_WARN, "sched-link", "%s failed: %s", r->method,
                 frame->error ? frame->error : "(no message)");
    rpcpb__rpc_frame__free_unpacked(frame, NULL);
}

/* Fills the book from GetAllStores. */
static void refresh(sched_link_t *l)
{
    Schedulerpb__GetAllStoresRequest req = SCHEDULERPB__GET_ALL_STORES_REQUEST__INIT;
    req.exclude_tombstone_stores = 1;
    Schedulerpb__GetAllStoresResponse *resp = NULL;
    tkv_err_t e = sched_link_call(l, "GetAllStores", &req.base, (ProtobufCMessage **)&resp);
    if (e != TKV_OK) {
        tkv_logf(TKV_LOG_DEBUG, "sched-link", "GetAllStores: %s", tkv_last_error());
        return;
    }
    pthread_mutex_lock(&l->mu);
    if (resp->header == NULL || resp->header->error == NULL) {
        l->n_book = 0;
        for (size_t i = 0; i < resp->n_stores && l->n_book < MAX_STORES; i++) {
            book_entry_t *b = &l->book[l->n_book++];
            b->id = resp->stores[i]->id;
            const Metapb__Store *st = resp->stores[i];
            /* Raft goes to the peer address; a store without one takes it
             * on its client address. */
            const char *a = st->peer_address != NULL && st->peer_address[0] != '\0'
                                ? st->peer_address
                            : st->address != NULL ? st->address
                                                  : "";
            snprintf(b->addr, sizeof(b->addr), "%s", a);
        }
    }
    l->refreshed_at_ms = now_ms();
    pthread_mutex_unlock(&l->mu);
    protobuf_c_message_free_unpacked(&resp->base, NULL);
}

static void *link_main(void *arg)
{
    sched_link_t *l = arg;
    pthread_mutex_lock(&l->mu);
    while (!l->stop) {
        if (l->head != NULL) {
            req_t *r = l->head;
            l->head = r->next;
            if (l->head == NULL)
                l->tail = NULL;
            l->n_queued--;
            pthread_mutex_unlock(&l->mu);
            send_one(l, r);
            free(r);
            pthread_mutex_lock(&l->mu);
            continue;
        }
        uint64_t now = now_ms();
        if (l->want_refresh || now - l->refreshed_at_ms >= REFRESH_MS) {
            l->want_refresh = 0;
            l->refreshed_at_ms = now;
            pthread_mutex_unlock(&l->mu);
            refresh(l);
            pthread_mutex_lock(&l->mu);
            continue;
        }
        /* Wait for work, or until the next refresh is due. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t wait_ms = REFRESH_MS - (now - l->refreshed_at_ms);
        ts.tv_sec += (time_t)(wait_ms / 1000);
        ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&l->cond, &l->mu, &ts);
    }
    pthread_mutex_unlock(&l->mu);
    return NULL;
}

tkv_err_t sched_link_start(sched_link_t *l, sched_reply_fn reply, void *arg)
{
    l->reply = reply;
    l->reply_arg = arg;
    if (pthread_create(&l->thread, NULL, link_main, l) != 0)
        return tkv_errorf(TKV_ERR_NOMEM, "cannot start the scheduler link's thread");
    l->started = 1;
    return TKV_OK;
}

void sched_link_submit(sched_link_t *l, uint64_t id, const char *method, const uint8_t *data,
                       size_t len)
{
    pthread_mutex_lock(&l->mu);
    if (l->stop || l->n_queued >= QUEUE_MAX) {
        pthread_mutex_unlock(&l->mu);
        tkv_logf(TKV_LOG_DEBUG, "sched-link", "%s dropped: the queue is full", method);
        return;
    }
    req_t *r = xmalloc(sizeof(*r) + len);
    r->next = NULL;
    r->id = id;
    snprintf(r->method, sizeof(r->method), "%s", method);
    r->len = len;
    if (len > 0)
        memcpy(r->data, data, len);
    if (l->tail != NULL)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->n_queued++;
    pthread_cond_signal(&l->cond);
    pthread_mutex_unlock(&l->mu);
}

tkv_err_t sched_link_resolve(void *link, uint64_t store_id, char *addr, size_t size)
{
    sched_link_t *l = link;
    tkv_err_t e = TKV_ERR_NOT_FOUND;
    pthread_mutex_lock(&l->mu);
    for (size_t i = 0; i < l->n_book; i++)
        if (l->book[i].id == store_id && l->book[i].addr[0] != '\0') {
            snprintf(addr, size, "%s", l->book[i].addr);
            e = TKV_OK;
        }
    /* A miss, or a (re)connect to a store that may have moved: look again
     * soon, at most once a second. */
    if (e != TKV_OK || now_ms() - l->refreshed_at_ms >= 1000) {
        l->want_refresh = 1;
        pthread_cond_signal(&l->cond);
    }
    pthread_mutex_unlock(&l->mu);
    if (e != TKV_OK)
        return tkv_errorf(TKV_ERR_NOT_FOUND, "the scheduler has no address for store %llu yet",
                          (unsigned long long)store_id);
    return TKV_OK;
}

void sched_link_stop(sched_link_t *l)
{
    if (l == NULL)
        return;
    pthread_mutex_lock(&l->mu);
    l->stop = 1;
    pthread_cond_signal(&l->cond);
    pthread_mutex_unlock(&l->mu);
    if (l->started) {
        pthread_join(l->thread, NULL);
        l->started = 0;
    }
}

void sched_link_free(sched_link_t *l)
{
    if (l == NULL)
        return;
    sched_link_stop(l);
    while (l->head != NULL) {
        req_t *r = l->head;
        l->head = r->next;
        free(r);
    }
    rpc_client_close(l->client);
    pthread_mutex_destroy(&l->call_mu);
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cond);
    free(l);
}
