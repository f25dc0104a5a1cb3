/* ICMP packet code (build, checksum, parse, error words) and the socket
 * opener that picks raw or datagram ping sockets by privilege. */
#include "icmp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint16_t get16(const uint8_t *p) {
  return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

uint16_t pp_icmp_checksum(const void *data, size_t len) {
  const uint8_t *p = data;
  uint32_t sum = 0;
  for (; len > 1; p += 2, len -= 2)
    sum += get16(p);
  if (len)
    sum += (uint32_t)p[0] << 8;
  while (sum >> 16)
    sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)~sum;
}

size_t pp_icmp_build_echo(uint8_t *buf, size_t buflen, int family, uint16_t id,
                          uint16_t seq, const uint8_t *cookie, size_t size) {
  size_t len = PP_ICMP_HDR_LEN + size;
  if (len > buflen)
    return 0;
  buf[0] = family == AF_INET6 ? PP_ICMP6_ECHO_REQUEST : PP_ICMP4_ECHO_REQUEST;
  buf[1] = 0;
  put16(buf + 2, 0);
  put16(buf + 4, id);
  put16(buf + 6, seq);
  uint8_t *pl = buf + PP_ICMP_HDR_LEN;
  size_t c = size < PP_ICMP_COOKIE_LEN ? size : PP_ICMP_COOKIE_LEN;
  memcpy(pl, cookie, c);
  for (size_t i = c; i < size; i++)
    pl[i] = (uint8_t)i; /* the classic ping pattern: recognisable in dumps */
  if (family != AF_INET6)
    put16(buf + 2, pp_icmp_checksum(buf, len));
  return len;
}

static bool is_echo_error(int family, uint8_t type) {
  if (family == AF_INET6)
    return type == PP_ICMP6_DEST_UNREACH || type == PP_ICMP6_TIME_EXCEEDED;
  return type == PP_ICMP4_DEST_UNREACH || type == PP_ICMP4_TIME_EXCEEDED;
}

/* The quoted packet of an error: the original IP header, then at least the
 * first 8 bytes of our echo request. */
static void parse_quote(const uint8_t *q, size_t len, int family,
                        pp_icmp_msg *m) {
  size_t iphl;
  uint8_t want;
  if (family == AF_INET6) {
    if (len < 40 || (q[0] >> 4) != 6 || q[6] != IPPROTO_ICMPV6)
      return; /* extension headers before ICMPv6: not from us */
    iphl = 40;
    memcpy(m->dst, q + 24, 16);
    want = PP_ICMP6_ECHO_REQUEST;
  } else {
    if (len < 20 || (q[0] >> 4) != 4 || q[9] != IPPROTO_ICMP)
      return;
    iphl = (size_t)(q[0] & 0x0f) * 4;
    if (iphl < 20 || len < iphl)
      return;
    memcpy(m->dst, q + 16, 4);
    want = PP_ICMP4_ECHO_REQUEST;
  }
  const uint8_t *echo = q + iphl;
  size_t elen = len - iphl;
  if (elen < PP_ICMP_HDR_LEN || echo[0] != want || echo[1] != 0)
    return;
  m->kind = PP_ICMP_ECHO_ERROR;
  m->has_dst = true;
  m->id = get16(echo + 4);
  m->seq = get16(echo + 6);
  m->payload = echo + PP_ICMP_HDR_LEN;
  m->payload_len = elen - PP_ICMP_HDR_LEN;
}

void pp_icmp_parse(const uint8_t *buf, size_t len, int family, bool ip_header,
                   pp_icmp_msg *m) {
  memset(m, 0, sizeof(*m));
  if (ip_header && family == AF_INET) {
    if (len < 20 || (buf[0] >> 4) != 4)
      return;
    size_t hl = (size_t)(buf[0] & 0x0f) * 4;
    if (hl < 20 || hl > len)
      return;
    buf += hl;
    len -= hl;
  }
  if (len < PP_ICMP_HDR_LEN)
    return;
  m->type = buf[0];
  m->code = buf[1];
  uint8_t reply =
      family == AF_INET6 ? PP_ICMP6_ECHO_REPLY : PP_ICMP4_ECHO_REPLY;
  if (m->type == reply && m->code == 0) {
    m->kind = PP_ICMP_ECHO_REPLY;
    m->id = get16(buf + 4);
    m->seq = get16(buf + 6);
    m->payload = buf + PP_ICMP_HDR_LEN;
    m->payload_len = len - PP_ICMP_HDR_LEN;
  } else if (is_echo_error(family, m->type)) {
    parse_quote(buf + PP_ICMP_HDR_LEN, len - PP_ICMP_HDR_LEN, family, m);
  }
}

