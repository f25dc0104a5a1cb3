/* The dialog engine: runs a protocol's step table (protocols.c) over the
 * check's non-blocking socket, with TLS (tls.c) under it for implicit TLS
 * and STARTTLS. Each step arms one event; replies are framed by reply.c and
 * bounded by max_reply; a secret never reaches a log line or an excerpt. */
#include "check_core.h"
#include "dialog.h"
#include "tls.h"
#include "tls_probe.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PASSWORD_MAX 1024
#define MATCH_LIMIT 200000   /* a user's regex against a hostile reply */
#define QUIT_WAIT_US 1000000 /* how long a QUIT reply is waited for */
#define JUDGE_MARGIN_US 2000 /* a raw expect is judged before timeout */
#define EXCERPT_SCAN 512     /* bytes looked at for an excerpt */
#define RBUF_START 1024      /* first size of the reply buffer */

/* --- per engine: what every dialog target shares ---
 * The protocols' own regexes (compiled once per protocol, not per target),
 * one match context and one match data (matching is synchronous, on the
 * engine's thread), the EHLO name from gethostname, the TLS contexts. */

typedef struct proto_res {
  const pp_protocol *proto;
  pcre2_code **re; /* per protocol step; NULL where none */
  struct proto_res *next;
} proto_res;

typedef struct {
  pp_tls_ctxs *tls; /* made at the first handshake */
  pcre2_match_context *mctx;
  pcre2_match_data *md;
  proto_res *protos;
  char hostname[256];
} dlg_engine;

static void dlg_engine_free(dlg_engine *de) {
  if (de == NULL)
    return;
  pp_tls_ctxs_free(de->tls);
  pcre2_match_context_free(de->mctx);
  pcre2_match_data_free(de->md);
  for (proto_res *p = de->protos, *next; p; p = next) {
    next = p->next;
    for (size_t i = 0; i < p->proto->nsteps; i++)
      pcre2_code_free(p->re[i]);
    free(p->re);
    free(p);
  }
  free(de);
}

static dlg_engine *engine_state(pp_engine *e) {
  dlg_engine *de = e->kind_state[PP_KIND_DIALOG];
  if (de)
    return de;
  de = calloc(1, sizeof(*de));
  if (de == NULL)
    return NULL;
  de->mctx = pcre2_match_context_create(NULL);
  de->md = pcre2_match_data_create(1, NULL);
  if (de->mctx == NULL || de->md == NULL) {
    dlg_engine_free(de);
    return NULL;
  }
  pcre2_set_match_limit(de->mctx, MATCH_LIMIT);
  pcre2_set_depth_limit(de->mctx, MATCH_LIMIT / 10);
  if (gethostname(de->hostname, sizeof(de->hostname) - 1) != 0 ||
      !de->hostname[0])
    snprintf(de->hostname, sizeof(de->hostname), "localhost");
  e->kind_state[PP_KIND_DIALOG] = de;
  return de;
}

/* Multi-line (^ and $ at each line) with CR LF line ends, on raw bytes. */
static pcre2_code *compile(const char *pattern, bool *ok) {
  pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
  if (cc == NULL) {
    *ok = false;
    return NULL;
  }
  pcre2_set_newline(cc, PCRE2_NEWLINE_ANYCRLF);
  int err;
  PCRE2_SIZE off;
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                 PCRE2_MULTILINE, &err, &off, cc);
  pcre2_compile_context_free(cc);
  if (re == NULL)
    *ok = false;
  return re;
}

/* The protocol's compiled step regexes, compiled at its first use. */
static pcre2_code **proto_regexes(dlg_engine *de, const pp_protocol *proto) {
  for (proto_res *p = de->protos; p; p = p->next)
    if (p->proto == proto)
      return p->re;
  proto_res *p = calloc(1, sizeof(*p));
  pcre2_code **re = calloc(proto->nsteps + 1, sizeof(*re));
  bool ok = p && re;
  for (size_t i = 0; ok && i < proto->nsteps; i++)
    if (proto->steps[i].expect)
      re[i] = compile(proto->steps[i].expect, &ok);
  if (!ok) {
    for (size_t i = 0; re && i < proto->nsteps; i++)
      pcre2_code_free(re[i]);
    free(re);
    free(p);
    return NULL;
  }
  p->proto = proto;
  p->re = re;
  p->next = de->protos;
  de->protos = p;
  return re;
}

/* --- per target: what the target itself adds, kept across rounds --- */

typedef struct {
  const pp_protocol *proto;
  pcre2_code *banner;   /* expect_banner */
  pcre2_code **user_re; /* per user step, NULL for sends; NULL if no steps */
  size_t nuser;
} plan;

static void plan_free(void *p) {
  plan *pl = p;
  if (pl == NULL)
    return;
  pcre2_code_free(pl->banner);
  for (size_t i = 0; pl->user_re && i < pl->nuser; i++)
    pcre2_code_free(pl->user_re[i]);
  free(pl->user_re);
  free(pl);
}

