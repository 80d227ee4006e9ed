/*
 * fuzz.h — what the fuzz targets and the replay driver share.
 */
#ifndef DI_FUZZ_H
#define DI_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The target's entry point (libFuzzer's, or replay.c's caller). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a NUL-terminated copy (malloc; NULL when out of memory).
 * Inputs may hold NUL bytes before the end: the copy keeps them. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = '\0';
    }
    return text;
}

#endif /* DI_FUZZ_H */
