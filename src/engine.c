/* The engine and the round: every target of a round runs at once on one
 * event loop, bounded by max_concurrent; each check ends by its deadline. */
#include "check_core.h"
#include "spread.h"
#include "tls_probe.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* a kind a line, so that adding one adds a line */
/* clang-format off */
static const pp_check_ops *const kind_ops[PP_KIND_COUNT] = {
    [PP_KIND_TCP] = &pp_tcp_ops,
    [PP_KIND_DIALOG] = &pp_dialog_ops,
    [PP_KIND_HTTP] = &pp_http_ops,
    [PP_KIND_ICMP] = &pp_icmp_ops,
    [PP_KIND_DNS] = &pp_dns_ops,
    [PP_KIND_WIRE] = &pp_wire_ops,
    [PP_KIND_UDP] = &pp_udp_ops,
};
/* clang-format on */

const pp_check_ops *pp_kind_ops(pp_check_kind kind) {
  return (unsigned)kind < PP_KIND_COUNT ? kind_ops[kind] : NULL;
}

void pp_log(pp_engine *e, pp_log_level level, const char *fmt, ...) {
  if (e->log == NULL)
    return;
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  e->log(e->log_ud, level, msg);
}

static void round_mem_free(pp_engine *e);

/* Descriptors the process holds now (the host's own, the engine's loop,
 * libraries'): /proc/self/fd lists them; probing each is the fallback. */
static size_t held_descriptors(size_t limit) {
  size_t n = 0;
  DIR *dir = opendir("/proc/self/fd");
  if (dir != NULL) {
    for (struct dirent *de; (de = readdir(dir)) != NULL;)
      n += de->d_name[0] != '.';
    closedir(dir);
    return n > 0 ? n - 1 : 0; /* the listing's own */
  }
  for (int fd = 0; (size_t)fd < limit && fd < 65536; fd++)
    n += fcntl(fd, F_GETFD) != -1;
  return n;
}

/* Checks in flight that fit the descriptor limit: one each, after what the
 * process holds and a reserve for what it opens along the way (resolver
 * sockets, a CA or password file being read, libcurl's redirects). */
static size_t default_concurrency(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
      rl.rlim_cur > 16384 + 1024)
    return 16384;
  size_t limit = (size_t)rl.rlim_cur;
  size_t room = held_descriptors(limit) + 16 + limit / 16;
  return limit > room ? limit - room : 1;
}

