/* The dialog's I/O: non-blocking reads and writes on the check's socket,
 * the reply buffer (bounded by max_reply, wiped when freed), framing and
 * judging of replies as they arrive, and the TLS layer under it all:
 * implicit TLS and the STARTTLS upgrade. */
#include "dialog_int.h"

#include <openssl/crypto.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void on_io(pp_loop *loop, int fd, unsigned ev, void *ud);
static void do_read(dlg *d);
static void do_write(dlg *d);
static void do_handshake(dlg *d);
static void try_parse(dlg *d, bool last);

/* Where the dialog stands, for "closed ..." and "reset ..." details. */
static void where(const dlg *d, char *buf, size_t len) {
  if (d->io == IO_HANDSHAKE)
    snprintf(buf, len, "during the TLS handshake");
  else if (d->step == NULL || d->step->op == PP_DOP_GREETING)
    snprintf(buf, len, "%s the %s", d->got_byte ? "during" : "before",
             d->step ? d->step->what : "greeting");
  else if (d->step->op == PP_DOP_USER)
    snprintf(buf, len, "%s user step %zu (%s)",
             d->io == IO_WRITE ? "while sending" : "before answering",
             d->ui + 1,
             d->t->opts->steps.items[d->ui].kind == PP_STEP_SEND ? "send"
                                                                 : "expect");
  else
    snprintf(buf, len, "%s %s",
             d->io == IO_WRITE ? "while sending" : "before answering",
             d->step->what);
}

/* --- I/O --- */

static bool watch(dlg *d, unsigned ev) {
  if (d->watching == ev)
    return true;
  if (pp_loop_watch(d->c->engine->loop, d->c->fd, ev, on_io, d) != 0) {
    pp_check_finish(d->c, PP_R_SOCKET_ERROR, "event loop: %s", strerror(errno));
    return false;
  }
  d->watching = ev;
  return true;
}

static pp_tls_rc io_read(dlg *d, char *buf, size_t len, size_t *n) {
  if (d->tls_on)
    return pp_tls_read(d->tls, buf, len, n);
  ssize_t r = recv(d->c->fd, buf, len, 0);
  if (r > 0) {
    *n = (size_t)r;
    return PP_TLS_DONE;
  }
  if (r == 0)
    return PP_TLS_EOF;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
    return PP_TLS_WANT_READ;
  d->sys_errno = errno;
  return PP_TLS_FAILED;
}

