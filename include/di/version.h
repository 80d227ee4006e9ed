/*
 * di/version.h — the version of the headers and of the linked library.
 *
 * The shared library's SOVERSION is DI_VERSION_MAJOR: a program built against
 * major N runs with any libdi N.x whose minor is at least the one it was built
 * with.
 */
#ifndef DI_VERSION_H
#define DI_VERSION_H

#include "export.h"

#define DI_VERSION_MAJOR 0
#define DI_VERSION_MINOR 2
#define DI_VERSION_PATCH 0
#define DI_VERSION_STRING "0.2.0"

/* One integer for comparisons: 0xMMmmpp. */
#define DI_VERSION_NUMBER \
    ((DI_VERSION_MAJOR << 16) | (DI_VERSION_MINOR << 8) | DI_VERSION_PATCH)

DI_BEGIN_DECLS

/*
 * di_version — the version of the library actually linked.
 *
 * major, minor, patch: where to store each part; any may be NULL.
 * Returns the version as a static string ("0.1.0"), never NULL. Compare it
 * with DI_VERSION_STRING to detect a header/library mismatch.
 */
DI_EXPORT const char *di_version(int *major, int *minor, int *patch);

DI_END_DECLS

#endif /* DI_VERSION_H */