int pp_icmp_parse_request(const uint8_t *buf, size_t len, int family,
                          uint16_t *id, uint16_t *seq) {
  uint8_t want =
      family == AF_INET6 ? PP_ICMP6_ECHO_REQUEST : PP_ICMP4_ECHO_REQUEST;
  if (len < PP_ICMP_HDR_LEN || buf[0] != want)
    return -1;
  *id = get16(buf + 4);
  *seq = get16(buf + 6);
  return 0;
}

const char *pp_icmp_error_words(int family, uint8_t type, uint8_t code) {
  if (family == AF_INET6) {
    if (type == PP_ICMP6_TIME_EXCEEDED)
      return code == 0 ? "hop limit exceeded in transit"
                       : "reassembly time exceeded";
    if (type != PP_ICMP6_DEST_UNREACH)
      return "ICMPv6 error";
    static const char *const u6[] = {"no route to destination",
                                     "administratively prohibited",
                                     "beyond scope of source address",
                                     "address unreachable",
                                     "port unreachable",
                                     "source address failed policy",
                                     "reject route to destination"};
    return code < sizeof(u6) / sizeof(u6[0]) ? u6[code]
                                             : "destination unreachable";
  }
  if (type == PP_ICMP4_TIME_EXCEEDED)
    return code == 0 ? "TTL exceeded in transit" : "reassembly time exceeded";
  if (type != PP_ICMP4_DEST_UNREACH)
    return "ICMP error";
  switch (code) {
  case 0:
    return "network unreachable";
  case 1:
    return "host unreachable";
  case 2:
    return "protocol unreachable";
  case 3:
    return "port unreachable";
  case 4:
    return "fragmentation needed";
  case 5:
    return "source route failed";
  case 6:
    return "destination network unknown";
  case 7:
    return "destination host unknown";
  case 9:
  case 10:
  case 13:
    return "administratively prohibited";
  default:
    return "destination unreachable";
  }
}

static void read_ping_range(char *buf, size_t len) {
  snprintf(buf, len, "?");
  FILE *f = fopen("/proc/sys/net/ipv4/ping_group_range", "re");
  if (f == NULL)
    return;
  unsigned long lo, hi;
  if (fscanf(f, "%lu %lu", &lo, &hi) == 2)
    snprintf(buf, len, "%lu %lu", lo, hi);
  fclose(f);
}

int pp_icmp_socket(int family, pp_icmp_sock_type *type, char *err,
                   size_t errlen) {
  int proto = family == AF_INET6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP;
  const char *what = family == AF_INET6 ? "ICMPv6" : "ICMP";
  int fd = socket(family, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd >= 0) {
    *type = PP_ICMP_SOCK_RAW;
    return fd;
  }
  int raw_err = errno;
  fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
  if (fd >= 0) {
    *type = PP_ICMP_SOCK_DGRAM;
    return fd;
  }
  int dgram_err = errno;
  if ((raw_err == EPERM || raw_err == EACCES) &&
      (dgram_err == EPERM || dgram_err == EACCES)) {
    char range[48];
    read_ping_range(range, sizeof(range));
    snprintf(err, errlen,
             "no %s socket allowed: run as root, or setcap cap_net_raw+ep "
             "on the program, or put gid %u in sysctl "
             "net.ipv4.ping_group_range (now %s)",
             what, (unsigned)getegid(), range);
  } else {
    snprintf(err, errlen, "%s socket: %s", what,
             strerror(dgram_err == EPERM || dgram_err == EACCES ? raw_err
                                                                : dgram_err));
  }
  errno = raw_err;
  return -1;
}
