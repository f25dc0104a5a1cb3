/* A TCP connection of a dns check on the engine's loop, with TLS on demand
 * (the project's tls.c): DNS over TCP and TLS, and DANE's SMTP STARTTLS.
 * Each call arms one step and calls back once when it is done or failed. */
#include "dns_int.h"
#include "tls_check.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef enum { ST_IDLE, ST_CONNECT, ST_HANDSHAKE, ST_WRITE, ST_READ } st;

struct dstream {
  dns_check *dc;
  pp_sockaddr to;
  int fd;
  st state;
  pp_tls *tls;
  bool record; /* TLS facts go into the check's record */
  bool verify; /* a failed verification ends the step */
  const char *name;
  uint64_t t0_us;
  const uint8_t *wbuf;
  size_t wlen, woff;
  uint8_t *rbuf;
  size_t rlen, rcap, rmax;
  size_t (*complete)(const uint8_t *b, size_t n);
  dstream_fn fn;
  void *ud;
  int err;
  char why[PP_DETAIL_MAX];
};

static void on_io(pp_loop *loop, int fd, unsigned ev, void *ud);

dstream *ds_new(dns_check *dc, const pp_sockaddr *to) {
  dstream *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->dc = dc;
  s->to = *to;
  s->fd = -1;
  return s;
}

void ds_free(dstream *s) {
  if (s == NULL)
    return;
  pp_tls_free(s->tls);
  if (s->fd >= 0) {
    pp_loop_unwatch(s->dc->c->engine->loop, s->fd);
    close(s->fd);
  }
  free(s->rbuf);
  free(s);
}

const char *ds_why(const dstream *s) {
  return s->why;
}
int ds_errno(const dstream *s) {
  return s->err;
}
pp_tls *ds_tls_session(dstream *s) {
  return s->tls;
}

/* The step ends: the callback may free the stream. */
static void done(dstream *s, int status) {
  s->state = ST_IDLE;
  if (s->fd >= 0) /* idle: a hang-up must not spin the loop */
    pp_loop_unwatch(s->dc->c->engine->loop, s->fd);
  s->fn(s, s->ud, status);
}

static int fail_errno(dstream *s, int err) {
  s->err = err;
  snprintf(s->why, sizeof(s->why), "%s", strerror(err));
  done(s, pp_result_from_errno(err));
  return -1;
}

static void watch(dstream *s, unsigned ev) {
  if (pp_loop_watch(s->dc->c->engine->loop, s->fd, ev, on_io, s) != 0)
    fail_errno(s, errno ? errno : ENOMEM);
}

void ds_connect(dstream *s, dstream_fn fn, void *ud) {
  s->fn = fn;
  s->ud = ud;
  s->state = ST_CONNECT;
  s->fd =
      socket(s->to.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (s->fd < 0) {
    fail_errno(s, errno);
    return;
  }
  if (dns_bind_source(s->dc, s->fd, s->to.sa.sa_family, s->why,
                      sizeof(s->why)) != 0) {
    done(s, PP_R_SOCKET_ERROR);
    return;
  }
  if (connect(s->fd, &s->to.sa, pp_sockaddr_len(&s->to)) == 0) {
    done(s, 0);
    return;
  }
  if (errno != EINPROGRESS) {
    fail_errno(s, errno);
    return;
  }
  watch(s, PP_EV_WRITE);
}

static void tls_step(dstream *s, pp_tls_rc rc) {
  switch (rc) {
  case PP_TLS_WANT_READ:
    watch(s, PP_EV_READ);
    return;
  case PP_TLS_WANT_WRITE:
    watch(s, PP_EV_WRITE);
    return;
  case PP_TLS_EOF:
    snprintf(s->why, sizeof(s->why), "%s", pp_tls_why(s->tls));
    done(s, s->state == ST_HANDSHAKE ? PP_R_TLS_HANDSHAKE_FAILED : PP_R_CLOSED);
    return;
  default:
    s->err = pp_tls_errno(s->tls);
    snprintf(s->why, sizeof(s->why), "%s", pp_tls_why(s->tls));
    done(s, s->err                     ? pp_result_from_errno(s->err)
            : s->state == ST_HANDSHAKE ? PP_R_TLS_HANDSHAKE_FAILED
                                       : PP_R_PROTOCOL_ERROR);
    return;
  case PP_TLS_DONE:
    break;
  }
}

static void handshake(dstream *s) {
  pp_tls_rc rc = pp_tls_handshake(s->tls);
  if (rc != PP_TLS_DONE) {
    tls_step(s, rc);
    return;
  }
  pp_check *c = s->dc->c;
  const pp_opts *o = s->dc->t->opts;
  pp_result scratch, *r = s->record ? c->res : &scratch;
  if (!s->record)
    pp_result_reset(&scratch);
  else
    r->t_tls = (double)(pp_now_us() - s->t0_us) / 1e6;
  char why[PP_DETAIL_MAX - 40] = "";
  if (!s->verify) { /* facts only: DANE judges the certificate itself */
    pp_tls_record(pp_tls_ssl(s->tls), o, r, c->engine);
    done(s, 0);
    return;
  }
  pp_result_code code = pp_tls_check(s->tls, o, r, c->engine, why, sizeof(why));
  if (code != PP_R_OK) {
    snprintf(s->why, sizeof(s->why), "%s", why);
    done(s, code);
    return;
  }
  done(s, 0);
}

void ds_tls(dstream *s, const char *name, bool record, bool verify,
            dstream_fn fn, void *ud) {
  s->fn = fn;
  s->ud = ud;
  s->record = record;
  s->verify = verify;
  s->state = ST_HANDSHAKE;
  s->t0_us = pp_now_us();
  dns_engine *de = s->dc->de;
  if (de->tls == NULL && (de->tls = pp_tls_ctxs_new()) == NULL) {
    snprintf(s->why, sizeof(s->why), "TLS: out of memory");
    done(s, PP_R_SOCKET_ERROR);
    return;
  }
  const pp_opts *o = s->dc->t->opts;
  char addr[48];
  pp_format_address(&s->to.sa, addr, sizeof(addr));
  pp_tls_peer peer = {.ca_file = o->ca_file,
                      .host = name ? name : addr,
                      .host_is_ip = name == NULL,
                      .sni = o->sni};
  if ((s->tls = pp_tls_new(de->tls, s->fd, &peer, s->why, sizeof(s->why))) ==
      NULL) {
    done(s, PP_R_SOCKET_ERROR);
    return;
  }
  handshake(s);
}

static void do_write(dstream *s) {
  while (s->woff < s->wlen) {
    size_t n = 0;
    if (s->tls != NULL) {
      pp_tls_rc rc = pp_tls_write(s->tls, (const char *)s->wbuf + s->woff,
                                  s->wlen - s->woff, &n);
      if (rc != PP_TLS_DONE) {
        tls_step(s, rc);
        return;
      }
    } else {
      ssize_t w =
          send(s->fd, s->wbuf + s->woff, s->wlen - s->woff, MSG_NOSIGNAL);
      if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
        watch(s, PP_EV_WRITE);
        return;
      }
      if (w < 0) {
        fail_errno(s, errno);
        return;
      }
      n = (size_t)w;
    }
    s->woff += n;
  }
  done(s, 0);
}