static pp_engine *engine_new_one(const pp_engine_config *cfg, char *err,
                                 size_t errlen) {
  pp_engine *e = calloc(1, sizeof(*e));
  if (e == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  e->log = cfg ? cfg->log : NULL;
  e->log_ud = cfg ? cfg->log_ud : NULL;
  e->auto_concurrency = cfg == NULL || cfg->max_concurrent == 0;
  e->max_concurrent =
      e->auto_concurrency ? default_concurrency() : cfg->max_concurrent;
  e->max_concurrent_http = cfg && cfg->max_concurrent_http
                               ? cfg->max_concurrent_http
                               : PP_HTTP_CONCURRENCY_DEFAULT;
  if ((e->loop = pp_loop_new()) == NULL) {
    snprintf(err, errlen, "event loop: %s", strerror(errno));
    free(e);
    return NULL;
  }
  e->dns = pp_dns_new(e->loop, cfg ? cfg->resolver : NULL, err, errlen);
  if (e->dns == NULL) {
    pp_loop_free(e->loop);
    free(e);
    return NULL;
  }
  if ((e->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
    snprintf(err, errlen, "eventfd: %s", strerror(errno));
    pp_dns_free(e->dns);
    pp_loop_free(e->loop);
    free(e);
    return NULL;
  }
  return e;
}

static void engine_free_one(pp_engine *e) {
  for (int k = 0; k < PP_KIND_COUNT; k++)
    if (kind_ops[k]->engine_free)
      kind_ops[k]->engine_free(e);
  pp_dns_free(e->dns);
  pp_loop_free(e->loop);
  close(e->wake_fd);
  round_mem_free(e);
  free(e);
}

pp_engine *pp_engine_new(const pp_engine_config *cfg, char *err,
                         size_t errlen) {
  pp_engine *e = engine_new_one(cfg, err, errlen);
  if (e == NULL)
    return NULL;
  size_t threads = cfg && cfg->threads ? cfg->threads : pp_cpu_count();
  if (threads <= 1)
    return e;
  /* the engines that run the other parts of a large round */
  if ((e->helpers = calloc(threads - 1, sizeof(*e->helpers))) == NULL) {
    snprintf(err, errlen, "out of memory");
    pp_engine_free(e);
    return NULL;
  }
  for (; e->nhelpers < threads - 1; e->nhelpers++) {
    pp_engine *h = engine_new_one(cfg, err, errlen);
    if (h == NULL) {
      pp_engine_free(e);
      return NULL;
    }
    e->helpers[e->nhelpers] = h;
  }
  return e;
}

void pp_engine_free(pp_engine *e) {
  if (e == NULL)
    return;
  for (size_t i = 0; i < e->nhelpers; i++)
    engine_free_one(e->helpers[i]);
  free(e->helpers);
  engine_free_one(e);
}

static void wake(pp_engine *e) {
  uint64_t one = 1;
  e->interrupted = 1;
  /* wakes the loop even when the signal came just before epoll_wait */
  if (write(e->wake_fd, &one, sizeof(one)) < 0) {
    /* the counter is already non-zero: the loop wakes anyway */
  }
}

void pp_engine_interrupt(pp_engine *e) {
  int saved = errno;
  wake(e);
  for (size_t i = 0; i < e->nhelpers; i++)
    wake(e->helpers[i]);
  errno = saved;
}

static void on_wake(pp_loop *loop, int fd, unsigned ev, void *ud) {
  (void)loop;
  (void)ev;
  (void)ud;
  uint64_t n;
  if (read(fd, &n, sizeof(n)) < 0) {
    /* nothing pending: a stale wake-up */
  }
}

/* --- one check --- */

static bool attempt_timed_out(pp_check *c);
static void describe_attempts(pp_check *c);

static void on_child_done(pp_loop *loop, pp_timer *t, void *ud) {
  (void)loop;
  (void)t;
  pp_check *c = ud;
  c->done_cb(c->done_ud, c);
}

static void on_deadline(pp_loop *loop, pp_timer *t, void *ud) {
  (void)loop;
  (void)t;
  pp_check *c = ud;
  if (attempt_timed_out(c))
    return;
  pp_check_finish(c, PP_R_TIMEOUT, "no progress within %.3gs in phase %s",
                  pp_check_phase_elapsed(c), pp_phase_name(c->phase));
}

double pp_check_phase_elapsed(const pp_check *c) {
  return (double)(pp_now_us() - c->t_phase_us) / 1e6;
}

void pp_check_phase(pp_check *c, pp_phase phase) {
  c->phase = phase;
  c->t_phase_us = pp_now_us();
  uint64_t due = c->deadline_us;
  if (phase == PP_PHASE_CONNECT && c->target->opts->connect_timeout_ms > 0) {
    uint64_t d =
        c->t_phase_us + (uint64_t)c->target->opts->connect_timeout_ms * 1000u;
    if (d < due)
      due = d;
  }
  if (c->deadline.heap_index == 0 || c->deadline.due_us != due)
    pp_timer_start_at(c->engine->loop, &c->deadline, due);
}

pp_result_code pp_result_from_errno(int err) {
  switch (err) {
  case ECONNREFUSED:
    return PP_R_REFUSED;
  case ETIMEDOUT:
    return PP_R_TIMEOUT;
  case EHOSTUNREACH:
  case ENETUNREACH:
  case EHOSTDOWN:
  case ENETDOWN:
  case EPERM: /* a local firewall said no */
  case EACCES:
    return PP_R_UNREACHABLE;
  case ECONNRESET:
  case ECONNABORTED:
  case EPIPE:
    return PP_R_RESET;
  default:
    return PP_R_SOCKET_ERROR;
  }
}

void pp_check_fail_errno(pp_check *c, int err) {
  c->res->sys_errno = err;
  pp_check_finish(c, pp_result_from_errno(err), "%s", strerror(err));
}

static bool refusal_counts_as_closed(pp_result_code code) {
  return code == PP_R_REFUSED || code == PP_R_TIMEOUT ||
         code == PP_R_UNREACHABLE || code == PP_R_RESET;
}

void pp_check_finish(pp_check *c, pp_result_code code, const char *fmt, ...) {
  if (c->done)
    return;
  c->done = true;
  pp_result *r = c->res;
  const pp_target *t = c->target;

  if (fmt != NULL) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
    va_end(ap);
  }
  describe_attempts(c);
  free(c->attempts);
  c->attempts = NULL;
  /* A port that must be closed: refusal or silence at connect is success. */
  if (t->opts->expect_closed && c->phase == PP_PHASE_CONNECT &&
      refusal_counts_as_closed(code)) {
    char was[PP_DETAIL_MAX];
    snprintf(was, sizeof(was), "%s", r->detail);
    snprintf(r->detail, sizeof(r->detail), "closed as expected: %s (%.120s)",
             pp_result_describe(code), was);
    code = PP_R_OK;
  }
  r->code = code;
  r->up = code == PP_R_OK;
  r->phase = code == PP_R_OK ? PP_PHASE_NONE : c->phase;
  r->t_total = (double)(pp_now_us() - c->t_start_us) / 1e6;

  if (c->ops->cleanup)
    c->ops->cleanup(c);
  pp_tls_probe_free(c);
  pp_timer_stop(c->engine->loop, &c->deadline);
  pp_dns_cancel(c->dnsq);
  c->dnsq = NULL;
  if (c->fd >= 0) {
    pp_loop_unwatch(c->engine->loop, c->fd);
    close(c->fd);
    c->fd = -1;
  }
  c->engine->active--;
  if (c->counts_http)
    c->engine->active_http--;
  if (!r->up)
    pp_log(c->engine, PP_LOG_DEBUG, "target \"%s\": %s%s%s", pp_target_name(t),
           pp_result_name(code), r->detail[0] ? ": " : "", r->detail);
  /* a child tells its parent from the loop, not from here: whoever ended
   * it may still look at it on the way out, and the parent may free it */
  if (c->done_cb != NULL) {
    pp_timer_init(&c->deadline, on_child_done, c);
    pp_timer_start(c->engine->loop, &c->deadline, 0);
  }
}

void pp_check_end_child(pp_check *child, pp_result_code code,
                        const char *detail) {
  if (child->engine == NULL)
    return; /* never started */
  child->done_cb = NULL;
  pp_check_finish(child, code, "%s", detail);
  pp_timer_stop(child->engine->loop, &child->deadline);
}

void pp_format_address(const struct sockaddr *sa, char *buf, size_t len) {
  if (sa->sa_family == AF_INET)
    inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf,
              (socklen_t)len);
  else if (sa->sa_family == AF_INET6)
    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf,
              (socklen_t)len);
  else
    snprintf(buf, len, "?");
}

