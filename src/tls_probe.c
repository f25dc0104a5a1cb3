/* refuse_protocols: a second, short handshake that offers nothing but the
 * protocols a server should no longer speak, with OpenSSL's security level
 * at 0 so that this side can offer them at all. The probe has its own
 * budget, so a server that drops such a handshake costs the check half its
 * timeout at most, and is taken as refusing. */
#include "tls_probe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct pp_tls_probe {
  pp_check *c;
  void (*next)(pp_check *c);
  pp_tls_ctxs *ctxs;
  int fd;
  bool connected;
  pp_tls *tls;
  pp_timer timer;
} probe;

static const struct {
  const char *name;
  int version;
} protocols[] = {
    {"tls1.0", TLS1_VERSION},
    {"tls1.1", TLS1_1_VERSION},
    {"tls1.2", TLS1_2_VERSION},
};

int pp_tls_refused_range(const char *list, int *min, int *max) {
  *min = *max = 0;
  const char *p = list;
  while (*p) {
    size_t len = strcspn(p, ",");
    int v = 0;
    for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++)
      if (strlen(protocols[i].name) == len &&
          strncasecmp(protocols[i].name, p, len) == 0)
        v = protocols[i].version;
    if (v == 0)
      return -1;
    if (*min == 0 || v < *min)
      *min = v;
    if (v > *max)
      *max = v;
    p += len;
    if (*p == ',')
      p++;
  }
  return *min ? 0 : -1;
}

static const char *version_name(int v) {
  for (size_t i = 0; i < sizeof(protocols) / sizeof(protocols[0]); i++)
    if (protocols[i].version == v)
      return protocols[i].name;
  return "?";
}

void pp_tls_probe_free(pp_check *c) {
  probe *p = c->probe;
  if (p == NULL)
    return;
  c->probe = NULL;
  pp_timer_stop(c->engine->loop, &p->timer);
  pp_tls_free(p->tls);
  if (p->fd >= 0) {
    pp_loop_unwatch(c->engine->loop, p->fd);
    close(p->fd);
  }
  free(p);
}

/* Refused, unanswered or unreachable: the check proper goes on (and says
 * for itself what a refused or silent port is). */
static void go_on(probe *p) {
  pp_check *c = p->c;
  void (*next)(pp_check *) = p->next;
  pp_tls_probe_free(c);
  next(c);
}

static void on_timeout(pp_loop *loop, pp_timer *t, void *ud) {
  (void)loop;
  (void)t;
  go_on(ud);
}

static void on_io(pp_loop *loop, int fd, unsigned events, void *ud);

static void handshake(probe *p) {
  pp_check *c = p->c;
  switch (pp_tls_handshake(p->tls)) {
  case PP_TLS_DONE: {
    int v = pp_tls_version(p->tls);
    pp_check_finish(c, PP_R_TLS_WEAK_PROTOCOL,
                    "the server accepts %s, which refuse_protocols lists",
                    version_name(v));
    return;
  }
  case PP_TLS_WANT_READ:
    pp_loop_watch(c->engine->loop, p->fd, PP_EV_READ, on_io, p);
    return;
  case PP_TLS_WANT_WRITE:
    pp_loop_watch(c->engine->loop, p->fd, PP_EV_WRITE, on_io, p);
    return;
  default:
    go_on(p); /* refused: what a server should do */
    return;
  }
}

static void on_io(pp_loop *loop, int fd, unsigned events, void *ud) {
  (void)loop;
  (void)events;
  probe *p = ud;
  if (!p->connected) {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      go_on(p);
      return;
    }
    p->connected = true;
    const pp_target *t = p->c->target;
    int min, max;
    char why[160];
    pp_tls_refused_range(t->opts->refuse_protocols, &min, &max);
    p->tls = pp_tls_new_offering(p->ctxs, fd,
                                 t->opts->sni       ? t->opts->sni
                                 : p->c->host_is_ip ? NULL
                                                    : p->c->host,
                                 min, max, why, sizeof(why));
    if (p->tls == NULL) {
      pp_check_finish(p->c, PP_R_SOCKET_ERROR, "refuse_protocols: %s", why);
      return;
    }
  }
  handshake(p);
}

static bool bind_source(int fd, const pp_check *c) {
  const char *src = c->target->opts->source_address;
  if (src == NULL)
    return true;
  struct sockaddr_storage sa = {0};
  socklen_t len;
  if (c->addr.sa.sa_family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)&sa;
    in->sin_family = AF_INET;
    len = sizeof(*in);
    if (inet_pton(AF_INET, src, &in->sin_addr) != 1)
      return false;
  } else {
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
    in6->sin6_family = AF_INET6;
    len = sizeof(*in6);
    if (inet_pton(AF_INET6, src, &in6->sin6_addr) != 1)
      return false;
  }
  return bind(fd, (struct sockaddr *)&sa, len) == 0;
}

static void probe_connect(pp_check *c) {
  probe *p = c->probe;
  pp_check_phase(c, PP_PHASE_TLS);
  p->fd = socket(c->addr.sa.sa_family,
                 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (p->fd < 0 || !bind_source(p->fd, c) ||
      (connect(p->fd, (struct sockaddr *)&c->addr, c->addrlen) != 0 &&
       errno != EINPROGRESS) ||
      pp_loop_watch(c->engine->loop, p->fd, PP_EV_WRITE, on_io, p) != 0) {
    go_on(p); /* the check proper meets the same trouble and names it */
    return;
  }
  uint64_t now = pp_now_us(), budget = (uint64_t)c->target->opts->timeout_ms *
                                       500u; /* half, in microseconds */
  if (c->deadline_us > now && c->deadline_us - now < budget)
    budget = (c->deadline_us - now) / 2;
  pp_timer_start(c->engine->loop, &p->timer, budget);
}

void pp_tls_probe(pp_check *c, pp_tls_ctxs *ctxs, void (*next)(pp_check *c)) {
  if (c->target->opts->refuse_protocols == NULL) {
    next(c);
    return;
  }
  probe *p = ctxs ? calloc(1, sizeof(*p)) : NULL;
  if (p == NULL) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  p->c = c;
  p->next = next;
  p->ctxs = ctxs;
  p->fd = -1;
  pp_timer_init(&p->timer, on_timeout, p);
  c->probe = p;
  pp_check_resolve(c, probe_connect);
}
