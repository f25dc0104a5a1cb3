/* c-ares driven by our loop: its sockets are watched through the socket
 * state callback, its retransmissions through one timer per channel. One
 * channel serves every lookup; a lookup that fails in a way c-ares 1.18 does
 * not tell apart is asked again alone, on a channel of its own. */
#include "dns.h"

#include <ares.h>
#include <arpa/inet.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A c-ares channel on the loop: the shared one, or a lone one that asks
 * again for one lookup and is freed once that lookup is answered. */
typedef struct chan {
  pp_dns *d;
  ares_channel ch;
  pp_timer timer;
  struct chan *next; /* lone channels of d */
  bool answered;     /* lone: its lookup is done; freed by d->work */
} chan;

struct pp_dns {
  pp_loop *loop;
  chan main;
  struct ares_addr_port_node *servers; /* what every channel asks */
  bool servers_ours;                   /* our array, else c-ares' list */
  chan *lone;
  pp_dns_query *retry; /* lookups waiting to be asked again alone */
  pp_timer work;       /* starts retries, frees answered lone channels */
};

struct pp_dns_query {
  pp_dns *d;
  pp_dns_cb cb;       /* NULL once cancelled */
  pp_dns_mx_cb mx_cb; /* an MX query's (then cb is NULL); NULL once cancelled */
  void *ud;
  int family;
  char *host;
  chan *alone;        /* the lone channel asking again, NULL before */
  pp_dns_query *next; /* in d->retry */
  bool starting;      /* inside pp_dns_resolve: the caller has no handle */
  bool finished;
};

static void arm_timer(chan *c);

static void on_io(pp_loop *loop, int fd, unsigned ev, void *ud) {
  (void)loop;
  chan *c = ud;
  ares_socket_t r = (ev & (PP_EV_READ | PP_EV_ERROR)) ? fd : ARES_SOCKET_BAD;
  ares_socket_t w = (ev & PP_EV_WRITE) ? fd : ARES_SOCKET_BAD;
  ares_process_fd(c->ch, r, w);
  arm_timer(c);
}

