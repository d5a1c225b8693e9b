/*
 * The blocking client of rpc_client.h. The socket is non-blocking and every
 * wait is a poll() bounded by the call's deadline, so that neither connect()
 * nor a silent server can hold the caller longer than the timeout.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/buf.h"
#include "common/clock.h"
#include "common/rpc_client.h"
#include "common/rpc_frame.h"

struct rpc_client {
    int fd; /* -1 once given up */
    char addr[300];
    int timeout_ms;
    uint64_t next_call_id;
    Rpcpb__Status last_status;
    rpc_decoder_t dec;
};

/* strerror() with a lower-case first letter, to sit inside a sentence. */
static const char *errno_text(int err, char *buf, size_t size)
{
    snprintf(buf, size, "%s", strerror(err));
    if (buf[0] != '\0')
        buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}

/* Milliseconds left before `deadline` (0: none) for poll(): -1 waits forever. */
static int ms_left(uint64_t deadline)
{
    if (deadline == 0)
        return -1;
    uint64_t now = clock_now_ms(clock_real());
    return now >= deadline ? 0 : (int)(deadline - now);
}

static uint64_t deadline_after(int timeout_ms)
{
    return timeout_ms > 0 ? clock_now_ms(clock_real()) + (uint64_t)timeout_ms : 0;
}

/* Waits until fd is ready for `events`. 1: ready; 0: deadline passed; -1: errno. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
    for (;;) {
        struct pollfd p = { fd, events, 0 };
        int r = poll(&p, 1, ms_left(deadline));
        if (r < 0 && errno == EINTR)
            continue;
        return r;
    }
}

/* Splits "host:port" / "[v6]:port" (cli.h), with the port as text for
 * getaddrinfo(). A client cannot connect to port 0. */
static tkv_err_t parse_addr(const char *addr, char *host, size_t hsize, char *port, size_t psize)
{
    int p = 0;
    if (cli_split_addr(addr, host, hsize, &p) != 0 || p == 0)
        return tkv_errorf(TKV_ERR_INVALID, "address '%s' is not host:port with a port in 1..65535",
                          addr);
    snprintf(port, psize, "%d", p);
    return TKV_OK;
}

/* One connect attempt to one resolved address; returns the fd or -1 with a
 * tkv error recorded in *e. */
static int connect_one(const struct addrinfo *ai, const char *addr, uint64_t deadline,
                       int timeout_ms, tkv_err_t *e)
{
    char ebuf[128];
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) {
        *e = tkv_errorf(TKV_ERR_NET, "cannot connect to %s: %s", addr,
                        errno_text(errno, ebuf, sizeof(ebuf)));
        return -1;
    }
    int err = 0;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
        err = errno;
        if (err == EINPROGRESS) {
            int r = wait_fd(fd, POLLOUT, deadline);
            if (r == 0) {
                close(fd);
                *e = tkv_errorf(TKV_ERR_TIMEOUT, "cannot connect to %s: no answer in %d ms", addr,
                                timeout_ms);
                return -1;
            }
            socklen_t len = sizeof(err);
            if (r < 0)
                err = errno;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
                err = errno;
        }
    }
    if (err != 0) {
        close(fd);
        *e = tkv_errorf(TKV_ERR_NET, "cannot connect to %s: %s", addr,
                        errno_text(err, ebuf, sizeof(ebuf)));
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

tkv_err_t rpc_client_connect(const char *addr, int timeout_ms, rpc_client_t **out)
{
    *out = NULL;
    char host[256], port[16];
    tkv_err_t e = parse_addr(addr, host, sizeof(host), port, sizeof(port));
    if (e != TKV_OK)
        return e;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0)
        return tkv_errorf(TKV_ERR_NET, "cannot connect to %s: %s", addr, gai_strerror(g));
    uint64_t deadline = deadline_after(timeout_ms);
    int fd = -1;
    e = TKV_ERR_NET;
    for (const struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = connect_one(ai, addr, deadline, timeout_ms, &e);
        if (e == TKV_ERR_TIMEOUT)
            break;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return e;
    rpc_client_t *c = xcalloc(1, sizeof(*c));
    c->fd = fd;
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    c->timeout_ms = timeout_ms;
    c->next_call_id = 1;
    c->last_status = RPCPB__STATUS__STATUS_OK;
    rpc_decoder_init(&c->dec);
    *out = c;
    return TKV_OK;
}

/* Gives the connection up after an error that may have left it out of step. */
static tkv_err_t give_up(rpc_client_t *c, tkv_err_t code)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    return code;
}