/* --- resolve --- */

typedef void (*next_fn)(pp_check *c);

/* One address of a name, and how its connect attempt failed. */
typedef struct {
  pp_sockaddr addr;
  pp_result_code code; /* PP_R_OK: not failed (yet) */
  int err;             /* errno of a socket failure, 0 otherwise */
  float secs;          /* how long the attempt took */
} attempt;

struct pp_attempts {
  size_t n, cur;          /* addresses; the one being tried */
  uint64_t budget_end_us; /* the connect phase's own deadline */
  bool done;              /* one connected: later connects are not ours */
  attempt a[];
};

static void set_addr(pp_check *c, const pp_sockaddr *sa) {
  memset(&c->addr, 0, sizeof(c->addr));
  memcpy(&c->addr, sa, pp_sockaddr_len(sa));
  c->addrlen = pp_sockaddr_len(sa);
  uint16_t port = htons(c->target->port);
  if (sa->sa.sa_family == AF_INET)
    ((struct sockaddr_in *)&c->addr)->sin_port = port;
  else if (sa->sa.sa_family == AF_INET6)
    ((struct sockaddr_in6 *)&c->addr)->sin6_port = port;
  pp_format_address(&sa->sa, c->res->address, sizeof(c->res->address));
  c->res->port = c->target->port;
}

int pp_check_family(const pp_target *t) {
  switch (t->opts->address_family) {
  case PP_AF_IPV4:
    return AF_INET;
  case PP_AF_IPV6:
    return AF_INET6;
  default:
    return AF_UNSPEC;
  }
}

/* The family of source_address, AF_UNSPEC when none is set or it is not an
 * address (bind_source then says so). */
int pp_check_source_family(const pp_target *t) {
  const char *src = t->opts->source_address;
  struct in6_addr a;
  if (src == NULL)
    return AF_UNSPEC;
  if (inet_pton(AF_INET, src, &a) == 1)
    return AF_INET;
  return inet_pton(AF_INET6, src, &a) == 1 ? AF_INET6 : AF_UNSPEC;
}

int pp_parse_address(const char *host, pp_sockaddr *sa) {
  memset(sa, 0, sizeof(*sa));
  if (inet_pton(AF_INET, host, &sa->in.sin_addr) == 1) {
    sa->in.sin_family = AF_INET;
    return 0;
  }
  if (inet_pton(AF_INET6, host, &sa->in6.sin6_addr) == 1) {
    sa->in6.sin6_family = AF_INET6;
    return 0;
  }
  return -1;
}

