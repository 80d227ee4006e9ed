/*
 * die_before_answer.c — an LD_PRELOAD shim for the durability suite: the
 * notes server dies (SIGKILL) at the moment libmicrohttpd is handed an
 * answer whose status is $DIE_BEFORE_ANSWER — after the request's scope was
 * settled (its COMMIT done), before a byte of the answer left. The same
 * for libevent's evhttp (notes --loop). The client
 * never hears back; what it wrote must be there, and a retry with the same
 * Idempotency-Key must not write it twice.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <microhttpd.h>
#ifdef DIE_EVHTTP
#include <event2/http.h>
#endif
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

enum MHD_Result MHD_queue_response(struct MHD_Connection *connection,
                                   unsigned int status_code,
                                   struct MHD_Response *response)
{
    const char *when = getenv("DIE_BEFORE_ANSWER");
    if (when && (unsigned)atoi(when) == status_code)
        kill(getpid(), SIGKILL);
    enum MHD_Result (*real)(struct MHD_Connection *, unsigned int,
                            struct MHD_Response *) =
        (enum MHD_Result (*)(struct MHD_Connection *, unsigned int,
                             struct MHD_Response *))dlsym(RTLD_NEXT,
                                                          "MHD_queue_response");
    return real ? real(connection, status_code, response) : MHD_NO;
}

#ifdef DIE_EVHTTP
void evhttp_send_reply(struct evhttp_request *req, int code,
                       const char *reason, struct evbuffer *databuf)
{
    const char *when = getenv("DIE_BEFORE_ANSWER");
    if (when && atoi(when) == code)
        kill(getpid(), SIGKILL);
    void (*real)(struct evhttp_request *, int, const char *,
                 struct evbuffer *) =
        (void (*)(struct evhttp_request *, int, const char *,
                  struct evbuffer *))dlsym(RTLD_NEXT, "evhttp_send_reply");
    if (real)
        real(req, code, reason, databuf);
}
#endif
