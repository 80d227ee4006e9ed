/*
 * answers.c — what the notes handlers share, whether they run their
 * queries blocking (app.c) or on an event loop (app_async.c): JSON in and
 * out, error answers, the note's fields, the path's id, the
 * Idempotency-Key's checks and replay, the --debug headers.
 */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <talloc.h>

#include "notes.h"

cJSON *notes_note_json(const note *n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)n->id);
    cJSON_AddStringToObject(o, "title", n->title);
    cJSON_AddStringToObject(o, "body", n->body);
    cJSON_AddStringToObject(o, "created_at", n->created_at);
    return o;
}

/* Respond with the JSON (consumed) and status. */
int notes_send_json(di_http_req *r, int status, cJSON *j)
{
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    if (!text)
        return DI_ENOMEM;
    int rc = di_http_respond(r, status, "application/json", text, strlen(text));
    cJSON_free(text);
    return rc;
}

/* An error answer; returns the code that fails the request (4xx: the
 * handler's outcome is that failure, so the transaction rolls back). */
int notes_send_error(di_http_req *r, int status, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    notes_send_json(r, status, o);
    return DI_HTTP_ERROR(status);
}

int notes_db_error(di_http_req *r, notes_log *log, const char *err)
{
    notes_log_printf(log, "notes: %s %s: %s", di_http_method(r),
                     di_http_path(r), err);
    return notes_send_error(r, 500, "database error");
}

/* The note's title and body from a JSON object; 0 or a 4xx sent. */
int notes_note_fields(di_http_req *r, const cJSON *o, const char *at,
                       const char **title, const char **body)
{
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(o, "title");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "body");
    if (!cJSON_IsObject(o))
        return notes_send_error(r, 422, "%s: expected an object", at);
    if (!cJSON_IsString(t) || !*t->valuestring)
        return notes_send_error(r, 422, "%stitle: a non-empty string is required",
                          at);
    if (b && !cJSON_IsString(b))
        return notes_send_error(r, 422, "%sbody: expected a string", at);
    *title = t->valuestring;
    *body = b ? b->valuestring : "";
    return 0;
}

/* The body as JSON: one value, UTF-8, nothing after it (else a 400 with
 * the position, sent by the router's check). */
int notes_parse_body(di_http_req *r, cJSON **out)
{
    *out = NULL;
    int rc = di_http_check_json(r);
    if (rc)
        return rc;
    size_t n;
    const char *text = di_http_body(r, &n);
    *out = cJSON_ParseWithLength(text, n);
    return *out ? 0 : DI_ENOMEM;
}

/* "{id}" as a positive integer (canonical decimal), or a 404 sent. */
int notes_note_id(di_http_req *r, int64_t *id)
{
    long long v;
    *id = 0;
    if (di_http_param_int(r, "id", 1, INT64_MAX, &v))
        return notes_send_error(r, 404, "no note '%s'", di_http_param(r, "id"));
    *id = v;
    return 0;
}

/* FNV-1a over the method, the path and the body, as 16 hex digits. */
void notes_request_hash(di_http_req *r, char out[17])
{
    uint64_t h = 14695981039346656037u;
    size_t n;
    const char *parts[] = { di_http_method(r), " ", di_http_path(r), "\n" };
    for (size_t i = 0; i < 4; i++)
        for (const char *p = parts[i]; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211u;
    const char *body = di_http_body(r, &n);
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)body[i]) * 1099511628211u;
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

bool notes_key_ok(const char *key)
{
    size_t n = strlen(key);
    for (size_t i = 0; i < n; i++)
        if (key[i] < 0x21 || key[i] > 0x7e)
            return false;
    return n > 0 && n <= 200;
}

/* The answer of the first request made with this key, again. */
int notes_replay(di_http_req *r, const notes_answer *first)
{
    if (*first->location)
        di_http_add_header(r, "Location", first->location);
    di_http_add_header(r, "Idempotent-Replayed", "true");
    return di_http_respond(r, first->status, "application/json", first->body,
                           strlen(first->body));
}


void notes_debug_headers(di_http_req *r)
{
    void *tmp = talloc_new(NULL);
    char *json;
    if (tmp && di_scope_memory(di_http_scope(r), DI_REPORT_JSON, tmp,
                               &json) == 0) {
        json[strcspn(json, "\n")] = '\0'; /* one header line */
        di_http_add_header(r, "X-DI-Memory", json);
    }
    /* what the request built so far (its disposes come after the handler:
     * the server logs the complete trace when the scope ends) */
    if (tmp && di_scope_trace(di_http_scope(r), tmp, &json) == 0)
        di_http_add_header(r, "X-DI-Trace", json);
    talloc_free(tmp);
}

int notes_paging(di_http_req *r, int64_t *offset, int64_t *limit)
{
    long long o, l;
    if (di_http_query_int(r, "offset", 0, INT64_MAX / 2, 0, &o) ||
        di_http_query_int(r, "limit", 1, 100, 20, &l))
        return notes_send_error(r, 400, "offset must be >= 0 and limit 1 to "
                                "100");
    *offset = o;
    *limit = l;
    return 0;
}

const notes_route notes_routes[] = {
    { "POST", "/notes", true },
    { "GET", "/notes", false },
    { "GET", "/notes/{id}", false },
    { "PUT", "/notes/{id}", true },
    { "DELETE", "/notes/{id}", true },
    { "POST", "/notes/import", true },
    { NULL, NULL, false },
};