static tkv_err_t send_all(rpc_client_t *c, const uint8_t *p, size_t len, uint64_t deadline)
{
    char ebuf[128];
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int r = wait_fd(c->fd, POLLOUT, deadline);
            if (r == 0)
                return give_up(c, tkv_errorf(TKV_ERR_TIMEOUT, "call to %s: could not send in %d ms",
                                             c->addr, c->timeout_ms));
            if (r < 0)
                return give_up(c, tkv_errorf(TKV_ERR_NET, "call to %s: %s", c->addr,
                                             errno_text(errno, ebuf, sizeof(ebuf))));
            continue;
        }
        return give_up(c, tkv_errorf(TKV_ERR_NET, "call to %s: send failed: %s", c->addr,
                                     errno_text(errno, ebuf, sizeof(ebuf))));
    }
    return TKV_OK;
}

/* Reads until the reply to `call_id` is decoded. */
static tkv_err_t recv_reply(rpc_client_t *c, uint64_t call_id, uint64_t deadline,
                            Rpcpb__RpcFrame **reply)
{
    char ebuf[128];
    uint8_t chunk[64 * 1024];
    for (;;) {
        Rpcpb__RpcFrame *f = NULL;
        if (rpc_decoder_next(&c->dec, &f) != TKV_OK)
            return give_up(
                c, tkv_errorf(TKV_ERR_CORRUPT, "bad reply from %s: %s", c->addr, tkv_last_error()));
        if (f != NULL) {
            /* call_id 0 with an error status: the server could not read
             * our stream (STATUS_BAD_FRAME) and is closing it. */
            if (f->call_id == call_id ||
                (f->call_id == 0 && f->status != RPCPB__STATUS__STATUS_OK)) {
                *reply = f;
                return TKV_OK;
            }
            /* Not ours (cannot happen with one call at a time): skip it. */
            rpcpb__rpc_frame__free_unpacked(f, NULL);
            continue;
        }
        int r = wait_fd(c->fd, POLLIN, deadline);
        if (r == 0)
            return give_up(c, tkv_errorf(TKV_ERR_TIMEOUT, "call to %s: no reply in %d ms", c->addr,
                                         c->timeout_ms));
        if (r < 0)
            return give_up(c, tkv_errorf(TKV_ERR_NET, "call to %s: %s", c->addr,
                                         errno_text(errno, ebuf, sizeof(ebuf))));
        ssize_t n = recv(c->fd, chunk, sizeof(chunk), 0);
        if (n > 0) {
            rpc_decoder_feed(&c->dec, chunk, (size_t)n);
        } else if (n == 0) {
            return give_up(c, tkv_errorf(TKV_ERR_NET,
                                         "call to %s: the server closed the "
                                         "connection",
                                         c->addr));
        } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
            return give_up(c, tkv_errorf(TKV_ERR_NET, "call to %s: %s", c->addr,
                                         errno_text(errno, ebuf, sizeof(ebuf))));
        }
    }
}

