/* The INI target list: what it builds, and errors that name the file, the
 * line and the key. */
#include "cli_config.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char path[64];
static pp_targets list;
static char err[1024];

static void setup(void) {
  snprintf(path, sizeof(path), "/tmp/pp-test-config-XXXXXX");
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  memset(&list, 0, sizeof(list));
  err[0] = 0;
}

static void teardown(void) {
  pp_targets_free(&list);
  unlink(path);
}

/* Writes text to the file and loads it. */
static int load(const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
  return pp_config_load(path, &list, err, sizeof(err));
}

/* Writes len bytes (NULs included) to the file and loads it. */
static int load_bytes(const char *bytes, size_t len) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
  fclose(f);
  return pp_config_load(path, &list, err, sizeof(err));
}

/* The error must start with "path:line: " and contain every word given. */
static void assert_error(int line, const char *const *words) {
  char want[128];
  snprintf(want, sizeof(want), "%s:%d: ", path, line);
  ck_assert_msg(strncmp(err, want, strlen(want)) == 0,
                "error \"%s\" does not start with \"%s\"", err, want);
  for (; *words; words++)
    ck_assert_msg(strstr(err, *words) != NULL, "error \"%s\" lacks \"%s\"", err,
                  *words);
}

START_TEST(each_section_is_a_target_named_by_it) {
  ck_assert_int_eq(
      load("# targets\n"
           "[db main]\nurl = tcp://192.0.2.1:5432\n"
           "[web]\nurl = http://192.0.2.1/\nname = Web, \"front\"\n"),
      0);
  ck_assert_uint_eq(list.n, 2);
  ck_assert_str_eq(pp_target_name(list.items[0]), "db main");
  ck_assert_str_eq(pp_target_name(list.items[1]), "Web, \"front\"");
}
END_TEST

START_TEST(defaults_apply_where_they_fit) {
  ck_assert_int_eq(load("[defaults]\ntimeout = 2s\ncount = 3\n"
                        "[db]\nurl = tcp://192.0.2.1:5432\n"
                        "[gw]\nurl = icmp://192.0.2.1\n"),
                   0);
  ck_assert_int_eq(list.items[0]->opts->timeout_ms, 2000);
  ck_assert_int_eq(list.items[1]->opts->timeout_ms, 2000);
  ck_assert_int_eq(list.items[1]->opts->count, 3);
}
END_TEST

START_TEST(own_label_overrides_the_default_label) {
  ck_assert_int_eq(
      load("[defaults]\nlabel = site=fra1\nlabel = env=prod\n"
           "[db]\nurl = tcp://192.0.2.1:5432\nlabel = site=ams2\n"),
      0);
  const pp_strlist *l = &list.items[0]->opts->labels;
  ck_assert_uint_eq(l->n, 2);
  ck_assert_str_eq(l->items[0], "site=ams2");
  ck_assert_str_eq(l->items[1], "env=prod");
}
END_TEST

START_TEST(indented_line_adds_another_value) {
  ck_assert_int_eq(load("[db]\nurl = tcp://192.0.2.1:5432\n"
                        "label = site=fra1\n      env=prod\n"),
                   0);
  ck_assert_uint_eq(list.items[0]->opts->labels.n, 2);
  ck_assert_str_eq(list.items[0]->opts->labels.items[1], "env=prod");
}
END_TEST

START_TEST(missing_url_names_the_section_line) {
  ck_assert_int_eq(load("[db]\n\ntimeout = 2s\n"), -1);
  assert_error(1, (const char *[]){"[db]", "url", NULL});
}
END_TEST

START_TEST(section_without_keys_is_an_error) {
  ck_assert_int_eq(load("[db]\n[web]\nurl = http://192.0.2.1/\n"), -1);
  assert_error(1, (const char *[]){"[db]", "url", NULL});
}
END_TEST

START_TEST(bad_url_names_line_and_key) {
  ck_assert_int_eq(load("[db]\ntimeout = 2s\nurl = tcp://192.0.2.1\n"), -1);
  assert_error(3, (const char *[]){"[db]", "url", "port", NULL});
}
END_TEST

