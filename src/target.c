/* URL parsing and target-level validation; each kind's own checks and
 * per-target data come from its descriptor (check_core.h). */
#include "target.h"
#include "check_core.h"
#include "fanout.h"
#include "mail_trip.h"
#include "tls_check.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The options a target's kind uses; a scheme with TLS adds the TLS ones. */
static unsigned applies_to(const pp_target *t) {
  return pp_kind_ops(t->kind)->applies |
         (t->scheme->tls != PP_TLS_NONE ? PP_APPLY_TLS : 0u);
}

bool pp_target_option_applies(const pp_target *t, const pp_option *opt) {
  /* send/expect make a tcp target a dialog: they apply to it */
  if (opt->type == PP_OPT_STEP && t->kind == PP_KIND_TCP)
    return true;
  return (opt->applies & applies_to(t)) != 0;
}

static bool valid_hostname(const char *h) {
  size_t len = strlen(h);
  if (len == 0 || len > 253)
    return false;
  size_t label = 0;
  for (const char *p = h; *p; p++) {
    if (*p == '.') {
      if (label == 0)
        return false;
      label = 0;
      continue;
    }
    if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
      return false;
    if (++label > 63)
      return false;
  }
  return true;
}

/* What comes before the last '@' after the scheme may be a password, and a
 * password may hold '@', '/', '?' or '#': the first '@' is no end to it,
 * nor is a '/'. */
void pp_url_shown(const char *url, char *out, size_t len) {
  const char *sep = strstr(url, "://");
  const char *start = sep ? sep + 3 : url;
  const char *at = strrchr(start, '@');
  if (at == NULL)
    snprintf(out, len, "%s", url);
  else
    snprintf(out, len, "%.*s****%s", (int)(start - url), url, at);
}

/* The parts of pp_target_new: each fills err (naming the URL as shown,
 * without credentials) and returns false on a fault. */
#define URLFAIL(...)                                                           \
  do {                                                                         \
    snprintf(err, errlen, __VA_ARGS__);                                        \
    return false;                                                              \
  } while (0)

static bool parse_scheme(pp_target *t, const char *url, const char *shown,
                         char *err, size_t errlen) {
  const char *sep = strstr(url, "://");
  if (sep == NULL)
    URLFAIL("URL \"%s\": expected scheme://host[:port], such as "
            "tcp://db.example.com:5432",
            shown);
  char scheme[24];
  size_t slen = (size_t)(sep - url);
  if (slen == 0 || slen >= sizeof(scheme))
    URLFAIL("URL \"%s\": missing or unknown scheme", shown);
  memcpy(scheme, url, slen);
  scheme[slen] = 0;
  if ((t->scheme = pp_scheme_find(scheme)) == NULL) {
    char known[400];
    pp_scheme_names(known, sizeof(known), NULL);
    URLFAIL("URL \"%s\": unknown scheme \"%s\" (known: %s)", shown, scheme,
            known);
  }
  t->kind = t->scheme->kind;
  return true;
}

/* Splits host[:port] or [v6][:port] in p..auth_end: the host's span and
 * where the port starts (NULL when none is given). */
static bool split_authority(const char *p, const char *auth_end,
                            const char **host_start, const char **host_end,
                            const char **port_str, const char *shown, char *err,
                            size_t errlen) {
  *host_start = p;
  *port_str = NULL;
  if (*p == '[') {
    const char *close = memchr(p, ']', (size_t)(auth_end - p));
    if (close == NULL)
      URLFAIL("URL \"%s\": unclosed '[' in IPv6 address", shown);
    *host_start = p + 1;
    *host_end = close;
    if (close + 1 < auth_end) {
      if (close[1] != ':')
        URLFAIL("URL \"%s\": expected ':' after ']'", shown);
      *port_str = close + 2;
    }
    return true;
  }
  const char *colon = memchr(p, ':', (size_t)(auth_end - p));
  if (colon && memchr(colon + 1, ':', (size_t)(auth_end - colon - 1)))
    URLFAIL("URL \"%s\": write IPv6 addresses in brackets, such as "
            "tcp://[::1]:22",
            shown);
  *host_end = colon ? colon : auth_end;
  if (colon)
    *port_str = colon + 1;
  return true;
}

