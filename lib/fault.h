/*
 * fault.h — allocation failure injection, for libdi's own tests.
 *
 * In a build with DI_FAULT_INJECTION=ON (CMake; the default for Debug
 * builds), every allocation libdi, its adapters and its plugins make —
 * talloc, cJSON, the plain malloc calls — first asks di__alloc_fails(), and
 * a test can make the Nth one fail. Release builds have no such switch and
 * pay nothing.
 *
 * Not part of the public API. libdi, its adapters and plugins include it
 * (compiled with DI_FAULTS in such builds); tests include it for
 * di__fault_alloc().
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

/* Whether the allocation about to be made fails (libdi, its adapters and
 * plugins: exported by fault-injection builds). */
DI_EXPORT bool di__alloc_fails(void);

DI_END_DECLS

/* In fault-injection builds every talloc allocation of the file including
 * this header (after talloc.h) goes through di__alloc_fails(): a failure
 * is a NULL returned without calling talloc, which for a realloc leaves the
 * block as it was. DI__MAYFAIL() wraps the other allocators (malloc,
 * strdup, ...). Other builds call the allocators directly. */
#ifdef DI_FAULTS
#include <talloc.h> /* declared before the names are wrapped */
#define DI__MAYFAIL(call) (di__alloc_fails() ? NULL : (call))
#define talloc_named_const(...) DI__MAYFAIL(talloc_named_const(__VA_ARGS__))
#define _talloc_zero(...) DI__MAYFAIL(_talloc_zero(__VA_ARGS__))
#define _talloc_array(...) DI__MAYFAIL(_talloc_array(__VA_ARGS__))
#define _talloc_zero_array(...) DI__MAYFAIL(_talloc_zero_array(__VA_ARGS__))
#define _talloc_realloc_array(...) DI__MAYFAIL(_talloc_realloc_array(__VA_ARGS__))
#define _talloc_memdup(...) DI__MAYFAIL(_talloc_memdup(__VA_ARGS__))
#define _talloc_pooled_object(...) DI__MAYFAIL(_talloc_pooled_object(__VA_ARGS__))
#define talloc_strdup(...) DI__MAYFAIL(talloc_strdup(__VA_ARGS__))
#define talloc_strndup(...) DI__MAYFAIL(talloc_strndup(__VA_ARGS__))
#define talloc_asprintf(...) DI__MAYFAIL(talloc_asprintf(__VA_ARGS__))
#define talloc_vasprintf(...) DI__MAYFAIL(talloc_vasprintf(__VA_ARGS__))
#define talloc_asprintf_append(...) DI__MAYFAIL(talloc_asprintf_append(__VA_ARGS__))
#define talloc_vasprintf_append(...) DI__MAYFAIL(talloc_vasprintf_append(__VA_ARGS__))
#else
#define DI__MAYFAIL(call) (call)
#endif

#endif /* DI_FAULT_H */
