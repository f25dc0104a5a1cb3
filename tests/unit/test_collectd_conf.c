/* The collectd plugin's configuration: <Plugin portprobe> text, as a user
 * writes it, turned into targets or refused with a message naming the
 * target and the key. */
#include "consensus_conf.h"
#include "plugin_conf.h"

#include <check.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* --- a small reader for collectd's syntax, enough for these tests --- */

static void add_value(oconfig_item_t *it, const char **p) {
  oconfig_value_t v = {0};
  const char *s = *p;
  if (*s == '"') {
    /* as collectd's unquote(): a backslash keeps the next character */
    char *out = malloc(strlen(s)), *o = out;
    for (s++; *s != '"'; s++) {
      ck_assert_int_ne(*s, 0);
      if (*s == '\\')
        s++;
      *o++ = *s;
    }
    *o = 0;
    v.type = OCONFIG_TYPE_STRING;
    v.value.string = out;
    *p = s + 1;
  } else if (strncmp(s, "true", 4) == 0 || strncmp(s, "false", 5) == 0) {
    v.type = OCONFIG_TYPE_BOOLEAN;
    v.value.boolean = s[0] == 't';
    *p = s + (s[0] == 't' ? 4 : 5);
  } else {
    char *end;
    v.type = OCONFIG_TYPE_NUMBER;
    v.value.number = strtod(s, &end);
    ck_assert_ptr_ne(end, s);
    *p = end;
  }
  it->values = realloc(it->values, (size_t)(it->values_num + 1) * sizeof(v));
  it->values[it->values_num++] = v;
}

static oconfig_item_t *add_child(oconfig_item_t *parent) {
  parent->children =
      realloc(parent->children,
              (size_t)(parent->children_num + 1) * sizeof(oconfig_item_t));
  oconfig_item_t *c = &parent->children[parent->children_num++];
  memset(c, 0, sizeof(*c));
  return c;
}

/* Reads lines into parent until "</...>" or the end. Children are filled
 * in place; a child's own children are read before the next sibling is
 * added, so pointers stay valid. */
static const char *read_items(oconfig_item_t *parent, const char *p) {
  for (;;) {
    while (isspace((unsigned char)*p))
      p++;
    if (*p == 0)
      return p;
    if (p[0] == '<' && p[1] == '/') {
      p = strchr(p, '>');
      return p + 1;
    }
    bool block = *p == '<';
    if (block)
      p++;
    const char *k = p;
    while (isalnum((unsigned char)*p) || *p == '_')
      p++;
    oconfig_item_t *it = add_child(parent);
    it->key = strndup(k, (size_t)(p - k));
    for (;;) {
      while (*p == ' ' || *p == '\t')
        p++;
      if (*p == '\n' || *p == 0 || *p == '>')
        break;
      add_value(it, &p);
    }
    if (block) {
      ck_assert_int_eq(*p, '>');
      p = read_items(it, p + 1);
    }
  }
}

static oconfig_item_t *parse(const char *text) {
  oconfig_item_t *root = calloc(1, sizeof(*root));
  root->key = strdup("Plugin");
  read_items(root, text);
  return root;
}

static void free_items(oconfig_item_t *it) {
  for (int i = 0; i < it->values_num; i++)
    if (it->values[i].type == OCONFIG_TYPE_STRING)
      free(it->values[i].value.string);
  free(it->values);
  for (int i = 0; i < it->children_num; i++)
    free_items(&it->children[i]);
  free(it->children);
  free(it->key);
}

static ppc_config cfg;
static char err[1024];

static int load(const char *text) {
  oconfig_item_t *root = parse(text);
  err[0] = 0;
  int rc = ppc_config_add(&cfg, root, err, sizeof(err));
  free_items(root);
  free(root);
  return rc;
}

static const pp_target *find(const char *name) {
  for (size_t i = 0; i < cfg.targets.n; i++)
    if (strcmp(pp_target_name(cfg.targets.items[i]), name) == 0)
      return cfg.targets.items[i];
  return NULL;
}

static void setup(void) {
  memset(&cfg, 0, sizeof(cfg));
}

static void teardown(void) {
  ppc_config_free(&cfg);
}

#define ck_assert_err_has(s)                                                   \
  ck_assert_msg(strstr(err, s) != NULL, "message \"%s\" lacks \"%s\"", err, s)

