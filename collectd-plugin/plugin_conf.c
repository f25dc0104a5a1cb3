/* Turns <Plugin portprobe> into targets. Keys are the core's option table
 * in collectd's CamelCase (pp_option_find ignores case and '_'); defaults,
 * names and validation are the core's (builder.c). Options set above a
 * target (in the <Plugin> block or a <Host> block) are defaults for the
 * targets below where they apply. */
#include "plugin_conf.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WHERE_MAX 256

/* Where a key that is a target's own goes, for the builder's messages. */
#define OWN_PLACE "a <Target> block"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
  return -1;
}

static bool key_is(const oconfig_item_t *ci, const char *key) {
  return strcasecmp(ci->key, key) == 0;
}

/* One value as the core's option text: strings as written, numbers in
 * their shortest form (a bare number is seconds for durations), booleans
 * as yes/no. */
static void value_text(const oconfig_value_t *v, char *buf, size_t len) {
  switch (v->type) {
  case OCONFIG_TYPE_STRING:
    snprintf(buf, len, "%s", v->value.string);
    break;
  case OCONFIG_TYPE_NUMBER:
    snprintf(buf, len, "%.15g", v->value.number);
    break;
  case OCONFIG_TYPE_BOOLEAN:
    snprintf(buf, len, "%s", v->value.boolean ? "yes" : "no");
    break;
  default:
    snprintf(buf, len, "?");
  }
}

/* The text of an option key's values: exactly one value, except Label,
 * which also takes name and value as two strings. */
static int option_text(const oconfig_item_t *ci, const pp_option *opt,
                       const char *where, char *buf, size_t len, char *err,
                       size_t errlen) {
  if (opt != NULL && opt->type == PP_OPT_LABEL && ci->values_num == 2) {
    char name[256], val[1024];
    value_text(&ci->values[0], name, sizeof(name));
    value_text(&ci->values[1], val, sizeof(val));
    snprintf(buf, len, "%s=%s", name, val);
    return 0;
  }
  if (ci->values_num != 1)
    return fail(err, errlen, "%s: option \"%s\" takes one value, got %d%s",
                where, ci->key, ci->values_num,
                opt != NULL && opt->type == PP_OPT_LABEL
                    ? " (write Label \"name\" \"value\")"
                    : "");
  if (ci->values[0].type == OCONFIG_TYPE_STRING &&
      strlen(ci->values[0].value.string) >= len)
    return fail(err, errlen, "%s: option \"%s\": value is too long", where,
                ci->key);
  value_text(&ci->values[0], buf, len);
  return 0;
}

static int string_value(const oconfig_item_t *ci, const char *where,
                        const char **out, char *err, size_t errlen) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING)
    return fail(err, errlen, "%s: \"%s\" takes one string in quotes", where,
                ci->key);
  *out = ci->values[0].value.string;
  return 0;
}

/* Reads an option set above the targets into d: the core checks the key
 * and the value now. */
static int defaults_add(pp_defaults *d, const oconfig_item_t *ci,
                        const char *where, char *err, size_t errlen) {
  const pp_option *opt = pp_option_find(ci->key);
  char text[4096];
  if (opt != NULL &&
      option_text(ci, opt, where, text, sizeof(text), err, errlen) != 0)
    return -1;
  return pp_defaults_add(d, where, OWN_PLACE, ci->key, opt ? text : "", err,
                         errlen);
}

static int check_name(const char *name, const char *what, char *err,
                      size_t errlen) {
  if (*name == 0)
    return fail(err, errlen, "%s: the name must not be empty", what);
  if (strlen(name) > PPC_NAME_MAX)
    return fail(err, errlen,
                "%s \"%s\": the name is longer than %d characters (it "
                "becomes collectd's plugin instance)",
                what, name, PPC_NAME_MAX);
  for (const char *p = name; *p; p++)
    if (*p == '/' || *p == '"' || (unsigned char)*p < 0x20)
      return fail(err, errlen,
                  "%s \"%s\": the name must not contain '/', '\"' or "
                  "control characters (it becomes collectd's plugin "
                  "instance)",
                  what, name);
  return 0;
}

