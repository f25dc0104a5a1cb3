/* c-ares driven by our loop: its sockets are watched through the socket
 * state callback, its retransmissions through one timer. */
#include "dns.h"

#include <ares.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pp_dns {
  pp_loop *loop;
  ares_channel channel;
  pp_timer timer;
};

struct pp_dns_query {
  pp_dns_cb cb;       /* NULL once cancelled */
  pp_dns_mx_cb mx_cb; /* an MX query's (then cb is NULL); NULL once cancelled */
  void *ud;
  int family;
  bool starting; /* inside pp_dns_resolve: the caller has no handle yet */
  bool finished;
};

static void arm_timer(pp_dns *d);

static void on_io(pp_loop *loop, int fd, unsigned ev, void *ud) {
  (void)loop;
  pp_dns *d = ud;
  ares_socket_t r = (ev & (PP_EV_READ | PP_EV_ERROR)) ? fd : ARES_SOCKET_BAD;
  ares_socket_t w = (ev & PP_EV_WRITE) ? fd : ARES_SOCKET_BAD;
  ares_process_fd(d->channel, r, w);
  arm_timer(d);
}

static void on_timer(pp_loop *loop, pp_timer *t, void *ud) {
  (void)loop;
  (void)t;
  pp_dns *d = ud;
  ares_process_fd(d->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  arm_timer(d);
}

static void arm_timer(pp_dns *d) {
  struct timeval tv, *tvp = ares_timeout(d->channel, NULL, &tv);
  if (tvp == NULL) {
    pp_timer_stop(d->loop, &d->timer);
    return;
  }
  uint64_t us = (uint64_t)tvp->tv_sec * 1000000u + (uint64_t)tvp->tv_usec;
  pp_timer_start(d->loop, &d->timer, us);
}

static void on_sock_state(void *data, ares_socket_t fd, int readable,
                          int writable) {
  pp_dns *d = data;
  if (!readable && !writable) {
    pp_loop_unwatch(d->loop, fd);
    return;
  }
  pp_loop_watch(d->loop, fd,
                (readable ? PP_EV_READ : 0u) | (writable ? PP_EV_WRITE : 0u),
                on_io, d);
}

pp_dns *pp_dns_new(pp_loop *loop, const char *servers, char *err,
                   size_t errlen) {
  static int lib_ready; /* ares_library_init is a no-op on Linux since 1.11 */
  if (!lib_ready) {
    ares_library_init(ARES_LIB_INIT_ALL);
    lib_ready = 1;
  }
  pp_dns *d = calloc(1, sizeof(*d));
  if (d == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  d->loop = loop;
  pp_timer_init(&d->timer, on_timer, d);
  struct ares_options opts = {0};
  opts.sock_state_cb = on_sock_state;
  opts.sock_state_cb_data = d;
  opts.timeout = 1500; /* per try, ms; the check's deadline bounds the rest */
  opts.tries = 3;
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  int rc = ares_init_options(&d->channel, &opts, mask);
  if (rc != ARES_SUCCESS) {
    snprintf(err, errlen, "resolver: %s", ares_strerror(rc));
    free(d);
    return NULL;
  }
  if (servers != NULL) {
    rc = ares_set_servers_ports_csv(d->channel, servers);
    if (rc != ARES_SUCCESS) {
      snprintf(err, errlen,
               "resolver \"%s\": %s (expected address[:port],... such as "
               "127.0.0.1:5353)",
               servers, ares_strerror(rc));
      ares_destroy(d->channel);
      free(d);
      return NULL;
    }
  }
  return d;
}

void pp_dns_free(pp_dns *d) {
  if (d == NULL)
    return;
  /* ares_destroy runs pending callbacks with ARES_EDESTRUCTION; they free
   * their queries. */
  ares_destroy(d->channel);
  pp_timer_stop(d->loop, &d->timer);
  free(d);
}

static const char *status_words(int status) {
  switch (status) {
  case ARES_ENOTFOUND:
  case ARES_ENODATA:
    return "no such name";
  case ARES_ESERVFAIL:
    return "server failure (SERVFAIL)";
  case ARES_EREFUSED:
    return "query refused by the resolver";
  case ARES_ETIMEOUT:
    return "no answer from the resolver";
  case ARES_ECONNREFUSED:
    return "resolver refused the connection";
  default:
    return ares_strerror(status);
  }
}

socklen_t pp_sockaddr_len(const pp_sockaddr *sa) {
  return sa->sa.sa_family == AF_INET6 ? sizeof(sa->in6) : sizeof(sa->in);
}

/* The answer's addresses of the wanted family, in c-ares' order, without
 * repeats (a name listed twice in a hosts file). Returns how many. */
static size_t collect(const struct ares_addrinfo *res, int family,
                      pp_sockaddr *out) {
  size_t n = 0;
  for (const struct ares_addrinfo_node *a = res ? res->nodes : NULL;
       a != NULL && n < PP_DNS_MAX_ADDRS; a = a->ai_next) {
    if ((family != AF_UNSPEC && a->ai_family != family) ||
        (a->ai_family != AF_INET && a->ai_family != AF_INET6) ||
        a->ai_addrlen > sizeof(out[n]))
      continue;
    pp_sockaddr sa;
    memset(&sa, 0, sizeof(sa));
    memcpy(&sa, a->ai_addr, a->ai_addrlen);
    bool seen = false;
    for (size_t i = 0; i < n && !seen; i++)
      seen = memcmp(&out[i], &sa, sizeof(sa)) == 0;
    if (!seen)
      out[n++] = sa;
  }
  return n;
}

static void on_result(void *arg, int status, int timeouts,
                      struct ares_addrinfo *res) {
  (void)timeouts;
  pp_dns_query *q = arg;
  if (q->cb != NULL) {
    pp_sockaddr addrs[PP_DNS_MAX_ADDRS];
    size_t n = status == ARES_SUCCESS ? collect(res, q->family, addrs) : 0;
    if (n > 0)
      q->cb(q->ud, 0, addrs, n, NULL);
    else if (status == ARES_SUCCESS)
      q->cb(q->ud, ARES_ENODATA, NULL, 0,
            q->family == AF_INET6 ? "no IPv6 address for this name"
                                  : "no IPv4 address for this name");
    else
      q->cb(q->ud, status, NULL, 0, status_words(status));
  }
  if (res != NULL)
    ares_freeaddrinfo(res);
  if (q->starting)
    q->finished = true; /* pp_dns_resolve frees it */
  else
    free(q);
}

pp_dns_query *pp_dns_resolve(pp_dns *d, const char *host, int family,
                             pp_dns_cb cb, void *ud) {
  pp_dns_query *q = calloc(1, sizeof(*q));
  if (q == NULL) {
    cb(ud, ARES_ENOMEM, NULL, 0, "out of memory");
    return NULL;
  }
  q->cb = cb;
  q->ud = ud;
  q->family = family;
  struct ares_addrinfo_hints hints = {0};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  /* The callback may run inside this call (hosts file, literals); then
   * there is nothing left to cancel and NULL is returned. */
  q->starting = true;
  ares_getaddrinfo(d->channel, host, NULL, &hints, on_result, q);
  q->starting = false;
  if (q->finished) {
    free(q);
    return NULL;
  }
  arm_timer(d);
  return q;
}

void pp_dns_cancel(pp_dns_query *q) {
  if (q != NULL) {
    q->cb = NULL;
    q->mx_cb = NULL;
  }
}

/* --- MX records --- */

static int by_preference(const void *a, const void *b) {
  const pp_mx *x = a, *y = b;
  return (x->preference > y->preference) - (x->preference < y->preference);
}

/* The answer's MX records, sorted by preference (equal ones keep the
 * server's order). Returns how many, or -1 when the answer holds none. */
static int collect_mx(const unsigned char *abuf, int alen, pp_mx *out) {
  struct ares_mx_reply *mx = NULL;
  if (ares_parse_mx_reply(abuf, alen, &mx) != ARES_SUCCESS)
    return -1;
  size_t n = 0;
  for (const struct ares_mx_reply *m = mx; m && n < PP_DNS_MAX_MX;
       m = m->next) {
    out[n].preference = m->priority;
    snprintf(out[n].host, sizeof(out[n].host), "%s",
             strcmp(m->host, ".") == 0 ? "" : m->host);
    n++;
  }
  ares_free_data(mx);
  if (n == 0)
    return -1;
  /* stable: qsort is not, so sort by insertion */
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && by_preference(&out[j - 1], &out[j]) > 0; j--) {
      pp_mx tmp = out[j];
      out[j] = out[j - 1];
      out[j - 1] = tmp;
    }
  return (int)n;
}

static void on_mx(void *arg, int status, int timeouts, unsigned char *abuf,
                  int alen) {
  (void)timeouts;
  pp_dns_query *q = arg;
  if (q->mx_cb != NULL) {
    pp_mx mx[PP_DNS_MAX_MX];
    int n = status == ARES_SUCCESS ? collect_mx(abuf, alen, mx) : -1;
    if (n > 0)
      q->mx_cb(q->ud, 0, mx, (size_t)n, NULL);
    else if (status == ARES_SUCCESS || status == ARES_ENODATA)
      q->mx_cb(q->ud, ARES_ENODATA, NULL, 0, "no MX record");
    else
      q->mx_cb(q->ud, status, NULL, 0, status_words(status));
  }
  if (q->starting)
    q->finished = true;
  else
    free(q);
}

pp_dns_query *pp_dns_mx(pp_dns *d, const char *domain, pp_dns_mx_cb cb,
                        void *ud) {
  pp_dns_query *q = calloc(1, sizeof(*q));
  if (q == NULL) {
    cb(ud, ARES_ENOMEM, NULL, 0, "out of memory");
    return NULL;
  }
  q->mx_cb = cb;
  q->ud = ud;
  q->starting = true;
  ares_query(d->channel, domain, 1 /* C_IN */, 15 /* T_MX */, on_mx, q);
  q->starting = false;
  if (q->finished) {
    free(q);
    return NULL;
  }
  arm_timer(d);
  return q;
}