static plan *plan_new(const pp_target *t) {
  plan *pl = calloc(1, sizeof(*pl));
  if (pl == NULL)
    return NULL;
  pl->proto = pp_protocol_find(t->scheme->name);
  bool ok = pl->proto != NULL;
  pl->nuser = t->opts.steps.n;
  if (ok && pl->nuser > 0) {
    pl->user_re = calloc(pl->nuser, sizeof(*pl->user_re));
    ok = pl->user_re != NULL;
  }
  for (size_t i = 0; ok && i < pl->nuser; i++)
    if (t->opts.steps.items[i].kind == PP_STEP_EXPECT)
      pl->user_re[i] = compile(t->opts.steps.items[i].text, &ok);
  if (ok && t->opts.expect_banner.pattern)
    pl->banner = compile(t->opts.expect_banner.pattern, &ok);
  if (!ok) {
    plan_free(pl);
    return NULL;
  }
  return pl;
}

/* --- per check --- */

typedef enum { IO_IDLE, IO_HANDSHAKE, IO_WRITE, IO_READ } io_state;
typedef enum { STEP_SKIP, STEP_WAIT, STEP_AGAIN } step_rc;

typedef struct dlg dlg;
typedef void (*reply_fn)(dlg *d, const pp_reply *r);

struct dlg {
  pp_check *c;
  const pp_target *t;
  plan *pl;
  dlg_engine *de;
  pcre2_code **proto_re; /* the protocol's step regexes (engine's) */
  const char *ehlo;
  /* where the dialog is: the main table, or a login's steps */
  const pp_dstep *steps;
  size_t nsteps, i;
  size_t main_i; /* the LOGIN step to resume after */
  bool in_login, quitting;
  size_t ui; /* the next user step */
  const pp_dstep *step;
  /* I/O */
  io_state io;
  unsigned gen; /* changes whenever a read, write or handshake begins */
  unsigned watching;
  pp_tls *tls;
  bool tls_on, upgraded;
  uint64_t t0_us, hs_start_us;
  int sys_errno;
  char *rbuf;
  size_t rlen, rcap; /* rcap: max_reply, the most rbuf may grow to */
  size_t rsize;      /* bytes allocated at rbuf: grows up to rcap */
  size_t rhigh;      /* most of rbuf ever written: what cleanup must wipe */
  char *wbuf;
  size_t wlen, woff;
  bool wsecret;
  void (*after_write)(dlg *d);
  pp_frame frame;
  pcre2_code *re; /* what a RAW read waits for */
  const char *re_text;
  reply_fn on_reply;
  bool got_byte;
  pp_timer judge;
  /* what the server offered and said */
  pp_caps caps;
  bool preauth;
  char tag[16];
  unsigned tagn;
  char last[EXCERPT_SCAN]; /* the last complete reply, for failures */
  size_t lastlen;
  bool excerpt_set, excerpt_final;
  char note[PP_DETAIL_MAX];
  /* credentials and their encodings, wiped when the check ends */
  char *secret[3];
};

static void run(dlg *d);
static void do_read(dlg *d);
static void do_write(dlg *d);
static void do_handshake(dlg *d);
static void try_parse(dlg *d);

/* --- secrets --- */

static void wipe_free(char *s) {
  if (s) {
    OPENSSL_cleanse(s, strlen(s));
    free(s);
  }
}

static char *b64(const char *in, size_t len) {
  char *out = malloc(4 * ((len + 2) / 3) + 1);
  if (out)
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)len);
  return out;
}

/* Replaces each secret (password, its base64, the PLAIN blob) in buf. */
static void scrub(const dlg *d, char *buf, size_t len) {
  for (int k = 0; k < 3; k++) {
    const char *s = d->secret[k];
    size_t sl = s ? strlen(s) : 0;
    if (sl == 0 || sl > len)
      continue;
    for (size_t i = 0; i + sl <= len; i++)
      if (memcmp(buf + i, s, sl) == 0) {
        memset(buf + i, '*', sl);
        i += sl - 1;
      }
  }
}

static void excerpt_from(dlg *d, const char *data, size_t len) {
  char tmp[EXCERPT_SCAN];
  size_t n = len < sizeof(tmp) ? len : sizeof(tmp);
  memcpy(tmp, data, n);
  scrub(d, tmp, n);
  /* the excerpt is shorter than the scan: set_excerpt marks the cut */
  pp_result_set_excerpt(d->c->res, tmp, n);
  d->excerpt_set = true;
}

static void trace(dlg *d, const char *who, const char *data, size_t len) {
  if (d->c->engine->log == NULL)
    return;
  pp_result tmp;
  char buf[EXCERPT_SCAN];
  size_t n = len < sizeof(buf) ? len : sizeof(buf);
  memcpy(buf, data, n);
  scrub(d, buf, n);
  pp_result_set_excerpt(&tmp, buf, n);
  pp_log(d->c->engine, PP_LOG_DEBUG, "target \"%s\": %s: %s",
         pp_target_name(d->t), who, tmp.excerpt);
}

/* --- ending --- */