/* What builds one target: where its URL comes from, the defaults above it
 * and its own block. */
typedef struct {
  const char *name;
  const char *url;
  const pp_defaults *layers[2]; /* <Plugin> defaults, then <Host> defaults */
  const oconfig_item_t *own;    /* the <Target> block, or NULL */
  const char *host_block;
} target_spec;

/* Keys of a <Target> block that are not options. */
static bool structural_key(const oconfig_item_t *ci) {
  return key_is(ci, "URL") || key_is(ci, "Service");
}

/* The <Target> block's own keys onto t. */
static int own_keys(pp_target *t, const target_spec *s, char *err,
                    size_t errlen) {
  char where[WHERE_MAX];
  snprintf(where, sizeof(where), "target \"%s\"", s->name);
  for (int i = 0; s->own != NULL && i < s->own->children_num; i++) {
    const oconfig_item_t *ci = &s->own->children[i];
    if (structural_key(ci))
      continue;
    const pp_option *opt = pp_option_find(ci->key);
    if (opt != NULL && strcmp(opt->key, "name") == 0)
      return fail(err, errlen,
                  "%s: \"%s\" is not an option here: the <Target \"name\"> "
                  "block names its target",
                  where, ci->key);
    char text[4096];
    if (option_text(ci, opt, where, text, sizeof(text), err, errlen) != 0)
      return -1;
    /* the core names the target and the key, and suggests a near key */
    if (pp_target_set(t, ci->key, text, err, errlen) != 0)
      return -1;
  }
  return 0;
}

static int build_target(ppc_config *cfg, pp_targets *pending,
                        const target_spec *s, char *err, size_t errlen) {
  char why[1024];
  if (pp_targets_has(&cfg->targets, s->name) ||
      pp_targets_has(pending, s->name))
    return fail(err, errlen,
                "target \"%s\" is defined twice (names must be unique: "
                "they are collectd's plugin instances)",
                s->name);
  pp_target *t =
      pp_build_start(s->url, s->name, s->layers, 2, why, sizeof(why));
  if (t == NULL)
    return fail(err, errlen, "target \"%s\": %s", s->name, why);
  if (own_keys(t, s, err, errlen) != 0 ||
      pp_target_set_group(t, s->host_block) != 0) {
    pp_target_free(t);
    return -1;
  }
  return pp_build_finish(pending, t, err, errlen);
}

/* "scheme://address[:port]", with IPv6 addresses in brackets. */
static void compose_url(char *buf, size_t len, const char *scheme,
                        const char *address, long port) {
  bool v6 = strchr(address, ':') != NULL && address[0] != '[';
  int n = snprintf(buf, len, "%s://%s%s%s", scheme, v6 ? "[" : "", address,
                   v6 ? "]" : "");
  if (port > 0 && n > 0 && (size_t)n < len)
    snprintf(buf + n, len - (size_t)n, ":%ld", port);
}

/* A scheme a <Host>'s Service may name: all but its ICMP check (Ping). */
static bool is_service(const pp_scheme *s) {
  return s->kind != PP_KIND_ICMP;
}

/* Service "scheme" [port] inside a <Host>: the scheme, and the port when one
 * is given (0 otherwise). */