static void on_timer(pp_loop *loop, pp_timer *t, void *ud) {
  (void)loop;
  (void)t;
  chan *c = ud;
  ares_process_fd(c->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  arm_timer(c);
}

static void arm_timer(chan *c) {
  if (c->answered)
    return; /* d->work frees it */
  struct timeval tv, *tvp = ares_timeout(c->ch, NULL, &tv);
  if (tvp == NULL) {
    pp_timer_stop(c->d->loop, &c->timer);
    return;
  }
  uint64_t us = (uint64_t)tvp->tv_sec * 1000000u + (uint64_t)tvp->tv_usec;
  pp_timer_start(c->d->loop, &c->timer, us);
}

static void on_sock_state(void *data, ares_socket_t fd, int readable,
                          int writable) {
  chan *c = data;
  if (!readable && !writable) {
    pp_loop_unwatch(c->d->loop, fd);
    return;
  }
  pp_loop_watch(c->d->loop, fd,
                (readable ? PP_EV_READ : 0u) | (writable ? PP_EV_WRITE : 0u),
                on_io, c);
}

/* --- the servers: "address[:port],..." --- */

#define SERVERS_HINT                                                           \
  "expected address[:port],... such as 127.0.0.1:5353 or [::1]:53"

/* One entry: IPv4 "a.b.c.d[:port]", IPv6 "[addr][:port]" or a bare IPv6
 * address. The messages quote the entry as given. */
static int parse_server(const char *text, const char *item, size_t n,
                        struct ares_addr_port_node *node, char *err,
                        size_t errlen) {
  char buf[64];
  if (n == 0 || n >= sizeof(buf)) {
    snprintf(err, errlen, "resolver \"%s\": %s entry (%s)", text,
             n ? "an overlong" : "an empty", SERVERS_HINT);
    return -1;
  }
  memcpy(buf, item, n);
  buf[n] = 0;
  char *addr = buf, *port = NULL, *colon = strchr(buf, ':');
  bool bracketed = buf[0] == '[';
  if (bracketed) {
    char *close = strchr(buf, ']');
    if (close != NULL && (close[1] == 0 || close[1] == ':')) {
      port = close[1] == ':' ? close + 2 : NULL;
      *close = 0;
      addr = buf + 1;
    }
  } else if (colon != NULL && strchr(colon + 1, ':') == NULL) {
    *colon = 0; /* one colon: IPv4 and a port */
    port = colon + 1;
  }
  memset(node, 0, sizeof(*node));
  if (!bracketed && inet_pton(AF_INET, addr, &node->addr.addr4) == 1)
    node->family = AF_INET;
  else if (inet_pton(AF_INET6, addr, &node->addr.addr6) == 1)
    node->family = AF_INET6;
  else {
    snprintf(err, errlen, "resolver \"%s\": \"%.*s\" is not an IP address (%s)",
             text, (int)n, item, SERVERS_HINT);
    return -1;
  }
  long p = 53;
  if (port != NULL) {
    char *end = port;
    if (isdigit((unsigned char)*port))
      p = strtol(port, &end, 10);
    if (end == port || *end != 0 || p < 1 || p > 65535) {
      snprintf(err, errlen,
               "resolver \"%s\": \"%.*s\": expected a port from 1 to 65535",
               text, (int)n, item);
      return -1;
    }
  }
  node->udp_port = node->tcp_port = (int)p;
  return 0;
}

/* The servers of text, as an array linked in order; NULL with err. */
static struct ares_addr_port_node *parse_servers(const char *text, char *err,
                                                 size_t errlen) {
  size_t n = 1;
  for (const char *p = text; *p; p++)
    n += *p == ',';
  struct ares_addr_port_node *nodes = calloc(n, sizeof(*nodes));
  if (nodes == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  const char *item = text;
  for (size_t i = 0; i < n; i++) {
    while (*item == ' ')
      item++;
    size_t len = strcspn(item, ",");
    while (len > 0 && item[len - 1] == ' ')
      len--;
    if (parse_server(text, item, len, &nodes[i], err, errlen) != 0) {
      free(nodes);
      return NULL;
    }
    nodes[i].next = i + 1 < n ? &nodes[i + 1] : NULL;
    item += strcspn(item, ",") + 1;
  }
  return nodes;
}

/* --- channels --- */

static int chan_init(pp_dns *d, chan *c, int flags, char *err, size_t errlen) {
  c->d = d;
  pp_timer_init(&c->timer, on_timer, c);
  struct ares_options opts = {0};
  opts.sock_state_cb = on_sock_state;
  opts.sock_state_cb_data = c;
  opts.timeout = 1500; /* per try, ms; the check's deadline bounds the rest */
  opts.tries = 3;
  opts.flags = flags;
  int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
             (flags ? ARES_OPT_FLAGS : 0);
  int rc = ares_init_options(&c->ch, &opts, mask);
  if (rc == ARES_SUCCESS && d->servers != NULL)
    if ((rc = ares_set_servers_ports(c->ch, d->servers)) != ARES_SUCCESS)
      ares_destroy(c->ch);
  if (rc != ARES_SUCCESS) {
    snprintf(err, errlen, "resolver: %s", ares_strerror(rc));
    return -1;
  }
  return 0;
}

static void chan_destroy(chan *c) {
  /* ares_destroy runs pending callbacks with ARES_EDESTRUCTION; they free
   * their queries. */
  ares_destroy(c->ch);
  pp_timer_stop(c->d->loop, &c->timer);
}

static void on_work(pp_loop *loop, pp_timer *t, void *ud);

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
  pp_timer_init(&d->work, on_work, d);
  if (servers != NULL &&
      (d->servers = parse_servers(servers, err, errlen)) == NULL) {
    free(d);
    return NULL;
  }
  d->servers_ours = servers != NULL;
  if (chan_init(d, &d->main, 0, err, errlen) != 0) {
    free(d->servers);
    free(d);
    return NULL;
  }
  /* the system's servers, for the lone channels to ask the same ones */
  if (d->servers == NULL &&
      ares_get_servers_ports(d->main.ch, &d->servers) != ARES_SUCCESS)
    d->servers = NULL;
  return d;
}

static void deliver(pp_dns_query *q, int status, const pp_sockaddr *addrs,
                    size_t n, const char *why);

void pp_dns_free(pp_dns *d) {
  if (d == NULL)
    return;
  chan_destroy(&d->main);
  while (d->lone != NULL) {
    chan *c = d->lone;
    d->lone = c->next;
    chan_destroy(c);
    free(c);
  }
  while (d->retry != NULL) {
    pp_dns_query *q = d->retry;
    d->retry = q->next;
    deliver(q, ARES_EDESTRUCTION, NULL, 0, ares_strerror(ARES_EDESTRUCTION));
    free(q->host);
    free(q);
  }
  pp_timer_stop(d->loop, &d->work);
  if (d->servers_ours)
    free(d->servers);
  else
    ares_free_data(d->servers);
  free(d);
}

/* --- answers --- */

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
    return "resolver refused the connection or broke it off";
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

static void deliver(pp_dns_query *q, int status, const pp_sockaddr *addrs,
                    size_t n, const char *why) {
  if (q->cb != NULL)
    q->cb(q->ud, status, addrs, n, why);
}

static void query_free(pp_dns_query *q) {
  if (q->starting) {
    q->finished = true; /* pp_dns_resolve frees it */
    return;
  }
  free(q->host);
  free(q);
}

/* c-ares 1.18 ends a lookup with ARES_ECONNREFUSED (its initial status)
 * whenever every try was skipped without a better reason: a SERVFAIL or
 * REFUSED from each server, or a server's connection broken by another
 * lookup (a truncated answer whose TCP retry failed closes the server's
 * sockets and costs every lookup in flight on it a try). Asked again
 * alone, with answers passed through, the lookup gets its own answer. */
static bool worth_asking_alone(const pp_dns_query *q, int status) {
  return status == ARES_ECONNREFUSED && q->alone == NULL && q->cb != NULL;
}

static void on_result(void *arg, int status, int timeouts,
                      struct ares_addrinfo *res) {
  (void)timeouts;
  pp_dns_query *q = arg;
  pp_dns *d = q->d;
  if (q->alone != NULL) {
    q->alone->answered = true; /* freed by d->work, outside c-ares */
    pp_timer_start(d->loop, &d->work, 0);
  }
  if (worth_asking_alone(q, status)) {
    q->next = d->retry; /* started by d->work, outside c-ares */
    d->retry = q;
    pp_timer_start(d->loop, &d->work, 0);
    if (res != NULL)
      ares_freeaddrinfo(res);
    return;
  }
  pp_sockaddr addrs[PP_DNS_MAX_ADDRS];
  size_t n = status == ARES_SUCCESS ? collect(res, q->family, addrs) : 0;
  if (n > 0)
    deliver(q, 0, addrs, n, NULL);
  else if (status == ARES_SUCCESS)
    deliver(q, ARES_ENODATA, NULL, 0,
            q->family == AF_INET6 ? "no IPv6 address for this name"
                                  : "no IPv4 address for this name");
  else
    deliver(q, status, NULL, 0, status_words(status));
  if (res != NULL)
    ares_freeaddrinfo(res);
  query_free(q);
}

static void ask(ares_channel ch, pp_dns_query *q) {
  struct ares_addrinfo_hints hints = {0};
  hints.ai_family = q->family;
  hints.ai_socktype = SOCK_STREAM;
  ares_getaddrinfo(ch, q->host, NULL, &hints, on_result, q);
}

/* Asks q again on a lone channel (with SERVFAIL and REFUSED passed
 * through, so that they are named), or delivers the first answer's words
 * when no channel can be made. */
static void ask_alone(pp_dns *d, pp_dns_query *q) {
  char err[128];
  chan *c = calloc(1, sizeof(*c));
  if (c == NULL || chan_init(d, c, ARES_FLAG_NOCHECKRESP, err, sizeof(err))) {
    free(c);
    deliver(q, ARES_ECONNREFUSED, NULL, 0, status_words(ARES_ECONNREFUSED));
    query_free(q);
    return;
  }
  c->next = d->lone;
  d->lone = c;
  q->alone = c;
  ask(c->ch, q);
  arm_timer(c);
}

static void on_work(pp_loop *loop, pp_timer *t, void *ud) {
  (void)loop;
  (void)t;
  pp_dns *d = ud;
  for (chan **p = &d->lone; *p != NULL;) {
    chan *c = *p;
    if (!c->answered) {
      p = &c->next;
      continue;
    }
    *p = c->next;
    chan_destroy(c);
    free(c);
  }
  while (d->retry != NULL) {
    pp_dns_query *q = d->retry;
    d->retry = q->next;
    if (q->cb == NULL)
      query_free(q); /* cancelled while it waited */
    else
      ask_alone(d, q);
  }
}

pp_dns_query *pp_dns_resolve(pp_dns *d, const char *host, int family,
                             pp_dns_cb cb, void *ud) {
  pp_dns_query *q = calloc(1, sizeof(*q));
  if (q == NULL || (q->host = strdup(host)) == NULL) {
    free(q);
    cb(ud, ARES_ENOMEM, NULL, 0, "out of memory");
    return NULL;
  }
  q->d = d;
  q->cb = cb;
  q->ud = ud;
  q->family = family;
  /* The callback may run inside this call (hosts file, literals); then
   * there is nothing left to cancel and NULL is returned. */
  q->starting = true;
  ask(d->main.ch, q);
  q->starting = false;
  if (q->finished) {
    free(q->host);
    free(q);
    return NULL;
  }
  arm_timer(&d->main);
  return q;
}

void pp_dns_cancel(pp_dns_query *q) {
  if (q == NULL)
    return;
  q->cb = NULL;
  q->mx_cb = NULL;
  pp_dns *d = q->d;
  for (pp_dns_query **p = &d->retry; *p != NULL; p = &(*p)->next)
    if (*p == q) { /* not asked again yet: forgotten now */
      *p = q->next;
      query_free(q);
      return;
    }
  chan *c = q->alone;
  if (c == NULL || c->answered)
    return;
  /* a lone channel serves this lookup only: it goes now, with its socket
   * (its callback, with ARES_EDESTRUCTION, frees q) */
  for (chan **p = &d->lone; *p != NULL; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      break;
    }
  chan_destroy(c);
  free(c);
}

void pp_dns_tidy(pp_dns *d) {
  on_work(d->loop, &d->work, d);
  pp_timer_stop(d->loop, &d->work);
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
    query_free(q);
}

pp_dns_query *pp_dns_mx(pp_dns *d, const char *domain, pp_dns_mx_cb cb,
                        void *ud) {
  pp_dns_query *q = calloc(1, sizeof(*q));
  if (q == NULL) {
    cb(ud, ARES_ENOMEM, NULL, 0, "out of memory");
    return NULL;
  }
  q->d = d;
  q->mx_cb = cb;
  q->ud = ud;
  q->starting = true;
  ares_query(d->main.ch, domain, 1 /* C_IN */, 15 /* T_MX */, on_mx, q);
  q->starting = false;
  if (q->finished) {
    query_free(q);
    return NULL;
  }
  arm_timer(&d->main);
  return q;
}
