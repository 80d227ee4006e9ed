/*
 * civetweb.c — the civetweb adapter: one catch-all request handler runs a
 * request from begin to end on its worker thread; dispatch settles it
 * before the answer is written.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <talloc.h>

#include "fault.h" /* test builds: allocation failure injection */

#include "di/civetweb.h"

struct di_civetweb {
    struct mg_context *ctx;
    di_http *h;
    uint16_t port;
};

static const char *lookup(void *ctx, int what, const char *name)
{
    return what == DI_HTTP_LOOKUP_HEADER ? mg_get_header(ctx, name) : NULL;
}

/* The target for the router, query included. With "decode_url" off (as
 * di_civetweb_start() sets it) civetweb hands the path as the client sent
 * it, and the router decodes it — and refuses an encoded NUL or '/' in it;
 * otherwise civetweb has decoded it already, and it is encoded again. */
static char *target_of(struct mg_connection *conn,
                       const struct mg_request_info *ri)
{
    const char *decode = mg_get_option(mg_get_context(conn), "decode_url");
    const char *path = ri->local_uri_raw ? ri->local_uri_raw : ri->request_uri;
    char *t;
    if (decode && strcmp(decode, "no") == 0) {
        t = talloc_strdup(NULL, path ? path : "/");
    } else {
        t = talloc_strdup(NULL, "");
        for (const char *p = path ? path : "/"; t && *p; p++)
            t = *p == '%' || *p == '?' || *p == '#'
                    ? talloc_asprintf_append(t, "%%%02X", (unsigned char)*p)
                    : talloc_asprintf_append(t, "%c", *p);
    }
    if (t && ri->query_string)
        t = talloc_asprintf_append(t, "?%s", ri->query_string);
    return t;
}

/* Refuse, before anything is resolved, what civetweb lets through and a
 * server must not serve: conflicting Content-Length headers, an HTTP/1.1
 * request without Host. (civetweb refuses a NUL in a header itself.) */
static void check_heads(const struct mg_request_info *ri, di_http_req *r)
{
    const char *length = NULL;
    bool host = false;
    for (int i = 0; i < ri->num_headers; i++) {
        const struct mg_header *h = &ri->http_headers[i];
        if (strcasecmp(h->name, "Host") == 0)
            host = true;
        if (strcasecmp(h->name, "Content-Length") == 0) {
            if (length && strcmp(length, h->value) != 0)
                di_http_reject(r, 400, "conflicting Content-Length headers");
            length = h->value;
        }
    }
    if (!host && ri->http_version && strcmp(ri->http_version, "1.1") == 0)
        di_http_reject(r, 400, "an HTTP/1.1 request needs a Host header");
}

/* Read the whole body; false when it did not all arrive. A part the router
 * cannot keep (out of memory) is remembered there: dispatch answers 500. */
static bool read_body(struct mg_connection *conn, di_http_req *r,
                      long long expect)
{
    char buf[8192];
    long long got = 0;
    while (expect < 0 || got < expect) {
        int n = mg_read(conn, buf, sizeof buf);
        if (n < 0)
            return false;
        if (n == 0)
            return expect < 0; /* unknown length: EOF ends it */
        di_http_append_body(r, buf, (size_t)n);
        got += n;
    }
    return true;
}

static bool write_all(struct mg_connection *conn, const char *p, size_t n)
{
    while (n) {
        int w = mg_write(conn, p, n);
        if (w <= 0)
            return false;
        p += w;
        n -= (size_t)w;
    }
    return true;
}

static bool respond(struct mg_connection *conn, di_http_req *r)
{
    size_t len;
    const char *body = di_http_response(r, &len);
    int status = di_http_status(r);
    char *head = talloc_asprintf(NULL, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                                 "Content-Length: %zu\r\n"
                                 "Connection: close\r\n", status,
                                 mg_get_response_code_text(conn, status),
                                 di_http_content_type(r), len);
    const char *name, *value;
    for (size_t i = 0; head && di_http_response_header(r, i, &name, &value); i++)
        head = talloc_asprintf_append(head, "%s: %s\r\n", name, value);
    if (head)
        head = talloc_asprintf_append(head, "\r\n");
    bool ok = head && write_all(conn, head, strlen(head)) &&
              write_all(conn, body, len);
    talloc_free(head);
    return ok;
}

