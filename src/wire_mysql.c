/* MySQL and MariaDB's client/server protocol as a codec: the initial
 * handshake (protocol version, server version, the TLS capability flag),
 * an SSLRequest and TLS with starttls, then a handshake response for a
 * user with no password, so that the server sees a finished handshake and
 * never counts the probe toward max_connect_errors. An ERR packet at the
 * greeting ("Too many connections", "Host ... is blocked") is down. */
#include "wire.h"

#include <stdio.h>
#include <string.h>

#define PACKET_MAX 65536 /* a handshake-time packet longer is not MySQL */

enum {
  CLIENT_LONG_PASSWORD = 1u << 0,
  CLIENT_PROTOCOL_41 = 1u << 9,
  CLIENT_SSL = 1u << 11,
  CLIENT_SECURE_CONNECTION = 1u << 15,
  CLIENT_PLUGIN_AUTH = 1u << 19,
};

enum { MY_GREETING = 1, MY_AUTH };

typedef struct {
  int stage;
  unsigned seq;  /* the last packet's sequence number */
  uint32_t caps; /* the server's */
  int switches;  /* auth switch requests answered */
} my_state;

static pp_reply_state my_frame(pp_wire *w, const uint8_t *buf, size_t len,
                               size_t *msglen, const char **why) {
  (void)w;
  if (len < 4)
    return PP_REPLY_INCOMPLETE;
  size_t n = (size_t)buf[0] | (size_t)buf[1] << 8 | (size_t)buf[2] << 16;
  if (n == 0 || n > PACKET_MAX) {
    *why = "not a MySQL server: a packet of impossible length";
    return PP_REPLY_MALFORMED;
  }
  *msglen = n + 4;
  return len >= *msglen ? PP_REPLY_COMPLETE : PP_REPLY_INCOMPLETE;
}

/* A packet: length, sequence number, payload (filled by the caller). */
static size_t begin_packet(pp_wire *w) {
  my_state *st = w->st;
  size_t at = w->out.len;
  pp_wbuf_u32le(&w->out, (uint32_t)(++st->seq & 0xff) << 24);
  return at;
}

static void end_packet(pp_wire *w, size_t at) {
  uint32_t n = (uint32_t)(w->out.len - at - 4);
  my_state *st = w->st;
  pp_wbuf_set_u32le(&w->out, at, n | (uint32_t)(st->seq & 0xff) << 24);
}

/* The fixed head of SSLRequest and HandshakeResponse41. */
static void client_caps(pp_wire *w, uint32_t extra) {
  my_state *st = w->st;
  uint32_t caps = CLIENT_LONG_PASSWORD | CLIENT_PROTOCOL_41 |
                  CLIENT_SECURE_CONNECTION | CLIENT_PLUGIN_AUTH | extra;
  pp_wbuf_u32le(&w->out, caps & (st->caps | CLIENT_PROTOCOL_41));
  pp_wbuf_u32le(&w->out, 16u << 20); /* max packet */
  pp_wbuf_u8(&w->out, 33);           /* utf8_general_ci */
  uint8_t zero[23] = {0};
  pp_wbuf_put(&w->out, zero, sizeof(zero));
}

static pp_wire_next send_login(pp_wire *w) {
  my_state *st = w->st;
  st->stage = MY_AUTH;
  pp_wire_step(w, PP_PHASE_AUTH, "handshake response");
  size_t at = begin_packet(w);
  client_caps(w, w->tls_on ? CLIENT_SSL : 0);
  pp_wbuf_cstr(&w->out, "portprobe");
  pp_wbuf_u8(&w->out, 0); /* no password */
  pp_wbuf_cstr(&w->out, "mysql_native_password");
  end_packet(w, at);
  pp_wire_trace(w, "C", "HandshakeResponse41 user=portprobe (no password)");
  return PP_WIRE_SEND;
}

static pp_wire_next send_ssl_request(pp_wire *w) {
  pp_wire_step(w, PP_PHASE_STARTTLS, "SSLRequest");
  size_t at = begin_packet(w);
  client_caps(w, CLIENT_SSL);
  end_packet(w, at);
  pp_wire_trace(w, "C", "SSLRequest");
  return PP_WIRE_SEND_TLS;
}

/* An ERR packet: code, SQL state if marked, words. */
static pp_wire_next err_packet(pp_wire *w, pp_rbuf *r, bool greeting) {
  unsigned code = pp_rbuf_u16le(r);
  if (pp_rbuf_left(r) >= 6 && r->p[r->off] == '#')
    pp_rbuf_bytes(r, 6);
  size_t n = pp_rbuf_left(r);
  const char *text = (const char *)pp_rbuf_bytes(r, n);
  char said[PP_EXCERPT_MAX];
  snprintf(said, sizeof(said), "ERR %u: %.*s", code, (int)n, text ? text : "");
  pp_wire_excerpt(w, said, strlen(said));
  pp_wire_trace(w, "S", "%s", said);
  /* 1040 too many connections, 1129 host blocked, 1203 and 1226 limits */
  if (greeting || code == 1040 || code == 1129 || code == 1203 || code == 1226)
    return pp_wire_fail(w, PP_R_UNAVAILABLE,
                        "server refuses service: %.*s (%u)", (int)n,
                        text ? text : "", code);
  pp_wire_note(w, "server refuses the login of portprobe: %.*s (%u)", (int)n,
               text ? text : "", code);
  return pp_wire_ok(w);
}