/* The addresses a connect may use (the source address's family, when one
 * is set): two or more become the check's attempt list. Returns the first
 * to try; addrs[0] when none is usable, for bind_source to name. */
static const pp_sockaddr *usable_addresses(pp_check *c,
                                           const pp_sockaddr *addrs, size_t n) {
  int fam = pp_check_source_family(c->target);
  size_t usable = 0, first = 0;
  for (size_t i = n; i-- > 0;)
    if (fam == AF_UNSPEC || addrs[i].sa.sa_family == fam) {
      usable++;
      first = i;
    }
  if (usable < 2)
    return &addrs[first];
  struct pp_attempts *at = calloc(1, sizeof(*at) + usable * sizeof(at->a[0]));
  if (at == NULL)
    return &addrs[first]; /* the first address alone */
  for (size_t i = 0; i < n; i++)
    if (fam == AF_UNSPEC || addrs[i].sa.sa_family == fam)
      at->a[at->n++].addr = addrs[i];
  c->attempts = at;
  return &at->a[0].addr;
}

static void on_resolved(void *ud, int status, const pp_sockaddr *addrs,
                        size_t n, const char *why) {
  pp_check *c = ud;
  next_fn next = c->after_resolve;
  c->dnsq = NULL;
  c->res->t_dns = pp_check_phase_elapsed(c);
  if (status != 0) {
    pp_check_finish(c, PP_R_DNS_FAILED, "%s: %s", c->host, why);
    return;
  }
  const pp_sockaddr *first = &addrs[0];
  if (c->keep_addresses)
    first = usable_addresses(c, addrs, n);
  set_addr(c, first);
  next(c);
}

static void resolve(pp_check *c, next_fn next, bool keep_addresses) {
  const pp_target *t = c->target;
  if (c->has_fixed) { /* one address of several, resolved by the parent */
    set_addr(c, &c->fixed);
    next(c);
    return;
  }
  if (c->host_is_ip) {
    pp_sockaddr sa;
    pp_parse_address(c->host, &sa);
    int want = pp_check_family(t);
    if (want != AF_UNSPEC && want != sa.sa.sa_family) {
      pp_check_finish(c, PP_R_DNS_FAILED,
                      "%s is not an %s address (address_family)", c->host,
                      want == AF_INET ? "IPv4" : "IPv6");
      return;
    }
    set_addr(c, &sa);
    next(c);
    return;
  }
  pp_check_phase(c, PP_PHASE_DNS);
  c->after_resolve = next;
  c->keep_addresses = keep_addresses;
  c->dnsq = pp_dns_resolve(c->engine->dns, c->host, pp_check_family(t),
                           on_resolved, c);
}

void pp_check_resolve(pp_check *c, void (*next)(pp_check *c)) {
  resolve(c, next, false);
}

/* --- connect, an address at a time --- */

static void connect_attempt(pp_check *c);