/* --- targets --- */

START_TEST(target_block_names_a_finalized_target) {
  ck_assert_int_eq(load("<Target \"db\">\n"
                        "  URL \"tcp://db.example.com:5432\"\n"
                        "</Target>\n"),
                   0);
  ck_assert_int_eq(cfg.targets.n, 1);
  const pp_target *t = find("db");
  ck_assert_ptr_nonnull(t);
  ck_assert(t->finalized);
  ck_assert_str_eq(t->host, "db.example.com");
  ck_assert_int_eq(t->port, 5432);
  ck_assert_ptr_null(cfg.targets.items[0]->group);
}
END_TEST

START_TEST(camelcase_keys_set_core_options) {
  ck_assert_int_eq(load("<Target \"mx\">\n"
                        "  URL \"smtp://mx.example.com\"\n"
                        "  StartTLS \"require\"\n"
                        "  CAFile \"/etc/ssl/ca.pem\"\n"
                        "  DownAfter 3\n"
                        "  Timeout 2.5\n"
                        "  ConnectTimeout \"800ms\"\n"
                        "  Verify false\n"
                        "  Interval 30\n"
                        "</Target>\n"),
                   0);
  const pp_target *t = find("mx");
  ck_assert_ptr_nonnull(t);
  ck_assert_int_eq(t->starttls, PP_STARTTLS_REQUIRE);
  ck_assert_str_eq(t->opts->ca_file, "/etc/ssl/ca.pem");
  ck_assert_int_eq(t->opts->down_after, 3);
  ck_assert_int_eq(t->opts->timeout_ms, 2500);
  ck_assert_int_eq(t->opts->connect_timeout_ms, 800);
  ck_assert(!t->opts->verify);
  ck_assert_int_eq(t->opts->interval_ms, 30000);
}
END_TEST

START_TEST(unknown_key_names_target_and_key) {
  ck_assert_int_eq(load("<Target \"web\">\n"
                        "  URL \"https://www.example.com/\"\n"
                        "  Keywrd \"Welcome\"\n"
                        "</Target>\n"),
                   -1);
  ck_assert_err_has("target \"web\"");
  ck_assert_err_has("\"Keywrd\"");
  ck_assert_err_has("did you mean \"keyword\"");
  ck_assert_int_eq(cfg.targets.n, 0);
}
END_TEST

START_TEST(bad_value_names_target_key_and_expectation) {
  ck_assert_int_eq(load("<Target \"db\">\n"
                        "  URL \"tcp://db.example.com:5432\"\n"
                        "  Timeout \"soon\"\n"
                        "</Target>\n"),
                   -1);
  ck_assert_err_has("target \"db\"");
  ck_assert_err_has("timeout");
  ck_assert_err_has("duration");
  ck_assert_err_has("soon");
}
END_TEST

START_TEST(option_of_another_kind_is_rejected) {
  ck_assert_int_eq(load("<Target \"db\">\n"
                        "  URL \"tcp://db.example.com:5432\"\n"
                        "  Keyword \"x\"\n"
                        "</Target>\n"),
                   -1);
  ck_assert_err_has("target \"db\"");
  ck_assert_err_has("does not apply to tcp");
}
END_TEST

START_TEST(request_and_tls_keys_are_camelcase_too) {
  ck_assert_int_eq(
      load("<Target \"api\">\n"
           "  URL \"https://api.example.com/health\"\n"
           "  Method \"PUT\"\n"
           "  Body \"{}\"\n"
           "  ContentType \"application/json\"\n"
           "  JSONPath \"/status\"\n"
           "  JSONExpect \"^ok$\"\n"
           "  ExpectHeader \"Content-Type: json\"\n"
           "  BearerTokenFile \"/etc/portprobe/api.token\"\n"
           "  Proxy \"http://proxy.example.com:3128\"\n"
           "  OCSP \"require\"\n"
           "  TLSMinVersion \"tls1.2\"\n"
           "  RedirectDowngrade \"refuse\"\n"
           "  ClientCert \"/etc/portprobe/probe.pem\"\n"
           "  ClientKeyPasswordFile \"/etc/portprobe/probe.pass\"\n"
           "</Target>\n"),
      0);
  const pp_target *t = find("api");
  ck_assert_ptr_nonnull(t);
  ck_assert_str_eq(t->opts->method, "PUT");
  ck_assert_str_eq(t->opts->json_path, "/status");
  ck_assert_int_eq(t->opts->ocsp, PP_OCSP_OPT_REQUIRE);
  ck_assert_int_eq(t->opts->redirect_downgrade, PP_DOWNGRADE_REFUSE);
  ck_assert_str_eq(t->opts->client_key_password_file,
                   "/etc/portprobe/probe.pass");
}
END_TEST

