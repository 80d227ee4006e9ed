/*
 * log.c — the one log hook (see di/log.h): records are formatted here,
 * made one line, and handed to the function the program set.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>

#include "di_int.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static di_log_fn log_fn = di_log_stderr;
static void *log_ctx;

void di_log_set(di_log_fn fn, void *ctx)
{
    pthread_mutex_lock(&lock);
    log_fn = fn ? fn : di_log_stderr;
    log_ctx = fn ? ctx : NULL;
    pthread_mutex_unlock(&lock);
}

void di_log_stderr(void *ctx, const di_log_record *rec)
{
    (void)ctx;
    if (rec && rec->level >= DI_LOG_WARN)
        fprintf(stderr, "%s\n", rec->message);
}

static const char *or_empty(const char *s) { return s ? s : ""; }

void di__log(const di_log_record *fields, const char *fmt, ...)
{
    char raw[1024], line[4 * sizeof raw];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof raw, fmt, ap);
    va_end(ap);
    /* what came from a client cannot forge a line or steer a terminal:
     * control characters are written as \xHH */
    char *w = line;
    for (const unsigned char *p = (const unsigned char *)raw; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            w += sprintf(w, "\\x%02x", *p);
        else
            *w++ = (char)*p;
    *w = '\0';
    di_log_record rec = *fields;
    rec.message = line;
    rec.event = or_empty(rec.event);
    rec.provider = or_empty(rec.provider);
    rec.path = or_empty(rec.path);
    rec.method = or_empty(rec.method);
    rec.target = or_empty(rec.target);
    pthread_mutex_lock(&lock);
    di_log_fn fn = log_fn;
    void *ctx = log_ctx;
    pthread_mutex_unlock(&lock);
    fn(ctx, &rec);
}
