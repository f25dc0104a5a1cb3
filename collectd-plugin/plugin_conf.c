/* Turns <Plugin portprobe> into targets. Keys are the core's option table
 * in collectd's CamelCase (pp_option_find ignores case and '_'); validation
 * is the core's. Options set above a target (in the <Plugin> block or a
 * <Host> block) are defaults for the targets below where they apply. */
#include "plugin_conf.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WHERE_MAX 256

/* An option set above the targets, validated once when read. */
typedef struct {
  const pp_option *opt;
  char *value;
} deflt;

typedef struct {
  deflt *items;
  size_t n;
} deflist;

static void deflist_free(deflist *d) {
  for (size_t i = 0; i < d->n; i++)
    free(d->items[i].value);
  free(d->items);
  d->items = NULL;
  d->n = 0;
}

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

static int unknown_option(const oconfig_item_t *ci, const char *where,
                          char *err, size_t errlen) {
  const char *hint = pp_option_suggest(ci->key);
  return fail(err, errlen, "%s: unknown option \"%s\"%s%s%s", where, ci->key,
              hint ? " (did you mean \"" : "", hint ? hint : "",
              hint ? "\"?)" : "");
}

/* Reads an option set above the targets: known key, valid value. */
static int deflist_add(deflist *d, const oconfig_item_t *ci, const char *where,
                       char *err, size_t errlen) {
  const pp_option *opt = pp_option_find(ci->key);
  if (opt == NULL)
    return unknown_option(ci, where, err, errlen);
  if (strcmp(opt->key, "name") == 0)
    return fail(err, errlen,
                "%s: \"%s\" belongs to no block: a <Target \"name\"> block "
                "names its target",
                where, ci->key);
  if (opt->type == PP_OPT_STEP)
    return fail(err, errlen,
                "%s: option \"%s\" belongs in a <Target> block (it is one "
                "step of that target's dialog)",
                where, ci->key);
  char text[4096];
  if (option_text(ci, opt, where, text, sizeof(text), err, errlen) != 0)
    return -1;
  pp_opts scratch;
  pp_opts_init(&scratch);
  char why[512];
  int rc = pp_option_set(opt, &scratch, text, why, sizeof(why));
  pp_opts_free(&scratch);
  if (rc != 0)
    return fail(err, errlen, "%s: %s", where, why);
  deflt *items = realloc(d->items, (d->n + 1) * sizeof(*items));
  if (items == NULL)
    return fail(err, errlen, "out of memory");
  d->items = items;
  if ((items[d->n].value = strdup(text)) == NULL)
    return fail(err, errlen, "out of memory");
  items[d->n].opt = opt;
  d->n++;
  return 0;
}

static bool name_taken(const ppc_config *a, const ppc_config *b,
                       const char *name) {
  const ppc_config *lists[] = {a, b};
  for (size_t l = 0; l < 2; l++)
    for (size_t i = 0; i < lists[l]->n; i++)
      if (strcmp(pp_target_name(lists[l]->items[i].target), name) == 0)
        return true;
  return false;
}

static int list_add(ppc_config *l, pp_target *t, const char *host_block) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    ppc_item *items = realloc(l->items, cap * sizeof(*items));
    if (items == NULL)
      return -1;
    l->items = items;
    l->cap = cap;
  }
  char *hb = NULL;
  if (host_block != NULL && (hb = strdup(host_block)) == NULL)
    return -1;
  l->items[l->n++] = (ppc_item){.target = t, .host_block = hb};
  return 0;
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
  const deflist *layers[2];  /* <Plugin> defaults, then <Host> defaults */
  const oconfig_item_t *own; /* the <Target> block, or NULL */
  const char *host_block;
} target_spec;

/* Keys of a <Target> block that are not options. */
static bool structural_key(const oconfig_item_t *ci) {
  return key_is(ci, "URL") || key_is(ci, "Service");
}