/* t->host: an address (bracketed when IPv6) or a valid host name. */
static bool check_host(pp_target *t, bool bracketed, const char *shown,
                       char *err, size_t errlen) {
  struct in6_addr a6;
  struct in_addr a4;
  if (bracketed) {
    if (inet_pton(AF_INET6, t->host, &a6) != 1)
      URLFAIL("URL \"%s\": \"%s\" is not an IPv6 address", shown, t->host);
    t->host_is_ip = true;
  } else if (inet_pton(AF_INET, t->host, &a4) == 1) {
    t->host_is_ip = true;
  } else if (strchr(t->host, ':') != NULL) {
    URLFAIL("URL \"%s\": write IPv6 addresses in brackets, such as "
            "tcp://[::1]:22",
            shown);
  } else if (!valid_hostname(t->host)) {
    URLFAIL("URL \"%s\": \"%s\" is not a valid host name", shown, t->host);
  }
  return true;
}

/* The port given in port_str..auth_end, or the scheme's default. */
static bool parse_port(pp_target *t, const char *port_str, const char *auth_end,
                       const char *shown, char *err, size_t errlen) {
  if (port_str == NULL) {
    t->port = t->scheme->default_port;
    if (t->port == 0 && t->kind != PP_KIND_ICMP)
      URLFAIL("URL \"%s\": %s targets need a port, such as %s://%s:443", shown,
              t->scheme->name, t->scheme->name, t->host);
    return true;
  }
  if (t->kind == PP_KIND_ICMP)
    URLFAIL("URL \"%s\": icmp targets have no port", shown);
  size_t plen = (size_t)(auth_end - port_str);
  long port = 0;
  if (plen == 0 || plen > 5)
    URLFAIL("URL \"%s\": expected a port from 1 to 65535", shown);
  for (size_t i = 0; i < plen; i++) {
    if (!isdigit((unsigned char)port_str[i]))
      URLFAIL("URL \"%s\": expected a port from 1 to 65535", shown);
    port = port * 10 + (port_str[i] - '0');
  }
  if (port < 1 || port > 65535)
    URLFAIL("URL \"%s\": expected a port from 1 to 65535", shown);
  t->port = (uint16_t)port;
  t->port_given = true;
  return true;
}

/* What follows the authority: an HTTP path and query (a bare ?query gets
 * the path "/"); nothing, or a lone "/", for every other kind. */
static bool parse_rest(pp_target *t, const char *rest, const char *shown,
                       char *err, size_t errlen) {
  if (t->kind != PP_KIND_HTTP) {
    if (*rest == '?')
      URLFAIL("URL \"%s\": options are separate keys (such as timeout=2s), "
              "not a ?query",
              shown);
    if (*rest != 0 && strcmp(rest, "/") != 0)
      URLFAIL("URL \"%s\": %s targets take no path", shown, t->scheme->name);
    return true;
  }
  const char *frag = strchr(rest, '#');
  size_t rlen = frag ? (size_t)(frag - rest) : strlen(rest);
  if (rlen == 0)
    t->path = strdup("/");
  else if (*rest == '?') {
    t->path = malloc(rlen + 2);
    if (t->path) {
      t->path[0] = '/';
      memcpy(t->path + 1, rest, rlen);
      t->path[rlen + 1] = 0;
    }
  } else
    t->path = strndup(rest, rlen);
  if (t->path == NULL)
    URLFAIL("out of memory");
  for (const char *q = t->path; *q; q++)
    if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f)
      URLFAIL("URL \"%s\": spaces and control characters must be "
              "percent-encoded",
              shown);
  return true;
}

