/* One DNS exchange on the engine's loop: over UDP (a connected socket of its
 * own, retransmitted with backoff, answers matched by ID and question, TCP
 * after a truncated answer), over TCP, or over TLS (RFC 7858) through
 * dns_stream.c. ldns turns the query into wire format and the answer back. */
#include "dns_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct dnsx {
  dnsx *next;
  dns_check *dc;
  dnsx_opts o;
  pp_sockaddr server;
  uint8_t *wire; /* 2 bytes of length, then the query (TCP's framing) */
  size_t wlen;   /* the query's own length */
  uint16_t id;
  ldns_rdf *qname;
  ldns_rr_type qtype;
  int fd; /* udp */
  dstream *s;
  pp_timer timer;
  uint64_t retry_us, t_sent_us;
  bool over_tcp;
  dnsx_cb cb;
  void *ud;
};

static void release(dnsx *x) {
  pp_loop *loop = x->dc->c->engine->loop;
  pp_timer_stop(loop, &x->timer);
  if (x->fd >= 0) {
    pp_loop_unwatch(loop, x->fd);
    close(x->fd);
    x->fd = -1;
  }
  ds_free(x->s);
  x->s = NULL;
  ldns_rdf_deep_free(x->qname);
  free(x->wire);
  free(x);
}

static void unlink_x(dnsx *x) {
  for (dnsx **p = &x->dc->xs; *p; p = &(*p)->next)
    if (*p == x) {
      *p = x->next;
      return;
    }
}

/* The exchange is over: out of the list first, so that a callback that
 * ends the check does not cancel it twice. */
static void deliver(dnsx *x, dnsx_result *r) {
  unlink_x(x);
  r->over_tcp = x->over_tcp;
  r->secs = x->t_sent_us ? (double)(pp_now_us() - x->t_sent_us) / 1e6 : -1;
  if (x->o.primary && r->status == DNSX_OK)
    x->dc->c->res->t_query = r->secs;
  dnsx_cb cb = x->cb;
  void *ud = x->ud;
  dns_check *dc = x->dc;
  char why[PP_DETAIL_MAX]; /* may point into the stream, freed below */
  if (r->why != NULL) {
    snprintf(why, sizeof(why), "%s", r->why);
    r->why = why;
  }
  release(x);
  cb(dc, ud, r);
}

static void fail(dnsx *x, dnsx_status st, int err, pp_result_code code,
                 const char *why) {
  dnsx_result r = {.status = st, .err = err, .code = code, .why = why};
  deliver(x, &r);
}

void dnsx_cancel_all(dns_check *dc) {
  while (dc->xs) {
    dnsx *x = dc->xs;
    dc->xs = x->next;
    release(x);
  }
}

/* Whether pkt answers our question (a stray or forged datagram does not). */
static bool ours(const dnsx *x, const ldns_pkt *pkt) {
  if (ldns_pkt_id(pkt) != x->id || !ldns_pkt_qr(pkt))
    return false;
  const ldns_rr_list *q = ldns_pkt_question(pkt);
  if (q == NULL || ldns_rr_list_rr_count(q) != 1)
    return ldns_pkt_get_rcode(pkt) != LDNS_RCODE_NOERROR; /* FORMERR... */
  const ldns_rr *rr = ldns_rr_list_rr(q, 0);
  return ldns_rr_get_type(rr) == x->qtype &&
         ldns_dname_compare(ldns_rr_owner(rr), x->qname) == 0;
}

/* Whether every record carries the fields its type must have: a record
 * with its rdata cut short (rdlength 0) parses, and would leave later code
 * a field that is not there. */
static bool well_formed(const ldns_pkt *pkt) {
  const ldns_rr_list *secs[] = {ldns_pkt_answer(pkt), ldns_pkt_authority(pkt),
                                ldns_pkt_additional(pkt)};
  for (size_t s = 0; s < 3; s++)
    for (size_t i = 0; i < ldns_rr_list_rr_count(secs[s]); i++) {
      const ldns_rr *rr = ldns_rr_list_rr(secs[s], i);
      const ldns_rr_descriptor *d = ldns_rr_descript(ldns_rr_get_type(rr));
      if (d != NULL && ldns_rr_rd_count(rr) < ldns_rr_descriptor_minimum(d))
        return false;
      for (size_t j = 0; j < ldns_rr_rd_count(rr); j++)
        if (ldns_rr_rdf(rr, j) == NULL)
          return false;
    }
  return true;
}

/* --- TCP and TLS --- */

