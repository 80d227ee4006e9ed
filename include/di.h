/*
 * di.h — libdi, dependency injection for C servers.
 *
 * Declare providers (how to build a pool, a transaction, the current user)
 * and consumers (handlers, jobs) with the names of what they need; seal the
 * container, which checks the whole graph; then begin a scope per request,
 * resolve, and end the scope with the outcome. See README.md for a tour and
 * each header for the contract of its concept.
 */
#ifndef DI_H
#define DI_H

#include "di/export.h"
#include "di/version.h"
#include "di/error.h"
#include "di/log.h"
#include "di/container.h"
#include "di/provider.h"
#include "di/set.h"
#include "di/consumer.h"
#include "di/scope.h"
#include "di/params.h"
#include "di/kind.h"
#include "di/plugin.h"
#include "di/config.h"
#include "di/graph.h"
#include "di/memory.h"
#include "di/trace.h"
#include "di/live.h"
#include "di/async.h"
#include "di/http.h"
#include "di/http_call.h"
#include "di/metrics.h"
#include "di/model.h"
#include "di/openapi.h"

#endif /* DI_H */
