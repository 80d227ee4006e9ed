/*
 * mhd.c — the libmicrohttpd adapter: MHD's access handler and completion
 * notification mapped onto di_http_begin/dispatch/end; dispatch settles the
 * request before its answer is queued.
 */
#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <talloc.h>
#include <unistd.h>

#include "fault.h" /* test builds: allocation failure injection */

#include "di/mhd.h"

struct di_mhd {
    struct MHD_Daemon *daemon;
    di_http *h;
    uint16_t port;
};

static const char *lookup(void *ctx, int what, const char *name)
{
    return MHD_lookup_connection_value(ctx, what == DI_HTTP_LOOKUP_HEADER
                                                ? MHD_HEADER_KIND
                                                : MHD_GET_ARGUMENT_KIND,
                                       name);
}

static enum MHD_Result send_response(struct MHD_Connection *conn,
                                     di_http_req *r)
{
    size_t len;
    const char *body = di_http_response(r, &len);
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            di_http_content_type(r));
    const char *name, *value;
    for (size_t i = 0; di_http_response_header(r, i, &name, &value); i++)
        MHD_add_response_header(resp, name, value);
    enum MHD_Result ret = MHD_queue_response(conn,
                                             (unsigned)di_http_status(r), resp);
    MHD_destroy_response(resp);
    return ret;
}

/* An answer without a request to hold it (none could begin). */
static enum MHD_Result send_plain(struct MHD_Connection *conn, unsigned status)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp)
        return MHD_NO;
    enum MHD_Result ret = MHD_queue_response(conn, status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* One request as MHD holds it (*req_cls): the target as the client sent
 * it, then the router's request. */
typedef struct mhd_req {
    di_http_req *r;
    char target[];
} mhd_req;

static mhd_req *req_new(const char *target)
{
    size_t n = strlen(target) + 1;
    mhd_req *q = talloc_size(NULL, sizeof *q + n);
    if (q) {
        q->r = NULL;
        memcpy(q->target, target, n);
    }
    return q;
}

void *di_mhd_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    return req_new(uri);
}

/* What the headers say that MHD lets through and a server must not serve. */
typedef struct heads {
    const char *length;  /* the first Content-Length */
    bool conflict, nul, host;
} heads;

static enum MHD_Result look(void *cls, enum MHD_ValueKind kind,
                            const char *key, size_t key_size,
                            const char *value, size_t value_size)
{
    (void)kind;
    heads *hs = cls;
    if (memchr(key, '\0', key_size) || (value && memchr(value, '\0',
                                                        value_size)))
        hs->nul = true;
    if (strcasecmp(key, "Host") == 0)
        hs->host = true;
    if (strcasecmp(key, "Content-Length") == 0) {
        if (hs->length && strcmp(hs->length, value ? value : "") != 0)
            hs->conflict = true;
        hs->length = value ? value : "";
    }
    return MHD_YES;
}

/* Refuse, before anything is resolved, what the headers must not carry. */
static void check_heads(struct MHD_Connection *conn, di_http_req *r,
                        const char *version)
{
    heads hs = { 0 };
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, look, &hs);
    if (hs.nul)
        di_http_reject(r, 400, "a header holds a NUL character");
    else if (hs.conflict)
        di_http_reject(r, 400, "conflicting Content-Length headers");
    else if (!hs.host && version && strcmp(version, "HTTP/1.1") == 0)
        di_http_reject(r, 400, "an HTTP/1.1 request needs a Host header");
}

/* The headers are in: begin the request, let the router watch the socket,
 * and refuse a body announced too large before reading any of it (an
 * answer queued now also keeps MHD from sending "100 Continue"). */
static enum MHD_Result start(di_http *h, struct MHD_Connection *conn,
                             const char *url, const char *method,
                             const char *version, void **req_cls)
{
    /* the target as sent (with its query) when di_mhd_uri() saw it, else
     * MHD's decoded path (queries then come from MHD) */
    mhd_req *q = *req_cls ? *req_cls : req_new(url);
    di_http_req *r;
    if (!q || di_http_begin(h, method, q->target, lookup, conn, &r) != 0) {
        if (q != *req_cls)
            talloc_free(q);
        return send_plain(conn, MHD_HTTP_SERVICE_UNAVAILABLE);
    }
    q->r = r;
    *req_cls = q;
    check_heads(conn, r, version);
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci)
        di_http_client_socket(r, ci->connect_fd);
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    char *end;
    unsigned long long n = cl ? strtoull(cl, &end, 10) : 0;
    if (cl && *end == '\0' && di_http_content_length(r, n) != 0) {
        di_http_dispatch(r);
        return send_response(conn, r);
    }
    return MHD_YES;
}