START_TEST(request_and_tls_keys_are_refused_where_they_mean_nothing) {
  ck_assert_int_eq(
      load("<Target \"web\">\n"
           "  URL \"http://www.example.com/\"\n"
           "  Pin \"sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"\n"
           "</Target>\n"),
      -1);
  ck_assert_err_has("target \"web\"");
  ck_assert_err_has("option \"pin\" applies to targets that speak TLS");
  ck_assert_int_eq(load("<Target \"db\">\n"
                        "  URL \"tcp://db.example.com:5432\"\n"
                        "  JSONPath \"/status\"\n"
                        "</Target>\n"),
                   -1);
  ck_assert_err_has("target \"db\"");
  ck_assert_err_has("does not apply to tcp");
}
END_TEST

START_TEST(target_without_url_is_rejected) {
  ck_assert_int_eq(load("<Target \"db\">\n  Timeout 2\n</Target>\n"), -1);
  ck_assert_err_has("target \"db\": missing URL");
}
END_TEST

START_TEST(bad_url_names_the_target) {
  ck_assert_int_eq(
      load("<Target \"db\">\n  URL \"gopher://x:70\"\n</Target>\n"), -1);
  ck_assert_err_has("target \"db\"");
  ck_assert_err_has("unknown scheme \"gopher\"");
}
END_TEST

START_TEST(option_with_two_values_is_rejected) {
  ck_assert_int_eq(load("<Target \"db\">\n"
                        "  URL \"tcp://db.example.com:5432\"\n"
                        "  Timeout 2 3\n"
                        "</Target>\n"),
                   -1);
  ck_assert_err_has("target \"db\": option \"Timeout\" takes one value");
}
END_TEST

START_TEST(name_key_inside_target_is_rejected) {
  ck_assert_int_eq(load("<Target \"db\">\n"
                        "  URL \"tcp://db.example.com:5432\"\n"
                        "  Name \"other\"\n"
                        "</Target>\n"),
                   -1);
  ck_assert_err_has("names its target");
}
END_TEST

START_TEST(name_unfit_for_plugin_instance_is_rejected) {
  ck_assert_int_eq(load("<Target \"a/b\">\n  URL \"tcp://h:1\"\n</Target>\n"),
                   -1);
  ck_assert_err_has("'/'");
  char text[400];
  char longname[200];
  memset(longname, 'x', 150);
  longname[150] = 0;
  snprintf(text, sizeof(text), "<Target \"%s\">\n URL \"tcp://h:1\"\n</Target>",
           longname);
  ck_assert_int_eq(load(text), -1);
  ck_assert_err_has("longer than 127");
}
END_TEST

START_TEST(duplicate_names_are_rejected) {
  ck_assert_int_eq(load("<Target \"db\">\n  URL \"tcp://a:1\"\n</Target>\n"
                        "<Target \"db\">\n  URL \"tcp://b:1\"\n</Target>\n"),
                   -1);
  ck_assert_err_has("target \"db\" is defined twice");
  /* across two <Plugin portprobe> blocks too */
  ck_assert_int_eq(load("<Target \"db\">\n  URL \"tcp://a:1\"\n</Target>\n"),
                   0);
  ck_assert_int_eq(load("<Target \"db\">\n  URL \"tcp://b:1\"\n</Target>\n"),
                   -1);
  ck_assert_int_eq(cfg.targets.n, 1);
}
END_TEST

START_TEST(failed_block_adds_nothing) {
  ck_assert_int_eq(load("<Target \"a\">\n  URL \"tcp://a:1\"\n</Target>\n"), 0);
  ck_assert_int_eq(load("<Target \"b\">\n  URL \"tcp://b:1\"\n</Target>\n"
                        "<Target \"c\">\n  URL \"tcp://c:1\"\n  Foo 1\n"
                        "</Target>\n"),
                   -1);
  ck_assert_int_eq(cfg.targets.n, 1);
  ck_assert_ptr_nonnull(find("a"));
  ck_assert_ptr_null(find("b"));
}
END_TEST

