/* What binary-protocol codecs share: bounded byte writers and readers, and
 * the calls that record what a server said and end a check, for the wire
 * kind (over the dialog engine's I/O) and the udp kind alike. */
#include "wire.h"

#include "dialog_int.h"

#include <openssl/crypto.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- bytes out --- */

/* Grows by moving to a new block and wiping the old one (not realloc,
 * which may leave a copy of a credential behind). */
static bool room(pp_wbuf *b, size_t n) {
  if (b->oom)
    return false;
  if (b->len + n <= b->cap)
    return true;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->len + n)
    cap *= 2;
  uint8_t *p = malloc(cap);
  if (p == NULL) {
    b->oom = true;
    return false;
  }
  if (b->p != NULL) {
    memcpy(p, b->p, b->len);
    OPENSSL_cleanse(b->p, b->len);
    free(b->p);
  }
  b->p = p;
  b->cap = cap;
  return true;
}

void pp_wbuf_put(pp_wbuf *b, const void *data, size_t n) {
  if (n > 0 && room(b, n)) {
    memcpy(b->p + b->len, data, n);
    b->len += n;
  }
}

void pp_wbuf_u8(pp_wbuf *b, unsigned v) {
  uint8_t x = (uint8_t)v;
  pp_wbuf_put(b, &x, 1);
}

void pp_wbuf_u16be(pp_wbuf *b, unsigned v) {
  uint8_t x[2] = {(uint8_t)(v >> 8), (uint8_t)v};
  pp_wbuf_put(b, x, 2);
}

void pp_wbuf_u16le(pp_wbuf *b, unsigned v) {
  uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
  pp_wbuf_put(b, x, 2);
}

void pp_wbuf_u32be(pp_wbuf *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                  (uint8_t)v};
  pp_wbuf_put(b, x, 4);
}

void pp_wbuf_u32le(pp_wbuf *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16),
                  (uint8_t)(v >> 24)};
  pp_wbuf_put(b, x, 4);
}

void pp_wbuf_cstr(pp_wbuf *b, const char *s) {
  pp_wbuf_put(b, s, strlen(s) + 1);
}

void pp_wbuf_set_u32be(pp_wbuf *b, size_t off, uint32_t v) {
  if (b->oom || off + 4 > b->len)
    return;
  for (int i = 0; i < 4; i++)
    b->p[off + (size_t)i] = (uint8_t)(v >> (24 - 8 * i));
}

void pp_wbuf_set_u32le(pp_wbuf *b, size_t off, uint32_t v) {
  if (b->oom || off + 4 > b->len)
    return;
  for (int i = 0; i < 4; i++)
    b->p[off + (size_t)i] = (uint8_t)(v >> (8 * i));
}

void pp_wbuf_free(pp_wbuf *b, bool secret) {
  if (b->p != NULL && secret)
    OPENSSL_cleanse(b->p, b->len);
  free(b->p);
  memset(b, 0, sizeof(*b));
}

/* --- bytes in --- */

pp_rbuf pp_rbuf_of(const uint8_t *p, size_t len) {
  return (pp_rbuf){.p = p, .len = len};
}

size_t pp_rbuf_left(const pp_rbuf *r) {
  return r->bad ? 0 : r->len - r->off;
}

const uint8_t *pp_rbuf_bytes(pp_rbuf *r, size_t n) {
  if (r->bad || n > r->len - r->off) {
    r->bad = true;
    return NULL;
  }
  const uint8_t *p = r->p + r->off;
  r->off += n;
  return p;
}

/* n bytes as a big-endian (be) or little-endian number; 0 past the end */
static uint32_t number(pp_rbuf *r, size_t n, bool be) {
  const uint8_t *p = pp_rbuf_bytes(r, n);
  uint32_t v = 0;
  for (size_t i = 0; p && i < n; i++)
    v |= (uint32_t)p[i] << (be ? 8 * (n - 1 - i) : 8 * i);
  return v;
}

unsigned pp_rbuf_u8(pp_rbuf *r) {
  return number(r, 1, true);
}
unsigned pp_rbuf_u16be(pp_rbuf *r) {
  return number(r, 2, true);
}
unsigned pp_rbuf_u16le(pp_rbuf *r) {
  return number(r, 2, false);
}
uint32_t pp_rbuf_u32be(pp_rbuf *r) {
  return number(r, 4, true);
}
uint32_t pp_rbuf_u32le(pp_rbuf *r) {
  return number(r, 4, false);
}