static bool parse_url(pp_target *t, const char *url, const char *shown,
                      char *err, size_t errlen) {
  if (!parse_scheme(t, url, shown, err, errlen))
    return false;
  const char *p = strstr(url, "://") + 3;
  const char *auth_end = p + strcspn(p, "/?#");
  /* only http has a path, where '@' may be; elsewhere any '@' is after a
   * user name, and the password before it may hold '/', '?' or '#' */
  if (t->kind == PP_KIND_HTTP ? memchr(p, '@', (size_t)(auth_end - p)) != NULL
                              : strchr(p, '@') != NULL)
    URLFAIL("URL \"%s\": credentials do not belong in the URL; use the "
            "username and password_file options",
            shown);
  const char *host_start, *host_end, *port_str;
  if (!split_authority(p, auth_end, &host_start, &host_end, &port_str, shown,
                       err, errlen))
    return false;
  size_t hlen = (size_t)(host_end - host_start);
  /* dns:// with no server asks the system's resolver (resolv.conf): no name
   * to check, the kind reads the servers */
  bool system_resolver = hlen == 0 && t->kind == PP_KIND_DNS && *p != '[';
  if (hlen == 0 && !system_resolver)
    URLFAIL("URL \"%s\": missing host", shown);
  if ((t->host = strndup(host_start, hlen)) == NULL)
    URLFAIL("out of memory");
  if (!system_resolver && !check_host(t, *p == '[', shown, err, errlen))
    return false;
  return parse_port(t, port_str, auth_end, shown, err, errlen) &&
         parse_rest(t, auth_end, shown, err, errlen);
}

pp_target *pp_target_new(const char *url, char *err, size_t errlen) {
  char shown[512];
  pp_url_shown(url, shown, sizeof(shown));
  pp_target *t = calloc(1, sizeof(*t));
  if (t == NULL) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  if ((t->opts = malloc(sizeof(*t->opts))) != NULL)
    pp_opts_init(t->opts);
  if (t->opts == NULL || (t->url = strdup(url)) == NULL) {
    snprintf(err, errlen, "out of memory");
    pp_target_free(t);
    return NULL;
  }
  if (!parse_url(t, url, shown, err, errlen)) {
    pp_target_free(t);
    return NULL;
  }
  return t;
}

void pp_target_free(pp_target *t) {
  if (t == NULL)
    return;
  if (t->check_data_free && t->check_data)
    t->check_data_free(t->check_data);
  if (t->opts_shared) {
    pp_opts_unshare(t->opts);
  } else if (t->opts != NULL) {
    pp_opts_free(t->opts);
    free(t->opts);
  }
  pp_target_free(t->fetch);
  free(t->name);
  free(t->group);
  free(t->url);
  free(t->host);
  free(t->path);
  free(t);
}

int pp_target_set_group(pp_target *t, const char *group) {
  char *dup = group ? strdup(group) : NULL;
  if (group != NULL && dup == NULL)
    return -1;
  free(t->group);
  t->group = dup;
  return 0;
}

int64_t pp_target_longest_ms(const pp_target *t) {
  const pp_opts *o = t->opts;
  if (t->fetch != NULL) /* the last mailbox session may start at the end */
    return 2 * o->timeout_ms + o->delivery_timeout_ms + 1000;
  return o->timeout_ms;
}

const char *pp_target_name_option(const pp_target *t) {
  /* in the options until finalize (and after a set), then the target's */
  return t->opts->name ? t->opts->name : t->name;
}

const char *pp_target_name(const pp_target *t) {
  const char *name = pp_target_name_option(t);
  return name ? name : t->url;
}

/* The target's options as its own, to write: a copy of the shared block. */
static int own_opts(pp_target *t) {
  if (!t->opts_shared)
    return 0;
  pp_opts *mine = malloc(sizeof(*mine));
  if (mine == NULL || pp_opts_copy(mine, t->opts) != 0) {
    free(mine);
    return -1;
  }
  pp_opts_unshare(t->opts);
  t->opts = mine;
  t->opts_shared = false;
  return 0;
}