START_TEST(unknown_key_names_line_target_and_key) {
  ck_assert_int_eq(load("[db]\nurl = tcp://192.0.2.1:5432\ntimout = 2s\n"), -1);
  assert_error(3, (const char *[]){"\"db\"", "\"timout\"", "timeout", NULL});
}
END_TEST

START_TEST(bad_value_names_line_key_and_what_was_expected) {
  ck_assert_int_eq(load("[db]\nurl = tcp://192.0.2.1:5432\n\ntimeout = soon\n"),
                   -1);
  assert_error(4,
               (const char *[]){"\"timeout\"", "duration", "\"soon\"", NULL});
}
END_TEST

START_TEST(option_of_another_kind_names_line_and_key) {
  ck_assert_int_eq(load("[db]\nurl = tcp://192.0.2.1:5432\ncount = 3\n"), -1);
  assert_error(3, (const char *[]){"\"count\"", "tcp", NULL});
}
END_TEST

START_TEST(unknown_key_in_defaults_names_defaults) {
  ck_assert_int_eq(load("[defaults]\ntimout = 2s\n[db]\n"
                        "url = tcp://192.0.2.1:5432\n"),
                   -1);
  assert_error(2, (const char *[]){"[defaults]", "\"timout\"", NULL});
}
END_TEST

START_TEST(name_as_a_default_is_refused) {
  /* it would give every target the same name: duplicate series */
  ck_assert_int_eq(
      load("[defaults]\nname = everyone\n[a]\n"
           "url = tcp://192.0.2.1:1\n[b]\nurl = tcp://192.0.2.1:2\n"),
      -1);
  assert_error(2, (const char *[]){"[defaults]", "\"name\"",
                                   "a target's [section]", NULL});
}
END_TEST

START_TEST(a_bad_default_is_refused_without_a_target_of_its_kind) {
  ck_assert_int_eq(
      load("[defaults]\ncount = abc\n[db]\nurl = tcp://192.0.2.1:5432\n"), -1);
  assert_error(2, (const char *[]){"[defaults]", "\"count\"", "abc", NULL});
}
END_TEST

START_TEST(a_dialog_step_as_a_default_is_refused) {
  ck_assert_int_eq(
      load("[defaults]\nsend = PING\\r\\n\n[db]\nurl = tcp://192.0.2.1:1\n"),
      -1);
  assert_error(2, (const char *[]){"[defaults]", "\"send\"", "dialog", NULL});
  ck_assert_int_eq(
      load("[defaults]\nurl = tcp://192.0.2.1:1\n[db]\nurl = tcp://h:1\n"), -1);
  assert_error(2, (const char *[]){"[defaults]", "\"url\"", NULL});
}
END_TEST

START_TEST(two_targets_of_one_name_are_refused) {
  ck_assert_int_eq(load("[a]\nurl = tcp://192.0.2.1:1\n[b]\n"
                        "url = tcp://192.0.2.1:2\nname = a\n"),
                   -1);
  assert_error(3, (const char *[]){"target \"a\" is defined twice", NULL});
}
END_TEST

START_TEST(the_same_url_twice_on_the_command_line_needs_names) {
  char *twice[] = {"tcp://192.0.2.1:22", "tcp://192.0.2.1:22"};
  ck_assert_int_eq(pp_config_from_args(2, twice, &list, err, sizeof(err)), -1);
  ck_assert_ptr_nonnull(strstr(err, "is defined twice"));
  pp_targets_free(&list);
  char *named[] = {"tcp://192.0.2.1:22", "name=a", "tcp://192.0.2.1:22",
                   "name=b"};
  ck_assert_int_eq(pp_config_from_args(4, named, &list, err, sizeof(err)), 0);
  ck_assert_uint_eq(list.n, 2);
}
END_TEST

START_TEST(key_outside_a_section_is_an_error) {
  ck_assert_int_eq(load("timeout = 2s\n[db]\nurl = tcp://192.0.2.1:5432\n"),
                   -1);
  assert_error(1, (const char *[]){"\"timeout\"", "section", NULL});
}
END_TEST

START_TEST(keys_with_no_section_at_all_are_an_error) {
  /* no [section] anywhere: found by fuzz_config (qsort of no headers) */
  ck_assert_int_eq(load("timeout = 2s\n"), -1);
  assert_error(1, (const char *[]){"\"timeout\"", "section", NULL});
  ck_assert_int_eq(load(""), 0);
  ck_assert_uint_eq(list.n, 0);
}
END_TEST

