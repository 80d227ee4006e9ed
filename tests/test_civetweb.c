/*
 * test_civetweb.c — the civetweb adapter against a real civetweb server on
 * loopback (the cases are in adapter_cases.c).
 */
#include <di/civetweb.h>

#include "adapter_cases.h"

static void *start(di_http *h, uint16_t *port)
{
    di_civetweb *s;
    if (di_civetweb_start(NULL, h, &(di_civetweb_options){
            .address = "127.0.0.1", .threads = 4, .timeout_s = 1 }, &s))
        return NULL;
    *port = di_civetweb_port(s);
    return s;
}

static void stop(void *s) { di_civetweb_stop(s); }

static int shutdown_gracefully(void *server, unsigned timeout_ms)
{
    return di_civetweb_shutdown(server, timeout_ms);
}

int main(void)
{
    t_adapter_shutdown = shutdown_gracefully;
    t_adapter_sees_header_nul = 1;
    return t_adapter_run("civetweb", start, stop);
}