static void note(dlg *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note(dlg *d, const char *fmt, ...) {
  size_t off = strlen(d->note);
  if (off > 0 && off + 2 < sizeof(d->note)) {
    memcpy(d->note + off, "; ", 3);
    off += 2;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d->note + off, sizeof(d->note) - off, fmt, ap);
  va_end(ap);
}

static void finish_ok(dlg *d) {
  if (d->note[0])
    pp_check_finish(d->c, PP_R_OK, "%s", d->note);
  else
    pp_check_finish(d->c, PP_R_OK, NULL);
}

/* Ends the check; data (may be NULL) becomes the excerpt. */
static void fail_with(dlg *d, const char *data, size_t len, pp_result_code code,
                      const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void fail_with(dlg *d, const char *data, size_t len, pp_result_code code,
                      const char *fmt, ...) {
  char detail[PP_DETAIL_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof(detail), fmt, ap);
  va_end(ap);
  if (data != NULL && len > 0) {
    excerpt_from(d, data, len);
    d->excerpt_final = true;
  }
  pp_check_finish(d->c, code, "%s", detail);
}

/* Where the dialog stands, for "closed ..." and "reset ..." details. */
static void where(const dlg *d, char *buf, size_t len) {
  if (d->io == IO_HANDSHAKE)
    snprintf(buf, len, "during the TLS handshake");
  else if (d->step == NULL || d->step->op == PP_DOP_GREETING)
    snprintf(buf, len, "%s the %s", d->got_byte ? "during" : "before",
             d->step ? d->step->what : "greeting");
  else if (d->step->op == PP_DOP_USER)
    snprintf(
        buf, len, "%s user step %zu (%s)",
        d->io == IO_WRITE ? "while sending" : "before answering", d->ui + 1,
        d->t->opts.steps.items[d->ui].kind == PP_STEP_SEND ? "send" : "expect");
  else
    snprintf(buf, len, "%s %s",
             d->io == IO_WRITE ? "while sending" : "before answering",
             d->step->what);
}

/* --- I/O --- */

static void on_io(pp_loop *loop, int fd, unsigned ev, void *ud);

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
    finish_ok(d);
    return;
  }
  if (d->io == IO_HANDSHAKE) {
    pp_check_finish(d->c, PP_R_TLS_HANDSHAKE_FAILED,
                    "server closed the connection during the TLS handshake");
    return;
  }
  if (d->io == IO_READ && d->frame == PP_FRAME_RAW && d->re && d->rlen > 0) {
    fail_with(d, d->rbuf, d->rlen, d->step->fail,
              "connection closed before /%.80s/ matched", d->re_text);
    return;
  }
  char w[96];
  where(d, w, sizeof(w));
  fail_with(d, d->rbuf, d->rlen, PP_R_CLOSED, "server closed the connection %s",
            w);
}

static void on_io_fail(dlg *d) {
  if (d->quitting) {
    finish_ok(d);
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
    fail_with(d, d->rbuf, d->rlen, PP_R_PROTOCOL_ERROR, "TLS: %s %s",
              pp_tls_why(d->tls), w);
    return;
  }
  fail_with(d, d->rbuf, d->rlen, pp_result_from_errno(e), "%s %s", strerror(e),
            w);
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

static void drop_wbuf(dlg *d) {
  if (d->wbuf && d->wsecret)
    OPENSSL_cleanse(d->wbuf, d->wlen);
  free(d->wbuf);
  d->wbuf = NULL;
  d->wlen = d->woff = 0;
}

/* Sends buf (taken over), then calls after. */
static void begin_write(dlg *d, char *buf, size_t len, bool secret,
                        void (*after)(dlg *d)) {
  d->gen++;
  drop_wbuf(d);
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
    switch (io_write(d, d->wbuf + d->woff, d->wlen - d->woff, &n)) {
    case PP_TLS_DONE:
      d->woff += n;
      continue;
    case PP_TLS_WANT_WRITE:
      watch(d, PP_EV_WRITE);
      return;
    case PP_TLS_WANT_READ:
      watch(d, PP_EV_READ);
      return;
    case PP_TLS_EOF:
      on_eof(d);
      return;
    case PP_TLS_FAILED:
      on_io_fail(d);
      return;
    }
  }
  drop_wbuf(d);
  d->io = IO_IDLE;
  d->after_write(d);
}

static void on_judge(pp_loop *loop, pp_timer *t, void *ud);

/* Reads a reply of the given frame (or, for RAW, until re matches), then
 * calls fn with the reply still at the start of rbuf. */
static void begin_read(dlg *d, pp_frame frame, pcre2_code *re,
                       const char *re_text, reply_fn fn) {
  d->gen++;
  d->io = IO_READ;
  d->frame = frame;
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
    try_parse(d);
    if (c->done || d->gen != gen)
      return;
  }
  do_read(d);
}

static void consume(dlg *d, size_t len) {
  if (len > d->rlen)
    len = d->rlen;
  memmove(d->rbuf, d->rbuf + len, d->rlen - len);
  d->rlen -= len;
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
      fail_with(d, d->rbuf, d->rlen, PP_R_PROTOCOL_ERROR,
                "reply longer than %zu bytes (max_reply)", d->rcap);
      return;
    }
    if (d->rlen == d->rsize && !grow_rbuf(d)) {
      pp_check_finish(c, PP_R_SOCKET_ERROR, "out of memory");
      return;
    }
    switch (io_read(d, d->rbuf + d->rlen, d->rsize - d->rlen, &n)) {
    case PP_TLS_DONE:
      if (!d->got_byte) {
        d->got_byte = true;
        c->res->t_first_byte = (double)(pp_now_us() - d->t0_us) / 1e6;
      }
      trace(d, "S", d->rbuf + d->rlen, n);
      d->rlen += n;
      if (d->rlen > d->rhigh)
        d->rhigh = d->rlen;
      try_parse(d);
      if (c->done || d->gen != gen)
        return;
      continue;
    case PP_TLS_WANT_READ:
      watch(d, PP_EV_READ);
      return;
    case PP_TLS_WANT_WRITE:
      watch(d, PP_EV_WRITE);
      return;
    case PP_TLS_EOF:
      on_eof(d);
      return;
    case PP_TLS_FAILED:
      on_io_fail(d);
      return;
    }
  }
}

