/*
 * notes_proc.c — see notes_proc.h.
 */
#include "notes_proc.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <talloc.h>
#include <unistd.h>

#include "httpc.h"

int t_server_wait_line(t_server *s, const char *a, const char *b,
                       int timeout_ms)
{
    for (int waited = 0; waited < timeout_ms;) {
        char *nl;
        while ((nl = memchr(s->buf, '\n', s->len))) {
            *nl = '\0';
            size_t keep = strnlen(s->buf, sizeof s->last - 1);
            memcpy(s->last, s->buf, keep);
            s->last[keep] = '\0';
            size_t used = (size_t)(nl + 1 - s->buf);
            memmove(s->buf, nl + 1, s->len - used);
            s->len -= used;
            if (strstr(s->last, a))
                return 0;
            if (b && strstr(s->last, b))
                return 1;
        }
        if (s->len == sizeof s->buf)
            s->len = 0; /* a line longer than the buffer: drop it */
        struct pollfd p = { s->out, POLLIN, 0 };
        if (poll(&p, 1, 100) <= 0) {
            waited += 100;
            continue;
        }
        ssize_t n = read(s->out, s->buf + s->len, sizeof s->buf - s->len);
        if (n <= 0)
            return -1;
        s->len += (size_t)n;
    }
    return -1;
}

int t_server_spawn(t_server *s, char *const *argv, const char *const *env,
                   const char *err)
{
    int fds[2];
    memset(s, 0, sizeof *s);
    if (pipe(fds))
        return -1;
    s->pid = fork();
    if (s->pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        if (err) {
            int fd = open(err, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, 2);
                close(fd);
            }
        }
        for (size_t i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    s->out = fds[0];
    if (s->pid < 0) {
        close(s->out);
        s->pid = 0;
        return -1;
    }
    return 0;
}

int t_server_listening(t_server *s, int timeout_ms)
{
    static const char listening[] = "listening on http://127.0.0.1:";
    if (t_server_wait_line(s, listening, NULL, timeout_ms) == 0) {
        s->port = (uint16_t)atoi(strstr(s->last, listening) +
                                 sizeof listening - 1);
        return 0;
    }
    t_server_kill(s);
    return -1;
}

int t_server_start(t_server *s, char *const *argv, const char *const *env,
                   const char *err)
{
    if (t_server_spawn(s, argv, env, err))
        return -1;
    return t_server_listening(s, 60000);
}

int t_server_stop(t_server *s)
{
    kill(s->pid, SIGTERM);
    int st = -1;
    for (int i = 0; i < 600; i++) {
        char sink[512];
        struct pollfd p = { s->out, POLLIN, 0 };
        if (poll(&p, 1, 0) > 0 && read(s->out, sink, sizeof sink) < 0)
            break;
        int ws;
        if (waitpid(s->pid, &ws, WNOHANG) == s->pid) {
            st = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
            break;
        }
        usleep(100000);
    }
    if (st == -1) {
        fprintf(stderr, "the server did not exit within 60 s of SIGTERM\n");
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
    }
    close(s->out);
    s->pid = 0;
    return st;
}

void t_server_kill(t_server *s)
{
    kill(s->pid, SIGKILL);
    waitpid(s->pid, NULL, 0);
    close(s->out);
    s->out = -1;
    s->pid = 0;
}

int t_call(uint16_t port, const char *method, const char *path,
           const char *headers, const char *body, char **out)
{
    t_resp r;
    if (out)
        *out = NULL;
    if (t_http(port, method, path, headers, body, &r))
        return -1;
    int status = r.status;
    if (out)
        *out = talloc_steal(NULL, r.body), r.body = NULL;
    t_resp_free(&r);
    return status;
}

void t_notes_config(FILE *f, const char *backend, const char *pool_params)
{
    /* postgres-loop: the asynchronous kinds of the --loop server */
    bool loop = strcmp(backend, "postgres-loop") == 0;
    const char *b = loop ? "postgres" : backend;
    const char *read = strcmp(b, "postgres") == 0 ? "read_only" : "deferred";
    const char *pool = loop ? "async_pool" : "pool";
    const char *session = loop ? "async_session" : "session";
    const char *repo = loop ? "async" : b;
    fprintf(f, "{ \"plugins\": [\"%s\"], \"providers\": {\n"
            "  \"db\": { \"use\": \"%s.%s\", \"params\": { %s } },\n"
            "  \"session\": { \"use\": \"%s.%s\", \"deps\": "
            "{ \"pool\": \"db\" } },\n"
            "  \"read_session\": { \"use\": \"%s.%s\", \"deps\": "
            "{ \"pool\": \"db\" }, \"params\": { \"begin\": \"%s\" } },\n"
            "  \"repo\": { \"use\": \"notes.%s_repo\", \"deps\": "
            "{ \"session\": \"session\" } },\n"
            "  \"read_repo\": { \"use\": \"notes.%s_repo\", \"deps\": "
            "{ \"session\": \"read_session\" } } } }\n",
            b, b, pool, pool_params, b, session, b, session, read, repo, repo);
}

void t_remove_sqlite(const char *path)
{
    static const char *const sfx[] = { "", "-wal", "-shm", "-journal" };
    for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        remove(p);
    }
}