static int service_value(const oconfig_item_t *ci, const char *where,
                         const char **scheme, long *port, char *err,
                         size_t errlen) {
  if (ci->values_num < 1 || ci->values_num > 2 ||
      ci->values[0].type != OCONFIG_TYPE_STRING)
    return fail(err, errlen,
                "%s: \"%s\" takes a scheme and an optional port, such as "
                "Service \"smtp\" or Service \"tcp\" 5432",
                where, ci->key);
  *scheme = ci->values[0].value.string;
  *port = 0;
  if (ci->values_num == 2) {
    const oconfig_value_t *v = &ci->values[1];
    char *end = NULL;
    if (v->type == OCONFIG_TYPE_NUMBER)
      *port = (long)v->value.number;
    else if (v->type == OCONFIG_TYPE_STRING)
      *port = strtol(v->value.string, &end, 10);
    if ((v->type == OCONFIG_TYPE_NUMBER && v->value.number != (double)*port) ||
        (end != NULL && *end != 0) || v->type == OCONFIG_TYPE_BOOLEAN ||
        *port < 1 || *port > 65535)
      return fail(err, errlen,
                  "%s: \"%s\": expected a port from 1 to 65535 after the "
                  "scheme",
                  where, ci->key);
  }
  const pp_scheme *sch = pp_scheme_find(*scheme);
  if (sch != NULL && sch->kind == PP_KIND_ICMP)
    return fail(err, errlen,
                "%s: \"%s\": the host's ICMP check is set with Ping true "
                "or false",
                where, ci->key);
  if (sch == NULL) {
    char known[400];
    pp_scheme_names(known, sizeof(known), is_service);
    return fail(err, errlen, "%s: \"%s\": unknown scheme \"%s\" (known: %s)",
                where, ci->key, *scheme, known);
  }
  return 0;
}

/* The name of a service check in a host block: host-scheme, with the port
 * when one was given. */
static void service_name(char *buf, size_t len, const char *host,
                         const char *scheme, long port) {
  if (port > 0)
    snprintf(buf, len, "%s-%s-%ld", host, scheme, port);
  else
    snprintf(buf, len, "%s-%s", host, scheme);
}

static int block_name(const oconfig_item_t *ci, const char *what,
                      const char **name, char *err, size_t errlen) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_STRING)
    return fail(err, errlen,
                "<%s> takes one name in quotes, such as <%s \"mail\">", ci->key,
                ci->key);
  *name = ci->values[0].value.string;
  return check_name(*name, what, err, errlen);
}

/* One child key at most, or -1 with a message. */
static int single_child(const oconfig_item_t *block, const char *key,
                        const char *where, const oconfig_item_t **out,
                        char *err, size_t errlen) {
  *out = NULL;
  for (int i = 0; i < block->children_num; i++) {
    if (!key_is(&block->children[i], key))
      continue;
    if (*out != NULL)
      return fail(err, errlen, "%s: \"%s\" is given twice", where, key);
    *out = &block->children[i];
  }
  return 0;
}

/* <Target "name"> at the top level (host == NULL) or inside <Host>. */
static int target_block(ppc_config *cfg, pp_targets *pending,
                        const oconfig_item_t *ci,
                        const pp_defaults *plugin_defs,
                        const pp_defaults *host_defs, const char *host,
                        const char *address, char *err, size_t errlen) {
  const char *short_name = NULL;
  if (block_name(ci, "target", &short_name, err, errlen) != 0)
    return -1;
  char name[PPC_NAME_MAX + 64];
  if (host != NULL)
    snprintf(name, sizeof(name), "%s-%s", host, short_name);
  else
    snprintf(name, sizeof(name), "%s", short_name);
  if (check_name(name, "target", err, errlen) != 0)
    return -1;
  char where[WHERE_MAX];
  snprintf(where, sizeof(where), "target \"%s\"", name);
  for (int i = 0; i < ci->children_num; i++)
    if (key_is(&ci->children[i], "Target") || key_is(&ci->children[i], "Host"))
      return fail(err, errlen, "%s: <%s> blocks do not nest in a <Target>",
                  where, ci->children[i].key);

  const oconfig_item_t *url_ci, *svc_ci;
  if (single_child(ci, "URL", where, &url_ci, err, errlen) != 0 ||
      single_child(ci, "Service", where, &svc_ci, err, errlen) != 0)
    return -1;
  char url[4096];
  const char *text = NULL;
  if (url_ci != NULL && svc_ci != NULL)
    return fail(err, errlen, "%s: give URL or Service, not both", where);
  if (url_ci != NULL) {
    if (string_value(url_ci, where, &text, err, errlen) != 0)
      return -1;
    snprintf(url, sizeof(url), "%s", text);
  } else if (svc_ci != NULL) {
    if (host == NULL)
      return fail(err, errlen,
                  "%s: \"Service\" works inside a <Host> block only; give "
                  "URL, such as URL \"smtp://mail.example.com\"",
                  where);
    const char *scheme;
    long port;
    if (service_value(svc_ci, where, &scheme, &port, err, errlen) != 0)
      return -1;
    compose_url(url, sizeof(url), scheme, address, port);
  } else {
    return fail(err, errlen, "%s: missing URL, such as URL \"%s\"", where,
                host != NULL ? "smtp://mail.example.com (or Service \"smtp\")"
                             : "tcp://db.example.com:5432");
  }
  target_spec s = {.name = name,
                   .url = url,
                   .layers = {plugin_defs, host_defs},
                   .own = ci,
                   .host_block = host};
  return build_target(cfg, pending, &s, err, errlen);
}

