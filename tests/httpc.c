/*
 * httpc.c — see httpc.h.
 */
#include "httpc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <limits.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <talloc.h>
#include <time.h>
#include <unistd.h>

int t_http_send_raw(uint16_t port, const char *raw)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = { 10, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    size_t n = strlen(raw), off = 0;
    while (off < n) {
        ssize_t w = send(fd, raw + off, n - off, MSG_NOSIGNAL);
        if (w <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)w;
    }
    return fd;
}

void t_http_reset(int fd)
{
    struct linger l = { 1, 0 };
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(fd);
}

int t_http(uint16_t port, const char *method, const char *path,
           const char *headers, const char *body, t_resp *out)
{
    memset(out, 0, sizeof *out);
    out->status = -1;
    char *req = talloc_asprintf(NULL, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                "Connection: close\r\n%sContent-Length: %zu"
                                "\r\n\r\n%s", method, path,
                                headers ? headers : "", body ? strlen(body) : 0,
                                body ? body : "");
    int fd = req ? t_http_send_raw(port, req) : -1;
    talloc_free(req);
    if (fd < 0)
        return -1;
    char *buf = talloc_size(NULL, 4096);
    size_t len = 0, cap = 4096;
    for (;;) {
        if (len + 1 >= cap) {
            cap *= 2;
            char *nb = cap < UINT_MAX ? talloc_realloc(NULL, buf, char,
                                                       (unsigned)cap) : NULL;
            if (!nb)
                break;
            buf = nb;
        }
        ssize_t r = recv(fd, buf + len, cap - len - 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    char *sep = strstr(buf, "\r\n\r\n");
    if (!sep || sscanf(buf, "HTTP/1.%*d %d", &out->status) != 1) {
        talloc_free(buf);
        out->status = -1;
        return -1;
    }
    out->head = talloc_strndup(NULL, buf, (size_t)(sep - buf) + 2);
    out->body = talloc_strdup(NULL, sep + 4);
    out->len = strlen(out->body);
    talloc_free(buf);
    return 0;
}

void t_resp_free(t_resp *r)
{
    talloc_free(r->head);
    talloc_free(r->body);
    r->head = r->body = NULL;
}

const char *t_resp_header(const t_resp *r, const char *name, char *buf,
                          size_t n)
{
    size_t nl = strlen(name);
    for (const char *p = r->head ? strstr(r->head, "\r\n") : NULL; p && p[2];
         p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            snprintf(buf, n, "%.*s", (int)(e ? e - v : (long)strlen(v)), v);
            return buf;
        }
    }
    return NULL;
}

int t_wait_for(atomic_int *counter, int want, int ms)
{
    for (int i = 0; i < ms; i++) {
        if (atomic_load(counter) >= want)
            return 1;
        struct timespec ts = { 0, 1000000 };
        nanosleep(&ts, NULL);
    }
    return atomic_load(counter) >= want;
}

int t_idle_then_request(uint16_t port, int idle, const char *half,
                        const char *path, int *opened, double *ms)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rlim_t need = (rlim_t)idle * 2 + 64; /* the server may be this process */
    if (rl.rlim_max < need)
        return -2;
    if (rl.rlim_cur < need) {
        rl.rlim_cur = need;
        /* refused under valgrind, which fixes the limit at start */
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            return -2;
    }
    int *fds = malloc((size_t)idle * sizeof *fds);
    *opened = 0;
    for (int i = 0; fds && i < idle; i++) {
        fds[i] = t_http_send_raw(port, half);
        *opened += fds[i] >= 0;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in me = { .sin_family = AF_INET }, to = me;
    me.sin_addr.s_addr = htonl(0x7f000002);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(port);
    char *req = talloc_asprintf(NULL, "GET %s HTTP/1.1\r\nHost: x\r\n"
                                "Connection: close\r\n\r\n", path);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int ok = req && fd >= 0 &&
             bind(fd, (struct sockaddr *)&me, sizeof me) == 0 &&
             connect(fd, (struct sockaddr *)&to, sizeof to) == 0;
    char got[64] = "";
    if (ok && write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
        struct pollfd pf = { fd, POLLIN, 0 };
        if (poll(&pf, 1, 5000) > 0 && read(fd, got, sizeof got - 1) < 0)
            got[0] = '\0';
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
          (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    talloc_free(req);
    if (fd >= 0)
        close(fd);
    for (int i = 0; fds && i < idle; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(fds);
    int status = 0;
    return sscanf(got, "HTTP/1.%*d %d", &status) == 1 ? status : 0;
}