/* The server version, without the "5.5.5-" that MariaDB before 11 puts in
 * front for old replication clients. */
static void version(pp_wire *w, const char *v, size_t n) {
  if (n > 6 && memcmp(v, "5.5.5-", 6) == 0 && memmem(v, n, "MariaDB", 7)) {
    v += 6;
    n -= 6;
  }
  pp_wire_version(w, v, n);
}

static pp_wire_next greeting(pp_wire *w, pp_rbuf *r) {
  my_state *st = w->st;
  unsigned proto = pp_rbuf_u8(r);
  if (proto == 0xff)
    return err_packet(w, r, true);
  size_t vn = 0;
  const char *v = pp_rbuf_cstr(r, &vn);
  pp_rbuf_bytes(r, 4 + 8 + 1); /* connection id, scramble, filler */
  st->caps = pp_rbuf_u16le(r);
  if (pp_rbuf_left(r) >= 5) {
    pp_rbuf_bytes(r, 3); /* character set, status */
    st->caps |= (uint32_t)pp_rbuf_u16le(r) << 16;
  }
  if (proto != 10 || r->bad || v == NULL)
    return pp_wire_fail(w, PP_R_PROTOCOL_ERROR,
                        "not a MySQL server: no protocol 10 handshake");
  version(w, v, vn);
  bool tls = (st->caps & CLIENT_SSL) != 0;
  char said[PP_EXCERPT_MAX];
  snprintf(said, sizeof(said), "protocol %u, %s, capabilities 0x%08x", proto,
           pp_result_words(w->c->res)->server_version, (unsigned)st->caps);
  pp_wire_excerpt(w, said, strlen(said));
  pp_wire_info(w, "protocol %u, %s", proto, tls ? "TLS offered" : "no TLS");
  pp_wire_trace(w, "S", "%s", said);
  if (!pp_wire_wants_tls(w))
    return send_login(w);
  if (tls)
    return send_ssl_request(w);
  if (!pp_wire_plain_ok(w, "server does not offer TLS"))
    return PP_WIRE_END;
  return send_login(w);
}

/* After the handshake response: in, refused, or asked for more. */
static pp_wire_next auth_reply(pp_wire *w, pp_rbuf *r) {
  my_state *st = w->st;
  unsigned head = pp_rbuf_u8(r);
  if (head == 0xff)
    return err_packet(w, r, false);
  if (head == 0x00) { /* OK: a user portprobe without password exists */
    pp_wire_note(w, "logged in as portprobe without a password");
    pp_wire_step(w, PP_PHASE_DIALOG, "COM_QUIT");
    st->seq = 0xff; /* a command starts at 0 */
    size_t at = begin_packet(w);
    pp_wbuf_u8(&w->out, 0x01);
    end_packet(w, at);
    return PP_WIRE_QUIT;
  }
  size_t n = 0;
  const char *plugin = head == 0xfe ? pp_rbuf_cstr(r, &n) : NULL;
  if (head == 0xfe && plugin != NULL && st->switches++ == 0) {
    /* the server wants another plugin: its answer for no password */
    size_t at = begin_packet(w);
    end_packet(w, at);
    return PP_WIRE_SEND;
  }
  pp_wire_note(w, "server asks for more authentication%s%.*s",
               plugin ? " with " : "", (int)n, plugin ? plugin : "");
  return pp_wire_ok(w);
}

static pp_wire_next my_message(pp_wire *w, const uint8_t *msg, size_t len) {
  my_state *st = w->st;
  st->seq = msg[3];
  pp_rbuf r = pp_rbuf_of(msg + 4, len - 4);
  return st->stage == MY_GREETING ? greeting(w, &r) : auth_reply(w, &r);
}

static pp_wire_next my_begin(pp_wire *w) {
  my_state *st = w->st;
  st->stage = MY_GREETING;
  pp_wire_step(w, PP_PHASE_BANNER, "greeting");
  return PP_WIRE_READ;
}

static pp_wire_next my_tls_ready(pp_wire *w) {
  return send_login(w);
}

const pp_wire_proto pp_wire_mysql = {
    .name = "mysql",
    .state_size = sizeof(my_state),
    .frame = my_frame,
    .begin = my_begin,
    .message = my_message,
    .tls_ready = my_tls_ready,
};