/* What a <Host> block says besides its checks. */
typedef struct {
  const char *name, *address;
  bool ping;
  pp_defaults defs;
  char where[WHERE_MAX];
} host_spec;

/* A <Host>'s settings and defaults, read before its checks (they may
 * follow the checks they affect). */
static int host_settings(const oconfig_item_t *ci, host_spec *h, char *err,
                         size_t errlen) {
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *c = &ci->children[i];
    if (key_is(c, "Target") || key_is(c, "Service"))
      continue;
    if (key_is(c, "Host"))
      return fail(err, errlen, "%s: <Host> blocks do not nest", h->where);
    if (key_is(c, "URL"))
      return fail(err, errlen,
                  "%s: \"URL\" belongs in a <Target> block; a host takes "
                  "Address and Service",
                  h->where);
    if (key_is(c, "Address")) {
      if (string_value(c, h->where, &h->address, err, errlen) != 0)
        return -1;
      continue;
    }
    if (key_is(c, "Ping")) {
      if (c->values_num != 1 || c->values[0].type != OCONFIG_TYPE_BOOLEAN)
        return fail(err, errlen, "%s: \"%s\" takes true or false", h->where,
                    c->key);
      h->ping = c->values[0].value.boolean != 0;
      continue;
    }
    if (defaults_add(&h->defs, c, h->where, err, errlen) != 0)
      return -1;
  }
  return 0;
}

/* One check of a host named host-scheme[-port]: its ping (scheme icmp) or
 * a Service line. */
static int host_check(ppc_config *cfg, pp_targets *pending, const host_spec *h,
                      const pp_defaults *plugin_defs, const char *scheme,
                      long port, char *err, size_t errlen) {
  char url[4096], name[PPC_NAME_MAX + 64];
  compose_url(url, sizeof(url), scheme, h->address, port);
  service_name(name, sizeof(name), h->name, scheme, port);
  if (check_name(name, "target", err, errlen) != 0)
    return -1;
  target_spec s = {.name = name,
                   .url = url,
                   .layers = {plugin_defs, &h->defs},
                   .host_block = h->name};
  return build_target(cfg, pending, &s, err, errlen);
}

/* <Host "name">: an ICMP check (unless Ping false) and service checks of one
 * address, named host-service. */
static int host_block(ppc_config *cfg, pp_targets *pending,
                      const oconfig_item_t *ci, const pp_defaults *plugin_defs,
                      char *err, size_t errlen) {
  host_spec h = {.ping = true};
  if (block_name(ci, "host", &h.name, err, errlen) != 0)
    return -1;
  h.address = h.name;
  snprintf(h.where, sizeof(h.where), "host \"%s\"", h.name);
  int rc = host_settings(ci, &h, err, errlen);
  if (rc == 0 && h.ping)
    rc = host_check(cfg, pending, &h, plugin_defs, "icmp", 0, err, errlen);
  for (int i = 0; rc == 0 && i < ci->children_num; i++) {
    const oconfig_item_t *c = &ci->children[i];
    if (key_is(c, "Service")) {
      const char *scheme;
      long port;
      rc = service_value(c, h.where, &scheme, &port, err, errlen);
      if (rc == 0)
        rc = host_check(cfg, pending, &h, plugin_defs, scheme, port, err,
                        errlen);
    } else if (key_is(c, "Target")) {
      rc = target_block(cfg, pending, c, plugin_defs, &h.defs, h.name,
                        h.address, err, errlen);
    }
  }
  pp_defaults_free(&h.defs);
  return rc;
}