const char *pp_rbuf_cstr(pp_rbuf *r, size_t *n) {
  if (r->bad)
    return NULL;
  const uint8_t *start = r->p + r->off;
  const uint8_t *nul = memchr(start, 0, r->len - r->off);
  if (nul == NULL) {
    r->bad = true;
    return NULL;
  }
  *n = (size_t)(nul - start);
  r->off += *n + 1;
  return (const char *)start;
}

/* --- what a server said, and the end --- */

static void append(char *buf, size_t size, const char *fmt, va_list ap) {
  size_t off = strlen(buf);
  if (off > 0 && off + 2 < size) {
    memcpy(buf + off, "; ", 3);
    off += 2;
  }
  if (off < size)
    vsnprintf(buf + off, size - off, fmt, ap);
}

void pp_wire_step(pp_wire *w, pp_phase phase, const char *what) {
  w->what = what;
  pp_check_phase(w->c, phase);
}

void pp_wire_note(pp_wire *w, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (w->d != NULL)
    append(w->d->note, sizeof(w->d->note), fmt, ap);
  else
    append(w->note, sizeof(w->note), fmt, ap);
  va_end(ap);
}

void pp_wire_info(pp_wire *w, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  pp_server_words *words = pp_check_words(w->c);
  append(words->info, sizeof(words->info), fmt, ap);
  va_end(ap);
}

void pp_wire_version(pp_wire *w, const char *s, size_t len) {
  pp_words_set_version(pp_check_words(w->c), s, len);
}

void pp_wire_excerpt(pp_wire *w, const char *s, size_t len) {
  if (w->d != NULL) {
    pp_dlg_excerpt_from(w->d, s, len);
    w->d->excerpt_final = true;
  } else {
    pp_result_set_excerpt(w->c->res, s, len);
  }
}

pp_wire_next pp_wire_ok(pp_wire *w) {
  const char *note = w->d != NULL ? w->d->note : w->note;
  if (note[0])
    pp_check_finish(w->c, PP_R_OK, "%s", note);
  else
    pp_check_finish(w->c, PP_R_OK, NULL);
  return PP_WIRE_END;
}

pp_wire_next pp_wire_fail(pp_wire *w, pp_result_code code, const char *fmt,
                          ...) {
  char detail[PP_DETAIL_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof(detail), fmt, ap);
  va_end(ap);
  pp_check_finish(w->c, code, "%s", detail);
  return PP_WIRE_END;
}

bool pp_wire_wants_tls(const pp_wire *w) {
  return !w->tls_on && w->t->starttls != PP_STARTTLS_NO &&
         w->t->scheme->tls == PP_TLS_STARTTLS;
}

bool pp_wire_plain_ok(pp_wire *w, const char *why) {
  if (w->t->starttls == PP_STARTTLS_REQUIRE) {
    pp_wire_fail(w, PP_R_STARTTLS_UNAVAILABLE, "%s", why);
    return false;
  }
  pp_wire_note(w, "%s: plain text", why);
  return true;
}

const char *pp_wire_password(pp_wire *w) {
  char why[PP_DETAIL_MAX];
  if (w->d == NULL) {
    pp_wire_fail(w, PP_R_SOCKET_ERROR, "no login over datagrams");
    return NULL;
  }
  if (w->d->secret[SECRET_RAW] != NULL)
    return w->d->secret[SECRET_RAW];
  if (pp_dlg_read_password(w->d, why, sizeof(why)) != 0) {
    pp_wire_fail(w, PP_R_SOCKET_ERROR, "%s", why);
    return NULL;
  }
  return w->d->secret[SECRET_RAW];
}

void pp_wire_trace(pp_wire *w, const char *who, const char *fmt, ...) {
  if (w->c->engine->log == NULL)
    return;
  char msg[PP_DETAIL_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  pp_log(w->c->engine, PP_LOG_DEBUG, "target \"%s\": %s: %s",
         pp_target_name(w->t), who, msg);
}

/* --- options against the codec --- */

int pp_wire_validate(const pp_target *t, char *err, size_t errlen) {
  const pp_wire_proto *p = t->scheme->wire;
  const pp_opts *o = t->opts;
  const char *name = pp_target_name(t);
  unsigned takes = p != NULL ? p->takes : 0;
  char list[256];
  if (o->username != NULL && !(takes & PP_WIRE_TAKES_LOGIN)) {
    pp_scheme_names(list, sizeof(list), pp_scheme_takes_login);
    snprintf(err, errlen,
             "target \"%s\": username and password_file apply to %s targets",
             name, list);
    return -1;
  }
  if (o->database != NULL && !(takes & PP_WIRE_TAKES_DATABASE)) {
    snprintf(err, errlen,
             "target \"%s\": option \"database\" does not apply to %s targets",
             name, t->scheme->name);
    return -1;
  }
  return 0;
}