START_TEST(line_without_equals_sign_is_an_error) {
  ck_assert_int_eq(load("[db]\nurl = tcp://192.0.2.1:5432\njunk\n"), -1);
  assert_error(3, (const char *[]){"key = value", NULL});
}
END_TEST

START_TEST(line_too_long_is_refused_not_split) {
  char text[600];
  snprintf(text, sizeof(text),
           "[db]\nurl = tcp://192.0.2.1:5432\n"
           "label = a=%0250d\n",
           0);
  ck_assert_int_eq(load(text), -1);
  assert_error(3, (const char *[]){"longer than", NULL});
}
END_TEST

START_TEST(a_nul_byte_is_named_with_its_line) {
  static const char inside[] =
      "[db]\nurl = tcp://192.0.2.1:5432\ntime\0out = 1s\n";
  ck_assert_int_eq(load_bytes(inside, sizeof(inside) - 1), -1);
  assert_error(3, (const char *[]){"a NUL byte", NULL});
  /* at the very end, where it would have been dropped without a word */
  static const char end[] = "[db]\nurl = tcp://192.0.2.1:5432\ntimeout = 1s\0";
  ck_assert_int_eq(load_bytes(end, sizeof(end) - 1), -1);
  assert_error(3, (const char *[]){"a NUL byte", NULL});
}
END_TEST

START_TEST(a_line_that_just_fits_at_the_end_of_the_file_is_read) {
  char text[600];
  /* inih's buffer holds 200 bytes: 198 characters, a line end, the NUL */
  int n = snprintf(text, sizeof(text),
                   "[db]\nurl = tcp://192.0.2.1:5432\n"
                   "label = a=");
  memset(text + n, 'b', 198 - 10);
  text[n + 188] = 0;
  ck_assert_int_eq(load(text), 0);
  ck_assert_uint_eq(list.items[0]->opts->labels.n, 1);
}
END_TEST

START_TEST(a_directory_is_not_a_configuration_file) {
  ck_assert_int_eq(pp_config_load("/tmp", &list, err, sizeof(err)), -1);
  ck_assert_str_eq(err, "/tmp: is a directory, not a configuration file");
}
END_TEST

START_TEST(repeated_section_is_an_error) {
  ck_assert_int_eq(load("[db]\nurl = tcp://192.0.2.1:5432\n[web]\n"
                        "url = http://192.0.2.1/\n[db]\ntimeout = 1s\n"),
                   -1);
  assert_error(5, (const char *[]){"[db]", "line 1", NULL});
}
END_TEST

START_TEST(section_name_too_long_is_an_error) {
  char text[300];
  snprintf(text, sizeof(text), "[%060d]\nurl = tcp://192.0.2.1:5432\n", 0);
  ck_assert_int_eq(load(text), -1);
  assert_error(1, (const char *[]){"49 characters", "name =", NULL});
}
END_TEST

START_TEST(check_between_options_names_the_target) {
  ck_assert_int_eq(load("[db]\nurl = tcp://192.0.2.1:5432\ntimeout = 1s\n"
                        "connect_timeout = 2s\n"),
                   -1);
  assert_error(1, (const char *[]){"\"db\"", "connect_timeout", NULL});
}
END_TEST

START_TEST(reserved_label_name_is_an_error) {
  ck_assert_int_eq(
      load("[db]\nurl = tcp://192.0.2.1:5432\nlabel = result=fine\n"), -1);
  assert_error(3, (const char *[]){"\"label\"", "reserved", NULL});
}
END_TEST

START_TEST(missing_file_is_named) {
  ck_assert_int_eq(
      pp_config_load("/nonexistent/pp.ini", &list, err, sizeof(err)), -1);
  ck_assert_ptr_nonnull(strstr(err, "/nonexistent/pp.ini"));
}
END_TEST