tkv_err_t rpc_client_call_raw(rpc_client_t *c, const char *method, const uint8_t *payload,
                              size_t len, Rpcpb__RpcFrame **reply)
{
    *reply = NULL;
    if (c->fd < 0)
        return tkv_errorf(TKV_ERR_CLOSED, "connection to %s was given up after an earlier error",
                          c->addr);
    Rpcpb__RpcFrame f = RPCPB__RPC_FRAME__INIT;
    f.call_id = c->next_call_id++;
    f.method = (char *)method;
    f.payload.data = (uint8_t *)payload;
    f.payload.len = len;
    tkv_buf_t out = TKV_BUF_INIT;
    tkv_err_t e = rpc_frame_encode(&f, &out);
    if (e != TKV_OK)
        return e; /* nothing was sent: the connection is still good */
    uint64_t deadline = deadline_after(c->timeout_ms);
    e = send_all(c, out.data, out.len, deadline);
    buf_free(&out);
    if (e != TKV_OK)
        return e;
    e = recv_reply(c, f.call_id, deadline, reply);
    if (e != TKV_OK)
        return e;
    c->last_status = (*reply)->status;
    if ((*reply)->status == RPCPB__STATUS__STATUS_BAD_FRAME)
        give_up(c, TKV_OK); /* the server closes the stream after saying so */
    return TKV_OK;
}

static tkv_err_t status_error(const rpc_client_t *c, const Rpcpb__RpcFrame *rep)
{
    const char *msg = rep->error != NULL && rep->error[0] != '\0' ? rep->error : "no message";
    switch (rep->status) {
    case RPCPB__STATUS__STATUS_UNKNOWN_METHOD:
    case RPCPB__STATUS__STATUS_BAD_REQUEST:
        return tkv_errorf(TKV_ERR_INVALID, "%s refused %s: %s", c->addr, rep->method, msg);
    case RPCPB__STATUS__STATUS_BAD_FRAME:
        return tkv_errorf(TKV_ERR_CORRUPT, "%s could not decode our frame: %s", c->addr, msg);
    default:
        return tkv_errorf(TKV_ERR_IO, "server error at %s: %s", c->addr, msg);
    }
}

tkv_err_t rpc_client_call(rpc_client_t *c, const ProtobufCServiceDescriptor *service,
                          const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp)
{
    *resp = NULL;
    const ProtobufCMethodDescriptor *md =
        protobuf_c_service_descriptor_get_method_by_name(service, method);
    if (md == NULL)
        return tkv_errorf(TKV_ERR_INVALID, "no method '%s' in service %s", method, service->name);
    if (req->descriptor != md->input)
        return tkv_errorf(TKV_ERR_INVALID, "%s takes a %s, not a %s", method, md->input->name,
                          req->descriptor->name);
    size_t len = protobuf_c_message_get_packed_size(req);
    uint8_t *payload = xmalloc(len ? len : 1);
    protobuf_c_message_pack(req, payload);
    Rpcpb__RpcFrame *rep = NULL;
    tkv_err_t e = rpc_client_call_raw(c, md->name, payload, len, &rep);
    free(payload);
    if (e != TKV_OK)
        return e;
    if (rep->status != RPCPB__STATUS__STATUS_OK) {
        e = status_error(c, rep);
        rpcpb__rpc_frame__free_unpacked(rep, NULL);
        return e;
    }
    *resp = protobuf_c_message_unpack(md->output, NULL, rep->payload.len, rep->payload.data);
    size_t plen = rep->payload.len;
    rpcpb__rpc_frame__free_unpacked(rep, NULL);
    if (*resp == NULL)
        return tkv_errorf(TKV_ERR_CORRUPT, "reply of %zu bytes from %s to %s is not a %s", plen,
                          c->addr, method, md->output->name);
    return TKV_OK;
}

Rpcpb__Status rpc_client_last_status(const rpc_client_t *c)
{
    return c->last_status;
}

void rpc_client_close(rpc_client_t *c)
{
    if (c == NULL)
        return;
    if (c->fd >= 0)
        close(c->fd);
    rpc_decoder_free(&c->dec);
    free(c);
}