/* From here on the target's options are read only: its name goes to the
 * target, the rest to the block it shares with targets of equal options
 * (kept its own when memory is short: correct, only bigger). */
static void share_opts(pp_target *t) {
  if (t->opts_shared)
    return;
  if (t->opts->name != NULL) {
    free(t->name);
    t->name = t->opts->name;
    t->opts->name = NULL;
  }
  const pp_opts *s = pp_opts_share(t->opts);
  if (s != NULL) {
    t->opts = (pp_opts *)s;
    t->opts_shared = true;
  }
}

int pp_target_set(pp_target *t, const char *key, const char *value, char *err,
                  size_t errlen) {
  const pp_option *opt = pp_option_find(key);
  if (opt == NULL) {
    char why[256];
    pp_option_unknown(key, why, sizeof(why));
    snprintf(err, errlen, "target \"%s\": %s", pp_target_name(t), why);
    return -1;
  }
  if (!pp_target_option_applies(t, opt)) {
    snprintf(err, errlen,
             "target \"%s\": option \"%s\" does not apply to %s targets",
             pp_target_name(t), opt->key, t->scheme->name);
    return -1;
  }
  char why[400];
  if (own_opts(t) != 0) {
    snprintf(err, errlen, "target \"%s\": out of memory", pp_target_name(t));
    return -1;
  }
  if (pp_option_set(opt, t->opts, value, why, sizeof(why)) != 0) {
    snprintf(err, errlen, "target \"%s\": %s", pp_target_name(t), why);
    return -1;
  }
  /* send/expect turn a plain tcp target into a dialog */
  if (opt->type == PP_OPT_STEP && t->kind == PP_KIND_TCP)
    t->kind = PP_KIND_DIALOG;
  return 0;
}

/* A file option naming something that exists must name a regular file: a
 * FIFO would block the check that opens it (and its round) until a writer
 * came. A missing file is the check's failure, when it reads the file. */
static int regular_or_absent(const pp_target *t, const char *key,
                             const char *path, char *err, size_t errlen) {
  struct stat st;
  if (path == NULL || stat(path, &st) != 0 || S_ISREG(st.st_mode))
    return 0;
  snprintf(err, errlen,
           "target \"%s\": option \"%s\": %s is %s, not a regular file",
           pp_target_name(t), key, path,
           S_ISDIR(st.st_mode)    ? "a directory"
           : S_ISFIFO(st.st_mode) ? "a FIFO"
                                  : "a device or socket");
  return -1;
}

/* Every option that names a file a check opens. */
static int check_files(const pp_target *t, char *err, size_t errlen) {
  const pp_opts *o = t->opts;
  const struct {
    const char *key, *path;
  } files[] = {
      {"ca_file", o->ca_file},
      {"password_file", o->password_file},
      {"client_cert", o->client_cert},
      {"client_key", o->client_key},
      {"client_key_password_file", o->client_key_password_file},
      {"body_file", o->body_file},
      {"bearer_token_file", o->bearer_token_file},
      {"proxy_password_file", o->proxy_password_file},
      {"trust_anchor", o->trust_anchor},
  };
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
    if (regular_or_absent(t, files[i].key, files[i].path, err, errlen) != 0)
      return -1;
  return 0;
}

