/*
 * fault.h — allocation failure injection, for libdi's own tests.
 *
 * In a build with DI_FAULT_INJECTION=ON (CMake; the default for Debug
 * builds), every allocation libdi makes — talloc, cJSON, the few plain
 * malloc calls — first asks di__alloc_fails(), and a test can make the Nth
 * one fail. Release builds have no such switch and pay nothing.
 *
 * Not part of the public API: tests include this header from lib/.
 */
#ifndef DI_FAULT_H
#define DI_FAULT_H

#include <stdbool.h>

#include "di/export.h"

DI_BEGIN_DECLS

/*
 * di__fault_alloc — make the nth allocation from now fail (n = 1: the next
 * one), once; n = 0 turns injection off. Counts are process-wide, so a test
 * arms it around one operation on one thread.
 * Returns how many allocations failed since the previous call, 0 or 1.
 * Exported only by fault-injection builds.
 */
DI_EXPORT long di__fault_alloc(long n);

/* Whether the allocation about to be made fails (libdi's own code). */
bool di__alloc_fails(void);

DI_END_DECLS

#endif /* DI_FAULT_H */