/* 1 matched (end of match in *end), 0 not, -1 the match limit was hit. */
static int re_match(dlg *d, pcre2_code *re, const char *s, size_t len,
                    size_t *end) {
  pcre2_match_data *md = d->de->md;
  int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, md, d->de->mctx);
  if (rc >= 0) {
    *end = pcre2_get_ovector_pointer(md)[1];
    return 1;
  }
  return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
}

static void try_parse(dlg *d) {
  pp_reply r;
  if (d->frame == PP_FRAME_RAW) {
    size_t end = 0;
    int m = d->re ? re_match(d, d->re, d->rbuf, d->rlen, &end) : 1;
    if (m > 0) {
      pp_timer_stop(d->c->engine->loop, &d->judge);
      memset(&r, 0, sizeof(r));
      r.len = d->re ? end : d->rlen;
      d->io = IO_IDLE;
      d->on_reply(d, &r);
    } else if (d->quitting) {
      if (d->rlen == d->rcap)
        finish_ok(d);
    } else if (m < 0) {
      fail_with(d, d->rbuf, d->rlen, d->step->fail,
                "/%.80s/: the regular expression hit its match limit",
                d->re_text);
    } else if (d->rlen == d->rcap) {
      fail_with(d, d->rbuf, d->rlen, d->step->fail,
                "no match for /%.80s/ in the first %zu bytes (max_reply)",
                d->re_text, d->rcap);
    }
    return;
  }
  switch (pp_reply_parse(d->frame, d->rbuf, d->rlen, d->tag, &r)) {
  case PP_REPLY_COMPLETE:
    d->io = IO_IDLE;
    d->on_reply(d, &r);
    return;
  case PP_REPLY_MALFORMED:
    if (d->quitting) {
      finish_ok(d);
      return;
    }
    if (d->step->op == PP_DOP_GREETING && !r.binary)
      fail_with(d, d->rbuf, d->rlen, PP_R_BANNER_MISMATCH, "%s", r.why);
    else
      fail_with(d, d->rbuf, d->rlen, PP_R_PROTOCOL_ERROR, "%s", r.why);
    return;
  case PP_REPLY_INCOMPLETE:
    if (d->rlen < d->rcap)
      return;
    if (d->quitting) {
      finish_ok(d);
      return;
    }
    fail_with(d, d->rbuf, d->rlen, PP_R_PROTOCOL_ERROR,
              "reply longer than %zu bytes (max_reply)", d->rcap);
    return;
  }
}

static void on_judge(pp_loop *loop, pp_timer *t, void *ud) {
  (void)loop;
  (void)t;
  dlg *d = ud;
  if (d->quitting) {
    finish_ok(d);
    return;
  }
  /* a RAW expect that heard words but no match: say so before the
   * deadline turns it into a bare timeout */
  if (d->io == IO_READ && d->frame == PP_FRAME_RAW && d->rlen > 0)
    fail_with(d, d->rbuf, d->rlen, d->step->fail,
              "no match for /%.80s/ within %.1f s", d->re_text,
              (double)(pp_now_us() - d->c->t_start_us) / 1e6);
}

/* --- commands --- */

static char *quoted(const char *s) {
  size_t n = strlen(s);
  char *q = malloc(2 * n + 3), *o = q;
  if (q == NULL)
    return NULL;
  *o++ = '"';
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      *o++ = '\\';
    *o++ = *s;
  }
  *o++ = '"';
  *o = 0;
  return q;
}

/* Expands a command template; with mask, credentials become "****". */
static char *expand(dlg *d, const char *tpl, bool mask, size_t *len) {
  const char *user = d->t->opts.username ? d->t->opts.username : "";
  const char *pass = d->secret[0] ? d->secret[0] : "";
  size_t cap = strlen(tpl) + 1;
  char *qu = NULL, *qp = NULL, *bu = NULL;
  /* sizes first: every expansion is bounded by these */
  cap += strlen(d->ehlo) + strlen(d->tag) + 2 * strlen(user) +
         4 * (strlen(user) + strlen(pass) + 2) + 2 * strlen(pass) + 16;
  if (strstr(tpl, "%A"))
    cap += 4 * (strlen(user) + strlen(pass) + 4) / 3 + 8;
  char *out = malloc(cap), *o = out;
  if (out == NULL)
    return NULL;
  for (const char *p = tpl; *p; p++) {
    if (*p != '%' || p[1] == 0) {
      *o++ = *p;
      continue;
    }
    const char *v = NULL;
    switch (*++p) {
    case 't':
      v = d->tag;
      break;
    case 'e':
      v = d->ehlo;
      break;
    case 'u':
      v = user;
      break;
    case 'q':
      v = qu = qu ? qu : quoted(user);
      break;
    case 'U':
      v = bu = bu ? bu : b64(user, strlen(user));
      break;
    case 'p':
      v = mask ? "****" : pass;
      break;
    case 'Q':
      v = mask ? "****" : (qp = qp ? qp : quoted(pass));
      break;
    case 'P':
      v = mask ? "****" : d->secret[1];
      break;
    case 'A':
      v = mask ? "****" : d->secret[2];
      break;
    default:
      v = "%";
      break;
    }
    if (v == NULL) { /* out of memory */
      free(qu);
      wipe_free(qp);
      free(bu);
      free(out);
      return NULL;
    }
    size_t vl = strlen(v);
    memcpy(o, v, vl);
    o += vl;
  }
  *o = 0;
  free(qu);
  wipe_free(qp);
  free(bu);
  *len = (size_t)(o - out);
  return out;
}