/* Resolver, Concurrency, HTTPConcurrency: the core's engine settings, in
 * s. A number is passed as its text, so that "2.5" is refused there. */
static int engine_setting(pp_engine_settings *s, const oconfig_item_t *c,
                          const char *where, char *err, size_t errlen) {
  char text[4096], why[512];
  bool resolver = key_is(c, "Resolver");
  const char *v = NULL;
  if (resolver) {
    if (string_value(c, where, &v, err, errlen) != 0)
      return -1;
  } else if (c->values_num != 1 || c->values[0].type != OCONFIG_TYPE_NUMBER) {
    return fail(err, errlen, "%s: \"%s\" takes one number", where, c->key);
  } else {
    value_text(&c->values[0], text, sizeof(text));
    v = text;
  }
  if (resolver && s->resolver != NULL && strcmp(s->resolver, v) != 0)
    return fail(err, errlen, "%s: \"Resolver\" is set twice", where);
  if (pp_engine_setting_set(s, c->key, v, why, sizeof(why)) != 0)
    return resolver ? fail(err, errlen, "Resolver \"%s\": %s", v, why)
                    : fail(err, errlen, "%s: \"%s\": %s", where, c->key, why);
  return 0;
}

/* The block's own settings and defaults (keys other than <Target> and
 * <Host>), read before the targets they affect. */
static int block_settings(const oconfig_item_t *block, pp_engine_settings *es,
                          pp_defaults *defs, char *err, size_t errlen) {
  static const char where[] = "<Plugin portprobe>";
  for (int i = 0; i < block->children_num; i++) {
    const oconfig_item_t *c = &block->children[i];
    if (key_is(c, "Target") || key_is(c, "Host"))
      continue;
    if (key_is(c, "URL") || key_is(c, "Service") || key_is(c, "Address"))
      return fail(err, errlen, "%s: \"%s\" belongs in a %s block", where,
                  c->key, key_is(c, "URL") ? "<Target>" : "<Host>");
    int rc = pp_engine_setting_known(c->key)
                 ? engine_setting(es, c, where, err, errlen)
                 : defaults_add(defs, c, where, err, errlen);
    if (rc != 0)
      return -1;
  }
  return 0;
}

int ppc_config_add(ppc_config *cfg, const oconfig_item_t *block, char *err,
                   size_t errlen) {
  pp_targets pending = {0};
  pp_defaults defs = {0};
  /* this block's settings over the earlier blocks': committed on success */
  pp_engine_settings es = {0};
  if (cfg->engine.resolver != NULL &&
      (es.resolver = strdup(cfg->engine.resolver)) == NULL)
    return fail(err, errlen, "out of memory");
  es.concurrency = cfg->engine.concurrency;
  es.http_concurrency = cfg->engine.http_concurrency;
  int rc = block_settings(block, &es, &defs, err, errlen);
  for (int i = 0; rc == 0 && i < block->children_num; i++) {
    const oconfig_item_t *c = &block->children[i];
    if (key_is(c, "Target"))
      rc = target_block(cfg, &pending, c, &defs, NULL, NULL, NULL, err, errlen);
    else if (key_is(c, "Host"))
      rc = host_block(cfg, &pending, c, &defs, err, errlen);
  }
  if (rc == 0 && pp_targets_merge(&cfg->targets, &pending, err, errlen) != 0)
    rc = -1;
  if (rc == 0) {
    pp_engine_settings_free(&cfg->engine);
    cfg->engine = es;
    es = (pp_engine_settings){0};
  }
  pp_engine_settings_free(&es);
  pp_targets_free(&pending);
  pp_defaults_free(&defs);
  return rc;
}

void ppc_config_free(ppc_config *cfg) {
  pp_targets_free(&cfg->targets);
  pp_engine_settings_free(&cfg->engine);
}
