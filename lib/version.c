/*
 * version.c — the linked library's version.
 */
#include "di_int.h"

const char *di_version(int *major, int *minor, int *patch)
{
    if (major)
        *major = DI_VERSION_MAJOR;
    if (minor)
        *minor = DI_VERSION_MINOR;
    if (patch)
        *patch = DI_VERSION_PATCH;
    return DI_VERSION_STRING;
}
