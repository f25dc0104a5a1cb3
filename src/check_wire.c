/* The wire kind: a binary protocol over TCP, run as a codec (wire.h) on the
 * dialog engine's I/O (dialog_io.c): the same non-blocking reads and
 * writes, reply bound, implicit TLS and STARTTLS upgrade as the text
 * dialogs, with the codec's framing instead of text lines. */
#include "wire.h"

#include "dialog_int.h"
#include "tls_probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  pp_wire w;
  pp_dstep cur; /* what dialog_io's messages name ("before answering X") */
  bool started; /* begin has run: a later handshake is a STARTTLS one */
} wire_check;

static void run(wire_check *wc, pp_wire_next next);

static wire_check *of(dlg *d) {
  return d->wire;
}

/* dialog_io's framing hook: the codec says where a message ends */
static pp_reply_state wire_frame(dlg *d, pp_reply *r) {
  wire_check *wc = of(d);
  size_t len = 0;
  const char *why = "malformed message";
  pp_reply_state st =
      wc->w.proto->frame(&wc->w, (const uint8_t *)d->rbuf, d->rlen, &len, &why);
  if (st != PP_REPLY_MALFORMED && len > d->rcap) {
    r->why = "message longer than max_reply";
    return PP_REPLY_MALFORMED;
  }
  if (st == PP_REPLY_COMPLETE && (len == 0 || len > d->rlen))
    st = PP_REPLY_MALFORMED; /* a codec's mistake, not the server's */
  r->len = len;
  r->why = why;
  return st;
}

static void on_message(dlg *d, const pp_reply *r) {
  wire_check *wc = of(d);
  pp_check *c = d->c;
  pp_wire_next next =
      wc->w.proto->message(&wc->w, (const uint8_t *)d->rbuf, r->len);
  if (c->done)
    return;
  pp_dlg_consume(d, r->len);
  run(wc, next);
}

static void read_next(dlg *d) {
  pp_dlg_begin_read(d, PP_FRAME_LINE, NULL, NULL, on_message);
}

static void after_quit(dlg *d) {
  pp_dlg_finish_ok(d);
}

static void start_tls(dlg *d) {
  if (d->rlen > 0) {
    /* bytes sent in clear text after the go-ahead would be taken as if
     * they came through TLS (CVE-2011-0411): refuse them */
    pp_dlg_fail_with(d, d->rbuf, d->rlen, PP_R_PROTOCOL_ERROR,
                     "server sent data after agreeing to TLS");
    return;
  }
  pp_dlg_begin_handshake(d);
}

static void send_out(wire_check *wc, void (*after)(dlg *d)) {
  pp_wire *w = &wc->w;
  if (w->out.oom || w->out.len == 0) {
    pp_wbuf_free(&w->out, w->out_secret);
    pp_check_finish(w->c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  char *buf = (char *)w->out.p;
  size_t len = w->out.len;
  bool secret = w->out_secret;
  memset(&w->out, 0, sizeof(w->out)); /* dialog_io owns (and wipes) it now */
  w->out_secret = false;
  pp_dlg_begin_write(w->d, buf, len, secret, after);
}

static void run(wire_check *wc, pp_wire_next next) {
  pp_wire *w = &wc->w;
  dlg *d = w->d;
  wc->cur.what = w->what ? w->what : w->proto->name;
  wc->cur.op =
      w->c->phase == PP_PHASE_BANNER ? PP_DOP_GREETING : PP_DOP_COMMAND;
  switch (next) {
  case PP_WIRE_SEND:
    send_out(wc, read_next);
    break;
  case PP_WIRE_READ:
    read_next(d);
    break;
  case PP_WIRE_QUIT:
    d->quitting = true; /* a failure from here on is the goodbye's only */
    send_out(wc, after_quit);
    break;
  case PP_WIRE_STARTTLS:
    start_tls(d);
    break;
  case PP_WIRE_SEND_TLS:
    send_out(wc, start_tls);
    break;
  case PP_WIRE_END:
    break;
  }
}

/* dialog_io's hook once a handshake is done and verified */
static void wire_after_tls(dlg *d) {
  wire_check *wc = of(d);
  wc->w.tls_on = true;
  if (!wc->started) { /* implicit TLS: the protocol starts now */
    wc->started = true;
    run(wc, wc->w.proto->begin(&wc->w));
    return;
  }
  d->upgraded = true;
  run(wc, wc->w.proto->tls_ready(&wc->w));
}

/* --- the check kind --- */

/* What a target keeps across rounds is the dialogs' plan (no step table:
 * the codec is the protocol), for what dialog_io.c and the password file
 * keep per target. */
static void *wire_prepare(const pp_target *t, char *err, size_t errlen) {
  plan *pl = calloc(1, sizeof(*pl));
  if (pl == NULL)
    snprintf(err, errlen, "target \"%s\": out of memory", pp_target_name(t));
  return pl;
}

static void wire_start(pp_check *c) {
  dlg_engine *de = pp_dlg_engine(c->engine);
  if (de == NULL) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  /* refuse_protocols: the old-protocol probe first, as the dialogs do */
  pp_tls_probe(c,
               c->target->opts->refuse_protocols ? pp_dlg_tls_ctxs(de) : NULL,
               pp_check_resolve_and_connect);
}

static void wire_connected(pp_check *c) {
  const pp_wire_proto *p = c->target->scheme->wire;
  dlg *d = pp_dlg_new(c);
  wire_check *wc = calloc(1, sizeof(*wc));
  void *st = p->state_size ? calloc(1, p->state_size) : NULL;
  if (d == NULL || wc == NULL || (p->state_size && st == NULL)) {
    if (d != NULL)
      pp_dlg_free(d);
    free(wc);
    free(st);
    pp_check_finish(c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  c->priv = d;
  d->pl = c->target->check_data;
  d->wire = wc;
  d->framer = wire_frame;
  d->after_tls = wire_after_tls;
  wc->w = (pp_wire){.c = c, .t = c->target, .proto = p, .st = st, .d = d};
  wc->cur = (pp_dstep){.op = PP_DOP_COMMAND, .what = p->name};
  d->step = &wc->cur;
  if (c->target->scheme->tls == PP_TLS_IMPLICIT) {
    pp_check_phase(c, PP_PHASE_TLS);
    pp_dlg_begin_handshake(d);
    return;
  }
  wc->started = true;
  run(wc, p->begin(&wc->w));
}

static void wire_cleanup(pp_check *c) {
  dlg *d = c->priv;
  if (d == NULL)
    return;
  wire_check *wc = d->wire;
  if (wc->w.proto->state_free != NULL && wc->w.st != NULL)
    wc->w.proto->state_free(wc->w.st);
  free(wc->w.st);
  pp_wbuf_free(&wc->w.out, true);
  free(wc);
  pp_dlg_free(d);
  c->priv = NULL;
}

const pp_check_ops pp_wire_ops = {
    .name = "wire",
    .applies = PP_APPLY_TCP | PP_APPLY_WIRE,
    .validate = pp_wire_validate,
    .prepare = wire_prepare,
    .data_free = free,
    .start = wire_start,
    .connected = wire_connected,
    .cleanup = wire_cleanup,
};