static size_t tcp_complete(const uint8_t *b, size_t n) {
  if (n < 2)
    return 0;
  size_t len = ((size_t)b[0] << 8) | b[1];
  if (len < 12)
    return (size_t)-1;
  return n >= len + 2 ? len + 2 : 0;
}

static void stream_failed(dnsx *x, int status) {
  int err = ds_errno(x->s);
  if (status == PP_R_TLS_HANDSHAKE_FAILED || status == PP_R_TLS_VERIFY_FAILED)
    fail(x, DNSX_TLS, err, (pp_result_code)status, ds_why(x->s));
  else if (err != 0)
    fail(x, DNSX_ERRNO, err, (pp_result_code)status, ds_why(x->s));
  else
    fail(x, DNSX_MALFORMED, 0, (pp_result_code)status, ds_why(x->s));
}

static void on_tcp_read(dstream *s, void *ud, int status) {
  dnsx *x = ud;
  if (status != 0) {
    stream_failed(x, status);
    return;
  }
  size_t len;
  const uint8_t *b = ds_data(s, &len);
  ldns_pkt *pkt = NULL;
  if (ldns_wire2pkt(&pkt, b + 2, tcp_complete(b, len) - 2) != LDNS_STATUS_OK) {
    fail(x, DNSX_MALFORMED, 0, PP_R_PROTOCOL_ERROR, "malformed DNS message");
    return;
  }
  if (!ours(x, pkt) || !well_formed(pkt)) {
    bool mine = ours(x, pkt);
    ldns_pkt_free(pkt);
    fail(x, DNSX_MALFORMED, 0, PP_R_PROTOCOL_ERROR,
         mine ? "a record of the answer lacks fields its type must have"
              : "answer does not match the query (ID or question)");
    return;
  }
  dnsx_result r = {.status = DNSX_OK, .pkt = pkt};
  deliver(x, &r);
}

static void on_tcp_written(dstream *s, void *ud, int status) {
  dnsx *x = ud;
  if (status != 0) {
    stream_failed(x, status);
    return;
  }
  ds_read(s, DNS_MAX_MSG + 2, tcp_complete, on_tcp_read, x);
}

static void tcp_send(dnsx *x) {
  if (x->o.primary)
    pp_check_phase(x->dc->c, PP_PHASE_QUERY);
  x->t_sent_us = pp_now_us();
  ds_write(x->s, x->wire, x->wlen + 2, on_tcp_written, x);
}

static void on_tls(dstream *s, void *ud, int status) {
  (void)s;
  dnsx *x = ud;
  if (status != 0) {
    stream_failed(x, status);
    return;
  }
  tcp_send(x);
}

static void on_tcp_connected(dstream *s, void *ud, int status) {
  dnsx *x = ud;
  pp_check *c = x->dc->c;
  if (status != 0) {
    stream_failed(x, status);
    return;
  }
  if (x->o.primary)
    c->res->t_connect = pp_check_phase_elapsed(c);
  if (x->o.transport != PP_DNS_TLS) {
    tcp_send(x);
    return;
  }
  const pp_target *t = x->dc->t;
  if (x->o.primary)
    pp_check_phase(c, PP_PHASE_TLS);
  ds_tls(s, t->host_is_ip || !t->host[0] ? NULL : t->host, x->o.primary,
         t->opts->verify, on_tls, x);
}

