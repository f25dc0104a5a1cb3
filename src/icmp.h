/* ICMP and ICMPv6 echo packets: building requests, parsing what raw and
 * datagram ("ping") sockets return, naming error replies, and opening the
 * socket with the privileges the process has. No state: the ICMP check
 * (check_icmp.c) owns sockets and matching. */
#ifndef PP_ICMP_H
#define PP_ICMP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_ICMP_HDR_LEN 8
/* Payload bytes that identify our echoes: an 8-byte per-engine secret and
 * the 8-byte send stamp. A shorter payload carries a prefix of them. */
#define PP_ICMP_COOKIE_LEN 16

enum {
  PP_ICMP4_ECHO_REPLY = 0,
  PP_ICMP4_DEST_UNREACH = 3,
  PP_ICMP4_ECHO_REQUEST = 8,
  PP_ICMP4_TIME_EXCEEDED = 11,
  PP_ICMP6_DEST_UNREACH = 1,
  PP_ICMP6_TIME_EXCEEDED = 3,
  PP_ICMP6_ECHO_REQUEST = 128,
  PP_ICMP6_ECHO_REPLY = 129,
};

typedef enum {
  PP_ICMP_OTHER = 0,  /* not about an echo of ours: ignore */
  PP_ICMP_ECHO_REPLY, /* id, seq, payload */
  PP_ICMP_ECHO_ERROR, /* an error about an echo request: id, seq, type,
                         code, dst (the echo's destination) */
} pp_icmp_kind;

typedef struct {
  pp_icmp_kind kind;
  uint8_t type, code;     /* of the message (the error's for errors) */
  uint16_t id, seq;       /* of the echo */
  const uint8_t *payload; /* reply payload, or the quoted part of ours */
  size_t payload_len;
  bool has_dst;
  uint8_t dst[16]; /* the echo's destination quoted in an error: 4 or 16
                      bytes as the family says */
} pp_icmp_msg;

/* The Internet checksum (RFC 1071) of len bytes. */
uint16_t pp_icmp_checksum(const void *data, size_t len);

/* Writes an echo request with `size` payload bytes into buf: the cookie
 * (PP_ICMP_COOKIE_LEN bytes, or its prefix if size is smaller), then a
 * fill pattern. ICMPv4 gets its checksum; ICMPv6's is the kernel's (it
 * covers a pseudo header). Returns the length, or 0 if buf is too small. */
size_t pp_icmp_build_echo(uint8_t *buf, size_t buflen, int family, uint16_t id,
                          uint16_t seq, const uint8_t *cookie, size_t size);

/* Parses a message as a socket returned it: IPv4 raw sockets include the
 * IP header (ip_header true), datagram sockets and IPv6 never do. Echo
 * replies and errors that quote one of our echo requests are recognised;
 * anything else (requests, truncated or malformed data) is PP_ICMP_OTHER.
 * m->payload points into buf. */
void pp_icmp_parse(const uint8_t *buf, size_t len, int family, bool ip_header,
                   pp_icmp_msg *m);

/* Parses our own echo request, as the error queue of a datagram socket
 * returns it, for its id and seq. Returns 0, or -1 if it is not one. */
int pp_icmp_parse_request(const uint8_t *buf, size_t len, int family,
                          uint16_t *id, uint16_t *seq);

/* Words for an error reply: "host unreachable", "administratively
 * prohibited", "TTL exceeded in transit", ... */
const char *pp_icmp_error_words(int family, uint8_t type, uint8_t code);

typedef enum { PP_ICMP_SOCK_RAW, PP_ICMP_SOCK_DGRAM } pp_icmp_sock_type;

/* Opens a non-blocking ICMP socket of family: raw when the process may
 * (root or CAP_NET_RAW), else a datagram ping socket when the process's
 * group is in net.ipv4.ping_group_range. On failure returns -1 and writes
 * to err what to change, naming both ways. */
int pp_icmp_socket(int family, pp_icmp_sock_type *type, char *err,
                   size_t errlen);

#endif