static int build_target(ppc_config *cfg, ppc_config *pending,
                        const target_spec *s, char *err, size_t errlen) {
  char why[1024];
  if (name_taken(cfg, pending, s->name))
    return fail(err, errlen,
                "target \"%s\" is defined twice (names must be unique: "
                "they are collectd's plugin instances)",
                s->name);
  pp_target *t = pp_target_new(s->url, why, sizeof(why));
  if (t == NULL)
    return fail(err, errlen, "target \"%s\": %s", s->name, why);
  if (pp_target_set(t, "name", s->name, why, sizeof(why)) != 0)
    goto failed;
  for (size_t l = 0; l < 2; l++) {
    const deflist *d = s->layers[l];
    for (size_t i = 0; d != NULL && i < d->n; i++) {
      if (!pp_target_option_applies(t, d->items[i].opt))
        continue;
      if (pp_target_set(t, d->items[i].opt->key, d->items[i].value, why,
                        sizeof(why)) != 0)
        goto failed;
    }
  }
  for (int i = 0; s->own != NULL && i < s->own->children_num; i++) {
    const oconfig_item_t *ci = &s->own->children[i];
    if (structural_key(ci))
      continue;
    const pp_option *opt = pp_option_find(ci->key);
    char where[WHERE_MAX];
    snprintf(where, sizeof(where), "target \"%s\"", s->name);
    if (opt != NULL && strcmp(opt->key, "name") == 0) {
      fail(err, errlen,
           "%s: \"%s\" is not an option here: the <Target \"name\"> block "
           "names its target",
           where, ci->key);
      pp_target_free(t);
      return -1;
    }
    char text[4096];
    if (option_text(ci, opt, where, text, sizeof(text), err, errlen) != 0) {
      pp_target_free(t);
      return -1;
    }
    /* the core names the target and the key, and suggests a near key */
    if (pp_target_set(t, ci->key, text, why, sizeof(why)) != 0)
      goto failed;
  }
  if (pp_target_finalize(t, why, sizeof(why)) != 0)
    goto failed;
  if (list_add(pending, t, s->host_block) != 0) {
    pp_target_free(t);
    return fail(err, errlen, "out of memory");
  }
  return 0;

failed:
  snprintf(err, errlen, "%s", why);
  pp_target_free(t);
  return -1;
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
  if (strcasecmp(*scheme, "icmp") == 0 || strcasecmp(*scheme, "ping") == 0)
    return fail(err, errlen,
                "%s: \"%s\": the host's ICMP check is set with Ping true "
                "or false",
                where, ci->key);
  if (pp_scheme_find(*scheme) == NULL)
    return fail(err, errlen,
                "%s: \"%s\": unknown scheme \"%s\" (known: tcp, tls, smtp, "
                "submission, smtps, imap, imaps, pop3, pop3s, http, https, "
                "ssh, ftp, redis)",
                where, ci->key, *scheme);
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
static int target_block(ppc_config *cfg, ppc_config *pending,
                        const oconfig_item_t *ci, const deflist *plugin_defs,
                        const deflist *host_defs, const char *host,
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

/* <Host "name">: an ICMP check (unless Ping false) and service checks of one
 * address, named host-service. */
static int host_block(ppc_config *cfg, ppc_config *pending,
                      const oconfig_item_t *ci, const deflist *plugin_defs,
                      char *err, size_t errlen) {
  const char *host = NULL;
  if (block_name(ci, "host", &host, err, errlen) != 0)
    return -1;
  char where[WHERE_MAX];
  snprintf(where, sizeof(where), "host \"%s\"", host);
  const char *address = host;
  bool ping = true;
  deflist defs = {0};
  int rc = -1;

  /* settings and defaults first: they may follow the checks they affect */
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *c = &ci->children[i];
    if (key_is(c, "Target") || key_is(c, "Service"))
      continue;
    if (key_is(c, "Host")) {
      fail(err, errlen, "%s: <Host> blocks do not nest", where);
      goto out;
    }
    if (key_is(c, "URL")) {
      fail(err, errlen,
           "%s: \"URL\" belongs in a <Target> block; a host takes Address "
           "and Service",
           where);
      goto out;
    }
    if (key_is(c, "Address")) {
      if (string_value(c, where, &address, err, errlen) != 0)
        goto out;
      continue;
    }
    if (key_is(c, "Ping")) {
      if (c->values_num != 1 || c->values[0].type != OCONFIG_TYPE_BOOLEAN) {
        fail(err, errlen, "%s: \"%s\" takes true or false", where, c->key);
        goto out;
      }
      ping = c->values[0].value.boolean != 0;
      continue;
    }
    if (deflist_add(&defs, c, where, err, errlen) != 0)
      goto out;
  }

  char url[4096], name[PPC_NAME_MAX + 64];
  if (ping) {
    compose_url(url, sizeof(url), "icmp", address, 0);
    service_name(name, sizeof(name), host, "icmp", 0);
    if (check_name(name, "target", err, errlen) != 0)
      goto out;
    target_spec s = {.name = name,
                     .url = url,
                     .layers = {plugin_defs, &defs},
                     .host_block = host};
    if (build_target(cfg, pending, &s, err, errlen) != 0)
      goto out;
  }
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *c = &ci->children[i];
    if (key_is(c, "Service")) {
      const char *scheme;
      long port;
      if (service_value(c, where, &scheme, &port, err, errlen) != 0)
        goto out;
      compose_url(url, sizeof(url), scheme, address, port);
      service_name(name, sizeof(name), host, scheme, port);
      if (check_name(name, "target", err, errlen) != 0)
        goto out;
      target_spec s = {.name = name,
                       .url = url,
                       .layers = {plugin_defs, &defs},
                       .host_block = host};
      if (build_target(cfg, pending, &s, err, errlen) != 0)
        goto out;
    } else if (key_is(c, "Target")) {
      if (target_block(cfg, pending, c, plugin_defs, &defs, host, address, err,
                       errlen) != 0)
        goto out;
    }
  }
  rc = 0;
out:
  deflist_free(&defs);
  return rc;
}