int di_civetweb_handler(struct mg_connection *conn, void *cbdata)
{
    const struct mg_request_info *ri = mg_get_request_info(conn);
    char *target = target_of(conn, ri);
    di_http_req *r;
    if (!target || di_http_begin(cbdata, ri->request_method, target, lookup,
                                 conn, &r) != 0) {
        talloc_free(target);
        mg_send_http_error(conn, 503, "%s", "cannot begin the request");
        return 503;
    }
    talloc_free(target);
    check_heads(ri, r);
    bool delivered = false, complete;
    int status = 0;
    if (ri->content_length > 0 &&
        di_http_content_length(r, (unsigned long long)ri->content_length)) {
        /* refused before a byte of the body is read (civetweb sends "100
         * Continue" only from mg_read): the connection cannot be reused */
        mg_disable_connection_keep_alive(conn);
        complete = true;
    } else {
        complete = read_body(conn, r, ri->content_length);
    }
    if (complete) {
        di_http_dispatch(r); /* settled inside: the answer is final */
        status = di_http_status(r);
        delivered = respond(conn, r);
    }
    /* not dispatched: settled here as abandoned; a failure is logged by
     * the router with its path */
    di_http_end(r, delivered);
    return status ? status : 500;
}

static int destructor(di_civetweb *s)
{
    if (s->ctx) {
        mg_stop(s->ctx);
        mg_exit_library();
    }
    s->ctx = NULL;
    return 0;
}

int di_civetweb_start(void *mem, di_http *h, const di_civetweb_options *o,
                      di_civetweb **out)
{
    if (!h || !out)
        return DI_EINVAL;
    *out = NULL;
    di_civetweb_options none = { 0 };
    if (!o)
        o = &none;
    if (!di_container_sealed(di_http_container(h)))
        return DI_ENOTSEALED;
    if (o->address && strpbrk(o->address, ",:[] "))
        return DI_EINVAL;
    di_civetweb *s = talloc_zero(mem, di_civetweb);
    char ports[80], threads[16], timeout[24];
    if (!s)
        return DI_ENOMEM;
    snprintf(ports, sizeof ports, "%s%s%u", o->address ? o->address : "",
             o->address ? ":" : "", o->port);
    snprintf(threads, sizeof threads, "%u", o->threads ? o->threads : 8);
    snprintf(timeout, sizeof timeout, "%u",
             (o->timeout_s ? o->timeout_s : 30) * 1000);
    const char *options[] = { "listening_ports", ports, "num_threads", threads,
                              "request_timeout_ms", timeout,
                              "decode_url", "no", NULL };
    mg_init_library(0);
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    s->ctx = mg_start(&cb, NULL, options);
    if (!s->ctx) {
        mg_exit_library();
        talloc_free(s);
        return DI_EBUSY;
    }
    talloc_set_destructor(s, destructor);
    s->h = h;
    mg_set_request_handler(s->ctx, "/", di_civetweb_handler, h);
    struct mg_server_port sp[4];
    int n = mg_get_server_ports(s->ctx, 4, sp);
    s->port = n > 0 ? (uint16_t)sp[0].port : o->port;
    *out = s;
    return 0;
}

uint16_t di_civetweb_port(const di_civetweb *s) { return s ? s->port : 0; }

struct mg_context *di_civetweb_context(const di_civetweb *s)
{
    return s ? s->ctx : NULL;
}

int di_civetweb_stop(di_civetweb *s)
{
    if (!s)
        return DI_EINVAL;
    talloc_free(s);
    return 0;
}

int di_civetweb_shutdown(di_civetweb *s, unsigned timeout_ms)
{
    if (!s)
        return DI_EINVAL;
    long left = di_http_drain(s->h, timeout_ms);
    talloc_free(s);
    return left > INT_MAX ? INT_MAX : (int)left;
}
