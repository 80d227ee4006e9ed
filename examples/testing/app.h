/*
 * app.h — a tiny application: a "notes" store (the database), a repository
 * per request, and the handler "POST /notes" that adds a note.
 */
#ifndef APP_H
#define APP_H

#include <di.h>

/* The database interface the app talks to; the real one and the test's mock
 * both implement it. */
typedef struct notes_db {
    int (*insert)(struct notes_db *db, const char *text);
    int (*commit)(struct notes_db *db);
    int (*rollback)(struct notes_db *db);
    void *impl;
} notes_db;

/* Registers the app's providers and its consumer. */
void app_register(di_container *c);

/* The handler: adds a note; returns an HTTP status. */
int app_post_note(di_scope *req, const char *text);

#endif
