/*
 * test_mhd.c — the libmicrohttpd adapter against a real MHD daemon on
 * loopback (the cases are in adapter_cases.c).
 */
#include <di/mhd.h>

#include "adapter_cases.h"

static void *start(di_http *h, uint16_t *port)
{
    di_mhd *m;
    if (di_mhd_start(NULL, h, &(di_mhd_options){ .address = "127.0.0.1",
                                                 .threads = 2, .timeout_s = 1 },
                     &m))
        return NULL;
    *port = di_mhd_port(m);
    return m;
}

static void stop(void *m) { di_mhd_stop(m); }

static int shutdown_gracefully(void *server, unsigned timeout_ms)
{
    return di_mhd_shutdown(server, timeout_ms);
}

int main(void)
{
    t_adapter_shutdown = shutdown_gracefully;
    t_adapter_serves_idle = 1;
    t_adapter_sees_client_gone = 1;
    return t_adapter_run("mhd", start, stop);
}
