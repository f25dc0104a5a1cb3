/* Microsoft SQL Server's TDS PRELOGIN exchange ([MS-TDS] 2.2.6.5) as a
 * codec: the server's version and its encryption setting. TLS in TDS runs
 * inside PRELOGIN packets, not on the bare connection: it is not done. */
#include "wire.h"

#include <stdio.h>
#include <string.h>

#define TDS_PRELOGIN 0x12
#define TDS_REPLY 0x04 /* tabular result */
#define TDS_HEADER 8
#define TDS_PACKET_MAX 32767

enum { OPT_VERSION = 0, OPT_ENCRYPTION, OPT_INSTOPT, OPT_THREADID, OPT_MARS };

static pp_reply_state ms_frame(pp_wire *w, const uint8_t *buf, size_t len,
                               size_t *msglen, const char **why) {
  (void)w;
  if (len >= 1 && buf[0] != TDS_REPLY) {
    *why = "not a TDS server: the reply is no tabular result packet";
    return PP_REPLY_MALFORMED;
  }
  if (len < TDS_HEADER)
    return PP_REPLY_INCOMPLETE;
  size_t n = (size_t)buf[2] << 8 | buf[3];
  if (n <= TDS_HEADER || n > TDS_PACKET_MAX) {
    *why = "not a TDS server: a packet of impossible length";
    return PP_REPLY_MALFORMED;
  }
  *msglen = n;
  return len >= n ? PP_REPLY_COMPLETE : PP_REPLY_INCOMPLETE;
}

static pp_wire_next ms_begin(pp_wire *w) {
  /* option table (5 options + terminator), then their data */
  static const struct {
    uint8_t token;
    uint16_t len;
  } opts[] = {{OPT_VERSION, 6},
              {OPT_ENCRYPTION, 1},
              {OPT_INSTOPT, 1},
              {OPT_THREADID, 4},
              {OPT_MARS, 1}};
  size_t nopts = sizeof(opts) / sizeof(opts[0]);
  pp_wbuf_u8(&w->out, TDS_PRELOGIN);
  pp_wbuf_u8(&w->out, 0x01); /* end of message */
  pp_wbuf_u16be(&w->out, 0); /* length, below */
  pp_wbuf_u16be(&w->out, 0); /* SPID */
  pp_wbuf_u8(&w->out, 1);    /* packet id */
  pp_wbuf_u8(&w->out, 0);    /* window */
  unsigned off = (unsigned)(nopts * 5 + 1);
  for (size_t i = 0; i < nopts; i++) {
    pp_wbuf_u8(&w->out, opts[i].token);
    pp_wbuf_u16be(&w->out, off);
    pp_wbuf_u16be(&w->out, opts[i].len);
    off += opts[i].len;
  }
  pp_wbuf_u8(&w->out, 0xff);
  uint8_t data[6 + 1 + 1 + 4 + 1] = {0}; /* version 0, ENCRYPT_OFF, ... */
  pp_wbuf_put(&w->out, data, sizeof(data));
  if (!w->out.oom) {
    w->out.p[2] = (uint8_t)(w->out.len >> 8);
    w->out.p[3] = (uint8_t)w->out.len;
  }
  pp_wire_step(w, PP_PHASE_DIALOG, "PRELOGIN");
  pp_wire_trace(w, "C", "PRELOGIN");
  return PP_WIRE_SEND;
}

static const char *encryption_words(unsigned e) {
  static const char *const words[] = {"off", "on", "not supported", "required"};
  return e < 4 ? words[e] : "unknown";
}

static pp_wire_next ms_message(pp_wire *w, const uint8_t *msg, size_t len) {
  const uint8_t *p = msg + TDS_HEADER;
  size_t plen = len - TDS_HEADER;
  pp_rbuf r = pp_rbuf_of(p, plen);
  char ver[32] = "";
  int enc = -1;
  for (;;) {
    unsigned token = pp_rbuf_u8(&r);
    if (token == 0xff || r.bad)
      break;
    unsigned off = pp_rbuf_u16be(&r), n = pp_rbuf_u16be(&r);
    if (r.bad || off + n > plen)
      return pp_wire_fail(w, PP_R_PROTOCOL_ERROR,
                          "PRELOGIN option %u points outside the packet",
                          token);
    pp_rbuf v = pp_rbuf_of(p + off, n);
    if (token == OPT_VERSION && n >= 6) {
      unsigned major = pp_rbuf_u8(&v), minor = pp_rbuf_u8(&v);
      unsigned build = pp_rbuf_u16be(&v), sub = pp_rbuf_u16be(&v);
      snprintf(ver, sizeof(ver), "%u.%u.%u.%u", major, minor, build, sub);
    } else if (token == OPT_ENCRYPTION && n >= 1) {
      enc = (int)pp_rbuf_u8(&v);
    }
  }
  if (r.bad || !ver[0] || enc < 0)
    return pp_wire_fail(w, PP_R_PROTOCOL_ERROR,
                        "PRELOGIN response without version or encryption");
  pp_wire_version(w, ver, strlen(ver));
  pp_wire_info(w, "encryption %s", encryption_words((unsigned)enc));
  char said[PP_EXCERPT_MAX];
  snprintf(said, sizeof(said), "PRELOGIN response: version %s, encryption %s",
           ver, encryption_words((unsigned)enc));
  pp_wire_excerpt(w, said, strlen(said));
  pp_wire_trace(w, "S", "%s", said);
  return pp_wire_ok(w);
}

const pp_wire_proto pp_wire_mssql = {
    .name = "mssql",
    .frame = ms_frame,
    .begin = ms_begin,
    .message = ms_message,
};