static pp_tls_rc io_write(dlg *d, const char *buf, size_t len, size_t *n) {
  if (d->tls_on)
    return pp_tls_write(d->tls, buf, len, n);
  ssize_t r = send(d->c->fd, buf, len, MSG_NOSIGNAL);
  if (r >= 0) {
    *n = (size_t)r;
    return PP_TLS_DONE;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
    return PP_TLS_WANT_WRITE;
  d->sys_errno = errno;
  return PP_TLS_FAILED;
}

static void on_eof(dlg *d) {
  if (d->quitting) {
    pp_dlg_finish_ok(d);
    return;
  }
  if (d->io == IO_HANDSHAKE) {
    pp_check_finish(d->c, PP_R_TLS_HANDSHAKE_FAILED,
                    "server closed the connection during the TLS handshake");
    return;
  }
  if (d->io == IO_READ && d->frame == PP_FRAME_RAW && d->re && d->rlen > 0) {
    unsigned gen = d->gen;
    try_parse(d, true); /* bytes the regex has not seen yet */
    if (d->c->done || d->gen != gen)
      return;
    pp_dlg_fail_with(d, d->rbuf, d->rlen, d->step->fail,
                     "connection closed before /%.80s/ matched", d->re_text);
    return;
  }
  char w[96];
  where(d, w, sizeof(w));
  pp_dlg_fail_with(d, d->rbuf, d->rlen, PP_R_CLOSED,
                   "server closed the connection %s", w);
}

static void on_io_fail(dlg *d) {
  if (d->quitting) {
    pp_dlg_finish_ok(d);
    return;
  }
  int e =
      d->tls_on || d->io == IO_HANDSHAKE ? pp_tls_errno(d->tls) : d->sys_errno;
  char w[96];
  where(d, w, sizeof(w));
  d->c->res->sys_errno = e;
  if (d->io == IO_HANDSHAKE) {
    pp_check_finish(d->c, PP_R_TLS_HANDSHAKE_FAILED, "%s", pp_tls_why(d->tls));
    return;
  }
  if (e == 0) { /* TLS broke after the handshake */
    pp_dlg_fail_with(d, d->rbuf, d->rlen, PP_R_PROTOCOL_ERROR, "TLS: %s %s",
                     pp_tls_why(d->tls), w);
    return;
  }
  pp_dlg_fail_with(d, d->rbuf, d->rlen, pp_result_from_errno(e), "%s %s",
                   strerror(e), w);
}

/* A read, write or handshake that did not complete: wait for the socket,
 * or end the check. */
static void not_done(dlg *d, pp_tls_rc rc) {
  switch (rc) {
  case PP_TLS_WANT_READ:
    watch(d, PP_EV_READ);
    break;
  case PP_TLS_WANT_WRITE:
    watch(d, PP_EV_WRITE);
    break;
  case PP_TLS_EOF:
    on_eof(d);
    break;
  case PP_TLS_FAILED:
    on_io_fail(d);
    break;
  case PP_TLS_DONE:
    break;
  }
}

static void on_io(pp_loop *loop, int fd, unsigned ev, void *ud) {
  (void)loop;
  (void)fd;
  (void)ev;
  dlg *d = ud;
  switch (d->io) {
  case IO_HANDSHAKE:
    do_handshake(d);
    break;
  case IO_WRITE:
    do_write(d);
    break;
  case IO_READ:
    do_read(d);
    break;
  case IO_IDLE:
    break;
  }
}

void pp_dlg_drop_wbuf(dlg *d) {
  if (d->wbuf && d->wsecret)
    OPENSSL_cleanse(d->wbuf, d->wlen);
  free(d->wbuf);
  d->wbuf = NULL;
  d->wlen = d->woff = 0;
}

void pp_dlg_begin_write(dlg *d, char *buf, size_t len, bool secret,
                        void (*after)(dlg *d)) {
  d->gen++;
  pp_dlg_drop_wbuf(d);
  d->io = IO_WRITE;
  d->wbuf = buf;
  d->wlen = len;
  d->woff = 0;
  d->wsecret = secret;
  d->after_write = after;
  do_write(d);
}

static void do_write(dlg *d) {
  while (d->woff < d->wlen) {
    size_t n = 0;
    pp_tls_rc rc = io_write(d, d->wbuf + d->woff, d->wlen - d->woff, &n);
    if (rc != PP_TLS_DONE) {
      not_done(d, rc);
      return;
    }
    d->woff += n;
  }
  pp_dlg_drop_wbuf(d);
  d->io = IO_IDLE;
  d->after_write(d);
}

void pp_dlg_begin_read(dlg *d, pp_frame frame, pcre2_code *re,
                       const char *re_text, reply_fn fn) {
  d->gen++;
  d->io = IO_READ;
  d->frame = frame;
  memset(&d->cur, 0, sizeof(d->cur)); /* a new frame, a new tag */
  d->re_from = d->re_seen = 0;
  d->re = re;
  d->re_text = re_text;
  d->on_reply = fn;
  pp_check *c = d->c;
  if (frame == PP_FRAME_RAW && re != NULL &&
      c->deadline_us > pp_now_us() + 2 * JUDGE_MARGIN_US)
    pp_timer_start_at(c->engine->loop, &d->judge,
                      c->deadline_us - JUDGE_MARGIN_US);
  unsigned gen = d->gen;
  if (d->rlen > 0) { /* pipelined or left over from the last reply */
    try_parse(d, true);
    if (c->done || d->gen != gen)
      return;
  }
  do_read(d);
}

void pp_dlg_consume(dlg *d, size_t len) {
  if (len > d->rlen)
    len = d->rlen;
  if (d->traced < len) /* a raw match may end inside a line */
    pp_dlg_trace(d, "S", d->rbuf + d->traced, len - d->traced);
  d->traced = d->traced > len ? d->traced - len : 0;
  memmove(d->rbuf, d->rbuf + len, d->rlen - len);
  d->rlen -= len;
  memset(&d->cur, 0, sizeof(d->cur)); /* the next reply starts at 0 */
  d->re_from = d->re_seen = 0;
}

/* Makes room to read into a full rbuf, up to rcap: a new buffer, and the old
   one wiped (not realloc, which may leave a copy behind). */
static bool grow_rbuf(dlg *d) {
  size_t size = d->rsize * 4 < d->rcap ? d->rsize * 4 : d->rcap;
  char *nb = malloc(size);
  if (nb == NULL)
    return false;
  memcpy(nb, d->rbuf, d->rlen);
  OPENSSL_cleanse(d->rbuf, d->rhigh);
  free(d->rbuf);
  d->rbuf = nb;
  d->rsize = size;
  return true;
}

static void do_read(dlg *d) {
  pp_check *c = d->c;
  unsigned gen = d->gen;
  for (;;) {
    size_t n = 0;
    if (d->rlen == d->rcap) { /* try_parse judges a full buffer: never here */
      pp_dlg_fail_with(d, d->rbuf, d->rlen, PP_R_PROTOCOL_ERROR,
                       "reply longer than %zu bytes (max_reply)", d->rcap);
      return;
    }
    if (d->rlen == d->rsize && !grow_rbuf(d)) {
      pp_check_finish(c, PP_R_SOCKET_ERROR, "out of memory");
      return;
    }
    pp_tls_rc rc = io_read(d, d->rbuf + d->rlen, d->rsize - d->rlen, &n);
    if (rc != PP_TLS_DONE) {
      not_done(d, rc);
      return;
    }
    if (!d->got_byte) {
      d->got_byte = true;
      c->res->t_first_byte = (double)(pp_now_us() - d->t0_us) / 1e6;
    }
    d->rlen += n;
    if (d->rlen > d->rhigh)
      d->rhigh = d->rlen;
    pp_dlg_trace_read(d, d->rlen - n, false);
    try_parse(d, false);
    if (c->done || d->gen != gen)
      return;
  }
}

int pp_dlg_re_match(dlg *d, pcre2_code *re, const char *s, size_t len,
                    size_t *end) {
  pcre2_match_data *md = d->de->md;
  int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, md, d->de->mctx);
  if (rc >= 0) {
    *end = pcre2_get_ovector_pointer(md)[1];
    return 1;
  }
  return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

/* A binary protocol's message (check_wire.c frames it). */
static void try_frame(dlg *d) {
  pp_reply r = {0};
  switch (d->framer(d, &r)) {
  case PP_REPLY_COMPLETE:
    d->io = IO_IDLE;
    d->on_reply(d, &r);
    return;
  case PP_REPLY_MALFORMED:
    pp_dlg_fail_with(d, d->rbuf, d->rlen, PP_R_PROTOCOL_ERROR, "%s", r.why);
    return;
  case PP_REPLY_INCOMPLETE:
    if (d->rlen == d->rcap)
      pp_dlg_fail_with(d, d->rbuf, d->rlen, PP_R_PROTOCOL_ERROR,
                       "reply longer than %zu bytes (max_reply)", d->rcap);
    return;
  }
}

/* Whether the RAW read's regex is worth running again. It runs from where
 * a match may still start (raw_match), so after no match a try costs only
 * the new bytes; after a partial match it costs the match's span again,
 * and waits for a line end or a quarter of that span in new bytes (or for
 * the last try before judging): a server trickling an endless partial
 * match then costs O(n) in all, not O(n) per read. */
static bool raw_worth(const dlg *d, bool last) {
  size_t span = d->re_seen - d->re_from, fresh = d->rlen - d->re_seen;
  return last || d->rlen == d->rcap || fresh * 4 >= span ||
         memchr(d->rbuf + d->re_seen, '\n', fresh) != NULL;
}

/* The RAW read's regex over rbuf, from where a match may still start: a
 * partial match (PCRE2_PARTIAL_SOFT: a whole match is preferred) says
 * where that is, no match at all that it is past what is there. */
static int raw_match(dlg *d, size_t *end) {
  pcre2_match_data *md = d->de->md;
  int rc = pcre2_match(d->re, (PCRE2_SPTR)d->rbuf, d->rlen, d->re_from,
                       PCRE2_PARTIAL_SOFT, md, d->de->mctx);
  PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
  if (rc >= 0) {
    *end = ov[1];
    return 1;
  }
  d->re_seen = d->rlen;
  if (rc == PCRE2_ERROR_PARTIAL)
    d->re_from = ov[0];
  else if (rc == PCRE2_ERROR_NOMATCH)
    d->re_from = d->rlen;
  else
    return -1;
  return 0;
}

/* Judges rbuf: a complete reply goes to on_reply, a malformed or too long
 * one ends the check. last: no more bytes are waited for (the connection
 * closed, the time is up), so a RAW regex gets its last try now. */
static void try_parse(dlg *d, bool last) {
  pp_reply r;
  if (d->framer != NULL) {
    try_frame(d);
    return;
  }
  if (d->frame == PP_FRAME_RAW) {
    size_t end = 0;
    if (d->re && !raw_worth(d, last))
      return;
    int m = d->re ? raw_match(d, &end) : 1;
    if (m > 0) {
      pp_timer_stop(d->c->engine->loop, &d->judge);
      memset(&r, 0, sizeof(r));
      r.len = d->re ? end : d->rlen;
      d->io = IO_IDLE;
      d->on_reply(d, &r);
    } else if (d->quitting) {
      if (d->rlen == d->rcap)
        pp_dlg_finish_ok(d);
    } else if (m < 0) {
      pp_dlg_fail_with(d, d->rbuf, d->rlen, d->step->fail,
                       "/%.80s/: the regular expression hit its match limit",
                       d->re_text);
    } else if (d->rlen == d->rcap) {
      pp_dlg_fail_with(
          d, d->rbuf, d->rlen, d->step->fail,
          "no match for /%.80s/ in the first %zu bytes (max_reply)", d->re_text,
          d->rcap);
    }
    return;
  }
  switch (
      pp_reply_parse_more(d->frame, d->rbuf, d->rlen, d->tag, &d->cur, &r)) {
  case PP_REPLY_COMPLETE:
    d->io = IO_IDLE;
    d->on_reply(d, &r);
    return;
  case PP_REPLY_MALFORMED:
    if (d->quitting) {
      pp_dlg_finish_ok(d);
      return;
    }
    if (d->step->op == PP_DOP_GREETING && !r.binary)
      pp_dlg_fail_with(d, d->rbuf, d->rlen, PP_R_BANNER_MISMATCH, "%s", r.why);
    else
      pp_dlg_fail_with(d, d->rbuf, d->rlen, PP_R_PROTOCOL_ERROR, "%s", r.why);
    return;
  case PP_REPLY_INCOMPLETE:
    if (d->rlen < d->rcap)
      return;
    if (d->quitting) {
      pp_dlg_finish_ok(d);
      return;
    }
    pp_dlg_fail_with(d, d->rbuf, d->rlen, PP_R_PROTOCOL_ERROR,
                     "reply longer than %zu bytes (max_reply)", d->rcap);
    return;
  }
}

void pp_dlg_on_judge(pp_loop *loop, pp_timer *t, void *ud) {
  (void)loop;
  (void)t;
  dlg *d = ud;
  if (d->quitting) {
    pp_dlg_finish_ok(d);
    return;
  }
  /* a RAW expect that heard words but no match: say so before the
   * deadline turns it into a bare timeout */
  if (d->io != IO_READ || d->frame != PP_FRAME_RAW || d->rlen == 0)
    return;
  unsigned gen = d->gen;
  try_parse(d, true); /* bytes the regex has not seen yet */
  if (!d->c->done && d->gen == gen)
    pp_dlg_fail_with(d, d->rbuf, d->rlen, d->step->fail,
                     "no match for /%.80s/ within %.1f s", d->re_text,
                     (double)(pp_now_us() - d->c->t_start_us) / 1e6);
}

/* --- TLS --- */

pp_tls_ctxs *pp_dlg_tls_ctxs(dlg_engine *de) {
  if (de->tls == NULL)
    de->tls = pp_tls_ctxs_new();
  return de->tls;
}

void pp_dlg_begin_handshake(dlg *d) {
  pp_check *c = d->c;
  const pp_opts *o = d->t->opts;
  pp_tls_ctxs *ctxs = pp_dlg_tls_ctxs(d->de);
  if (ctxs == NULL) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "TLS: out of memory");
    return;
  }
  pp_tls_peer peer = {.ca_file = o->ca_file,
                      .host = d->c->host, /* an MX host's own name */
                      .host_is_ip = d->c->host_is_ip,
                      .sni = o->sni,
                      .opts = o};
  char why[PP_DETAIL_MAX];
  d->tls = pp_tls_new(ctxs, c->fd, &peer, why, sizeof(why));
  if (d->tls == NULL) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "%s", why);
    return;
  }
  d->gen++;
  d->io = IO_HANDSHAKE;
  d->hs_start_us = pp_now_us();
  do_handshake(d);
}