START_TEST(label_takes_name_and_value) {
  ck_assert_int_eq(load("<Target \"db\">\n"
                        "  URL \"tcp://db.example.com:5432\"\n"
                        "  Label \"location\" \"fra1\"\n"
                        "  Label \"team=dba\"\n"
                        "</Target>\n"),
                   0);
  const pp_target *t = find("db");
  ck_assert_int_eq(t->opts->labels.n, 2);
  ck_assert_str_eq(t->opts->labels.items[0], "location=fra1");
  ck_assert_str_eq(t->opts->labels.items[1], "team=dba");
}
END_TEST

START_TEST(send_and_expect_keep_their_order) {
  ck_assert_int_eq(load("<Target \"echo\">\n"
                        "  URL \"tcp://h.example.com:7\"\n"
                        "  Send \"PING\\\\r\\\\n\"\n"
                        "  Expect \"^PONG\"\n"
                        "  Send \"QUIT\\\\r\\\\n\"\n"
                        "</Target>\n"),
                   0);
  const pp_target *t = find("echo");
  ck_assert_int_eq(t->kind, PP_KIND_DIALOG);
  ck_assert_int_eq(t->opts->steps.n, 3);
  ck_assert_int_eq(t->opts->steps.items[0].kind, PP_STEP_SEND);
  ck_assert_str_eq(t->opts->steps.items[0].text, "PING\r\n");
  ck_assert_int_eq(t->opts->steps.items[1].kind, PP_STEP_EXPECT);
  ck_assert_int_eq(t->opts->steps.items[2].kind, PP_STEP_SEND);
}
END_TEST

/* --- options above the targets --- */

START_TEST(plugin_level_options_are_defaults_a_target_overrides) {
  ck_assert_int_eq(load("Timeout 3\n"
                        "Label \"location\" \"fra1\"\n"
                        "<Target \"a\">\n  URL \"tcp://a:1\"\n</Target>\n"
                        "<Target \"b\">\n  URL \"tcp://b:1\"\n  Timeout 1\n"
                        "</Target>\n"),
                   0);
  ck_assert_int_eq(find("a")->opts->timeout_ms, 3000);
  ck_assert_int_eq(find("b")->opts->timeout_ms, 1000);
  ck_assert_int_eq(find("a")->opts->labels.n, 1);
}
END_TEST

START_TEST(defaults_may_follow_the_targets) {
  ck_assert_int_eq(
      load("<Target \"a\">\n  URL \"tcp://a:1\"\n</Target>\nTimeout 3\n"), 0);
  ck_assert_int_eq(find("a")->opts->timeout_ms, 3000);
}
END_TEST

START_TEST(defaults_skip_targets_they_do_not_apply_to) {
  ck_assert_int_eq(load("CertWarnDays 30\n"
                        "<Target \"db\">\n  URL \"tcp://a:1\"\n</Target>\n"
                        "<Target \"web\">\n  URL \"https://a/\"\n</Target>\n"),
                   0);
  ck_assert_int_eq(find("web")->opts->cert_warn_days, 30);
}
END_TEST

START_TEST(plugin_level_unknown_or_bad_option_is_rejected) {
  ck_assert_int_eq(load("Timout 3\n"), -1);
  ck_assert_err_has("<Plugin portprobe>: unknown option \"Timout\"");
  ck_assert_err_has("did you mean \"timeout\"");
  ck_assert_int_eq(load("DownAfter 0\n"), -1);
  ck_assert_err_has("<Plugin portprobe>: option \"down_after\"");
  ck_assert_int_eq(load("Send \"x\"\n"), -1);
  ck_assert_err_has("belongs in a <Target> block");
}
END_TEST

START_TEST(resolver_and_concurrency_are_plugin_settings) {
  ck_assert_int_eq(load("Resolver \"127.0.0.1:5353\"\nConcurrency 50\n"), 0);
  ck_assert_str_eq(cfg.engine.resolver, "127.0.0.1:5353");
  ck_assert_int_eq(cfg.engine.concurrency, 50);
  ck_assert_int_eq(load("Concurrency 0\n"), -1);
  ck_assert_err_has("Concurrency");
  ck_assert_int_eq(load("HTTPConcurrency 16\n"), 0);
  ck_assert_int_eq(cfg.engine.http_concurrency, 16);
  ck_assert_int_eq(load("HTTPConcurrency 2.5\n"), -1);
  ck_assert_err_has("\"HTTPConcurrency\": expected a whole number from 1 to "
                    "1000000 (HTTP(S) checks");
}
END_TEST