enum MHD_Result di_mhd_access(void *cls, struct MHD_Connection *conn,
                              const char *url, const char *method,
                              const char *version, const char *upload_data,
                              size_t *upload_data_size, void **req_cls)
{
    mhd_req *q = *req_cls;
    if (!q || !q->r)
        return start(cls, conn, url, method, version, req_cls);
    di_http_req *r = q->r;
    if (*upload_data_size) {
        /* a part that cannot be kept (out of memory) is remembered by the
         * router: dispatch then answers 500 without running the handler */
        di_http_append_body(r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* the scope is settled inside: the answer is final when it returns */
    di_http_dispatch(r);
    return send_response(conn, r);
}

void di_mhd_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
                      enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    mhd_req *q = *req_cls;
    if (!q)
        return;
    *req_cls = NULL;
    /* a settle that fails here (the request never reached its handler) is
     * logged by the router with its path */
    if (q->r)
        di_http_end(q->r, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
    talloc_free(q);
}

static int destructor(di_mhd *m)
{
    if (m->daemon)
        MHD_stop_daemon(m->daemon);
    m->daemon = NULL;
    return 0;
}

int di_mhd_start(void *mem, di_http *h, const di_mhd_options *o, di_mhd **out)
{
    if (!h || !out)
        return DI_EINVAL;
    *out = NULL;
    di_mhd_options none = { 0 };
    if (!o)
        o = &none;
    if (!di_container_sealed(di_http_container(h)))
        return DI_ENOTSEALED;
    struct sockaddr_in6 a6 = { 0 };
    struct sockaddr_in a4 = { 0 };
    const struct sockaddr *sa = NULL;
    /* ITC: for MHD_quiesce_daemon() (di_mhd_shutdown()) */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                     MHD_USE_ITC;
    if (o->address) {
        if (inet_pton(AF_INET, o->address, &a4.sin_addr) == 1) {
            a4.sin_family = AF_INET;
            a4.sin_port = htons(o->port);
            sa = (const struct sockaddr *)&a4;
        } else if (inet_pton(AF_INET6, o->address, &a6.sin6_addr) == 1) {
            a6.sin6_family = AF_INET6;
            a6.sin6_port = htons(o->port);
            sa = (const struct sockaddr *)&a6;
            flags |= MHD_USE_IPv6;
        } else {
            return DI_EINVAL;
        }
    }
    if (o->threads == 0)
        flags |= MHD_USE_THREAD_PER_CONNECTION;
    else
        flags |= MHD_USE_AUTO;
    di_mhd *m = talloc_zero(mem, di_mhd);
    if (!m)
        return DI_ENOMEM;
    struct MHD_OptionItem opts[] = {
        { MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)di_mhd_completed, h },
        { MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)di_mhd_uri, h },
        { MHD_OPTION_PER_IP_CONNECTION_LIMIT,
          (intptr_t)(o->per_address ? o->per_address : DI_MHD_PER_ADDRESS),
          NULL },
        { MHD_OPTION_CONNECTION_TIMEOUT,
          (intptr_t)(o->timeout_s ? o->timeout_s : DI_MHD_TIMEOUT), NULL },
        { sa ? MHD_OPTION_SOCK_ADDR : MHD_OPTION_END, 0, (void *)sa },
        { o->threads ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END,
          (intptr_t)o->threads, NULL },
        { MHD_OPTION_END, 0, NULL },
    };
    /* compact: drop the END placeholders in the middle */
    enum { NOPTS = sizeof opts / sizeof opts[0] };
    struct MHD_OptionItem list[NOPTS];
    size_t n = 0;
    for (size_t i = 0; i + 1 < NOPTS; i++)
        if (opts[i].option != MHD_OPTION_END)
            list[n++] = opts[i];
    list[n] = opts[NOPTS - 1];
    m->daemon = MHD_start_daemon(flags, o->port, NULL, NULL, di_mhd_access, h,
                                 MHD_OPTION_ARRAY, list, MHD_OPTION_END);
    if (!m->daemon) {
        talloc_free(m);
        return DI_EBUSY;
    }
    const union MHD_DaemonInfo *info =
        MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info ? info->port : o->port;
    m->h = h;
    talloc_set_destructor(m, destructor);
    *out = m;
    return 0;
}

uint16_t di_mhd_port(const di_mhd *m) { return m ? m->port : 0; }

struct MHD_Daemon *di_mhd_daemon(const di_mhd *m)
{
    return m ? m->daemon : NULL;
}

int di_mhd_stop(di_mhd *m)
{
    if (!m)
        return DI_EINVAL;
    talloc_free(m);
    return 0;
}

int di_mhd_shutdown(di_mhd *m, unsigned timeout_ms)
{
    if (!m)
        return DI_EINVAL;
    /* no new connection; the listening socket is closed after the stop
     * (MHD's threads may still look at it until then) */
    MHD_socket ls = MHD_quiesce_daemon(m->daemon);
    long left = di_http_drain(m->h, timeout_ms);
    talloc_free(m);
    if (ls != MHD_INVALID_SOCKET)
        close(ls);
    return left > INT_MAX ? INT_MAX : (int)left;
}
