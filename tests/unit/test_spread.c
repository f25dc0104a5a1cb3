/* Dividing a round among engines: parts of about equal expected cost, a
 * small round left whole, ICMP on the first loop, a host's targets kept
 * together; and a real round on 2 threads filling every record. */
#include "portprobe.h"
#include "spread.h"

#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXT 400

static pp_target *target(const char *url, const char *group) {
  char err[256];
  pp_target *t = pp_target_new(url, err, sizeof(err));
  ck_assert_msg(t != NULL, "%s", err);
  if (group != NULL)
    ck_assert_int_eq(pp_target_set_group(t, group), 0);
  ck_assert_int_eq(pp_target_finalize(t, err, sizeof(err)), 0);
  return t;
}

static void free_all(pp_target **t, size_t n) {
  for (size_t i = 0; i < n; i++)
    pp_target_free(t[i]);
}

/* Expected cost of the targets in part p. */
static unsigned long part_cost(pp_target **t, size_t n, const size_t *part_of,
                               size_t p) {
  unsigned long c = 0;
  for (size_t i = 0; i < n; i++)
    if (part_of[i] == p)
      c += pp_target_cost(t[i]);
  return c;
}

START_TEST(a_tls_handshake_costs_far_more_than_a_connect) {
  pp_target *t[3] = {target("tcp://127.0.0.1:1", NULL),
                     target("tls://127.0.0.1:1", NULL),
                     target("https://127.0.0.1/", NULL)};
  ck_assert_uint_ge(pp_target_cost(t[1]), 15 * pp_target_cost(t[0]));
  ck_assert_uint_gt(pp_target_cost(t[2]), pp_target_cost(t[1]));
  free_all(t, 3);
}
END_TEST

START_TEST(a_small_round_stays_on_one_loop) {
  pp_target *t[10];
  size_t part_of[10];
  for (size_t i = 0; i < 10; i++)
    t[i] = target("tcp://127.0.0.1:1", NULL);
  ck_assert_uint_eq(pp_spread(t, 10, NULL, 0, 4, part_of), 1);
  for (size_t i = 0; i < 10; i++)
    ck_assert_uint_eq(part_of[i], 0);
  free_all(t, 10);
}
END_TEST

START_TEST(mixed_targets_are_divided_by_cost_not_by_count) {
  static pp_target *t[MAXT];
  static size_t part_of[MAXT];
  size_t n = 0;
  for (int i = 0; i < 20; i++) /* the handshakes come first */
    t[n++] = target("https://127.0.0.1/", NULL);
  for (int i = 0; i < 380; i++)
    t[n++] = target("tcp://127.0.0.1:1", NULL);
  ck_assert_uint_eq(pp_spread(t, n, NULL, 0, 2, part_of), 2);
  unsigned long a = part_cost(t, n, part_of, 0),
                b = part_cost(t, n, part_of, 1);
  ck_assert_uint_le(a > b ? a - b : b - a, pp_target_cost(t[0]));
  /* the same targets, the same parts */
  size_t again[MAXT];
  pp_spread(t, n, NULL, 0, 2, again);
  ck_assert_mem_eq(part_of, again, n * sizeof(*again));
  free_all(t, n);
}
END_TEST

START_TEST(icmp_targets_go_to_the_first_part) {
  static pp_target *t[MAXT];
  static size_t part_of[MAXT];
  size_t n = 0;
  for (int i = 0; i < 100; i++) {
    char url[64];
    snprintf(url, sizeof(url), "icmp://127.0.%d.%d", i / 250, i % 250 + 1);
    t[n++] = target(url, NULL);
    t[n++] = target("tls://127.0.0.1:1", NULL);
  }
  ck_assert_uint_eq(pp_spread(t, n, NULL, PP_SPREAD_ICMP_FIRST, 3, part_of), 3);
  for (size_t i = 0; i < n; i++)
    if (t[i]->kind == PP_KIND_ICMP)
      ck_assert_uint_eq(part_of[i], 0);
  /* the first part's pings count: it gets fewer handshakes */
  ck_assert_uint_lt(part_cost(t, n, part_of, 0),
                    part_cost(t, n, part_of, 1) + pp_target_cost(t[1]));
  free_all(t, n);
}
END_TEST

START_TEST(a_host_blocks_targets_stay_in_one_part) {
  static pp_target *t[MAXT];
  static size_t part_of[MAXT];
  size_t n = 0;
  for (int b = 0; b < 40; b++) {
    char name[16];
    snprintf(name, sizeof(name), "host%d", b);
    t[n++] = target("icmp://127.0.0.1", name);
    t[n++] = target("smtps://127.0.0.1", name);
    t[n++] = target("tcp://127.0.0.1:22", name);
  }
  pp_hosts *h = pp_hosts_new(t, n);
  ck_assert_ptr_nonnull(h);
  ck_assert_uint_eq(pp_spread(t, n, h, 0, 2, part_of), 2);
  for (size_t i = 0; i + 2 < n; i += 3) {
    ck_assert_uint_eq(part_of[i + 1], part_of[i]);
    ck_assert_uint_eq(part_of[i + 2], part_of[i]);
  }
  ck_assert_uint_gt(part_cost(t, n, part_of, 1), 0);
  pp_hosts_free(h);
  free_all(t, n);
}
END_TEST

/* A port on 127.0.0.1 that accepts (the kernel completes the handshake). */
static int listener(uint16_t *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  ck_assert_int_eq(listen(fd, 1024), 0);
  socklen_t len = sizeof(sa);
  getsockname(fd, (struct sockaddr *)&sa, &len);
  *port = ntohs(sa.sin_port);
  return fd;
}

START_TEST(a_round_on_two_threads_fills_every_record_in_place) {
  static pp_target *t[MAXT];
  static pp_result r[MAXT];
  uint16_t open_port;
  int lfd = listener(&open_port);
  size_t n = 300;
  for (size_t i = 0; i < n; i++) {
    char url[64];
    /* odd targets: port 1, refused */
    snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", i % 2 ? 1u : open_port);
    t[i] = target(url, NULL);
  }
  char err[256];
  pp_engine_config cfg = {.threads = 2};
  pp_engine *e = pp_engine_new(&cfg, err, sizeof(err));
  ck_assert_msg(e != NULL, "%s", err);
  for (int round = 0; round < 3; round++) {
    memset(r, 0xa5, sizeof(r));
    ck_assert_int_eq(pp_engine_run(e, t, n, r), 0);
    for (size_t i = 0; i < n; i++) {
      ck_assert_int_eq(r[i].code, i % 2 ? PP_R_REFUSED : PP_R_OK);
      ck_assert_uint_eq(r[i].port, i % 2 ? 1u : open_port);
    }
  }
  pp_engine_free(e);
  close(lfd);
  free_all(t, n);
}
END_TEST

Suite *spread_suite(void);
Suite *spread_suite(void) {
  Suite *s = suite_create("spread");
  TCase *tc = tcase_create("spread");
  tcase_add_test(tc, a_tls_handshake_costs_far_more_than_a_connect);
  tcase_add_test(tc, a_small_round_stays_on_one_loop);
  tcase_add_test(tc, mixed_targets_are_divided_by_cost_not_by_count);
  tcase_add_test(tc, icmp_targets_go_to_the_first_part);
  tcase_add_test(tc, a_host_blocks_targets_stay_in_one_part);
  tcase_add_test(tc, a_round_on_two_threads_fills_every_record_in_place);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(spread_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