START_TEST(bad_resolver_is_rejected_at_start) {
  ck_assert_int_eq(load("Resolver \"not an address\"\n"), -1);
  ck_assert_err_has("Resolver \"not an address\"");
  ck_assert_ptr_null(cfg.engine.resolver);
}
END_TEST

/* --- hosts --- */

START_TEST(host_block_groups_ping_and_services) {
  ck_assert_int_eq(load("<Host \"mail\">\n"
                        "  Address \"mail.example.com\"\n"
                        "  Service \"smtp\"\n"
                        "  Service \"imaps\"\n"
                        "  Service \"tcp\" 5432\n"
                        "</Host>\n"),
                   0);
  ck_assert_int_eq(cfg.targets.n, 4);
  const pp_target *icmp = find("mail-icmp");
  ck_assert_ptr_nonnull(icmp);
  ck_assert_int_eq(icmp->kind, PP_KIND_ICMP);
  ck_assert_str_eq(icmp->host, "mail.example.com");
  ck_assert_str_eq(find("mail-smtp")->url, "smtp://mail.example.com");
  ck_assert_int_eq(find("mail-imaps")->port, 993);
  ck_assert_str_eq(find("mail-tcp-5432")->url, "tcp://mail.example.com:5432");
  for (size_t i = 0; i < cfg.targets.n; i++)
    ck_assert_str_eq(cfg.targets.items[i]->group, "mail");
}
END_TEST

START_TEST(host_address_defaults_to_block_name) {
  ck_assert_int_eq(load("<Host \"db.example.com\">\n"
                        "  Ping false\n"
                        "  Service \"tcp\" 5432\n"
                        "</Host>\n"),
                   0);
  ck_assert_int_eq(cfg.targets.n, 1);
  ck_assert_str_eq(find("db.example.com-tcp-5432")->host, "db.example.com");
}
END_TEST

START_TEST(host_options_apply_where_they_fit) {
  ck_assert_int_eq(load("Timeout 4\n"
                        "<Host \"mail\">\n"
                        "  Address \"192.0.2.1\"\n"
                        "  Count 10\n"
                        "  LossWarn 2\n"
                        "  Timeout 3\n"
                        "  Service \"smtp\"\n"
                        "  <Target \"sub\">\n"
                        "    Service \"submission\"\n"
                        "    Timeout 1\n"
                        "  </Target>\n"
                        "</Host>\n"),
                   0);
  ck_assert_int_eq(find("mail-icmp")->opts->count, 10);
  ck_assert_double_eq(find("mail-icmp")->opts->loss_warn, 2);
  ck_assert_int_eq(find("mail-icmp")->opts->timeout_ms, 3000);
  ck_assert_int_eq(find("mail-smtp")->opts->timeout_ms, 3000);
  ck_assert_int_eq(find("mail-sub")->opts->timeout_ms, 1000);
  ck_assert_str_eq(find("mail-sub")->url, "submission://192.0.2.1");
}
END_TEST

START_TEST(nested_target_takes_a_full_url) {
  ck_assert_int_eq(load("<Host \"web\">\n"
                        "  Ping false\n"
                        "  <Target \"login\">\n"
                        "    URL \"https://www.example.com/login\"\n"
                        "    Keyword \"Sign in\"\n"
                        "  </Target>\n"
                        "</Host>\n"),
                   0);
  const pp_target *t = find("web-login");
  ck_assert_ptr_nonnull(t);
  ck_assert_str_eq(t->path, "/login");
  ck_assert_str_eq(cfg.targets.items[0]->group, "web");
}
END_TEST

START_TEST(service_with_port_names_the_port) {
  ck_assert_int_eq(load("<Host \"mx\">\n"
                        "  Address \"::1\"\n"
                        "  Service \"smtp\" 2525\n"
                        "</Host>\n"),
                   0);
  const pp_target *t = find("mx-smtp-2525");
  ck_assert_ptr_nonnull(t);
  ck_assert_str_eq(t->url, "smtp://[::1]:2525");
  ck_assert_str_eq(find("mx-icmp")->url, "icmp://[::1]");
}
END_TEST

