/*
 * httpc.h — a minimal HTTP/1.1 client over loopback for the adapter and
 * end-to-end tests: one connection per request, read until the server
 * closes. Real sockets, no library in between.
 */
#ifndef DI_TEST_HTTPC_H
#define DI_TEST_HTTPC_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct t_resp {
    int status;       /* -1: no answer */
    char *head;       /* the status line and headers (talloc, NULL ctx) */
    char *body;       /* NUL-terminated (talloc, NULL ctx) */
    size_t len;
} t_resp;

/* Send one request; headers: "Name: value\r\n" lines or NULL. Returns 0 and
 * fills out (free with t_resp_free), or -1 when no answer came. */
int t_http(uint16_t port, const char *method, const char *path,
           const char *headers, const char *body, t_resp *out);
void t_resp_free(t_resp *r);
/* The value of a response header (case-insensitive), copied into buf. */
const char *t_resp_header(const t_resp *r, const char *name, char *buf,
                          size_t n);

/* CUnit: the response has header name with the value want (an absent
 * header fails the assertion, it does not crash the suite). */
#define T_HEADER_IS(r, name, want)                                        \
    do {                                                                  \
        char t_hv_[256];                                                  \
        const char *t_v_ = t_resp_header((r), (name), t_hv_, sizeof t_hv_); \
        CU_ASSERT_STRING_EQUAL(t_v_ ? t_v_ : "(absent)", (want));         \
    } while (0)

/* Connect and send raw bytes; returns the socket (or -1). */
int t_http_send_raw(uint16_t port, const char *raw);
/* Close a socket with a reset (SO_LINGER 0): the peer sees the client vanish. */
void t_http_reset(int fd);

/* Open `idle` connections from 127.0.0.1 that send `half` (a request's
 * first lines, never finished), then send "GET path" from 127.0.0.2 and
 * time its answer (up to 5 s). Returns the answer's status (0: none), or
 * -2 when this process may not open that many files (the caller prints a
 * SKIP). *opened: how many idle connections were made; *ms: the wait. */
int t_idle_then_request(uint16_t port, int idle, const char *half,
                        const char *path, int *opened, double *ms);

/* Wait until *counter reaches want (polling, up to ms); 1 if it did. */
int t_wait_for(atomic_int *counter, int want, int ms);

#endif