static void do_handshake(dlg *d) {
  pp_check *c = d->c;
  pp_tls_rc rc = pp_tls_handshake(d->tls);
  if (rc != PP_TLS_DONE) {
    not_done(d, rc);
    return;
  }
  c->res->t_tls = (double)(pp_now_us() - d->hs_start_us) / 1e6;
  d->tls_on = true;
  d->io = IO_IDLE;
  const pp_opts *o = d->t->opts;
  char why[PP_DETAIL_MAX - 40];
  pp_result_code code =
      pp_tls_check(d->tls, o, c->res, c->engine, why, sizeof(why));
  pp_log(c->engine, PP_LOG_DEBUG, "target \"%s\": TLS: %s, %s",
         pp_target_name(d->t), c->res->tls_version,
         code == PP_R_OK && !why[0] ? "verified" : why);
  if (code != PP_R_OK) {
    pp_check_finish(c, code, "%s", why);
    return;
  }
  if (why[0])
    pp_dlg_note(d, "%s", why);
  d->t0_us = pp_now_us();
  if (d->after_tls != NULL) { /* a binary protocol goes on */
    d->after_tls(d);
    return;
  }
  if (d->step == NULL) { /* implicit TLS: the dialog starts now */
    pp_dlg_run(d);
    return;
  }
  /* after STARTTLS: forget what was offered in clear text (RFC 3207) */
  d->upgraded = true;
  memset(&d->caps, 0, sizeof(d->caps));
  pp_dlg_next(d);
}

