/*
 * test_evhttp.c — the libevent evhttp adapter against a real evhttp server
 * on loopback (the cases are in adapter_cases.c). libevent 2.1 hands over a
 * request only once it is complete, so the mid-body cases check that
 * nothing began and nothing is left open.
 */
#include <di/evhttp.h>

#include "adapter_cases.h"

static void *start(di_http *h, uint16_t *port)
{
    di_evhttp *s;
    if (di_evhttp_start(NULL, h, &(di_evhttp_options){
            .address = "127.0.0.1", .timeout_s = 1 }, &s))
        return NULL;
    *port = di_evhttp_port(s);
    return s;
}

static void stop(void *s) { di_evhttp_stop(s); }

static int shutdown_gracefully(void *server, unsigned timeout_ms)
{
    return di_evhttp_shutdown(server, timeout_ms);
}

int main(void)
{
    t_adapter_shutdown = shutdown_gracefully;
    t_adapter_serves_idle = 1;
    t_adapter_begins_when_complete = 1;
    t_adapter_sees_client_gone = 1;
    return t_adapter_run("evhttp", start, stop);
}
