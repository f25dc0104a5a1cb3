/* The dialog engine's step loop: runs a protocol's step table (protocols.c)
 * over the check's non-blocking socket, one step at a time, and judges each
 * reply. Bytes and TLS move in dialog_io.c, credentials in dialog_login.c. */
#include "dialog_int.h"
#include "tls_probe.h"

#include <openssl/crypto.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MATCH_LIMIT 200000   /* a user's regex against a hostile reply */
#define QUIT_WAIT_US 1000000 /* how long a QUIT reply is waited for */
#define RBUF_START 256       /* first size of the reply buffer */

/* --- per engine: what every dialog target shares --- */

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

dlg_engine *pp_dlg_engine(pp_engine *e) {
  dlg_engine *de = e->kind_state[PP_KIND_DIALOG];
  if (de)
    return de;
  de = calloc(1, sizeof(*de));
  if (de == NULL)
    return NULL;
  de->mctx = pcre2_match_context_create(NULL);
  de->md = pcre2_match_data_create(2, NULL); /* a match and one group */
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
pcre2_code *pp_dlg_compile(const char *pattern, bool *ok) {
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
      re[i] = pp_dlg_compile(proto->steps[i].expect, &ok);
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

/* The target's compiled regexes and its protocol, kept across rounds: made
 * when the target is finalized. */
static void *plan_new(const pp_target *t, char *err, size_t errlen) {
  plan *pl = calloc(1, sizeof(*pl));
  if (pl == NULL) {
    snprintf(err, errlen, "target \"%s\": out of memory", pp_target_name(t));
    return NULL;
  }
  pl->proto = pp_protocol_of(t);
  bool ok = pl->proto != NULL;
  pl->nuser = t->opts->steps.n;
  if (ok && pl->nuser > 0) {
    pl->user_re = calloc(pl->nuser, sizeof(*pl->user_re));
    ok = pl->user_re != NULL;
  }
  for (size_t i = 0; ok && i < pl->nuser; i++)
    if (t->opts->steps.items[i].kind == PP_STEP_EXPECT)
      pl->user_re[i] = pp_dlg_compile(t->opts->steps.items[i].text, &ok);
  if (ok && t->opts->expect_banner.pattern)
    pl->banner = pp_dlg_compile(t->opts->expect_banner.pattern, &ok);
  if (!ok) {
    snprintf(err, errlen, "target \"%s\": cannot prepare the %s dialog",
             pp_target_name(t), t->scheme->name);
    plan_free(pl);
    return NULL;
  }
  return pl;
}

/* --- ending --- */

void pp_dlg_note(dlg *d, const char *fmt, ...) {
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

void pp_dlg_finish_ok(dlg *d) {
  if (d->note[0])
    pp_check_finish(d->c, PP_R_OK, "%s", d->note);
  else
    pp_check_finish(d->c, PP_R_OK, NULL);
}

void pp_dlg_fail_with(dlg *d, const char *data, size_t len, pp_result_code code,
                      const char *fmt, ...) {
  char detail[PP_DETAIL_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof(detail), fmt, ap);
  va_end(ap);
  if (data != NULL && len > 0) {
    pp_dlg_excerpt_from(d, data, len);
    d->excerpt_final = true;
  }
  pp_check_finish(d->c, code, "%s", detail);
}

/* --- between steps --- */

static void on_step_reply(dlg *d, const pp_reply *r);

void pp_dlg_after_command_sent(dlg *d) {
  const pp_dstep *s = d->step;
  pp_dlg_begin_read(d, s->frame, NULL, NULL, on_step_reply);
}

void pp_dlg_next(dlg *d) {
  d->i++;
  pp_dlg_run(d);
}

const char *pp_dlg_status_words(pp_frame frame, const pp_reply *r, char *buf,
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

/* Keeps a copy of the reply (up to EXCERPT_SCAN bytes) in a buffer as
 * large as the longest so far: most replies are far shorter than that. */
static void remember(dlg *d, const char *data, size_t len) {
  size_t want = len < EXCERPT_SCAN ? len : EXCERPT_SCAN;
  if (want > d->lastcap) {
    char *b = realloc(d->last, want);
    if (b != NULL) {
      d->last = b;
      d->lastcap = want;
    }
  }
  d->lastlen = want < d->lastcap ? want : d->lastcap;
  if (d->lastlen > 0)
    memcpy(d->last, data, d->lastlen);
}

/* --- judging a protocol step's reply --- */

/* The first group of the match just made, as the server's version. */
static void version_from_match(dlg *d, const char *rep) {
  const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(d->de->md);
  if (pcre2_get_ovector_count(d->de->md) < 2 || ov[2] == PCRE2_UNSET)
    return;
  pp_words_set_version(pp_check_words(d->c), rep + ov[2], ov[3] - ov[2]);
}

static void on_step_reply(dlg *d, const pp_reply *r) {
  const pp_dstep *s = d->step;
  const char *rep = d->rbuf;
  size_t len = r->len;
  bool greeting = s->op == PP_DOP_GREETING;
  remember(d, rep, len);
  if (!d->excerpt_set)
    pp_dlg_excerpt_from(d, rep, len);
  if (s->flags & PP_DF_CAPS)
    pp_caps_parse(s->frame, rep, len, &d->caps);

  char sw[24];
  bool positive = s->want == PP_RS_UNKNOWN || r->status == s->want;
  if (greeting && r->status == PP_RS_PREAUTH) {
    d->preauth = true;
    positive = true;
  }
  if (s->op == PP_DOP_STARTTLS) {
    pp_dlg_starttls_reply(d, r, positive);
    return;
  }
  if (!positive) {
    pp_dlg_status_words(s->frame, r, sw, sizeof(sw));
    if (s->flags & PP_DF_TOLERANT) {
      pp_dlg_consume(d, len);
      pp_dlg_next(d);
    } else if (greeting && r->status == PP_RS_BYE) {
      pp_dlg_fail_with(d, rep, len, s->fail,
                       "greeting is BYE: the server refuses the connection");
    } else if (greeting) {
      pp_dlg_fail_with(d, rep, len, s->fail, "greeting refuses service (%s)",
                       sw);
    } else {
      pp_dlg_fail_with(d, rep, len, s->fail, "%s refused (%s)", s->what, sw);
    }
    return;
  }
  size_t end;
  pcre2_code *re = d->in_login ? NULL : d->proto_re[d->i];
  if (re && pp_dlg_re_match(d, re, rep, len, &end) != 1) {
    pp_dlg_fail_with(d, rep, len, s->fail, "%s does not match /%s/", s->what,
                     s->expect);
    return;
  }
  if (re && (s->flags & PP_DF_VERSION))
    version_from_match(d, rep);
  if (greeting && d->pl->banner && s->frame != PP_FRAME_RAW &&
      pp_dlg_re_match(d, d->pl->banner, rep, len, &end) != 1) {
    pp_dlg_fail_with(d, rep, len, PP_R_BANNER_MISMATCH,
                     "%s does not match expect_banner /%.80s/", s->what,
                     d->t->opts->expect_banner.pattern);
    return;
  }
  if (greeting && d->preauth)
    pp_dlg_note(d, "PREAUTH greeting (already logged in)");
  pp_dlg_consume(d, len);
  pp_dlg_next(d);
}

/* --- the user's send / expect steps --- */

static void on_user_reply(dlg *d, const pp_reply *r) {
  const pp_step *u = &d->t->opts->steps.items[d->ui];
  if (!d->excerpt_set)
    pp_dlg_excerpt_from(d, d->rbuf, r->len);
  remember(d, d->rbuf, r->len);
  size_t end;
  if (d->frame != PP_FRAME_RAW &&
      pp_dlg_re_match(d, d->pl->user_re[d->ui], d->rbuf, r->len, &end) != 1) {
    pp_dlg_fail_with(d, d->rbuf, r->len, PP_R_EXPECT_MISMATCH,
                     "reply does not match /%.80s/", u->text);
    return;
  }
  pp_dlg_consume(d, r->len);
  d->ui++;
  pp_dlg_run(d);
}

static void after_user_send(dlg *d) {
  d->ui++;
  pp_dlg_run(d);
}

static step_rc user_step(dlg *d) {
  const pp_steplist *l = &d->t->opts->steps;
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
    pp_dlg_trace(d, "C", buf, u->len);
    pp_dlg_begin_write(d, buf, u->len, false, after_user_send);
    return STEP_WAIT;
  }
  pp_dlg_begin_read(d, d->pl->proto->user_frame, d->pl->user_re[d->ui], u->text,
                    on_user_reply);
  return STEP_WAIT;
}

/* --- quit --- */

static void on_quit_reply(dlg *d, const pp_reply *r) {
  (void)r;
  pp_dlg_finish_ok(d);
}

static void after_quit_sent(dlg *d) {
  pp_check *c = d->c;
  uint64_t due = pp_now_us() + QUIT_WAIT_US;
  if (due > c->deadline_us - JUDGE_MARGIN_US)
    due = c->deadline_us - JUDGE_MARGIN_US;
  pp_timer_start_at(c->engine->loop, &d->judge, due);
  pp_dlg_trace_read(d, 0, true);
  d->rlen = d->traced = 0; /* what came before QUIT no longer matters */
  memset(&d->cur, 0, sizeof(d->cur));
  pp_dlg_begin_read(d, d->step->frame, NULL, NULL, on_quit_reply);
}

/* --- the step loop --- */

void pp_dlg_run(dlg *d) {
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
      pp_dlg_finish_ok(d);
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
      pp_dlg_begin_read(d, s->frame,
                        s->frame == PP_FRAME_RAW ? d->pl->banner : NULL,
                        d->t->opts->expect_banner.pattern, on_step_reply);
      break;
    case PP_DOP_COMMAND:
      pp_check_phase(c, s->phase);
      pp_dlg_send_command(d, s, pp_dlg_after_command_sent);
      break;
    case PP_DOP_STARTTLS:
      rc = pp_dlg_starttls_begin(d, s);
      break;
    case PP_DOP_LOGIN:
      rc = pp_dlg_login_begin(d);
      break;
    case PP_DOP_USER:
      rc = user_step(d);
      break;
    case PP_DOP_QUIT:
      pp_check_phase(c, PP_PHASE_DIALOG);
      d->quitting = true;
      pp_dlg_send_command(d, s, after_quit_sent);
      break;
    case PP_DOP_MESSAGE:
    case PP_DOP_LIST:
    case PP_DOP_INSPECT:
    case PP_DOP_DELETE:
      rc = pp_dlg_mail_step(d, s);
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
  const pp_target *t = c->target;
  dlg_engine *de = pp_dlg_engine(c->engine);
  if (de == NULL || proto_regexes(de, pp_protocol_of(t)) == NULL) {
    pp_check_finish(c, PP_R_SOCKET_ERROR,
                    "cannot prepare the %s dialog (out of memory)",
                    t->scheme->name);
    return;
  }
  /* refuse_protocols: the old-protocol probe first (implicit TLS only) */
  pp_tls_probe(c, t->opts->refuse_protocols ? pp_dlg_tls_ctxs(de) : NULL,
               pp_check_resolve_and_connect);
}

dlg *pp_dlg_new(pp_check *c) {
  const pp_target *t = c->target;
  dlg *d = calloc(1, sizeof(*d));
  if (d != NULL) {
    /* most replies are short: start small, so that a check in flight
       keeps little memory resident, and grow to max_reply when needed */
    d->rcap = (size_t)t->opts->max_reply;
    d->rsize = d->rcap < RBUF_START ? d->rcap : RBUF_START;
    d->rbuf = malloc(d->rsize);
  }
  if (d == NULL || d->rbuf == NULL) {
    free(d);
    return NULL;
  }
  d->c = c;
  d->t = t;
  d->de = c->engine->kind_state[PP_KIND_DIALOG]; /* made at the start */
  d->ehlo = t->opts->ehlo ? t->opts->ehlo : d->de->hostname;
  d->t0_us = pp_now_us();
  pp_timer_init(&d->judge, pp_dlg_on_judge, d);
  return d;
}

void pp_dlg_free(dlg *d) {
  pp_check *c = d->c;
  pp_timer_stop(c->engine->loop, &d->judge);
  pp_dlg_trace_read(d, 0, true); /* a line the server never ended */
  /* a failure without its own excerpt shows what had arrived so far */
  if (!c->res->up && !d->excerpt_final && d->rlen > 0)
    pp_dlg_excerpt_from(d, d->rbuf, d->rlen);
  pp_tls_free(d->tls);
  pp_dlg_drop_wbuf(d);
  pp_dlg_wipe_secrets(d);
  /* wipe what was read, not all of the buffer: touching untouched pages
     would make every check in flight cost that much resident memory */
  OPENSSL_cleanse(d->rbuf, d->rhigh);
  free(d->rbuf);
  free(d->last);
  free(d);
}

static void dialog_connected(pp_check *c) {
  const pp_target *t = c->target;
  dlg *d = pp_dlg_new(c);
  if (d == NULL) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  c->priv = d;
  d->pl = t->check_data;
  d->proto_re = proto_regexes(d->de, d->pl->proto);
  d->steps = d->pl->proto->steps;
  d->nsteps = d->pl->proto->nsteps;
  if (t->scheme->tls == PP_TLS_IMPLICIT) {
    pp_check_phase(c, PP_PHASE_TLS);
    pp_dlg_begin_handshake(d);
  } else {
    pp_dlg_run(d);
  }
}

static void dialog_cleanup(pp_check *c) {
  if (c->priv == NULL)
    return;
  pp_dlg_free(c->priv);
  c->priv = NULL;
}

static void dialog_engine_free(pp_engine *e) {
  dlg_engine_free(e->kind_state[PP_KIND_DIALOG]);
  e->kind_state[PP_KIND_DIALOG] = NULL;
}

const pp_check_ops pp_dialog_ops = {
    .name = "dialog",
    .applies = PP_APPLY_TCP | PP_APPLY_DIALOG,
    .validate = pp_dialog_validate,
    .prepare = plan_new,
    .data_free = plan_free,
    .start = dialog_start,
    .connected = dialog_connected,
    .cleanup = dialog_cleanup,
    .engine_free = dialog_engine_free,
};