static void on_step_reply(dlg *d, const pp_reply *r);

static void after_command_sent(dlg *d) {
  const pp_dstep *s = d->step;
  begin_read(d, s->frame, NULL, NULL, on_step_reply);
}

static void send_command(dlg *d, const pp_dstep *s, void (*after)(dlg *d)) {
  if (strstr(s->send, "%t"))
    snprintf(d->tag, sizeof(d->tag), "a%u", ++d->tagn);
  size_t len = 0, mlen = 0;
  bool secret = (s->flags & PP_DF_SECRET) != 0;
  char *masked = expand(d, s->send, true, &mlen);
  char *cmd = expand(d, s->send, false, &len);
  if (cmd == NULL || masked == NULL) {
    free(masked);
    if (cmd && secret)
      OPENSSL_cleanse(cmd, len);
    free(cmd);
    pp_check_finish(d->c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  trace(d, "C", masked, mlen);
  free(masked);
  begin_write(d, cmd, len, secret, after);
}

static void next(dlg *d) {
  d->i++;
  run(d);
}

static const char *status_words(pp_frame frame, const pp_reply *r, char *buf,
                                size_t len) {
  static const char *const names[] = {
      [PP_RS_UNKNOWN] = "?",        [PP_RS_OK] = "OK",
      [PP_RS_MORE] = "+",           [PP_RS_TEMPFAIL] = "temporary failure",
      [PP_RS_PERMFAIL] = "NO",      [PP_RS_BAD] = "BAD",
      [PP_RS_BYE] = "BYE",          [PP_RS_PREAUTH] = "PREAUTH",
      [PP_RS_PRELIM] = "not ready",
  };
  bool pop3 = frame == PP_FRAME_POP3 || frame == PP_FRAME_POP3_MULTI;
  if (r->code)
    snprintf(buf, len, "%d", r->code);
  else if (pop3 && r->status == PP_RS_PERMFAIL)
    snprintf(buf, len, "-ERR");
  else
    snprintf(buf, len, "%s", names[r->status]);
  return buf;
}

static void remember(dlg *d, const char *data, size_t len) {
  d->lastlen = len < sizeof(d->last) ? len : sizeof(d->last);
  memcpy(d->last, data, d->lastlen);
}

/* --- TLS --- */

static pp_tls_ctxs *engine_ctxs(dlg_engine *de) {
  if (de->tls == NULL)
    de->tls = pp_tls_ctxs_new();
  return de->tls;
}

static void begin_handshake(dlg *d) {
  pp_check *c = d->c;
  const pp_opts *o = &d->t->opts;
  pp_tls_ctxs *ctxs = engine_ctxs(d->de);
  if (ctxs == NULL) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "TLS: out of memory");
    return;
  }
  pp_tls_peer peer = {.ca_file = o->ca_file,
                      .host = d->t->host,
                      .host_is_ip = d->t->host_is_ip,
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
  switch (pp_tls_handshake(d->tls)) {
  case PP_TLS_WANT_READ:
    watch(d, PP_EV_READ);
    return;
  case PP_TLS_WANT_WRITE:
    watch(d, PP_EV_WRITE);
    return;
  case PP_TLS_EOF:
    on_eof(d);
    return;
  case PP_TLS_FAILED:
    on_io_fail(d);
    return;
  case PP_TLS_DONE:
    break;
  }
  c->res->t_tls = (double)(pp_now_us() - d->hs_start_us) / 1e6;
  d->tls_on = true;
  d->io = IO_IDLE;
  const pp_opts *o = &d->t->opts;
  char why[PP_DETAIL_MAX - 40];
  pp_result_code code = pp_tls_check(d->tls, o, c->res, why, sizeof(why));
  pp_log(c->engine, PP_LOG_DEBUG, "target \"%s\": TLS: %s, %s",
         pp_target_name(d->t), c->res->tls_version,
         code == PP_R_OK && !why[0] ? "verified" : why);
  if (code != PP_R_OK) {
    pp_check_finish(c, code, "%s", why);
    return;
  }
  if (why[0])
    note(d, "%s", why);
  d->t0_us = pp_now_us();
  if (d->step == NULL) { /* implicit TLS: the dialog starts now */
    run(d);
    return;
  }
  /* after STARTTLS: forget what was offered in clear text (RFC 3207) */
  d->upgraded = true;
  memset(&d->caps, 0, sizeof(d->caps));
  next(d);
}

static step_rc starttls_begin(dlg *d, const pp_dstep *s) {
  if (d->tls_on || d->t->starttls == PP_STARTTLS_NO)
    return STEP_SKIP;
  bool require = d->t->starttls == PP_STARTTLS_REQUIRE;
  pp_check_phase(d->c, PP_PHASE_STARTTLS);
  if (d->preauth) {
    if (!require) {
      note(d, "no %s after PREAUTH: plain text", s->what);
      return STEP_SKIP;
    }
    fail_with(d, d->last, d->lastlen, PP_R_STARTTLS_UNAVAILABLE,
              "PREAUTH greeting: the session cannot switch to TLS");
    return STEP_WAIT;
  }
  if (!d->caps.starttls) {
    if (!require) {
      note(d, "server offers no %s: plain text", s->what);
      return STEP_SKIP;
    }
    fail_with(d, d->last, d->lastlen, PP_R_STARTTLS_UNAVAILABLE,
              "server does not offer %s", s->what);
    return STEP_WAIT;
  }
  send_command(d, s, after_command_sent);
  return STEP_WAIT;
}

static void starttls_reply(dlg *d, const pp_reply *r, bool positive) {
  const pp_dstep *s = d->step;
  if (!positive) {
    char sw[24];
    status_words(s->frame, r, sw, sizeof(sw));
    if (d->t->starttls == PP_STARTTLS_REQUIRE) {
      fail_with(d, d->rbuf, r->len, PP_R_STARTTLS_UNAVAILABLE,
                "server refused %s (%s)", s->what, sw);
      return;
    }
    note(d, "server refused %s (%s): plain text", s->what, sw);
    consume(d, r->len);
    next(d);
    return;
  }
  consume(d, r->len);
  if (d->rlen > 0) {
    /* bytes sent in clear text after the go-ahead would be taken as if
     * they came through TLS (CVE-2011-0411): refuse them */
    fail_with(d, d->rbuf, d->rlen, PP_R_PROTOCOL_ERROR,
              "server sent data after accepting %s", s->what);
    return;
  }
  begin_handshake(d);
}

/* --- judging a protocol step's reply --- */

static void on_step_reply(dlg *d, const pp_reply *r) {
  const pp_dstep *s = d->step;
  const char *rep = d->rbuf;
  size_t len = r->len;
  bool greeting = s->op == PP_DOP_GREETING;
  remember(d, rep, len);
  if (!d->excerpt_set)
    excerpt_from(d, rep, len);
  if (s->flags & PP_DF_CAPS)
    pp_caps_parse(s->frame, rep, len, &d->caps);

  char sw[24];
  bool positive = s->want == PP_RS_UNKNOWN || r->status == s->want;
  if (greeting && r->status == PP_RS_PREAUTH) {
    d->preauth = true;
    positive = true;
  }
  if (s->op == PP_DOP_STARTTLS) {
    starttls_reply(d, r, positive);
    return;
  }
  if (!positive) {
    status_words(s->frame, r, sw, sizeof(sw));
    if (s->flags & PP_DF_TOLERANT) {
      consume(d, len);
      next(d);
    } else if (greeting && r->status == PP_RS_BYE) {
      fail_with(d, rep, len, s->fail,
                "greeting is BYE: the server refuses the connection");
    } else if (greeting) {
      fail_with(d, rep, len, s->fail, "greeting refuses service (%s)", sw);
    } else {
      fail_with(d, rep, len, s->fail, "%s refused (%s)", s->what, sw);
    }
    return;
  }
  size_t end;
  pcre2_code *re = d->in_login ? NULL : d->proto_re[d->i];
  if (re && re_match(d, re, rep, len, &end) != 1) {
    fail_with(d, rep, len, s->fail, "%s does not match /%s/", s->what,
              s->expect);
    return;
  }
  if (greeting && d->pl->banner && s->frame != PP_FRAME_RAW &&
      re_match(d, d->pl->banner, rep, len, &end) != 1) {
    fail_with(d, rep, len, PP_R_BANNER_MISMATCH,
              "%s does not match expect_banner /%.80s/", s->what,
              d->t->opts.expect_banner.pattern);
    return;
  }
  if (greeting && d->preauth)
    note(d, "PREAUTH greeting (already logged in)");
  consume(d, len);
  next(d);
}

/* --- login --- */

static int read_password(dlg *d, char *why, size_t whylen) {
  const char *path = d->t->opts.password_file;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    snprintf(why, whylen, "password_file %s: %s", path, strerror(errno));
    return -1;
  }
  char buf[PASSWORD_MAX + 2];
  size_t n = 0;
  while (n < sizeof(buf)) {
    ssize_t r = read(fd, buf + n, sizeof(buf) - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      snprintf(why, whylen, "password_file %s: %s", path, strerror(errno));
      close(fd);
      OPENSSL_cleanse(buf, sizeof(buf));
      return -1;
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  size_t l = 0;
  while (l < n && buf[l] != '\n' && buf[l] != '\r' && buf[l] != 0)
    l++;
  int rc = 0;
  if (l == 0) {
    snprintf(why, whylen, "password_file %s: the first line is empty", path);
    rc = -1;
  } else if (l > PASSWORD_MAX) {
    snprintf(why, whylen, "password_file %s: longer than %d bytes", path,
             PASSWORD_MAX);
    rc = -1;
  } else {
    const char *user = d->t->opts.username;
    size_t ul = strlen(user);
    /* SASL PLAIN (RFC 4616): authzid NUL authcid NUL password */
    char *blob = malloc(ul + l + 2);
    d->secret[0] = strndup(buf, l);
    d->secret[1] = b64(buf, l);
    if (blob) {
      blob[0] = 0;
      memcpy(blob + 1, user, ul);
      blob[ul + 1] = 0;
      memcpy(blob + ul + 2, buf, l);
      d->secret[2] = b64(blob, ul + l + 2);
      OPENSSL_cleanse(blob, ul + l + 2);
      free(blob);
    }
    if (!d->secret[0] || !d->secret[1] || !d->secret[2]) {
      snprintf(why, whylen, "out of memory");
      rc = -1;
    }
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  return rc;
}

static const pp_login *choose_login(dlg *d, char *why, size_t whylen) {
  const pp_protocol *p = d->pl->proto;
  static const char *const mech[] = {"auto", "plain", "login"};
  int want = d->t->opts.auth_mechanism;
  for (size_t i = 0; i < p->nlogins; i++) {
    const pp_login *l = &p->logins[i];
    if (want != PP_AUTH_AUTO && strcmp(l->mechanism, mech[want]) != 0)
      continue;
    bool offered = l->need == PP_NEED_NOTHING ||
                   (l->need == PP_NEED_AUTH_PLAIN && d->caps.auth_plain) ||
                   (l->need == PP_NEED_AUTH_LOGIN && d->caps.auth_login);
    if (offered)
      return l;
  }
  if (want != PP_AUTH_AUTO)
    snprintf(why, whylen, "server does not offer AUTH %s", mech[want]);
  else if (!d->caps.auth_any)
    snprintf(why, whylen, "server offers no AUTH%s",
             d->tls_on ? "" : " without TLS");
  else
    snprintf(why, whylen, "server offers neither AUTH PLAIN nor LOGIN");
  return NULL;
}

static step_rc login_begin(dlg *d) {
  const pp_opts *o = &d->t->opts;
  if (o->username == NULL)
    return STEP_SKIP;
  if (d->preauth) {
    note(d, "login skipped");
    return STEP_SKIP;
  }
  pp_check_phase(d->c, PP_PHASE_AUTH);
  if (!d->tls_on && !o->auth_plaintext) {
    fail_with(d, d->last, d->lastlen, PP_R_STARTTLS_UNAVAILABLE,
              "no TLS, and the password is sent only inside TLS "
              "(auth_plaintext=yes allows clear text)");
    return STEP_WAIT;
  }
  if (d->caps.logindisabled) {
    fail_with(d, d->last, d->lastlen, PP_R_AUTH_FAILED,
              "server advertises LOGINDISABLED");
    return STEP_WAIT;
  }
  char why[PP_DETAIL_MAX];
  const pp_login *l = choose_login(d, why, sizeof(why));
  if (l == NULL) {
    fail_with(d, d->last, d->lastlen, PP_R_AUTH_FAILED, "%s", why);
    return STEP_WAIT;
  }
  if (read_password(d, why, sizeof(why)) != 0) {
    pp_check_finish(d->c, PP_R_SOCKET_ERROR, "%s", why);
    return STEP_WAIT;
  }
  d->main_i = d->i;
  d->in_login = true;
  d->steps = l->steps;
  d->nsteps = l->nsteps;
  d->i = 0;
  return STEP_AGAIN;
}

/* --- the user's send / expect steps --- */

static void on_user_reply(dlg *d, const pp_reply *r) {
  const pp_step *u = &d->t->opts.steps.items[d->ui];
  if (!d->excerpt_set)
    excerpt_from(d, d->rbuf, r->len);
  remember(d, d->rbuf, r->len);
  size_t end;
  if (d->frame != PP_FRAME_RAW &&
      re_match(d, d->pl->user_re[d->ui], d->rbuf, r->len, &end) != 1) {
    fail_with(d, d->rbuf, r->len, PP_R_EXPECT_MISMATCH,
              "reply does not match /%.80s/", u->text);
    return;
  }
  consume(d, r->len);
  d->ui++;
  run(d);
}

static void after_user_send(dlg *d) {
  d->ui++;
  run(d);
}

static step_rc user_step(dlg *d) {
  const pp_steplist *l = &d->t->opts.steps;
  if (d->ui >= l->n)
    return STEP_SKIP;
  const pp_step *u = &l->items[d->ui];
  pp_check_phase(d->c,
                 d->got_byte || d->ui > 0 ? PP_PHASE_DIALOG : PP_PHASE_BANNER);
  if (u->kind == PP_STEP_SEND) {
    char *buf = malloc(u->len + 1);
    if (buf == NULL) {
      pp_check_finish(d->c, PP_R_SOCKET_ERROR, "out of memory");
      return STEP_WAIT;
    }
    memcpy(buf, u->text, u->len);
    trace(d, "C", buf, u->len);
    begin_write(d, buf, u->len, false, after_user_send);
    return STEP_WAIT;
  }
  begin_read(d, d->pl->proto->user_frame, d->pl->user_re[d->ui], u->text,
             on_user_reply);
  return STEP_WAIT;
}

/* --- quit --- */

static void on_quit_reply(dlg *d, const pp_reply *r) {
  (void)r;
  finish_ok(d);
}

static void after_quit_sent(dlg *d) {
  pp_check *c = d->c;
  uint64_t due = pp_now_us() + QUIT_WAIT_US;
  if (due > c->deadline_us - JUDGE_MARGIN_US)
    due = c->deadline_us - JUDGE_MARGIN_US;
  pp_timer_start_at(c->engine->loop, &d->judge, due);
  d->rlen = 0; /* what came before QUIT no longer matters */
  begin_read(d, d->step->frame, NULL, NULL, on_quit_reply);
}

/* --- the step loop --- */

static void run(dlg *d) {
  pp_check *c = d->c;
  for (;;) {
    if (c->done)
      return;
    if (d->i >= d->nsteps) {
      if (d->in_login) { /* back to the main table after LOGIN */
        d->in_login = false;
        d->steps = d->pl->proto->steps;
        d->nsteps = d->pl->proto->nsteps;
        d->i = d->main_i + 1;
        continue;
      }
      finish_ok(d);
      return;
    }
    const pp_dstep *s = d->step = &d->steps[d->i];
    if (((s->flags & PP_DF_AFTER_TLS) && !d->upgraded) ||
        ((s->flags & PP_DF_IF_BANNER) && d->pl->banner == NULL)) {
      d->i++;
      continue;
    }
    step_rc rc = STEP_WAIT;
    switch (s->op) {
    case PP_DOP_GREETING:
      pp_check_phase(c, PP_PHASE_BANNER);
      begin_read(d, s->frame, s->frame == PP_FRAME_RAW ? d->pl->banner : NULL,
                 d->t->opts.expect_banner.pattern, on_step_reply);
      break;
    case PP_DOP_COMMAND:
      pp_check_phase(c, s->phase);
      send_command(d, s, after_command_sent);
      break;
    case PP_DOP_STARTTLS:
      rc = starttls_begin(d, s);
      break;
    case PP_DOP_LOGIN:
      rc = login_begin(d);
      break;
    case PP_DOP_USER:
      rc = user_step(d);
      break;
    case PP_DOP_QUIT:
      pp_check_phase(c, PP_PHASE_DIALOG);
      d->quitting = true;
      send_command(d, s, after_quit_sent);
      break;
    }
    if (rc == STEP_WAIT)
      return;
    if (rc == STEP_SKIP)
      d->i++;
  }
}

/* --- the check kind --- */

static void dialog_start(pp_check *c) {
  pp_target *t = (pp_target *)c->target; /* check_data is ours to set */
  dlg_engine *de = engine_state(c->engine);
  if (de == NULL ||
      proto_regexes(de, pp_protocol_find(t->scheme->name)) == NULL) {
    pp_check_finish(c, PP_R_SOCKET_ERROR,
                    "cannot prepare the %s dialog (out of memory)",
                    t->scheme->name);
    return;
  }
  if (t->check_data == NULL) {
    t->check_data = plan_new(t);
    t->check_data_free = plan_free;
    if (t->check_data == NULL) {
      pp_check_finish(c, PP_R_SOCKET_ERROR,
                      "cannot prepare the %s dialog (out of memory)",
                      t->scheme->name);
      return;
    }
  }
  /* refuse_protocols: the old-protocol probe first (implicit TLS only) */
  pp_tls_probe(c, t->opts.refuse_protocols ? engine_ctxs(de) : NULL,
               pp_check_resolve_and_connect);
}

static void dialog_connected(pp_check *c) {
  const pp_target *t = c->target;
  dlg *d = calloc(1, sizeof(*d));
  if (d != NULL) {
    /* most replies are short: start small, so that a check in flight
       keeps little memory resident, and grow to max_reply when needed */
    d->rcap = (size_t)t->opts.max_reply;
    d->rsize = d->rcap < RBUF_START ? d->rcap : RBUF_START;
    d->rbuf = malloc(d->rsize);
  }
  if (d == NULL || d->rbuf == NULL) {
    if (d)
      free(d);
    pp_check_finish(c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  c->priv = d;
  d->c = c;
  d->t = t;
  d->pl = t->check_data;
  d->de = c->engine->kind_state[PP_KIND_DIALOG]; /* made by dialog_start */
  d->proto_re = proto_regexes(d->de, d->pl->proto);
  d->ehlo = t->opts.ehlo ? t->opts.ehlo : d->de->hostname;
  d->steps = d->pl->proto->steps;
  d->nsteps = d->pl->proto->nsteps;
  d->t0_us = pp_now_us();
  pp_timer_init(&d->judge, on_judge, d);
  if (t->scheme->tls == PP_TLS_IMPLICIT) {
    pp_check_phase(c, PP_PHASE_TLS);
    begin_handshake(d);
  } else {
    run(d);
  }
}

static void dialog_cleanup(pp_check *c) {
  dlg *d = c->priv;
  if (d == NULL)
    return;
  pp_timer_stop(c->engine->loop, &d->judge);
  /* a failure without its own excerpt shows what had arrived so far */
  if (!c->res->up && !d->excerpt_final && d->rlen > 0)
    excerpt_from(d, d->rbuf, d->rlen);
  pp_tls_free(d->tls);
  drop_wbuf(d);
  for (int k = 0; k < 3; k++)
    wipe_free(d->secret[k]);
  /* wipe what was read, not all of the buffer: touching untouched pages
     would make every check in flight cost that much resident memory */
  OPENSSL_cleanse(d->rbuf, d->rhigh);
  free(d->rbuf);
  free(d);
  c->priv = NULL;
}

static void dialog_engine_free(pp_engine *e) {
  dlg_engine_free(e->kind_state[PP_KIND_DIALOG]);
  e->kind_state[PP_KIND_DIALOG] = NULL;
}

const pp_check_ops pp_dialog_ops = {
    .name = "dialog",
    .start = dialog_start,
    .connected = dialog_connected,
    .cleanup = dialog_cleanup,
    .engine_free = dialog_engine_free,
};