/* How one attempt ended, in words: "::1: Connection refused". */
static size_t describe_attempt(const attempt *a, char *buf, size_t len) {
  char addr[48];
  pp_format_address(&a->addr.sa, addr, sizeof(addr));
  int n;
  if (a->err != 0)
    n = snprintf(buf, len, "%s: %s", addr, strerror(a->err));
  else if (a->code == PP_R_TIMEOUT)
    n = snprintf(buf, len, "%s: no connection within %.3gs", addr, a->secs);
  else
    n = snprintf(buf, len, "%s: %s", addr, pp_result_describe(a->code));
  return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

/* Puts the addresses that gave way into the record's detail, once the
 * check has ended: "::1: Connection refused; 127.0.0.1: ..." when every
 * address failed, "answered on 127.0.0.1 after ::1: ..." otherwise. */
static void describe_attempts(pp_check *c) {
  const struct pp_attempts *at = c->attempts;
  pp_result *r = c->res;
  if (at == NULL || at->cur == 0)
    return;
  char before[PP_DETAIL_MAX] = "";
  size_t used = 0;
  for (size_t i = 0; i < at->cur && used + 3 < sizeof(before); i++) {
    if (i > 0)
      used += (size_t)snprintf(before + used, sizeof(before) - used, "; ");
    used += describe_attempt(&at->a[i], before + used, sizeof(before) - used);
  }
  /* composed at full length, then cut to the record's size */
  char out[2 * PP_DETAIL_MAX + 64];
  if (!at->done)
    snprintf(out, sizeof(out), "%s; %s: %s", before, r->address,
             r->detail[0] ? r->detail : pp_result_describe(r->code));
  else if (r->detail[0])
    snprintf(out, sizeof(out), "%s (on %s after %s)", r->detail, r->address,
             before);
  else
    snprintf(out, sizeof(out), "answered on %s after %s", r->address, before);
  size_t len = strlen(out);
  if (len >= sizeof(r->detail))
    len = sizeof(r->detail) - 1;
  memcpy(r->detail, out, len);
  r->detail[len] = 0;
}

/* The current address failed to connect: on to the next, or the end. */
static void attempt_failed(pp_check *c, pp_result_code code, int err) {
  struct pp_attempts *at = c->attempts;
  if (at == NULL || at->cur + 1 >= at->n) {
    if (err != 0)
      pp_check_fail_errno(c, err);
    else
      pp_check_finish(c, code, "no connection within %.3gs",
                      (double)(pp_now_us() - c->t_attempt_us) / 1e6);
    return;
  }
  attempt *a = &at->a[at->cur++];
  a->code = code;
  a->err = err;
  a->secs = (float)((double)(pp_now_us() - c->t_attempt_us) / 1e6);
  pp_loop_unwatch(c->engine->loop, c->fd);
  close(c->fd);
  c->fd = -1;
  set_addr(c, &at->a[at->cur].addr);
  connect_attempt(c);
}

static void on_connected(pp_check *c) {
  c->res->t_connect = (double)(pp_now_us() - c->t_attempt_us) / 1e6;
  if (c->attempts != NULL) {
    c->attempts->done = true;
    pp_timer_start_at(c->engine->loop, &c->deadline, c->deadline_us);
  }
  c->ops->connected(c);
}

static void on_connect_io(pp_loop *loop, int fd, unsigned ev, void *ud) {
  (void)loop;
  pp_check *c = ud;
  int err = 0;
  socklen_t len = sizeof(err);
  /* writable without an error or hang-up: connected (Linux reports a
   * failed connect with EPOLLERR); only then is SO_ERROR worth a call */
  if ((ev & PP_EV_ERROR || !(ev & PP_EV_WRITE)) &&
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
    err = errno;
  if (err == EINPROGRESS || err == EALREADY)
    return;
  if (err != 0) {
    attempt_failed(c, pp_result_from_errno(err), err);
    return;
  }
  pp_loop_unwatch(c->engine->loop, fd);
  on_connected(c);
}

/* A connect attempt's deadline passed: the next address, if any, gets the
 * rest. Returns false when the check itself has run out of time. */
static bool attempt_timed_out(pp_check *c) {
  const struct pp_attempts *at = c->attempts;
  if (c->phase != PP_PHASE_CONNECT || at == NULL || at->done ||
      at->cur + 1 >= at->n)
    return false;
  attempt_failed(c, PP_R_TIMEOUT, 0);
  return true;
}

int pp_check_bind_source(pp_check *c, int fd) {
  const char *src = c->target->opts->source_address;
  if (src == NULL)
    return 0;
  struct sockaddr_storage ss = {0};
  socklen_t len = 0;
  struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
  if (c->addr.sa.sa_family == AF_INET &&
      inet_pton(AF_INET, src, &s4->sin_addr)) {
    s4->sin_family = AF_INET;
    len = sizeof(*s4);
  } else if (c->addr.sa.sa_family == AF_INET6 &&
             inet_pton(AF_INET6, src, &s6->sin6_addr)) {
    s6->sin6_family = AF_INET6;
    len = sizeof(*s6);
  } else {
    pp_check_finish(c, PP_R_SOCKET_ERROR,
                    "source_address %s is not an address of the target's "
                    "family",
                    src);
    return -1;
  }
  if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
    c->res->sys_errno = errno;
    pp_check_finish(c, PP_R_SOCKET_ERROR, "source_address %s: %s", src,
                    strerror(errno));
    return -1;
  }
  return 0;
}

/* Arms the attempt's deadline: an equal share of what is left of the
 * connect budget for each address still to try, all of it for the last. */
static void arm_attempt(pp_check *c) {
  struct pp_attempts *at = c->attempts;
  if (at == NULL)
    return;
  uint64_t now = c->t_attempt_us, due = at->budget_end_us;
  size_t left = at->n - at->cur;
  if (left > 1 && due > now)
    due = now + (due - now) / left;
  pp_timer_start_at(c->engine->loop, &c->deadline, due);
}

/* socket() found no descriptor left while other checks hold some: the
 * check is taken back, as if not started, and starts again once one of
 * them has ended; the round's concurrency shrinks to what fits. false when
 * no other check would free one: then it is this check's failure. */
static bool wait_for_descriptor(pp_check *c) {
  pp_engine *e = c->engine;
  if (e->round == NULL || e->fdq == NULL || e->active < 2)
    return false;
  const pp_check_ops *ops = kind_ops[c->target->kind];
  if (ops->cleanup)
    ops->cleanup(c);
  pp_timer_stop(e->loop, &c->deadline);
  pp_dns_cancel(c->dnsq);
  free(c->attempts);
  c->attempts = NULL;
  c->done = true;
  c->engine = NULL; /* not started, should the round end first */
  e->active--;
  if (c->target->kind == PP_KIND_HTTP)
    e->active_http--;
  if (e->max_concurrent > e->active)
    e->max_concurrent = e->active;
  e->fdq[e->fdq_tail++ % e->nfdq] = (size_t)(c - e->round);
  return true;
}

static void connect_attempt(pp_check *c) {
  c->t_attempt_us = pp_now_us();
  if (c->res->addresses_tried < UINT8_MAX)
    c->res->addresses_tried++;
  arm_attempt(c);
  int fd = socket(c->addr.sa.sa_family,
                  SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0 && (errno == EMFILE || errno == ENFILE) && wait_for_descriptor(c))
    return;
  if (fd < 0) {
    c->res->sys_errno = errno;
    pp_check_finish(c, PP_R_SOCKET_ERROR, "socket: %s", strerror(errno));
    return;
  }
  c->fd = fd;
  /* a check's messages are small and each waits for its answer: Nagle
   * would hold the one after a TLS Finished for the peer's delayed ACK */
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (pp_check_bind_source(c, fd) != 0)
    return;
  if (connect(fd, (struct sockaddr *)&c->addr, c->addrlen) == 0) {
    on_connected(c);
    return;
  }
  if (errno != EINPROGRESS) {
    int err = errno;
    attempt_failed(c, pp_result_from_errno(err), err);
    return;
  }
  if (pp_loop_watch(c->engine->loop, fd, PP_EV_WRITE, on_connect_io, c) != 0)
    pp_check_finish(c, PP_R_SOCKET_ERROR, "event loop: %s", strerror(errno));
}

static void start_connect(pp_check *c) {
  pp_check_phase(c, PP_PHASE_CONNECT);
  if (c->attempts != NULL)
    c->attempts->budget_end_us = c->deadline.due_us;
  connect_attempt(c);
}

void pp_check_resolve_and_connect(pp_check *c) {
  resolve(c, start_connect, true);
}

/* --- the round --- */

/* What a target's own check runs: its kind, or a parent of child checks. */
static const pp_check_ops *top_ops(const pp_target *t) {
  if (pp_fanout_wanted(t))
    return &pp_fanout_ops;
  if (t->fetch != NULL)
    return &pp_mailtrip_ops;
  return kind_ops[t->kind];
}

/* Makes c ready to start: record cleared, clocks and deadline set. */
static void init_check(pp_engine *e, pp_check *c, const pp_target *t,
                       pp_result *r, const pp_check_ops *ops) {
  memset(c, 0, sizeof(*c));
  c->engine = e;
  c->target = t;
  c->res = r;
  c->fd = -1;
  c->ops = ops;
  c->host = t->host;
  c->host_is_ip = t->host_is_ip;
  pp_result_reset(r);
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  r->time_ns = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
  r->port = t->port;
  c->t_start_us = pp_now_us();
  c->deadline_us = c->t_start_us + (uint64_t)t->opts->timeout_ms * 1000u;
  pp_timer_init(&c->deadline, on_deadline, c);
  e->active++;
}

static void start_check(pp_engine *e, pp_check *c, const pp_target *t,
                        pp_result *r) {
  init_check(e, c, t, r, top_ops(t));
  if (t->kind == PP_KIND_HTTP) {
    c->counts_http = true;
    e->active_http++;
  }
  pp_check_phase(c, PP_PHASE_NONE);
  c->ops->start(c);
}

void pp_check_start_child(pp_check *parent, pp_check *child,
                          const pp_child_spec *spec) {
  init_check(parent->engine, child, spec->target, spec->res,
             kind_ops[spec->target->kind]);
  child->parent = parent;
  child->done_cb = spec->done;
  child->done_ud = spec->ud;
  if (spec->host != NULL) {
    pp_sockaddr sa;
    child->host = spec->host;
    child->host_is_ip = pp_parse_address(spec->host, &sa) == 0;
  }
  if (spec->addr != NULL) {
    child->has_fixed = true;
    child->fixed = *spec->addr;
  }
  uint64_t cap = spec->deadline_us ? spec->deadline_us : parent->deadline_us;
  if (child->deadline_us > cap)
    child->deadline_us = cap;
  pp_check_phase(child, PP_PHASE_NONE);
  child->ops->start(child);
}

/* --- memory for one round's records --- */

struct pp_round_mem {
  struct pp_round_mem *next;
  max_align_t data[];
};

void *pp_engine_round_alloc(pp_engine *e, size_t size) {
  struct pp_round_mem *m = calloc(1, sizeof(*m) + size);
  if (m == NULL)
    return NULL;
  m->next = e->round_mem;
  e->round_mem = m;
  return m->data;
}

pp_server_words *pp_check_words(pp_check *c) {
  if (c->res->words == NULL)
    c->res->words = pp_engine_round_alloc(c->engine, sizeof(pp_server_words));
  if (c->res->words != NULL)
    return c->res->words;
  static _Thread_local pp_server_words scratch; /* lost: out of memory */
  memset(&scratch, 0, sizeof(scratch));
  return &scratch;
}

char *pp_check_dns_info(pp_check *c) {
  pp_server_words *w = pp_check_words(c);
  if (w->dns_info == NULL)
    w->dns_info = pp_engine_round_alloc(c->engine, PP_DETAIL_MAX);
  if (w->dns_info != NULL)
    return w->dns_info;
  static _Thread_local char scratch[PP_DETAIL_MAX]; /* lost: out of memory */
  scratch[0] = 0;
  return scratch;
}

static void round_mem_free(pp_engine *e) {
  for (struct pp_round_mem *m = e->round_mem, *next; m != NULL; m = next) {
    next = m->next;
    free(m);
  }
  e->round_mem = NULL;
}

/* What a round has still to start. */
typedef struct {
  pp_target *const *targets;
  pp_result *results;
  const size_t *idx; /* this engine's targets: targets[idx[k]] (NULL: all) */
  pp_check *checks;  /* checks[k] runs targets[at(q, k)] */
  size_t n, next;
  /* HTTP(S) targets beyond max_concurrent_http wait here, in order, while
   * later targets of other kinds start */
  size_t *held, hhead, htail;
} round_queue;

static size_t at(const round_queue *q, size_t k) {
  return q->idx ? q->idx[k] : k;
}

static void start_at(pp_engine *e, round_queue *q, size_t k) {
  size_t i = at(q, k);
  start_check(e, &q->checks[k], q->targets[i], &q->results[i]);
}

static bool may_start(const pp_engine *e, const pp_target *t) {
  return e->active < e->max_concurrent && !e->interrupted &&
         (t->kind != PP_KIND_HTTP || e->active_http < e->max_concurrent_http);
}

static bool anything_to_start(const pp_engine *e, const round_queue *q) {
  return q->next < q->n || q->hhead < q->htail || e->fdq_head < e->fdq_tail;
}

/* Starts what may start now: checks that waited for a descriptor, then
 * held HTTP(S) checks, then the next targets in order. */
static void start_ready(pp_engine *e, round_queue *q) {
  while (e->fdq_head < e->fdq_tail) {
    size_t k = e->fdq[e->fdq_head % e->nfdq];
    if (!may_start(e, q->targets[at(q, k)]))
      break;
    e->fdq_head++;
    start_at(e, q, k);
  }
  while (q->hhead < q->htail &&
         may_start(e, q->targets[at(q, q->held[q->hhead])]))
    start_at(e, q, q->held[q->hhead++]);
  while (q->next < q->n && e->active < e->max_concurrent && !e->interrupted) {
    size_t k = q->next++;
    if (q->targets[at(q, k)]->kind == PP_KIND_HTTP &&
        (q->hhead < q->htail || e->active_http >= e->max_concurrent_http)) {
      q->held[q->htail++] = k;
      continue;
    }
    start_at(e, q, k);
  }
}

/* The round's memory: its checks, the held and descriptor queues. */
static int round_begin(pp_engine *e, round_queue *q) {
  size_t n = q->n, nhttp = 0;
  for (size_t k = 0; k < n; k++)
    nhttp += q->targets[at(q, k)]->kind == PP_KIND_HTTP;
  q->checks = calloc(n ? n : 1, sizeof(*q->checks));
  q->held =
      nhttp > e->max_concurrent_http ? malloc(nhttp * sizeof(size_t)) : NULL;
  e->fdq = malloc((n ? n : 1) * sizeof(*e->fdq));
  if (q->checks == NULL || e->fdq == NULL ||
      (nhttp > e->max_concurrent_http && q->held == NULL)) {
    free(q->checks);
    free(q->held);
    free(e->fdq);
    e->fdq = NULL;
    pp_log(e, PP_LOG_ERR, "round of %zu targets: out of memory", n);
    return -1;
  }
  e->round = q->checks;
  e->nfdq = n ? n : 1;
  e->fdq_head = e->fdq_tail = 0;
  e->active = e->active_http = 0;
  return 0;
}

static void round_end(pp_engine *e, round_queue *q, size_t configured) {
  free(q->held);
  free(q->checks);
  free(e->fdq);
  e->fdq = NULL;
  e->round = NULL;
  e->max_concurrent = configured; /* a round may have shrunk it */
}

/* The round ended early: checks in flight end now, and targets not started
 * get a record that says so. */
static void end_early(round_queue *q, const char *why) {
  for (size_t k = 0; k < q->n; k++) {
    if (q->checks[k].engine != NULL) {
      pp_check_finish(&q->checks[k], PP_R_SOCKET_ERROR, "%s",
                      why ? why : "round interrupted");
    } else {
      pp_result *r = &q->results[at(q, k)];
      pp_result_reset(r);
      r->code = PP_R_SOCKET_ERROR;
    }
  }
}

static int run_loop(pp_engine *e, round_queue *q) {
  int rc = 0;
  const char *why = NULL; /* the round ends early */
  for (;;) {
    start_ready(e, q);
    if (e->active == 0 && (!anything_to_start(e, q) || e->interrupted))
      break;
    if (pp_loop_run_once(e->loop, -1) < 0) {
      pp_log(e, PP_LOG_ERR, "event loop failed: %s", strerror(errno));
      why = "event loop failed";
    } else if (e->interrupted) {
      pp_log(e, PP_LOG_INFO, "round interrupted with %zu checks in flight",
             e->active);
      why = "round interrupted";
      rc = -1;
    }
    if (why != NULL)
      break;
  }
  /* the loop failed or the round was interrupted */
  if (e->active > 0 || anything_to_start(e, q) || e->interrupted)
    end_early(q, why);
  return e->interrupted ? -1 : rc;
}

int pp_engine_run_part(pp_engine *e, pp_target *const *targets,
                       const size_t *idx, size_t n, pp_result *results,
                       size_t max, size_t max_http) {
  if (e->interrupted)
    return -1;
  round_mem_free(e); /* the last round's records are read by now */
  size_t configured = e->max_concurrent,
         configured_http = e->max_concurrent_http;
  e->max_concurrent = max;
  e->max_concurrent_http = max_http;
  round_queue q = {.targets = targets, .results = results, .idx = idx, .n = n};
  int rc = -1;
  if (round_begin(e, &q) != 0)
    goto out;
  /* watched during the round only, so that between rounds the loop holds
   * no descriptor of the engine's own */
  if (pp_loop_watch(e->loop, e->wake_fd, PP_EV_READ, on_wake, e) != 0) {
    pp_log(e, PP_LOG_ERR, "event loop: %s", strerror(errno));
  } else {
    rc = run_loop(e, &q);
    pp_loop_unwatch(e->loop, e->wake_fd);
    pp_dns_tidy(e->dns);
  }
  round_end(e, &q, max);
out:
  e->max_concurrent = configured;
  e->max_concurrent_http = configured_http;
  return rc;
}

size_t pp_descriptors_fit(void) {
  return default_concurrency();
}

size_t pp_engine_concurrency(pp_engine *e) {
  if (e->auto_concurrency) /* what the process holds changes between rounds */
    e->max_concurrent = default_concurrency();
  return e->max_concurrent;
}

int pp_engine_run(pp_engine *e, pp_target *const *targets, size_t n,
                  pp_result *results) {
  for (size_t i = 0; i < n; i++)
    if (!targets[i]->finalized) {
      pp_log(e, PP_LOG_ERR, "target \"%s\" was not finalized; round skipped",
             pp_target_name(targets[i]));
      return -1;
    }
  if (e->interrupted)
    return -1;
  if (e->nhelpers > 0)
    return pp_spread_run(e, targets, n, results);
  return pp_engine_run_part(e, targets, NULL, n, results,
                            pp_engine_concurrency(e), e->max_concurrent_http);
}
