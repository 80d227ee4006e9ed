/*
 * notes_proc.h — the notes server as a process, for the end-to-end suites:
 * start it (with a wrapper such as valgrind, extra environment, stderr to a
 * file), wait for lines it prints, stop it with SIGTERM or kill it with
 * SIGKILL, and call it over loopback.
 */
#ifndef DI_TEST_NOTES_PROC_H
#define DI_TEST_NOTES_PROC_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

typedef struct t_server {
    pid_t pid;          /* 0: not running */
    int out;            /* its stdout */
    uint16_t port;      /* from "listening on http://127.0.0.1:PORT" */
    char buf[8192];     /* what is left of the last read */
    size_t len;
    char last[512];     /* the last whole line read */
} t_server;

/* Start argv (NULL-terminated) and wait (up to 60 s) for its "listening on"
 * line. env: "NAME=value" strings to set in the child (NULL-terminated, or
 * NULL); err: a file for its stderr (NULL: this process's stderr). 0 with
 * s->port set, or -1 (the process is reaped; the last line it printed is
 * in s->last). */
int t_server_start(t_server *s, char *const *argv, const char *const *env,
                   const char *err);
/* The two halves of t_server_start(), to start several at once: spawn
 * (0, or -1 when it cannot fork), then wait for each to listen (0 with
 * s->port set, or -1: the process is reaped). */
int t_server_spawn(t_server *s, char *const *argv, const char *const *env,
                   const char *err);
int t_server_listening(t_server *s, int timeout_ms);
/* Read its stdout until a line contains a or b (b may be NULL): 0 for a, 1
 * for b, -1 after timeout_ms or at its end. The line is left in s->last. */
int t_server_wait_line(t_server *s, const char *a, const char *b,
                       int timeout_ms);
/* SIGTERM, then its exit status (128 + signal when killed; -1 if it did not
 * exit within 60 s: then it is killed). */
int t_server_stop(t_server *s);
/* SIGKILL and reap it. */
void t_server_kill(t_server *s);

/* Write the notes config for backend ("sqlite", "postgres", or
 * "postgres-loop": the asynchronous kinds of notes --loop) to f, with
 * the pool's params (the members of a JSON object, e.g. "\"path\": \"x.db\"")
 * and the same wiring as examples/notes: a read-write "session" and "repo",
 * a read "read_session" and "read_repo". */
void t_notes_config(FILE *f, const char *backend, const char *pool_params);

/* Remove a SQLite database and its journal files. */
void t_remove_sqlite(const char *path);

/* One request: the status (-1: no answer), the body in *out (talloc, NULL
 * context; may be NULL). */
int t_call(uint16_t port, const char *method, const char *path,
           const char *headers, const char *body, char **out);

#endif
