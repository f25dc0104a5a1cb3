/* Binary protocols as codecs: what a check sends and how it reads what
 * comes back, with no socket in sight. The wire kind (check_wire.c) runs a
 * codec over TCP on the dialog engine's I/O, TLS and STARTTLS layer; the
 * udp kind (check_udp.c) runs one over datagrams. Internal to the core. */
#ifndef PP_WIRE_H
#define PP_WIRE_H

#include "check_core.h"
#include "reply.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- bytes out: a growing buffer; a failed allocation is remembered and
 * reported once, when the message is sent --- */

typedef struct {
  uint8_t *p;
  size_t len, cap;
  bool oom;
} pp_wbuf;

void pp_wbuf_put(pp_wbuf *b, const void *data, size_t n);
void pp_wbuf_u8(pp_wbuf *b, unsigned v);
void pp_wbuf_u16be(pp_wbuf *b, unsigned v);
void pp_wbuf_u16le(pp_wbuf *b, unsigned v);
void pp_wbuf_u32be(pp_wbuf *b, uint32_t v);
void pp_wbuf_u32le(pp_wbuf *b, uint32_t v);
void pp_wbuf_cstr(pp_wbuf *b, const char *s); /* with its NUL */
/* Overwrites 4 bytes at off (a length known once the message is built). */
void pp_wbuf_set_u32be(pp_wbuf *b, size_t off, uint32_t v);
void pp_wbuf_set_u32le(pp_wbuf *b, size_t off, uint32_t v);
/* Wipes (secret) and frees the bytes. */
void pp_wbuf_free(pp_wbuf *b, bool secret);

/* --- bytes in: a bounded cursor; reading past the end sets bad and
 * yields zeros, so a decoder checks bad once at the end --- */

typedef struct {
  const uint8_t *p;
  size_t len, off;
  bool bad;
} pp_rbuf;

pp_rbuf pp_rbuf_of(const uint8_t *p, size_t len);
unsigned pp_rbuf_u8(pp_rbuf *r);
unsigned pp_rbuf_u16be(pp_rbuf *r);
unsigned pp_rbuf_u16le(pp_rbuf *r);
uint32_t pp_rbuf_u32be(pp_rbuf *r);
uint32_t pp_rbuf_u32le(pp_rbuf *r);
/* n bytes in place (NULL and bad when fewer are left). */
const uint8_t *pp_rbuf_bytes(pp_rbuf *r, size_t n);
/* A NUL-terminated string in place, *n its length without the NUL (NULL
 * and bad when no NUL is left). */
const char *pp_rbuf_cstr(pp_rbuf *r, size_t *n);
size_t pp_rbuf_left(const pp_rbuf *r);

/* --- the codec --- */

typedef struct pp_wire pp_wire;

/* What a codec's hook asks for next. */
typedef enum {
  PP_WIRE_SEND,     /* send w->out, then read the next message */
  PP_WIRE_READ,     /* read the next message */
  PP_WIRE_STARTTLS, /* the server agreed to TLS: handshake, then tls_ready */
  PP_WIRE_SEND_TLS, /* send w->out (a TLS request no reply follows), then
                       as PP_WIRE_STARTTLS */
  PP_WIRE_QUIT,     /* send w->out (a goodbye), and the check is up */
  PP_WIRE_END,      /* the check has ended: pp_wire_ok or pp_wire_fail */
} pp_wire_next;

/* Options a codec takes beyond the common and TLS ones. */
enum {
  PP_WIRE_TAKES_LOGIN = 1 << 0,    /* username, password_file */
  PP_WIRE_TAKES_DATABASE = 1 << 1, /* database */
};

typedef struct pp_wire_proto {
  const char *name;
  unsigned takes;    /* PP_WIRE_TAKES_* */
  size_t state_size; /* the codec's state per check, zeroed at the start */
  /* TCP: where the message at buf[0..len) ends: COMPLETE with *msglen,
   * INCOMPLETE (with the length the message says it has in *msglen once
   * known, so that one longer than max_reply fails at once), or MALFORMED
   * with a static reason in *why. NULL for a datagram codec (a datagram is
   * a message). */
  pp_reply_state (*frame)(pp_wire *w, const uint8_t *buf, size_t len,
                          size_t *msglen, const char **why);
  /* The connection is up (after implicit TLS), or a datagram is to be
   * sent: the first message goes into w->out. */
  pp_wire_next (*begin)(pp_wire *w);
  /* One complete message (or datagram), valid during the call only. */
  pp_wire_next (*message)(pp_wire *w, const uint8_t *msg, size_t len);
  /* TCP: after the handshake that PP_WIRE_STARTTLS asked for. */
  pp_wire_next (*tls_ready)(pp_wire *w);
  /* Wipes and frees what the state points to. May be NULL. */
  void (*state_free)(void *st);
} pp_wire_proto;

struct dlg;

/* A codec's view of its check. */
struct pp_wire {
  pp_check *c;
  const pp_target *t;
  const pp_wire_proto *proto;
  void *st;         /* the codec's state */
  pp_wbuf out;      /* the next message to send */
  bool out_secret;  /* it carries a credential: wiped, never traced */
  const char *what; /* the exchange under way ("StartupMessage") */
  bool tls_on;      /* TCP: TLS is up */
  struct dlg *d;    /* TCP: the dialog I/O under it; NULL for UDP */
  char note[PP_DETAIL_MAX];
};

/* The codecs (wire_*.c). */
extern const pp_wire_proto pp_wire_postgres;
extern const pp_wire_proto pp_wire_mysql;
extern const pp_wire_proto pp_wire_mongodb;
extern const pp_wire_proto pp_wire_ldap;
extern const pp_wire_proto pp_wire_mssql;
extern const pp_wire_proto pp_wire_ntp;

/* --- what codecs call (wire.c) --- */

/* Names the exchange under way, for messages ("closed before answering
 * StartupMessage"), and enters its phase. */
void pp_wire_step(pp_wire *w, pp_phase phase, const char *what);
/* A remark for the detail of a successful check ("; " between). */
void pp_wire_note(pp_wire *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends to the record's info ("; " between). */
void pp_wire_info(pp_wire *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The server's version, from len bytes of its words (sanitised). */
void pp_wire_version(pp_wire *w, const char *s, size_t len);
/* What the server said, in words: the record's excerpt (sanitised,
 * credentials scrubbed). */
void pp_wire_excerpt(pp_wire *w, const char *s, size_t len);
/* Ends the check up, with the notes as its detail. */
pp_wire_next pp_wire_ok(pp_wire *w);
/* Ends the check with a result class and a detail. */
pp_wire_next pp_wire_fail(pp_wire *w, pp_result_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Whether the check is to ask for TLS now: STARTTLS is on for the target
 * (try or require) and TLS is not up yet. */
bool pp_wire_wants_tls(const pp_wire *w);
/* The server does not offer TLS, or refused it (why says which): true when
 * the check may go on in plain text (starttls=try, noted in the detail),
 * false when it has ended as starttls_unavailable (require). */
bool pp_wire_plain_ok(pp_wire *w, const char *why);
/* The password from password_file (wiped when the check ends, scrubbed
 * from excerpts and traces); NULL with the check ended on failure. */
const char *pp_wire_password(pp_wire *w);
/* Logs (debug) what was sent ("C") or received ("S") in the codec's words:
 * binary messages are not dumped. */
void pp_wire_trace(pp_wire *w, const char *who, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Checks a target's options against its codec (login, database); the
 * wire and udp kinds' validate hook. */
int pp_wire_validate(const pp_target *t, char *err, size_t errlen);

#endif
