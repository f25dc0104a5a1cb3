/* Name resolution on the event loop with c-ares: no thread, no blocking. */
#ifndef PP_DNS_H
#define PP_DNS_H

#include "loop.h"

#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>

typedef struct pp_dns pp_dns;
typedef struct pp_dns_query pp_dns_query;

/* An IPv4 or IPv6 socket address, without the 128 bytes of a
 * sockaddr_storage: targets keep several of them. */
typedef union {
  struct sockaddr sa;
  struct sockaddr_in in;
  struct sockaddr_in6 in6;
} pp_sockaddr;

/* Addresses of one name handed to a callback, at most; more are dropped. */
#define PP_DNS_MAX_ADDRS 16

/* status 0: addrs[0..n-1] (n >= 1) are the name's addresses of the wanted
 * family, in the resolver's order (RFC 6724 for AF_UNSPEC), port 0; the
 * array is valid during the call only. Otherwise addrs is NULL and why says
 * what the resolver answered. */
typedef void (*pp_dns_cb)(void *ud, int status, const pp_sockaddr *addrs,
                          size_t n, const char *why);

/* The length of sa's address structure, for connect(2). */
socklen_t pp_sockaddr_len(const pp_sockaddr *sa);

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

/* Frees what lookups that ended left behind (a lone channel that asked one
 * again): at the end of a round, so that between rounds the loop holds
 * nothing of the resolver. Not from inside a callback. */
void pp_dns_tidy(pp_dns *d);
/* One MX record: a mail domain's exchange and its preference. */
typedef struct {
  unsigned preference;
  char host[256]; /* "" for the null MX "." (RFC 7505) */
} pp_mx;

/* MX records handed to a callback, at most; more are dropped. */
#define PP_DNS_MAX_MX 16

/* status 0: mx[0..n-1] (n >= 1) sorted by preference, the array valid
 * during the call only; ARES_ENODATA: the domain exists but has no MX
 * (n = 0: mail goes to the domain itself, RFC 5321 5.1); otherwise why
 * says what the resolver answered. */
typedef void (*pp_dns_mx_cb)(void *ud, int status, const pp_mx *mx, size_t n,
                             const char *why);

/* Asks for the MX records of domain (no search list, no hosts file). The
 * handle is as pp_dns_resolve's, and pp_dns_cancel cancels it. */
pp_dns_query *pp_dns_mx(pp_dns *dns, const char *domain, pp_dns_mx_cb cb,
                        void *ud);

#endif