START_TEST(bad_service_is_rejected) {
  ck_assert_int_eq(load("<Host \"mx\">\n  Service \"smtq\"\n</Host>\n"), -1);
  ck_assert_err_has("host \"mx\"");
  ck_assert_err_has("unknown scheme \"smtq\"");
  ck_assert_int_eq(load("<Host \"mx\">\n  Service \"tcp\" 70000\n</Host>\n"),
                   -1);
  ck_assert_err_has("port from 1 to 65535");
  ck_assert_int_eq(load("<Host \"mx\">\n  Service \"icmp\"\n</Host>\n"), -1);
  ck_assert_err_has("Ping true");
  ck_assert_int_eq(load("<Target \"x\">\n  Service \"smtp\"\n</Target>\n"), -1);
  ck_assert_err_has("inside a <Host> block only");
  ck_assert_int_eq(cfg.targets.n, 0);
}
END_TEST

START_TEST(host_unknown_option_names_the_host) {
  ck_assert_int_eq(
      load("<Host \"mx\">\n  Cuont 3\n  Service \"smtp\"\n</Host>\n"), -1);
  ck_assert_err_has("host \"mx\": unknown option \"Cuont\"");
  ck_assert_err_has("did you mean \"count\"");
}
END_TEST

/* --- <Consensus> (consensus_conf.c) --- */

static ppc_consensus_conf cc;

/* Splits <Consensus> out as portprobe.c does, then reads the targets. */
static int default_timeout = 2;

static int load_central(const char *text) {
  oconfig_item_t *root = parse(text), rest;
  err[0] = 0;
  int rc =
      ppc_consensus_split(root, default_timeout, &cc, &rest, err, sizeof(err));
  if (rc == 0) {
    rc = ppc_config_add(&cfg, &rest, err, sizeof(err));
    ppc_block_rest_free(&rest);
  }
  free_items(root);
  free(root);
  return rc;
}

START_TEST(consensus_block_beside_targets) {
  memset(&cc, 0, sizeof(cc));
  ck_assert_int_eq(load_central("<Consensus>\n"
                                "  Quorum 2\n"
                                "</Consensus>\n"
                                "<Target \"db\">\n"
                                "  URL \"tcp://db.example.com:5432\"\n"
                                "</Target>\n"),
                   0);
  ck_assert(cc.set);
  ck_assert_int_eq(cc.c.quorum, 2);
  ck_assert_int_eq(cc.c.timeout, 2); /* collectd's Timeout */
  ck_assert_int_eq(cfg.targets.n, 1);
  ck_assert_int_eq(load_central("<Target \"web\">\n"
                                "  URL \"tcp://web.example.com:80\"\n"
                                "</Target>\n"),
                   0);
  ck_assert(cc.set); /* a later block without one keeps it */
}
END_TEST

START_TEST(consensus_timeout_is_its_own) {
  memset(&cc, 0, sizeof(cc));
  ck_assert_int_eq(load_central("<Consensus>\n"
                                "  Quorum 3\n"
                                "  Timeout 5\n"
                                "</Consensus>\n"),
                   0);
  ck_assert_int_eq(cc.c.quorum, 3);
  ck_assert_int_eq(cc.c.timeout, 5);
}
END_TEST

START_TEST(bad_consensus_is_refused_naming_the_key) {
  static const struct {
    const char *text, *says;
  } cases[] = {
      {"<Consensus>\n  Timeout 3\n</Consensus>\n", "\"Quorum\" is missing"},
      {"<Consensus>\n  Quorum 0\n</Consensus>\n",
       "Quorum must be between 1 and 64, got 0"},
      {"<Consensus>\n  Quorum 1.5\n</Consensus>\n",
       "\"Quorum\" takes one whole number"},
      {"<Consensus>\n  Quorum \"two\"\n</Consensus>\n",
       "\"Quorum\" takes one whole number"},
      {"<Consensus>\n  Quorum 2\n  Timeout 0\n</Consensus>\n",
       "Timeout must be between 1 and 1000 intervals, got 0"},
      {"<Consensus>\n  Qorum 2\n</Consensus>\n",
       "unknown key \"Qorum\" (the keys are Quorum and Timeout)"},
      {"<Consensus \"x\">\n  Quorum 2\n</Consensus>\n",
       "write <Consensus> with no name"},
      {"<Consensus>\n  Quorum 2\n</Consensus>\n"
       "<Consensus>\n  Quorum 3\n</Consensus>\n",
       "only one <Consensus> block"},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
    memset(&cc, 0, sizeof(cc));
    ck_assert_int_eq(load_central(cases[i].text), -1);
    ck_assert_err_has("<Plugin portprobe> <Consensus>");
    ck_assert_err_has(cases[i].says);
    ck_assert(!cc.set);
  }
}
END_TEST

