/* PostgreSQL's frontend/backend protocol 3.0 as a codec: the SSLRequest
 * (STARTTLS), the StartupMessage, and what answers it: an authentication
 * request or an ErrorResponse (SQLSTATE and words) tells a live server
 * from a wrong service, and one starting up, in recovery or full from one
 * that serves. With username and password_file, a real login (SCRAM-SHA-256,
 * md5, password) up to ReadyForQuery, in wire_postgres_auth.c. */
#include "wire_postgres.h"

#include <stdio.h>
#include <string.h>

#define SSL_REQUEST_CODE 80877103u
#define PROTOCOL_3_0 196608u
#define STARTUP_REPLY_MAX 65536 /* a greeting-time message longer is not pg */

/* --- framing: one byte after the SSLRequest, then type + length --- */

static pp_reply_state pg_frame(pp_wire *w, const uint8_t *buf, size_t len,
                               size_t *msglen, const char **why) {
  pg_state *st = w->st;
  if (st->stage == PG_SSL_ANSWER) {
    if (len >= 2 && buf[0] == 'S') {
      /* a server that goes on talking is not one waiting for TLS */
      *why = "not a PostgreSQL server: data after the SSLRequest answer";
      return PP_REPLY_MALFORMED;
    }
    *msglen = 1;
    return len >= 1 ? PP_REPLY_COMPLETE : PP_REPLY_INCOMPLETE;
  }
  if (len < 1)
    return PP_REPLY_INCOMPLETE;
  /* what a backend says before the first query */
  if (strchr("REvNSKZ", buf[0]) == NULL || buf[0] == 0) {
    *why = "not a PostgreSQL server: unexpected reply";
    return PP_REPLY_MALFORMED;
  }
  if (len < 5)
    return PP_REPLY_INCOMPLETE;
  pp_rbuf r = pp_rbuf_of(buf + 1, 4);
  uint32_t n = pp_rbuf_u32be(&r);
  if (n < 4 || n > STARTUP_REPLY_MAX) {
    *why = "not a PostgreSQL server: a message of impossible length";
    return PP_REPLY_MALFORMED;
  }
  *msglen = (size_t)n + 1;
  return len >= *msglen ? PP_REPLY_COMPLETE : PP_REPLY_INCOMPLETE;
}

/* --- what the client sends --- */

const char *pg_user(const pp_wire *w) {
  return w->t->opts->username ? w->t->opts->username : "portprobe";
}

/* A typed message: type, then a length patched by pg_end. */
size_t pg_begin_msg(pp_wire *w, char type) {
  pp_wbuf_u8(&w->out, (unsigned char)type);
  size_t at = w->out.len;
  pp_wbuf_u32be(&w->out, 0);
  return at;
}

void pg_end_msg(pp_wire *w, size_t at) {
  pp_wbuf_set_u32be(&w->out, at, (uint32_t)(w->out.len - at));
}

static pp_wire_next send_startup(pp_wire *w) {
  pg_state *st = w->st;
  const char *user = pg_user(w);
  /* "postgres" is there on every cluster (libpq would take the user's) */
  const char *db = w->t->opts->database ? w->t->opts->database : "postgres";
  st->stage = PG_STARTUP;
  pp_wire_step(w, PP_PHASE_DIALOG, "StartupMessage");
  pp_wbuf_u32be(&w->out, 0);
  pp_wbuf_u32be(&w->out, PROTOCOL_3_0);
  pp_wbuf_cstr(&w->out, "user");
  pp_wbuf_cstr(&w->out, user);
  pp_wbuf_cstr(&w->out, "database");
  pp_wbuf_cstr(&w->out, db);
  pp_wbuf_cstr(&w->out, "application_name");
  pp_wbuf_cstr(&w->out, "portprobe");
  pp_wbuf_u8(&w->out, 0);
  pp_wbuf_set_u32be(&w->out, 0, (uint32_t)w->out.len);
  pp_wire_trace(w, "C", "StartupMessage user=%s database=%s", user, db);
  return PP_WIRE_SEND;
}

static pp_wire_next pg_begin(pp_wire *w) {
  pg_state *st = w->st;
  st->login = w->t->opts->username != NULL;
  if (!pp_wire_wants_tls(w))
    return send_startup(w);
  st->stage = PG_SSL_ANSWER;
  pp_wire_step(w, PP_PHASE_STARTTLS, "SSLRequest");
  pp_wbuf_u32be(&w->out, 8);
  pp_wbuf_u32be(&w->out, SSL_REQUEST_CODE);
  pp_wire_trace(w, "C", "SSLRequest");
  return PP_WIRE_SEND;
}

static pp_wire_next pg_tls_ready(pp_wire *w) {
  return send_startup(w);
}

static pp_wire_next ssl_answer(pp_wire *w, uint8_t b) {
  pp_wire_trace(w, "S", "SSLRequest answer '%c'",
                b >= 0x20 && b < 0x7f ? b : '?');
  if (b == 'S') {
    pp_wire_info(w, "TLS offered");
    return PP_WIRE_STARTTLS;
  }
  if (b != 'N') {
    char c = (char)b;
    pp_wire_excerpt(w, &c, 1);
    return pp_wire_fail(w, PP_R_PROTOCOL_ERROR,
                        "not a PostgreSQL server: it answered the SSLRequest "
                        "with neither S nor N");
  }
  pp_wire_info(w, "no TLS");
  if (!pp_wire_plain_ok(w, "server does not offer TLS"))
    return PP_WIRE_END;
  return send_startup(w);
}