void ds_write(dstream *s, const void *buf, size_t len, dstream_fn fn,
              void *ud) {
  s->fn = fn;
  s->ud = ud;
  s->state = ST_WRITE;
  s->wbuf = buf;
  s->wlen = len;
  s->woff = 0;
  do_write(s);
}

/* Whether the bytes read hold a whole message yet; ends the step if so. */
static bool judge(dstream *s) {
  size_t n = s->rlen ? s->complete(s->rbuf, s->rlen) : 0;
  if (n == (size_t)-1) {
    snprintf(s->why, sizeof(s->why), "malformed reply");
    done(s, PP_R_PROTOCOL_ERROR);
    return true;
  }
  if (n > 0) {
    done(s, 0);
    return true;
  }
  if (s->rlen >= s->rmax) {
    snprintf(s->why, sizeof(s->why), "reply longer than %zu bytes", s->rmax);
    done(s, PP_R_PROTOCOL_ERROR);
    return true;
  }
  return false;
}

static void do_read(dstream *s) {
  for (;;) {
    if (judge(s))
      return;
    if (s->rcap < s->rmax) {
      size_t cap = s->rcap ? s->rcap * 2 : 1024;
      uint8_t *b = realloc(s->rbuf, cap > s->rmax ? s->rmax : cap);
      if (b == NULL) {
        fail_errno(s, ENOMEM);
        return;
      }
      s->rbuf = b;
      s->rcap = cap > s->rmax ? s->rmax : cap;
    }
    size_t room = s->rcap - s->rlen, n = 0;
    if (s->tls != NULL) {
      pp_tls_rc rc = pp_tls_read(s->tls, (char *)s->rbuf + s->rlen, room, &n);
      if (rc != PP_TLS_DONE) {
        tls_step(s, rc);
        return;
      }
    } else {
      ssize_t r = recv(s->fd, s->rbuf + s->rlen, room, 0);
      if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
        watch(s, PP_EV_READ);
        return;
      }
      if (r < 0) {
        fail_errno(s, errno);
        return;
      }
      if (r == 0) {
        snprintf(s->why, sizeof(s->why), "server closed the connection");
        done(s, PP_R_CLOSED);
        return;
      }
      n = (size_t)r;
    }
    s->rlen += n;
  }
}

void ds_read(dstream *s, size_t max,
             size_t (*complete)(const uint8_t *b, size_t n), dstream_fn fn,
             void *ud) {
  s->fn = fn;
  s->ud = ud;
  s->state = ST_READ;
  s->rmax = max;
  s->complete = complete;
  do_read(s);
}

const uint8_t *ds_data(const dstream *s, size_t *len) {
  *len = s->rlen;
  return s->rbuf;
}

void ds_consume(dstream *s, size_t n) {
  if (n >= s->rlen) {
    s->rlen = 0;
    return;
  }
  memmove(s->rbuf, s->rbuf + n, s->rlen - n);
  s->rlen -= n;
}

static void on_io(pp_loop *loop, int fd, unsigned ev, void *ud) {
  (void)loop;
  dstream *s = ud;
  switch (s->state) {
  case ST_CONNECT: {
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
      err = errno;
    if (err == EINPROGRESS || err == EALREADY)
      return;
    if (err != 0 || (ev & PP_EV_ERROR && !(ev & PP_EV_WRITE))) {
      fail_errno(s, err ? err : ECONNREFUSED);
      return;
    }
    done(s, 0);
    return;
  }
  case ST_HANDSHAKE:
    handshake(s);
    return;
  case ST_WRITE:
    do_write(s);
    return;
  case ST_READ:
    do_read(s);
    return;
  case ST_IDLE:
    return;
  }
}