/* What every kind checks: options against each other. */
static int check_common(const pp_target *t, char *err, size_t errlen) {
  const pp_opts *o = t->opts;
  const char *name = pp_target_name(t);
  if (check_files(t, err, errlen) != 0)
    return -1;
  if (o->connect_timeout_ms > o->timeout_ms) {
    snprintf(err, errlen,
             "target \"%s\": connect_timeout (%lldms) is longer than timeout "
             "(%lldms)",
             name, (long long)o->connect_timeout_ms, (long long)o->timeout_ms);
    return -1;
  }
  if (o->expect_closed && t->kind != PP_KIND_TCP) {
    snprintf(err, errlen,
             "target \"%s\": expect_closed works on plain tcp targets only",
             name);
    return -1;
  }
  if (o->cert_crit_days > o->cert_warn_days) {
    snprintf(err, errlen,
             "target \"%s\": cert_crit_days (%d) is more than cert_warn_days "
             "(%d)",
             name, o->cert_crit_days, o->cert_warn_days);
    return -1;
  }
  if (o->flap_low >= o->flap_high) {
    snprintf(err, errlen,
             "target \"%s\": flap_low (%g) must be below flap_high (%g)", name,
             o->flap_low, o->flap_high);
    return -1;
  }
  if (o->slow_warn_ms && o->slow_crit_ms && o->slow_crit_ms < o->slow_warn_ms) {
    snprintf(err, errlen, "target \"%s\": slow_crit is below slow_warn", name);
    return -1;
  }
  if (!(o->loss_warn <= o->loss_bad && o->loss_bad <= o->loss_crit) ||
      !(o->rtt_warn_ms <= o->rtt_bad_ms && o->rtt_bad_ms <= o->rtt_crit_ms) ||
      !(o->jitter_warn_ms <= o->jitter_bad_ms &&
        o->jitter_bad_ms <= o->jitter_crit_ms)) {
    snprintf(err, errlen,
             "target \"%s\": quality thresholds must rise from warn to bad "
             "to crit",
             name);
    return -1;
  }
  if ((o->username == NULL) != (o->password_file == NULL)) {
    snprintf(err, errlen,
             "target \"%s\": username and password_file go together", name);
    return -1;
  }
  return 0;
}

static bool has_starttls(const pp_scheme *s) {
  return s->tls == PP_TLS_STARTTLS;
}

/* starttls as the check will use it: the scheme's default unless set. */
static int resolve_starttls(pp_target *t, char *err, size_t errlen) {
  const pp_opts *o = t->opts;
  if (t->scheme->tls == PP_TLS_STARTTLS) {
    t->starttls = o->starttls == PP_STARTTLS_DEFAULT
                      ? t->scheme->starttls_default
                      : o->starttls;
  } else {
    if (o->starttls != PP_STARTTLS_DEFAULT && o->starttls != PP_STARTTLS_NO) {
      char list[256];
      pp_scheme_names(list, sizeof(list), has_starttls);
      snprintf(err, errlen,
               "target \"%s\": option \"starttls\" needs a scheme with "
               "STARTTLS (%s)",
               pp_target_name(t), list);
      return -1;
    }
    t->starttls = PP_STARTTLS_NO;
  }
  return 0;
}

int pp_target_finalize(pp_target *t, char *err, size_t errlen) {
  if (check_common(t, err, errlen) != 0 ||
      resolve_starttls(t, err, errlen) != 0 ||
      pp_fanout_validate(t, err, errlen) != 0 ||
      pp_mail_prepare(t, err, errlen) != 0)
    return -1;
  if (t->kind != PP_KIND_ICMP && pp_tls_validate(t, err, errlen) != 0)
    return -1; /* TLS options: one rule for every kind that speaks TLS */
  const pp_check_ops *kind = pp_kind_ops(t->kind);
  if (kind->validate != NULL && kind->validate(t, err, errlen) != 0)
    return -1;
  share_opts(t); /* before prepare, whose data may point into them */
  if (t->check_data_free != NULL && t->check_data != NULL)
    t->check_data_free(t->check_data); /* finalized again: made anew */
  t->check_data = NULL;
  t->check_data_free = NULL;
  if (kind->prepare != NULL) {
    if ((t->check_data = kind->prepare(t, err, errlen)) == NULL)
      return -1;
    t->check_data_free = kind->data_free;
  }
  t->finalized = true;
  return 0;
}
