/* The udp kind: one datagram out (the user's send, or a codec's request
 * such as NTP's), sent again while no reply comes, spread over timeout
 * (retries); the reply judged by expect or the codec. An ICMP port
 * unreachable is refused, silence is timeout. */
#include "wire.h"

#include "dialog_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SILENCE_MARGIN_US                                                      \
  2000 /* silence is judged just before the deadline                           \
        */
#define DATAGRAM_MAX 65536

/* per target, kept across rounds: the user's datagram and expect */
typedef struct {
  const pp_step *send;
  const pp_step *expect;
  pcre2_code *re;
} udp_plan;

typedef struct {
  pp_check *c;
  const udp_plan *pl;
  pp_wire w; /* the codec's view, when the scheme has one */
  uint8_t *buf;
  size_t cap;
  pp_timer retry;
  unsigned sent;
  uint64_t t0_us, interval_us;
} udp_check;

/* --- per target --- */

static int udp_validate(const pp_target *t, char *err, size_t errlen) {
  const pp_steplist *l = &t->opts->steps;
  const char *name = pp_target_name(t);
  if (pp_wire_validate(t, err, errlen) != 0)
    return -1;
  if (t->scheme->wire != NULL) {
    if (l->n > 0) {
      snprintf(err, errlen,
               "target \"%s\": %s targets send their own request: send and "
               "expect do not apply",
               name, t->scheme->name);
      return -1;
    }
    return 0;
  }
  if (l->n == 0 || l->items[0].kind != PP_STEP_SEND || l->n > 2 ||
      (l->n == 2 && l->items[1].kind != PP_STEP_EXPECT)) {
    snprintf(err, errlen,
             "target \"%s\": udp targets take one send (the datagram) and at "
             "most one expect after it",
             name);
    return -1;
  }
  if (l->items[0].len == 0) {
    snprintf(err, errlen, "target \"%s\": send: the datagram is empty", name);
    return -1;
  }
  return 0;
}

static void plan_free(void *p) {
  udp_plan *pl = p;
  if (pl != NULL)
    pcre2_code_free(pl->re);
  free(pl);
}

static void *plan_new(const pp_target *t, char *err, size_t errlen) {
  udp_plan *pl = calloc(1, sizeof(*pl));
  bool ok = pl != NULL;
  const pp_steplist *l = &t->opts->steps;
  if (ok && l->n > 0)
    pl->send = &l->items[0];
  if (ok && l->n > 1) {
    pl->expect = &l->items[1];
    pl->re = pp_dlg_compile(pl->expect->text, &ok);
  }
  if (!ok) {
    snprintf(err, errlen, "target \"%s\": cannot prepare the udp check",
             pp_target_name(t));
    plan_free(pl);
    return NULL;
  }
  return pl;
}

/* --- one check --- */

static double since(const udp_check *u) {
  return (double)(pp_now_us() - u->t0_us) / 1e6;
}

static void send_one(udp_check *u) {
  pp_check *c = u->c;
  const void *data;
  size_t len;
  if (u->w.proto != NULL) {
    pp_wbuf_free(&u->w.out, false);
    if (u->w.proto->begin(&u->w) == PP_WIRE_END || c->done)
      return;
    if (u->w.out.oom) {
      pp_check_finish(c, PP_R_SOCKET_ERROR, "out of memory");
      return;
    }
    data = u->w.out.p;
    len = u->w.out.len;
  } else {
    data = u->pl->send->text;
    len = u->pl->send->len;
  }
  if (send(c->fd, data, len, 0) < 0 && errno != EAGAIN) {
    int e = errno;
    c->res->sys_errno = e;
    pp_check_finish(c, pp_result_from_errno(e), "%s%s", strerror(e),
                    e == ECONNREFUSED ? " (ICMP port unreachable)" : "");
    return;
  }
  u->sent++;
}

static void on_retry(pp_loop *loop, pp_timer *t, void *ud) {
  (void)t;
  udp_check *u = ud;
  pp_check *c = u->c;
  if (u->sent <= (unsigned)c->target->opts->retries) {
    send_one(u);
    if (c->done)
      return;
  }
  uint64_t next = u->t0_us + u->interval_us * u->sent;
  uint64_t last = c->deadline_us - SILENCE_MARGIN_US;
  if (u->sent > (unsigned)c->target->opts->retries || next > last)
    next = last;
  if (pp_now_us() >= last) {
    pp_check_finish(c, PP_R_TIMEOUT, "no reply to %u datagram%s within %.3gs",
                    u->sent, u->sent == 1 ? "" : "s", since(u));
    return;
  }
  pp_timer_start_at(loop, &u->retry, next);
}

/* The user's expect (or any reply when there is none). */
static void judge(udp_check *u, const uint8_t *msg, size_t len) {
  pp_check *c = u->c;
  pp_result_set_excerpt(c->res, (const char *)msg, len);
  if (u->pl->re == NULL) {
    pp_check_finish(c, PP_R_OK, NULL);
    return;
  }
  dlg_engine *de = c->engine->kind_state[PP_KIND_DIALOG];
  int rc = pcre2_match(u->pl->re, msg, len, 0, 0, de->md, de->mctx);
  if (rc >= 0)
    pp_check_finish(c, PP_R_OK, NULL);
  else if (rc == PCRE2_ERROR_NOMATCH)
    pp_check_finish(c, PP_R_EXPECT_MISMATCH, "reply does not match /%.80s/",
                    u->pl->expect->text);
  else
    pp_check_finish(c, PP_R_EXPECT_MISMATCH,
                    "/%.80s/: the regular expression hit its match limit",
                    u->pl->expect->text);
}

