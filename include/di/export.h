/*
 * di/export.h — symbol visibility and C++ linkage for libdi's public headers.
 *
 * libdi is built with -fvisibility=hidden; only declarations marked DI_EXPORT
 * are part of the shared library's ABI. Define DI_STATIC when linking the
 * static library on platforms where that matters (Windows); on ELF it is a
 * no-op either way.
 */
#ifndef DI_EXPORT_H
#define DI_EXPORT_H

#if defined(_WIN32) && !defined(DI_STATIC)
#  ifdef DI_BUILDING
#    define DI_EXPORT __declspec(dllexport)
#  else
#    define DI_EXPORT __declspec(dllimport)
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define DI_EXPORT __attribute__((visibility("default")))
#else
#  define DI_EXPORT
#endif

#if defined(__GNUC__) || defined(__clang__)
#  define DI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#  define DI_PRINTF(fmt, args)
#endif

#ifdef __cplusplus
#  define DI_BEGIN_DECLS extern "C" {
#  define DI_END_DECLS }
#else
#  define DI_BEGIN_DECLS
#  define DI_END_DECLS
#endif

#endif /* DI_EXPORT_H */
