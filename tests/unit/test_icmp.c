/* ICMP packet code: checksums, echo requests, and parsing what raw and
 * datagram sockets hand back (replies, errors quoting our echoes). */
#include "icmp.h"

#include <check.h>
#include <string.h>
#include <sys/socket.h>

static const uint8_t cookie[PP_ICMP_COOKIE_LEN] = {
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

START_TEST(checksum_matches_rfc1071_example) {
  /* RFC 1071 section 3: the sum of these bytes is 0xddf2 */
  const uint8_t data[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  ck_assert_uint_eq(pp_icmp_checksum(data, sizeof(data)), 0xffff & ~0xddf2);
}
END_TEST

START_TEST(checksum_pads_odd_length) {
  const uint8_t odd[] = {0x12, 0x34, 0x56};
  const uint8_t even[] = {0x12, 0x34, 0x56, 0x00};
  ck_assert_uint_eq(pp_icmp_checksum(odd, 3), pp_icmp_checksum(even, 4));
}
END_TEST

START_TEST(v4_echo_checksums_to_zero) {
  uint8_t buf[128];
  size_t n =
      pp_icmp_build_echo(buf, sizeof(buf), AF_INET, 0x1234, 0xbeef, cookie, 56);
  ck_assert_uint_eq(n, 64);
  ck_assert_uint_eq(buf[0], 8);
  ck_assert_uint_eq(buf[1], 0);
  ck_assert_uint_eq(pp_icmp_checksum(buf, n), 0);
}
END_TEST

START_TEST(echo_carries_id_seq_and_cookie) {
  uint8_t buf[128];
  size_t n =
      pp_icmp_build_echo(buf, sizeof(buf), AF_INET, 0x1234, 0xbeef, cookie, 56);
  ck_assert_uint_eq(buf[4] << 8 | buf[5], 0x1234);
  ck_assert_uint_eq(buf[6] << 8 | buf[7], 0xbeef);
  ck_assert_mem_eq(buf + 8, cookie, sizeof(cookie));
  ck_assert_uint_eq(buf[8 + 20], 20); /* fill pattern after the cookie */
  ck_assert_uint_eq(n, 8 + 56);
}
END_TEST

START_TEST(short_payload_carries_cookie_prefix) {
  uint8_t buf[64];
  size_t n = pp_icmp_build_echo(buf, sizeof(buf), AF_INET, 1, 2, cookie, 4);
  ck_assert_uint_eq(n, 12);
  ck_assert_mem_eq(buf + 8, cookie, 4);
  n = pp_icmp_build_echo(buf, sizeof(buf), AF_INET, 1, 2, cookie, 0);
  ck_assert_uint_eq(n, 8);
  ck_assert_uint_eq(pp_icmp_checksum(buf, n), 0);
}
END_TEST

START_TEST(small_buffer_builds_nothing) {
  uint8_t buf[32];
  ck_assert_uint_eq(
      pp_icmp_build_echo(buf, sizeof(buf), AF_INET, 1, 2, cookie, 56), 0);
}
END_TEST

START_TEST(v6_echo_is_type_128_checksum_left_to_kernel) {
  uint8_t buf[128];
  size_t n = pp_icmp_build_echo(buf, sizeof(buf), AF_INET6, 7, 9, cookie, 56);
  ck_assert_uint_eq(n, 64);
  ck_assert_uint_eq(buf[0], 128);
  ck_assert_uint_eq(buf[2] << 8 | buf[3], 0);
}
END_TEST

/* An IPv4 header of 20 bytes from src to dst carrying proto. */
static size_t ip4(uint8_t *p, const uint8_t src[4], const uint8_t dst[4],
                  uint8_t proto) {
  memset(p, 0, 20);
  p[0] = 0x45;
  p[8] = 64;
  p[9] = proto;
  memcpy(p + 12, src, 4);
  memcpy(p + 16, dst, 4);
  return 20;
}

static const uint8_t us4[4] = {10, 250, 1, 1}, them4[4] = {10, 250, 1, 2};

START_TEST(v4_reply_parsed_past_ip_header) {
  uint8_t buf[128];
  size_t o = ip4(buf, them4, us4, IPPROTO_ICMP);
  size_t n = pp_icmp_build_echo(buf + o, sizeof(buf) - o, AF_INET, 0x1234, 77,
                                cookie, 56);
  buf[o] = 0; /* echo reply */
  pp_icmp_msg m;
  pp_icmp_parse(buf, o + n, AF_INET, true, &m);
  ck_assert_int_eq(m.kind, PP_ICMP_ECHO_REPLY);
  ck_assert_uint_eq(m.id, 0x1234);
  ck_assert_uint_eq(m.seq, 77);
  ck_assert_uint_eq(m.payload_len, 56);
  ck_assert_mem_eq(m.payload, cookie, sizeof(cookie));
}
END_TEST

START_TEST(datagram_reply_has_no_ip_header) {
  uint8_t buf[128];
  size_t n = pp_icmp_build_echo(buf, sizeof(buf), AF_INET, 0x55, 3, cookie, 16);
  buf[0] = 0;
  pp_icmp_msg m;
  pp_icmp_parse(buf, n, AF_INET, false, &m);
  ck_assert_int_eq(m.kind, PP_ICMP_ECHO_REPLY);
  ck_assert_uint_eq(m.seq, 3);
}
END_TEST

START_TEST(v6_reply_parsed) {
  uint8_t buf[128];
  size_t n =
      pp_icmp_build_echo(buf, sizeof(buf), AF_INET6, 9, 65535, cookie, 56);
  buf[0] = 129;
  pp_icmp_msg m;
  pp_icmp_parse(buf, n, AF_INET6, false, &m);
  ck_assert_int_eq(m.kind, PP_ICMP_ECHO_REPLY);
  ck_assert_uint_eq(m.id, 9);
  ck_assert_uint_eq(m.seq, 65535);
}
END_TEST

START_TEST(echo_request_is_not_a_reply) {
  uint8_t buf[128];
  size_t o = ip4(buf, us4, us4, IPPROTO_ICMP);
  size_t n =
      pp_icmp_build_echo(buf + o, sizeof(buf) - o, AF_INET, 1, 1, cookie, 8);
  pp_icmp_msg m;
  pp_icmp_parse(buf, o + n, AF_INET, true, &m);
  ck_assert_int_eq(m.kind, PP_ICMP_OTHER);
}
END_TEST

START_TEST(truncated_messages_are_ignored) {
  uint8_t buf[128];
  size_t o = ip4(buf, them4, us4, IPPROTO_ICMP);
  pp_icmp_build_echo(buf + o, sizeof(buf) - o, AF_INET, 1, 1, cookie, 8);
  buf[o] = 0;
  pp_icmp_msg m;
  pp_icmp_parse(buf, o + 7, AF_INET, true, &m);
  ck_assert_int_eq(m.kind, PP_ICMP_OTHER);
  pp_icmp_parse(buf, 12, AF_INET, true, &m);
  ck_assert_int_eq(m.kind, PP_ICMP_OTHER);
  buf[0] = 0x4f; /* header longer than the packet */
  pp_icmp_parse(buf, 40, AF_INET, true, &m);
  ck_assert_int_eq(m.kind, PP_ICMP_OTHER);
}
END_TEST

/* A router's "host unreachable" quoting our echo to them4. */
static size_t v4_unreach(uint8_t *buf, size_t len, uint8_t quoted_proto) {
  const uint8_t router[4] = {10, 250, 1, 254};
  size_t o = ip4(buf, router, us4, IPPROTO_ICMP);
  uint8_t *icmp = buf + o;
  memset(icmp, 0, 8);
  icmp[0] = 3;
  icmp[1] = 1;
  size_t q = ip4(icmp + 8, us4, them4, quoted_proto);
  size_t n = pp_icmp_build_echo(icmp + 8 + q, len - o - 8 - q, AF_INET, 0x4242,
                                1000, cookie, 56);
  return o + 8 + q + n;
}

START_TEST(v4_unreachable_quoting_our_echo_is_an_echo_error) {
  uint8_t buf[256];
  size_t n = v4_unreach(buf, sizeof(buf), IPPROTO_ICMP);
  pp_icmp_msg m;
  pp_icmp_parse(buf, n, AF_INET, true, &m);
  ck_assert_int_eq(m.kind, PP_ICMP_ECHO_ERROR);
  ck_assert_uint_eq(m.type, 3);
  ck_assert_uint_eq(m.code, 1);
  ck_assert_uint_eq(m.id, 0x4242);
  ck_assert_uint_eq(m.seq, 1000);
  ck_assert(m.has_dst);
  ck_assert_mem_eq(m.dst, them4, 4);
}
END_TEST

START_TEST(error_quoting_only_eight_bytes_is_enough) {
  uint8_t buf[256];
  v4_unreach(buf, sizeof(buf), IPPROTO_ICMP);
  pp_icmp_msg m;
  pp_icmp_parse(buf, 20 + 8 + 20 + 8, AF_INET, true, &m);
  ck_assert_int_eq(m.kind, PP_ICMP_ECHO_ERROR);
  ck_assert_uint_eq(m.seq, 1000);
  ck_assert_uint_eq(m.payload_len, 0);
}
END_TEST

START_TEST(error_about_other_traffic_is_ignored) {
  uint8_t buf[256];
  size_t n = v4_unreach(buf, sizeof(buf), IPPROTO_UDP);
  pp_icmp_msg m;
  pp_icmp_parse(buf, n, AF_INET, true, &m);
  ck_assert_int_eq(m.kind, PP_ICMP_OTHER);
}
END_TEST

START_TEST(v6_unreachable_quoting_our_echo_is_an_echo_error) {
  uint8_t buf[256] = {0};
  buf[0] = 1; /* destination unreachable */
  buf[1] = 3; /* address unreachable */
  uint8_t *ip = buf + 8;
  ip[0] = 0x60;
  ip[6] = IPPROTO_ICMPV6;
  ip[7] = 64;
  uint8_t dst[16] = {0xfd, 0, 2, 0x50, 0, 1, [15] = 2};
  memcpy(ip + 24, dst, 16);
  size_t n =
      pp_icmp_build_echo(ip + 40, sizeof(buf) - 48, AF_INET6, 5, 6, cookie, 56);
  pp_icmp_msg m;
  pp_icmp_parse(buf, 48 + n, AF_INET6, false, &m);
  ck_assert_int_eq(m.kind, PP_ICMP_ECHO_ERROR);
  ck_assert_uint_eq(m.id, 5);
  ck_assert_uint_eq(m.seq, 6);
  ck_assert_mem_eq(m.dst, dst, 16);
  ck_assert_str_eq(pp_icmp_error_words(AF_INET6, m.type, m.code),
                   "address unreachable");
}
END_TEST

START_TEST(request_from_error_queue_gives_id_and_seq) {
  uint8_t buf[128];
  size_t n = pp_icmp_build_echo(buf, sizeof(buf), AF_INET, 11, 12, cookie, 56);
  uint16_t id, seq;
  ck_assert_int_eq(pp_icmp_parse_request(buf, n, AF_INET, &id, &seq), 0);
  ck_assert_uint_eq(id, 11);
  ck_assert_uint_eq(seq, 12);
  ck_assert_int_eq(pp_icmp_parse_request(buf, n, AF_INET6, &id, &seq), -1);
  ck_assert_int_eq(pp_icmp_parse_request(buf, 4, AF_INET, &id, &seq), -1);
}
END_TEST

START_TEST(error_words_name_common_codes) {
  ck_assert_str_eq(pp_icmp_error_words(AF_INET, 3, 1), "host unreachable");
  ck_assert_str_eq(pp_icmp_error_words(AF_INET, 3, 0), "network unreachable");
  ck_assert_str_eq(pp_icmp_error_words(AF_INET, 3, 13),
                   "administratively prohibited");
  ck_assert_str_eq(pp_icmp_error_words(AF_INET, 11, 0),
                   "TTL exceeded in transit");
  ck_assert_str_eq(pp_icmp_error_words(AF_INET6, 1, 0),
                   "no route to destination");
  ck_assert_str_eq(pp_icmp_error_words(AF_INET6, 1, 200),
                   "destination unreachable");
}
END_TEST

int main(void) {
  Suite *s = suite_create("icmp");
  TCase *tc = tcase_create("icmp");
  tcase_add_test(tc, checksum_matches_rfc1071_example);
  tcase_add_test(tc, checksum_pads_odd_length);
  tcase_add_test(tc, v4_echo_checksums_to_zero);
  tcase_add_test(tc, echo_carries_id_seq_and_cookie);
  tcase_add_test(tc, short_payload_carries_cookie_prefix);
  tcase_add_test(tc, small_buffer_builds_nothing);
  tcase_add_test(tc, v6_echo_is_type_128_checksum_left_to_kernel);
  tcase_add_test(tc, v4_reply_parsed_past_ip_header);
  tcase_add_test(tc, datagram_reply_has_no_ip_header);
  tcase_add_test(tc, v6_reply_parsed);
  tcase_add_test(tc, echo_request_is_not_a_reply);
  tcase_add_test(tc, truncated_messages_are_ignored);
  tcase_add_test(tc, v4_unreachable_quoting_our_echo_is_an_echo_error);
  tcase_add_test(tc, error_quoting_only_eight_bytes_is_enough);
  tcase_add_test(tc, error_about_other_traffic_is_ignored);
  tcase_add_test(tc, v6_unreachable_quoting_our_echo_is_an_echo_error);
  tcase_add_test(tc, request_from_error_queue_gives_id_and_seq);
  tcase_add_test(tc, error_words_name_common_codes);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