static void tcp_start(dnsx *x) {
  if ((x->s = ds_new(x->dc, &x->server)) == NULL) {
    fail(x, DNSX_ERRNO, ENOMEM, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  if (x->o.primary)
    pp_check_phase(x->dc->c, PP_PHASE_CONNECT);
  if (x->o.deadline_us)
    pp_timer_start_at(x->dc->c->engine->loop, &x->timer, x->o.deadline_us);
  ds_connect(x->s, on_tcp_connected, x);
}

/* --- UDP --- */

static void arm(dnsx *x) {
  uint64_t due = pp_now_us() + x->retry_us;
  if (x->o.deadline_us && due > x->o.deadline_us)
    due = x->o.deadline_us;
  pp_timer_start_at(x->dc->c->engine->loop, &x->timer, due);
}

static void on_udp(pp_loop *loop, int fd, unsigned ev, void *ud) {
  (void)loop;
  (void)ev;
  dnsx *x = ud;
  uint8_t *buf = x->dc->de->rbuf;
  for (;;) {
    ssize_t n = recv(fd, buf, DNS_MAX_MSG, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
      return;
    if (n < 0) {
      int err = errno;
      fail(x, DNSX_ERRNO, err, pp_result_from_errno(err), strerror(err));
      return;
    }
    ldns_pkt *pkt = NULL;
    if (ldns_wire2pkt(&pkt, buf, (size_t)n) != LDNS_STATUS_OK) {
      if (n >= 2 && ((buf[0] << 8) | buf[1]) == x->id) {
        fail(x, DNSX_MALFORMED, 0, PP_R_PROTOCOL_ERROR,
             "malformed DNS message");
        return;
      }
      continue; /* not ours */
    }
    if (!ours(x, pkt)) {
      ldns_pkt_free(pkt);
      continue;
    }
    if (!well_formed(pkt)) {
      ldns_pkt_free(pkt);
      fail(x, DNSX_MALFORMED, 0, PP_R_PROTOCOL_ERROR,
           "a record of the answer lacks fields its type must have");
      return;
    }
    if (ldns_pkt_tc(pkt) && !x->over_tcp) {
      /* truncated: the same query over TCP (RFC 7766) */
      ldns_pkt_free(pkt);
      pp_loop_unwatch(x->dc->c->engine->loop, x->fd);
      close(x->fd);
      x->fd = -1;
      pp_timer_stop(x->dc->c->engine->loop, &x->timer);
      x->over_tcp = true;
      tcp_start(x);
      return;
    }
    dnsx_result r = {.status = DNSX_OK, .pkt = pkt};
    deliver(x, &r);
    return;
  }
}

static void on_timer(pp_loop *loop, pp_timer *t, void *ud) {
  (void)loop;
  (void)t;
  dnsx *x = ud;
  if (x->o.deadline_us && pp_now_us() >= x->o.deadline_us) {
    fail(x, DNSX_TIMEOUT, 0, PP_R_TIMEOUT, "no answer");
    return;
  }
  if (x->fd < 0)
    return; /* over TCP now: the deadline alone ends it */
  if (send(x->fd, x->wire + 2, x->wlen, 0) < 0 && errno != EAGAIN) {
    int err = errno;
    fail(x, DNSX_ERRNO, err, pp_result_from_errno(err), strerror(err));
    return;
  }
  x->retry_us *= 2;
  arm(x);
}

static void udp_start(dnsx *x) {
  if (x->o.primary)
    pp_check_phase(x->dc->c, PP_PHASE_QUERY);
  x->fd = socket(x->server.sa.sa_family,
                 SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  char why[PP_DETAIL_MAX];
  if (x->fd >= 0 && dns_bind_source(x->dc, x->fd, x->server.sa.sa_family, why,
                                    sizeof(why)) != 0) {
    fail(x, DNSX_MALFORMED, 0, PP_R_SOCKET_ERROR, why);
    return;
  }
  if (x->fd < 0 || connect(x->fd, &x->server.sa, pp_sockaddr_len(&x->server)) ||
      send(x->fd, x->wire + 2, x->wlen, 0) < 0) {
    int err = errno;
    fail(x, DNSX_ERRNO, err, pp_result_from_errno(err), strerror(err));
    return;
  }
  x->t_sent_us = pp_now_us();
  if (pp_loop_watch(x->dc->c->engine->loop, x->fd, PP_EV_READ, on_udp, x)) {
    fail(x, DNSX_ERRNO, errno, PP_R_SOCKET_ERROR, "event loop");
    return;
  }
  arm(x);
}

int dnsx_send(dns_check *dc, const dnsx_opts *o, const ldns_pkt *query,
              dnsx_cb cb, void *ud) {
  dnsx *x = calloc(1, sizeof(*x));
  uint8_t *wire = NULL;
  size_t wlen = 0;
  if (x == NULL || ldns_pkt2wire(&wire, query, &wlen) != LDNS_STATUS_OK ||
      wlen > DNS_MAX_MSG || (x->wire = malloc(wlen + 2)) == NULL) {
    free(wire);
    free(x);
    return -1;
  }
  x->wire[0] = (uint8_t)(wlen >> 8);
  x->wire[1] = (uint8_t)wlen;
  memcpy(x->wire + 2, wire, wlen);
  free(wire);
  const ldns_rr *q = ldns_rr_list_rr(ldns_pkt_question(query), 0);
  x->wlen = wlen;
  x->dc = dc;
  x->o = *o;
  x->server = *o->server;
  x->fd = -1;
  x->id = ldns_pkt_id(query);
  x->qname = ldns_rdf_clone(ldns_rr_owner(q));
  x->qtype = ldns_rr_get_type(q);
  x->retry_us = DNS_RETRY_US;
  x->cb = cb;
  x->ud = ud;
  pp_timer_init(&x->timer, on_timer, x);
  x->next = dc->xs;
  dc->xs = x;
  if (o->transport == PP_DNS_UDP)
    udp_start(x);
  else
    tcp_start(x);
  return 0;
}
