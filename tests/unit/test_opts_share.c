/* Targets with equal options share one block of options: what a user sets
 * on one target never shows on another, names stay each target's own, and
 * the last target to go frees the block. */
#include "portprobe.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

static char err[512];

/* A finalized target from a URL and key=value options (NULL-terminated). */
static pp_target *make(const char *url, const char *const *kv) {
  pp_target *t = pp_target_new(url, err, sizeof(err));
  ck_assert_msg(t != NULL, "%s", err);
  for (size_t i = 0; kv && kv[i]; i += 2)
    ck_assert_msg(pp_target_set(t, kv[i], kv[i + 1], err, sizeof(err)) == 0,
                  "%s", err);
  ck_assert_msg(pp_target_finalize(t, err, sizeof(err)) == 0, "%s", err);
  return t;
}

START_TEST(equal_options_are_one_block) {
  size_t before = pp_opts_shared_count();
  const char *const kv[] = {"timeout", "2s", "label", "site=fra", NULL};
  pp_target *a = make("tcp://127.0.0.1:22", kv);
  pp_target *b = make("tcp://127.0.0.1:25", kv);
  pp_target *c = make("tcp://127.0.0.1:80", NULL);
  ck_assert_ptr_eq(a->opts, b->opts);
  ck_assert_ptr_ne(a->opts, c->opts);
  ck_assert_uint_eq(pp_opts_shared_count(), before + 2);
  ck_assert_int_eq(b->opts->timeout_ms, 2000);
  ck_assert_int_eq(c->opts->timeout_ms, 5000);
  pp_target_free(a); /* b still reads the block */
  ck_assert_str_eq(b->opts->labels.items[0], "site=fra");
  pp_target_free(b);
  pp_target_free(c);
  ck_assert_uint_eq(pp_opts_shared_count(), before);
}
END_TEST

START_TEST(names_stay_each_targets_own) {
  const char *const mail[] = {"name", "mail", NULL};
  const char *const web[] = {"name", "web", NULL};
  pp_target *a = make("tcp://127.0.0.1:25", mail);
  pp_target *b = make("tcp://127.0.0.1:80", web);
  pp_target *c = make("tcp://127.0.0.1:81", NULL);
  ck_assert_ptr_eq(a->opts, b->opts);
  ck_assert_ptr_eq(b->opts, c->opts);
  ck_assert_str_eq(pp_target_name(a), "mail");
  ck_assert_str_eq(pp_target_name(b), "web");
  ck_assert_str_eq(pp_target_name(c), "tcp://127.0.0.1:81");
  pp_target_free(a);
  pp_target_free(b);
  pp_target_free(c);
}
END_TEST

START_TEST(setting_after_sharing_changes_that_target_only) {
  pp_target *a = make("tcp://127.0.0.1:22", NULL);
  pp_target *b = make("tcp://127.0.0.1:23", NULL);
  ck_assert_ptr_eq(a->opts, b->opts);
  ck_assert_int_eq(pp_target_set(a, "timeout", "1s", err, sizeof(err)), 0);
  ck_assert_int_eq(pp_target_set(a, "name", "ssh", err, sizeof(err)), 0);
  ck_assert_int_eq(a->opts->timeout_ms, 1000);
  ck_assert_int_eq(b->opts->timeout_ms, 5000);
  ck_assert_str_eq(pp_target_name(a), "ssh");
  ck_assert_str_eq(pp_target_name(b), "tcp://127.0.0.1:23");
  ck_assert_int_eq(pp_target_finalize(a, err, sizeof(err)), 0);
  ck_assert_ptr_ne(a->opts, b->opts);
  ck_assert_str_eq(pp_target_name(a), "ssh");
  /* and back: equal again, one block again */
  ck_assert_int_eq(pp_target_set(a, "timeout", "5s", err, sizeof(err)), 0);
  ck_assert_int_eq(pp_target_finalize(a, err, sizeof(err)), 0);
  ck_assert_ptr_eq(a->opts, b->opts);
  ck_assert_str_eq(pp_target_name(a), "ssh");
  pp_target_free(b);
  pp_target_free(a);
}
END_TEST

