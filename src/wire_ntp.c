/* NTP (RFC 5905) as a udp codec: a mode 3 request whose transmit timestamp
 * is a random nonce (as RFC 9109 clients do; the send time stays here),
 * and the mode 4 reply: clock offset, stratum, leap indicator, kiss codes. */
#include "wire.h"

#include <openssl/rand.h>

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NTP_LEN 48
#define NTP_UNIX_DELTA 2208988800.0 /* seconds from 1900 to 1970 */
#define SENDS_MAX 21                /* retries' upper bound + 1 */

typedef struct {
  uint8_t nonce[SENDS_MAX][8];
  double t1[SENDS_MAX]; /* when each request left, Unix seconds */
  unsigned n;
} ntp_state;

static double wall_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An NTP timestamp as Unix seconds; era 1 (from 2036) when the seconds
 * have wrapped. */
static double ntp_time(pp_rbuf *r) {
  double sec = pp_rbuf_u32be(r), frac = pp_rbuf_u32be(r);
  if (sec < 2147483648.0)
    sec += 4294967296.0;
  return sec - NTP_UNIX_DELTA + frac / 4294967296.0;
}

static pp_wire_next ntp_begin(pp_wire *w) {
  ntp_state *st = w->st;
  if (st->n == SENDS_MAX)
    return pp_wire_fail(w, PP_R_SOCKET_ERROR, "too many NTP requests");
  uint8_t *nonce = st->nonce[st->n];
  if (RAND_bytes(nonce, 8) != 1)
    return pp_wire_fail(w, PP_R_SOCKET_ERROR, "no random bytes for a nonce");
  pp_wbuf_u8(&w->out, 0x23); /* LI 0, version 4, mode 3 (client) */
  uint8_t zero[39] = {0};
  pp_wbuf_put(&w->out, zero, sizeof(zero));
  pp_wbuf_put(&w->out, nonce, 8);
  st->t1[st->n++] = wall_now();
  pp_wire_trace(w, "C", "NTP mode 3 request");
  return PP_WIRE_SEND;
}

/* The reference identifier in words: a kiss code or clock name (stratum
 * 0 and 1), else the upstream server's IPv4 address (or a hash). */
static void refid_words(const uint8_t *id, int stratum, char *buf, size_t len) {
  if (stratum <= 1) {
    size_t n = 0;
    while (n < 4 && id[n] >= 0x20 && id[n] < 0x7f)
      n++;
    snprintf(buf, len, "%.*s", (int)n, n ? (const char *)id : "-");
  } else {
    snprintf(buf, len, "%u.%u.%u.%u", id[0], id[1], id[2], id[3]);
  }
}

/* Which of our requests the reply answers: its origin is our nonce. */
static int answered(const ntp_state *st, const uint8_t *origin) {
  for (unsigned i = 0; i < st->n; i++)
    if (memcmp(st->nonce[i], origin, 8) == 0)
      return (int)i;
  return -1;
}

static pp_wire_next ntp_message(pp_wire *w, const uint8_t *msg, size_t len) {
  double t4 = wall_now();
  ntp_state *st = w->st;
  if (len < NTP_LEN)
    return pp_wire_fail(w, PP_R_PROTOCOL_ERROR,
                        "a %zu-byte datagram is no NTP reply (48 bytes)", len);
  pp_rbuf r = pp_rbuf_of(msg, len);
  unsigned head = pp_rbuf_u8(&r), li = head >> 6, vn = (head >> 3) & 7;
  int stratum = (int)pp_rbuf_u8(&r);
  pp_rbuf_bytes(&r, 2 + 4); /* poll, precision, root delay */
  double disp = pp_rbuf_u32be(&r) / 65536.0;
  const uint8_t *refid = pp_rbuf_bytes(&r, 4);
  pp_rbuf_bytes(&r, 8); /* reference timestamp */
  const uint8_t *origin = pp_rbuf_bytes(&r, 8);
  double t2 = ntp_time(&r), t3 = ntp_time(&r);
  int i = answered(st, origin);
  if ((head & 7) != 4 || i < 0) {
    pp_wire_trace(w, "S", "datagram that answers none of our requests");
    return PP_WIRE_READ;
  }
  char id[16], said[PP_INFO_MAX];
  refid_words(refid, stratum, id, sizeof(id));
  snprintf(said, sizeof(said), "NTPv%u mode 4, leap %u, stratum %d, refid %s",
           vn, li, stratum, id);
  pp_wire_excerpt(w, said, strlen(said));
  if (li == 3 || stratum >= 16) /* an unsynchronised server sends stratum 0 */
    return pp_wire_fail(w, PP_R_UNAVAILABLE,
                        "server clock is not synchronised (leap indicator %u, "
                        "stratum %d)",
                        li, stratum);
  if (stratum == 0) /* RFC 5905 7.4: a kiss code says why */
    return pp_wire_fail(w, PP_R_UNAVAILABLE, "kiss-o'-death %s", id);
  double t1 = st->t1[i];
  pp_result *res = w->c->res;
  res->clock_seen = true;
  res->clock_offset = ((t2 - t1) + (t3 - t4)) / 2;
  res->stratum = stratum;
  double delay = (t4 - t1) - (t3 - t2);
  pp_wire_info(w,
               "stratum %d, refid %s, delay %.3f ms, root dispersion %.3f ms",
               stratum, id, fmax(delay, 0) * 1000, disp * 1000);
  return pp_wire_ok(w);
}

const pp_wire_proto pp_wire_ntp = {
    .name = "ntp",
    .state_size = sizeof(ntp_state),
    .begin = ntp_begin,
    .message = ntp_message,
};
