/* Name resolution on the event loop with c-ares: no thread, no blocking. */
#ifndef PP_DNS_H
#define PP_DNS_H

#include "loop.h"

#include <sys/socket.h>

typedef struct pp_dns pp_dns;
typedef struct pp_dns_query pp_dns_query;

/* status 0: sa holds the first address of the wanted family. Otherwise sa is
 * NULL and why says what the resolver answered. */
typedef void (*pp_dns_cb)(void *ud, int status, const struct sockaddr *sa,
                          socklen_t salen, const char *why);

/* servers: NULL for the system's resolv.conf, or "host[:port],..." */
pp_dns *pp_dns_new(pp_loop *loop, const char *servers, char *err,
                   size_t errlen);
void pp_dns_free(pp_dns *dns);

/* family: AF_UNSPEC, AF_INET or AF_INET6. The callback may run before this
 * returns (hosts file); then NULL is returned. Otherwise the handle stays
 * valid until the callback runs or pp_dns_cancel is called. NULL always
 * means the callback has already run. */
pp_dns_query *pp_dns_resolve(pp_dns *dns, const char *host, int family,
                             pp_dns_cb cb, void *ud);
/* The callback will not run. */
void pp_dns_cancel(pp_dns_query *q);

#endif