START_TEST(command_line_words_build_targets) {
  char *argv[] = {"tcp://192.0.2.1:22", "timeout=1s", "name=ssh gw",
                  "icmp://192.0.2.1"};
  ck_assert_int_eq(pp_config_from_args(4, argv, &list, err, sizeof(err)), 0);
  ck_assert_uint_eq(list.n, 2);
  ck_assert_str_eq(pp_target_name(list.items[0]), "ssh gw");
}
END_TEST

START_TEST(example_config_loads_with_every_scheme) {
  ck_assert_msg(pp_config_load(PP_EXAMPLES_DIR "/portprobe.conf.example", &list,
                               err, sizeof(err)) == 0,
                "%s", err);
  for (size_t i = 0; i < pp_schemes_count; i++) {
    bool found = false;
    for (size_t j = 0; j < list.n && !found; j++)
      found = list.items[j]->scheme == &pp_schemes[i];
    ck_assert_msg(found, "the example has no %s target", pp_schemes[i].name);
  }
}
END_TEST

START_TEST(a_resolver_is_a_list_of_addresses) {
  static const char *const bad[] = {
      "",           "1.2.3.4.5", "127.0.0.1:99999", "127.0.0.1:0", "a,b",
      "127.0.0.1,", "[::1",      "::1:53x",         "[127.0.0.1]"};
  static const char *const good[] = {"127.0.0.1", "127.0.0.1:5353", "::1",
                                     "[::1]:53", "127.0.0.1, [::1]:5353"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    pp_engine_settings es = {0};
    ck_assert_msg(
        pp_engine_setting_set(&es, "resolver", bad[i], err, sizeof(err)) == -1,
        "\"%s\" was taken", bad[i]);
    ck_assert_msg(strstr(err, "expected") != NULL, "%s", err);
    pp_engine_settings_free(&es);
  }
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    pp_engine_settings es = {0};
    ck_assert_msg(
        pp_engine_setting_set(&es, "resolver", good[i], err, sizeof(err)) == 0,
        "\"%s\": %s", good[i], err);
    pp_engine_settings_free(&es);
  }
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("config");
  TCase *tc = tcase_create("ini");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, each_section_is_a_target_named_by_it);
  tcase_add_test(tc, defaults_apply_where_they_fit);
  tcase_add_test(tc, own_label_overrides_the_default_label);
  tcase_add_test(tc, indented_line_adds_another_value);
  tcase_add_test(tc, missing_url_names_the_section_line);
  tcase_add_test(tc, section_without_keys_is_an_error);
  tcase_add_test(tc, bad_url_names_line_and_key);
  tcase_add_test(tc, unknown_key_names_line_target_and_key);
  tcase_add_test(tc, bad_value_names_line_key_and_what_was_expected);
  tcase_add_test(tc, option_of_another_kind_names_line_and_key);
  tcase_add_test(tc, unknown_key_in_defaults_names_defaults);
  tcase_add_test(tc, name_as_a_default_is_refused);
  tcase_add_test(tc, a_bad_default_is_refused_without_a_target_of_its_kind);
  tcase_add_test(tc, a_dialog_step_as_a_default_is_refused);
  tcase_add_test(tc, two_targets_of_one_name_are_refused);
  tcase_add_test(tc, the_same_url_twice_on_the_command_line_needs_names);
  tcase_add_test(tc, key_outside_a_section_is_an_error);
  tcase_add_test(tc, keys_with_no_section_at_all_are_an_error);
  tcase_add_test(tc, line_without_equals_sign_is_an_error);
  tcase_add_test(tc, line_too_long_is_refused_not_split);
  tcase_add_test(tc, repeated_section_is_an_error);
  tcase_add_test(tc, a_nul_byte_is_named_with_its_line);
  tcase_add_test(tc, a_line_that_just_fits_at_the_end_of_the_file_is_read);
  tcase_add_test(tc, a_directory_is_not_a_configuration_file);
  tcase_add_test(tc, a_resolver_is_a_list_of_addresses);
  tcase_add_test(tc, section_name_too_long_is_an_error);
  tcase_add_test(tc, check_between_options_names_the_target);
  tcase_add_test(tc, reserved_label_name_is_an_error);
  tcase_add_test(tc, missing_file_is_named);
  tcase_add_test(tc, command_line_words_build_targets);
  tcase_add_test(tc, example_config_loads_with_every_scheme);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