step_rc pp_dlg_starttls_begin(dlg *d, const pp_dstep *s) {
  if (d->tls_on || d->t->starttls == PP_STARTTLS_NO)
    return STEP_SKIP;
  bool require = d->t->starttls == PP_STARTTLS_REQUIRE;
  pp_check_phase(d->c, PP_PHASE_STARTTLS);
  if (d->preauth) {
    if (!require) {
      pp_dlg_note(d, "no %s after PREAUTH: plain text", s->what);
      return STEP_SKIP;
    }
    pp_dlg_fail_with(d, d->last, d->lastlen, PP_R_STARTTLS_UNAVAILABLE,
                     "PREAUTH greeting: the session cannot switch to TLS");
    return STEP_WAIT;
  }
  if (!d->caps.starttls) {
    if (!require) {
      pp_dlg_note(d, "server offers no %s: plain text", s->what);
      return STEP_SKIP;
    }
    pp_dlg_fail_with(d, d->last, d->lastlen, PP_R_STARTTLS_UNAVAILABLE,
                     "server does not offer %s", s->what);
    return STEP_WAIT;
  }
  pp_dlg_send_command(d, s, pp_dlg_after_command_sent);
  return STEP_WAIT;
}

void pp_dlg_starttls_reply(dlg *d, const pp_reply *r, bool positive) {
  const pp_dstep *s = d->step;
  if (!positive) {
    char sw[24];
    pp_dlg_status_words(s->frame, r, sw, sizeof(sw));
    if (d->t->starttls == PP_STARTTLS_REQUIRE) {
      pp_dlg_fail_with(d, d->rbuf, r->len, PP_R_STARTTLS_UNAVAILABLE,
                       "server refused %s (%s)", s->what, sw);
      return;
    }
    pp_dlg_note(d, "server refused %s (%s): plain text", s->what, sw);
    pp_dlg_consume(d, r->len);
    pp_dlg_next(d);
    return;
  }
  pp_dlg_consume(d, r->len);
  if (d->rlen > 0) {
    /* bytes sent in clear text after the go-ahead would be taken as if
     * they came through TLS (CVE-2011-0411): refuse them */
    pp_dlg_fail_with(d, d->rbuf, d->rlen, PP_R_PROTOCOL_ERROR,
                     "server sent data after accepting %s", s->what);
    return;
  }
  pp_dlg_begin_handshake(d);
}