/* --- what the server says --- */

/* ErrorResponse and NoticeResponse fields: severity, SQLSTATE, words. */
typedef struct {
  char severity[16], code[6], message[PP_INFO_MAX], detail[PP_INFO_MAX];
} pg_error;

static void error_fields(pp_rbuf *r, pg_error *e) {
  memset(e, 0, sizeof(*e));
  for (;;) {
    unsigned type = pp_rbuf_u8(r);
    size_t n;
    const char *v;
    if (type == 0 || r->bad || (v = pp_rbuf_cstr(r, &n)) == NULL)
      return;
    char *to = type == 'V'   ? e->severity
               : type == 'C' ? e->code
               : type == 'M' ? e->message
               : type == 'D' ? e->detail
                             : NULL;
    size_t size = type == 'V'   ? sizeof(e->severity)
                  : type == 'C' ? sizeof(e->code)
                                : sizeof(e->message);
    if (type == 'S' && !e->severity[0]) /* localized; V (9.6+) wins */
      snprintf(e->severity, sizeof(e->severity), "%.*s", (int)n, v);
    else if (to != NULL)
      snprintf(to, size, "%.*s", (int)n, v);
  }
}

static pp_wire_next error_response(pp_wire *w, pp_rbuf *r) {
  pg_state *st = w->st;
  pg_error e;
  error_fields(r, &e);
  char said[PP_EXCERPT_MAX * 2];
  int n = snprintf(said, sizeof(said), "%s %s %s%s%s", e.severity, e.code,
                   e.message, e.detail[0] ? " " : "", e.detail);
  pp_wire_excerpt(w, said, n > 0 ? strlen(said) : 0);
  pp_wire_trace(w, "S", "ErrorResponse %s", said);
  /* 28: invalid authorization, 3D: no such database */
  bool refused_login =
      strncmp(e.code, "28", 2) == 0 || strncmp(e.code, "3D", 2) == 0;
  if (refused_login && !st->login) {
    pp_wire_note(w, "server refuses the login of %s: %s (%s)", pg_user(w),
                 e.message, e.code);
    return pp_wire_ok(w);
  }
  if (refused_login)
    return pp_wire_fail(w, PP_R_AUTH_FAILED, "login refused: %s (%s)",
                        e.message, e.code);
  /* 57P03 starting up / recovery / shutting down, 53300 too many clients */
  return pp_wire_fail(w, PP_R_UNAVAILABLE, "server refuses service: %s (%s)",
                      e.message, e.code);
}

static void parameter_status(pp_wire *w, pp_rbuf *r) {
  size_t kl, vl;
  const char *k = pp_rbuf_cstr(r, &kl), *v = pp_rbuf_cstr(r, &vl);
  if (k == NULL || v == NULL)
    return;
  if (strcmp(k, "server_version") == 0)
    pp_wire_version(w, v, vl);
  else if (strcmp(k, "in_hot_standby") == 0 && strcmp(v, "on") == 0)
    pp_wire_info(w, "hot standby (read only)");
}

static pp_wire_next ready(pp_wire *w) {
  pg_state *st = w->st;
  if (!st->authed)
    return pp_wire_fail(w, PP_R_PROTOCOL_ERROR,
                        "ReadyForQuery before AuthenticationOk");
  if (!st->login)
    pp_wire_note(w, "logged in as %s without a password", pg_user(w));
  char said[PP_EXCERPT_MAX];
  snprintf(said, sizeof(said),
           "AuthenticationOk; server_version %s; ReadyForQuery",
           pp_result_words(w->c->res)->server_version);
  pp_wire_excerpt(w, said, strlen(said));
  pp_wire_step(w, PP_PHASE_DIALOG, "Terminate");
  size_t at = pg_begin_msg(w, 'X');
  pg_end_msg(w, at);
  return PP_WIRE_QUIT;
}

static pp_wire_next pg_message(pp_wire *w, const uint8_t *msg, size_t len) {
  pg_state *st = w->st;
  if (st->stage == PG_SSL_ANSWER)
    return ssl_answer(w, msg[0]);
  pp_rbuf r = pp_rbuf_of(msg + 5, len - 5);
  switch (msg[0]) {
  case 'R':
    return pg_auth_request(w, &r);
  case 'E':
    return error_response(w, &r);
  case 'S':
    parameter_status(w, &r);
    return PP_WIRE_READ;
  case 'Z':
    return ready(w);
  default: /* NoticeResponse, NegotiateProtocolVersion, BackendKeyData */
    return PP_WIRE_READ;
  }
}

static void pg_state_free(void *p) {
  pg_state *st = p;
  pp_scram_wipe(&st->scram);
}

const pp_wire_proto pp_wire_postgres = {
    .name = "postgres",
    .takes = PP_WIRE_TAKES_LOGIN | PP_WIRE_TAKES_DATABASE,
    .state_size = sizeof(pg_state),
    .frame = pg_frame,
    .begin = pg_begin,
    .message = pg_message,
    .tls_ready = pg_tls_ready,
    .state_free = pg_state_free,
};