/* Every kind of stored value tells two blocks apart: text, lists (in
 * order), steps (bytes, NUL included), status sets, numbers, choices. */
START_TEST(any_difference_keeps_blocks_apart) {
  static const char *const cases[][5] = {
      {"smtp", "ehlo", "a.example", "ehlo", "b.example"},
      {"smtp", "expect_banner", "^220", "expect_banner", "^221"},
      {"tcp", "label", "a=1", "label", "a=2"},
      {"tcp", "send", "x\\x00y", "send", "x\\x00z"},
      {"http", "status", "200", "status", "200-201"},
      {"http", "header", "X-A: 1", "header", "X-A: 2"},
      {"smtp", "max_reply", "4k", "max_reply", "8k"},
      {"tcp", "address_family", "ipv4", "address_family", "ipv6"},
      {"tcp", "flap_high", "60", "flap_high", "61"},
      {"smtp", "verify", "yes", "verify", "no"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const char *const *k = cases[i];
    const char *const ka[] = {k[1], k[2], NULL}, *const kb[] = {k[3], k[4],
                                                                NULL};
    char u1[64], u2[64], u3[64];
    snprintf(u1, sizeof(u1), "%s://127.0.0.1:1", k[0]);
    snprintf(u2, sizeof(u2), "%s://127.0.0.1:2", k[0]);
    snprintf(u3, sizeof(u3), "%s://127.0.0.1:3", k[0]);
    pp_target *a = make(u1, ka), *b = make(u2, kb), *c = make(u3, ka);
    ck_assert_msg(a->opts != b->opts, "%s: %s and %s share", k[1], k[2], k[4]);
    ck_assert_msg(a->opts == c->opts, "%s: %s twice is two blocks", k[1], k[2]);
    pp_target_free(a);
    pp_target_free(b);
    pp_target_free(c);
  }
}
END_TEST

START_TEST(label_order_matters) {
  const char *const ab[] = {"label", "a=1", "label", "b=2", NULL};
  const char *const ba[] = {"label", "b=2", "label", "a=1", NULL};
  pp_target *a = make("tcp://127.0.0.1:1", ab);
  pp_target *b = make("tcp://127.0.0.1:2", ba);
  ck_assert_ptr_ne(a->opts, b->opts); /* labels are written in order */
  pp_target_free(a);
  pp_target_free(b);
}
END_TEST

START_TEST(a_copy_is_deep_and_equal) {
  const char *const kv[] = {"send", "EHLO x\\r\\n", "expect",
                            "^250", "label",        "k=v",
                            "sni",  "example.org",  NULL};
  pp_target *a = make("smtp://127.0.0.1:1", kv);
  pp_opts copy;
  ck_assert_int_eq(pp_opts_copy(&copy, a->opts), 0);
  ck_assert(pp_opts_equal(&copy, a->opts));
  ck_assert_ptr_ne(copy.sni, a->opts->sni);
  ck_assert_ptr_ne(copy.steps.items, a->opts->steps.items);
  ck_assert_ptr_ne(copy.steps.items[0].text, a->opts->steps.items[0].text);
  ck_assert_uint_eq(copy.steps.items[0].len, 8);
  ck_assert_str_eq(copy.labels.items[0], "k=v");
  copy.steps.items[1].text[1] = '3';
  ck_assert(!pp_opts_equal(&copy, a->opts));
  ck_assert_str_eq(a->opts->steps.items[1].text, "^250");
  pp_opts_free(&copy);
  pp_target_free(a);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("opts_share");
  TCase *tc = tcase_create("share");
  tcase_add_test(tc, equal_options_are_one_block);
  tcase_add_test(tc, names_stay_each_targets_own);
  tcase_add_test(tc, setting_after_sharing_changes_that_target_only);
  tcase_add_test(tc, any_difference_keeps_blocks_apart);
  tcase_add_test(tc, label_order_matters);
  tcase_add_test(tc, a_copy_is_deep_and_equal);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *r = srunner_create(suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed == 0 ? 0 : 1;
}