/* A resolver list is checked by making (and dropping) an engine with it, so
 * that a typo stops collectd at start rather than failing every round. */
static int check_resolver(const char *resolver, char *err, size_t errlen) {
  char why[512];
  pp_engine_config ec = {.resolver = resolver};
  pp_engine *e = pp_engine_new(&ec, why, sizeof(why));
  if (e == NULL)
    return fail(err, errlen, "Resolver \"%s\": %s", resolver, why);
  pp_engine_free(e);
  return 0;
}

int ppc_config_add(ppc_config *cfg, const oconfig_item_t *block, char *err,
                   size_t errlen) {
  static const char where[] = "<Plugin portprobe>";
  ppc_config pending = {0};
  deflist defs = {0};
  const char *resolver = NULL;
  size_t concurrency = 0, http_concurrency = 0;
  int rc = -1;

  for (int i = 0; i < block->children_num; i++) {
    const oconfig_item_t *c = &block->children[i];
    if (key_is(c, "Target") || key_is(c, "Host"))
      continue;
    if (key_is(c, "URL") || key_is(c, "Service") || key_is(c, "Address")) {
      fail(err, errlen, "%s: \"%s\" belongs in a %s block", where, c->key,
           key_is(c, "URL") ? "<Target>" : "<Host>");
      goto out;
    }
    if (key_is(c, "Resolver")) {
      if (string_value(c, where, &resolver, err, errlen) != 0)
        goto out;
      if (cfg->resolver != NULL && strcmp(cfg->resolver, resolver) != 0) {
        fail(err, errlen, "%s: \"Resolver\" is set twice", where);
        goto out;
      }
      if (check_resolver(resolver, err, errlen) != 0)
        goto out;
      continue;
    }
    if (key_is(c, "Concurrency") || key_is(c, "HTTPConcurrency")) {
      bool http = key_is(c, "HTTPConcurrency");
      if (c->values_num != 1 || c->values[0].type != OCONFIG_TYPE_NUMBER ||
          c->values[0].value.number < 1 ||
          c->values[0].value.number > 1000000 ||
          c->values[0].value.number !=
              (double)(long)c->values[0].value.number) {
        fail(err, errlen,
             "%s: \"%s\": expected a whole number from 1 to 1000000 (%s "
             "in flight at once per interval group)",
             where, c->key, http ? "HTTP(S) checks" : "checks");
        goto out;
      }
      *(http ? &http_concurrency : &concurrency) =
          (size_t)c->values[0].value.number;
      continue;
    }
    if (deflist_add(&defs, c, where, err, errlen) != 0)
      goto out;
  }
  for (int i = 0; i < block->children_num; i++) {
    const oconfig_item_t *c = &block->children[i];
    int r = 0;
    if (key_is(c, "Target"))
      r = target_block(cfg, &pending, c, &defs, NULL, NULL, NULL, err, errlen);
    else if (key_is(c, "Host"))
      r = host_block(cfg, &pending, c, &defs, err, errlen);
    if (r != 0)
      goto out;
  }

  /* commit: move the new targets over */
  if (resolver != NULL && cfg->resolver == NULL &&
      (cfg->resolver = strdup(resolver)) == NULL) {
    fail(err, errlen, "out of memory");
    goto out;
  }
  if (concurrency != 0)
    cfg->concurrency = concurrency;
  if (http_concurrency != 0)
    cfg->http_concurrency = http_concurrency;
  for (size_t i = 0; i < pending.n; i++) {
    if (list_add(cfg, pending.items[i].target, pending.items[i].host_block) !=
        0) {
      fail(err, errlen, "out of memory");
      goto out;
    }
    pending.items[i].target = NULL; /* now cfg's */
  }
  rc = 0;
out:
  for (size_t i = 0; i < pending.n; i++) {
    pp_target_free(pending.items[i].target);
    free(pending.items[i].host_block);
  }
  free(pending.items);
  deflist_free(&defs);
  return rc;
}

void ppc_config_free(ppc_config *cfg) {
  for (size_t i = 0; i < cfg->n; i++) {
    pp_target_free(cfg->items[i].target);
    free(cfg->items[i].host_block);
  }
  free(cfg->items);
  free(cfg->resolver);
  memset(cfg, 0, sizeof(*cfg));
}