START_TEST(consensus_timeout_left_to_collectd_is_filled_in_later) {
  memset(&cc, 0, sizeof(cc));
  default_timeout = 0; /* as at config time: collectd's Timeout is not known */
  ck_assert_int_eq(load_central("<Consensus>\n  Quorum 2\n</Consensus>\n"), 0);
  ck_assert_int_eq(cc.c.timeout, 0);
  memset(&cc, 0, sizeof(cc));
  ck_assert_int_eq(
      load_central("<Consensus>\n  Quorum 2\n  Timeout 0\n</Consensus>\n"), -1);
  ck_assert_err_has("Timeout must be between 1 and 1000 intervals, got 0");
  default_timeout = 2;
}
END_TEST

START_TEST(consensus_key_outside_its_block_is_no_option) {
  memset(&cc, 0, sizeof(cc));
  ck_assert_int_eq(load_central("Quorum 2\n"), -1);
  ck_assert_err_has("Quorum");
}
END_TEST

Suite *collectd_conf_suite(void);
Suite *collectd_conf_suite(void) {
  Suite *s = suite_create("collectd_conf");
  TCase *tc = tcase_create("targets");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, target_block_names_a_finalized_target);
  tcase_add_test(tc, camelcase_keys_set_core_options);
  tcase_add_test(tc, unknown_key_names_target_and_key);
  tcase_add_test(tc, bad_value_names_target_key_and_expectation);
  tcase_add_test(tc, option_of_another_kind_is_rejected);
  tcase_add_test(tc, request_and_tls_keys_are_camelcase_too);
  tcase_add_test(tc, request_and_tls_keys_are_refused_where_they_mean_nothing);
  tcase_add_test(tc, target_without_url_is_rejected);
  tcase_add_test(tc, bad_url_names_the_target);
  tcase_add_test(tc, option_with_two_values_is_rejected);
  tcase_add_test(tc, name_key_inside_target_is_rejected);
  tcase_add_test(tc, name_unfit_for_plugin_instance_is_rejected);
  tcase_add_test(tc, duplicate_names_are_rejected);
  tcase_add_test(tc, failed_block_adds_nothing);
  tcase_add_test(tc, label_takes_name_and_value);
  tcase_add_test(tc, send_and_expect_keep_their_order);
  suite_add_tcase(s, tc);

  tc = tcase_create("defaults");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, plugin_level_options_are_defaults_a_target_overrides);
  tcase_add_test(tc, defaults_may_follow_the_targets);
  tcase_add_test(tc, defaults_skip_targets_they_do_not_apply_to);
  tcase_add_test(tc, plugin_level_unknown_or_bad_option_is_rejected);
  tcase_add_test(tc, resolver_and_concurrency_are_plugin_settings);
  tcase_add_test(tc, bad_resolver_is_rejected_at_start);
  suite_add_tcase(s, tc);

  tc = tcase_create("hosts");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, host_block_groups_ping_and_services);
  tcase_add_test(tc, host_address_defaults_to_block_name);
  tcase_add_test(tc, host_options_apply_where_they_fit);
  tcase_add_test(tc, nested_target_takes_a_full_url);
  tcase_add_test(tc, service_with_port_names_the_port);
  tcase_add_test(tc, bad_service_is_rejected);
  tcase_add_test(tc, host_unknown_option_names_the_host);
  suite_add_tcase(s, tc);

  tc = tcase_create("consensus");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, consensus_block_beside_targets);
  tcase_add_test(tc, consensus_timeout_is_its_own);
  tcase_add_test(tc, bad_consensus_is_refused_naming_the_key);
  tcase_add_test(tc, consensus_timeout_left_to_collectd_is_filled_in_later);
  tcase_add_test(tc, consensus_key_outside_its_block_is_no_option);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(collectd_conf_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