static void on_datagram(udp_check *u, size_t n) {
  pp_check *c = u->c;
  if (c->res->t_first_byte < 0)
    c->res->t_first_byte = since(u);
  if (n > u->cap) { /* MSG_TRUNC: the datagram's own length */
    pp_result_set_excerpt(c->res, (const char *)u->buf, u->cap);
    pp_check_finish(c, PP_R_PROTOCOL_ERROR,
                    "a datagram of %zu bytes is longer than max_reply (%zu)", n,
                    u->cap);
    return;
  }
  if (u->w.proto == NULL) {
    judge(u, u->buf, n);
    return;
  }
  /* a codec's READ: not an answer to us (a stray or late datagram) */
  pp_wire_next next = u->w.proto->message(&u->w, u->buf, n);
  if (!c->done && next != PP_WIRE_READ && next != PP_WIRE_END)
    pp_check_finish(c, PP_R_SOCKET_ERROR, "%s: no such step over udp",
                    u->w.proto->name);
}

static void on_readable(pp_loop *loop, int fd, unsigned ev, void *ud) {
  (void)loop;
  (void)ev;
  udp_check *u = ud;
  pp_check *c = u->c;
  while (!c->done) {
    ssize_t r = recv(fd, u->buf, u->cap, MSG_TRUNC);
    if (r < 0) {
      int e = errno;
      if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR)
        return;
      c->res->sys_errno = e;
      pp_check_finish(c, pp_result_from_errno(e), "%s%s after %u datagram%s",
                      strerror(e),
                      e == ECONNREFUSED ? " (ICMP port unreachable)" : "",
                      u->sent, u->sent == 1 ? "" : "s");
      return;
    }
    on_datagram(u, (size_t)r);
  }
}

static void udp_resolved(pp_check *c) {
  udp_check *u = c->priv;
  int fd = socket(c->addr.sa.sa_family,
                  SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    c->res->sys_errno = errno;
    pp_check_finish(c, PP_R_SOCKET_ERROR, "socket: %s", strerror(errno));
    return;
  }
  c->fd = fd;
  if (pp_check_bind_source(c, fd) != 0)
    return;
  /* connected: the kernel hands us ICMP errors and only the server's
   * datagrams */
  if (connect(fd, (struct sockaddr *)&c->addr, c->addrlen) != 0) {
    pp_check_fail_errno(c, errno);
    return;
  }
  if (pp_loop_watch(c->engine->loop, fd, PP_EV_READ, on_readable, u) != 0) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "event loop: %s", strerror(errno));
    return;
  }
  pp_check_phase(c, PP_PHASE_DIALOG);
  u->t0_us = pp_now_us();
  uint64_t budget = c->deadline_us > u->t0_us ? c->deadline_us - u->t0_us : 0;
  u->interval_us = budget / ((uint64_t)c->target->opts->retries + 1);
  on_retry(c->engine->loop, &u->retry, u);
}

static void udp_start(pp_check *c) {
  const pp_target *t = c->target;
  udp_check *u = calloc(1, sizeof(*u));
  if (u != NULL) {
    u->cap = (size_t)t->opts->max_reply < DATAGRAM_MAX
                 ? (size_t)t->opts->max_reply
                 : DATAGRAM_MAX;
    u->buf = malloc(u->cap);
  }
  const pp_wire_proto *p = t->scheme->wire;
  void *st = p && p->state_size ? calloc(1, p->state_size) : NULL;
  if (u == NULL || u->buf == NULL || (p && p->state_size && st == NULL) ||
      pp_dlg_engine(c->engine) == NULL) {
    if (u != NULL)
      free(u->buf);
    free(u);
    free(st);
    pp_check_finish(c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  u->c = c;
  u->pl = t->check_data;
  if (p != NULL)
    u->w = (pp_wire){.c = c, .t = t, .proto = p, .st = st};
  pp_timer_init(&u->retry, on_retry, u);
  c->priv = u;
  pp_check_resolve(c, udp_resolved);
}

static void udp_cleanup(pp_check *c) {
  udp_check *u = c->priv;
  if (u == NULL)
    return;
  pp_timer_stop(c->engine->loop, &u->retry);
  if (u->w.proto != NULL && u->w.proto->state_free != NULL && u->w.st)
    u->w.proto->state_free(u->w.st);
  free(u->w.st);
  pp_wbuf_free(&u->w.out, false);
  free(u->buf);
  free(u);
  c->priv = NULL;
}

const pp_check_ops pp_udp_ops = {
    .name = "udp",
    .applies = PP_APPLY_UDP,
    .validate = udp_validate,
    .prepare = plan_new,
    .data_free = plan_free,
    .start = udp_start,
    .cleanup = udp_cleanup,
};
