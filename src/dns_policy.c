/* The syntax of mail-domain policy records (RFC 7208 SPF, RFC 7489 DMARC,
 * RFC 8461 MTA-STS, RFC 8460 TLS-RPT) to the depth a monitor needs: one
 * sound record, its required tags, values in range; and the reversed
 * names of DNS blocklists (RFC 5782). */
#include "dns_policy.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int pp_dns_reverse_name(const char *addr, char *out, size_t len) {
  unsigned char b[16];
  size_t o = 0;
  if (inet_pton(AF_INET, addr, b) == 1) {
    int n = snprintf(out, len, "%u.%u.%u.%u.", b[3], b[2], b[1], b[0]);
    return n > 0 && (size_t)n < len ? 0 : -1;
  }
  if (inet_pton(AF_INET6, addr, b) != 1 || len < 65)
    return -1;
  static const char hex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; i--) {
    out[o++] = hex[b[i] & 15];
    out[o++] = '.';
    out[o++] = hex[b[i] >> 4];
    out[o++] = '.';
  }
  out[o] = 0;
  return 0;
}

int pp_policy_is(const char *txt, const char *tag) {
  size_t n = strlen(tag);
  while (*txt == ' ')
    txt++;
  return strncasecmp(txt, tag, n) == 0 &&
         (txt[n] == 0 || txt[n] == ' ' || txt[n] == ';' || txt[n] == '\t');
}

static int say(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int say(char *why, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, len, fmt, ap);
  va_end(ap);
  return -1;
}

/* --- SPF --- */

static bool valid_cidr(const char *s, int max) {
  if (*s == 0)
    return true;
  if (*s++ != '/' || !isdigit((unsigned char)*s))
    return false;
  char *end;
  long v = strtol(s, &end, 10);
  return *end == 0 && v >= 0 && v <= max;
}

/* ip4:ADDR[/n], ip6:ADDR[/n] */
static bool valid_ip(const char *v, int family) {
  char buf[64];
  size_t n = strcspn(v, "/");
  if (n == 0 || n >= sizeof(buf))
    return false;
  memcpy(buf, v, n);
  buf[n] = 0;
  unsigned char a[16];
  return inet_pton(family, buf, a) == 1 &&
         valid_cidr(v + n, family == AF_INET ? 32 : 128);
}

static bool spf_modifier_name(const char *t, size_t n) {
  if (n == 0 || !isalpha((unsigned char)t[0]))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!isalnum((unsigned char)t[i]) && !strchr("-_.", t[i]))
      return false;
  return true;
}

/* One term; *lookups counts the mechanisms that cost a DNS lookup. */
static int spf_term(const char *t, int *lookups, int *redirects, char *why,
                    size_t len) {
  const char *eq = strchr(t, '='), *colon = strchr(t, ':');
  if (eq && (!colon || eq < colon)) {
    if (!spf_modifier_name(t, (size_t)(eq - t)))
      return say(why, len, "bad modifier \"%s\"", t);
    if (strncasecmp(t, "redirect=", 9) == 0) {
      (*lookups)++;
      if (++*redirects > 1)
        return say(why, len, "more than one redirect=");
    }
    return 0;
  }
  const char *m = strchr("+-~?", *t) ? t + 1 : t;
  static const struct {
    const char *name;
    bool lookup, arg; /* costs a lookup; takes ":" */
  } mech[] = {{"all", false, false}, {"include", true, true},
              {"a", true, true},     {"mx", true, true},
              {"ptr", true, true},   {"ip4", false, true},
              {"ip6", false, true},  {"exists", true, true}};
  size_t n = strcspn(m, ":/");
  for (size_t i = 0; i < sizeof(mech) / sizeof(mech[0]); i++) {
    if (strlen(mech[i].name) != n || strncasecmp(m, mech[i].name, n) != 0)
      continue;
    const char *rest = m + n;
    *lookups += mech[i].lookup;
    if (i == 0 && *rest)
      return say(why, len, "\"all\" takes no argument: \"%s\"", t);
    if ((i == 1 || i == 7) && (*rest != ':' || !rest[1]))
      return say(why, len, "\"%s\" needs :domain", t);
    if (i == 5 && (*rest != ':' || !valid_ip(rest + 1, AF_INET)))
      return say(why, len, "bad IPv4 network \"%s\"", t);
    if (i == 6 && (*rest != ':' || !valid_ip(rest + 1, AF_INET6)))
      return say(why, len, "bad IPv6 network \"%s\"", t);
    return 0;
  }
  return say(why, len, "unknown mechanism \"%s\"", t);
}

int pp_spf_check(const char *rec, char *why, size_t len) {
  if (!pp_policy_is(rec, "v=spf1"))
    return say(why, len, "does not start with v=spf1: \"%.60s\"", rec);
  char *copy = strdup(rec);
  if (copy == NULL)
    return say(why, len, "out of memory");
  int lookups = 0, redirects = 0, rc = 0;
  char *save = NULL;
  strtok_r(copy, " ", &save); /* v=spf1 */
  for (char *t = strtok_r(NULL, " ", &save); t && rc == 0;
       t = strtok_r(NULL, " ", &save))
    rc = spf_term(t, &lookups, &redirects, why, len);
  free(copy);
  if (rc == 0 && lookups > 10) {
    snprintf(why, len, "%d DNS-querying terms, more than the 10 allowed",
             lookups);
    rc = -1;
  }
  return rc;
}

/* --- tag=value; lists (DMARC, MTA-STS TXT, TLS-RPT) --- */

typedef int (*tag_fn)(const char *tag, const char *value, void *ud, char *why,
                      size_t len);

/* Calls fn for each tag after the first (the version, checked by the
 * caller), spaces trimmed. */
static int each_tag(const char *rec, tag_fn fn, void *ud, char *why,
                    size_t len) {
  char *copy = strdup(rec), *save = NULL;
  if (copy == NULL)
    return say(why, len, "out of memory");
  int rc = 0, i = 0;
  for (char *t = strtok_r(copy, ";", &save); t && rc == 0;
       t = strtok_r(NULL, ";", &save), i++) {
    while (isspace((unsigned char)*t))
      t++;
    char *end = t + strlen(t);
    while (end > t && isspace((unsigned char)end[-1]))
      *--end = 0;
    if (*t == 0 || i == 0)
      continue;
    char *eq = strchr(t, '=');
    if (eq == NULL) {
      rc = say(why, len, "tag without value: \"%s\"", t);
      break;
    }
    *eq = 0;
    char *v = eq + 1, *k_end = eq;
    while (k_end > t && isspace((unsigned char)k_end[-1]))
      *--k_end = 0;
    while (isspace((unsigned char)*v))
      v++;
    rc = fn(t, v, ud, why, len);
  }
  free(copy);
  return rc;
}

static bool one_of(const char *v, const char *const *set) {
  for (; *set; set++)
    if (strcasecmp(v, *set) == 0)
      return true;
  return false;
}

/* A comma-separated list of URIs, each of a scheme in schemes. */
static bool valid_uris(const char *v, const char *const *schemes) {
  if (*v == 0)
    return false;
  char *copy = strdup(v), *save = NULL;
  bool ok = copy != NULL;
  for (char *u = copy ? strtok_r(copy, ",", &save) : NULL; u && ok;
       u = strtok_r(NULL, ",", &save)) {
    while (isspace((unsigned char)*u))
      u++;
    ok = false;
    for (const char *const *s = schemes; *s && !ok; s++)
      ok = strncasecmp(u, *s, strlen(*s)) == 0 && u[strlen(*s)] != 0;
  }
  free(copy);
  return ok;
}

typedef struct {
  bool p;
} dmarc_seen;

static int dmarc_tag(const char *k, const char *v, void *ud, char *why,
                     size_t len) {
  static const char *const pol[] = {"none", "quarantine", "reject", NULL};
  static const char *const align[] = {"r", "s", NULL};
  static const char *const mailto[] = {"mailto:", NULL};
  dmarc_seen *s = ud;
  if (strcasecmp(k, "p") == 0) {
    s->p = true;
    if (!one_of(v, pol))
      return say(why, len, "p=%s: expected none, quarantine or reject", v);
  } else if (strcasecmp(k, "sp") == 0 && !one_of(v, pol)) {
    return say(why, len, "sp=%s: expected none, quarantine or reject", v);
  } else if ((strcasecmp(k, "adkim") == 0 || strcasecmp(k, "aspf") == 0) &&
             !one_of(v, align)) {
    return say(why, len, "alignment \"%s\": expected r or s", v);
  } else if (strcasecmp(k, "pct") == 0) {
    char *end;
    long n = strtol(v, &end, 10);
    if (*v == 0 || *end || n < 0 || n > 100)
      return say(why, len, "pct=%s: expected 0 to 100", v);
  } else if ((strcasecmp(k, "rua") == 0 || strcasecmp(k, "ruf") == 0) &&
             !valid_uris(v, mailto)) {
    return say(why, len, "report address \"%s\": expected mailto: URIs", v);
  }
  return 0;
}

int pp_dmarc_check(const char *rec, char *why, size_t len) {
  const char *p = rec;
  while (*p == ' ')
    p++;
  if (strncmp(p, "v=DMARC1", 8) != 0 || (p[8] != ';' && p[8] != ' ' && p[8]))
    return say(why, len, "does not start with v=DMARC1: \"%.60s\"", rec);
  dmarc_seen s = {false};
  if (each_tag(rec, dmarc_tag, &s, why, len) != 0)
    return -1;
  if (!s.p)
    return say(why, len, "p= (the policy) is missing");
  return 0;
}

static int sts_tag(const char *k, const char *v, void *ud, char *why,
                   size_t len) {
  bool *id = ud;
  if (strcmp(k, "id") != 0)
    return 0;
  size_t n = strlen(v);
  for (size_t i = 0; i < n; i++)
    if (!isalnum((unsigned char)v[i]))
      n = 0;
  if (n < 1 || n > 32)
    return say(why, len, "id=%s: expected 1 to 32 letters and digits", v);
  *id = true;
  return 0;
}

int pp_sts_txt_check(const char *rec, char *why, size_t len) {
  if (!pp_policy_is(rec, "v=STSv1") || strncmp(rec, "v=STSv1", 7) != 0)
    return say(why, len, "does not start with v=STSv1: \"%.60s\"", rec);
  bool id = false;
  if (each_tag(rec, sts_tag, &id, why, len) != 0)
    return -1;
  return id ? 0 : say(why, len, "id= is missing");
}

static int rpt_tag(const char *k, const char *v, void *ud, char *why,
                   size_t len) {
  static const char *const schemes[] = {"mailto:", "https:", NULL};
  bool *rua = ud;
  if (strcmp(k, "rua") != 0)
    return 0;
  *rua = true;
  if (!valid_uris(v, schemes))
    return say(why, len, "rua=%s: expected mailto: or https: URIs", v);
  return 0;
}

int pp_tlsrpt_check(const char *rec, char *why, size_t len) {
  if (strncmp(rec, "v=TLSRPTv1", 10) != 0 || (rec[10] && rec[10] != ';'))
    return say(why, len, "does not start with v=TLSRPTv1: \"%.60s\"", rec);
  bool rua = false;
  if (each_tag(rec, rpt_tag, &rua, why, len) != 0)
    return -1;
  return rua ? 0 : say(why, len, "rua= is missing");
}

/* --- the MTA-STS policy file --- */

typedef struct {
  bool version, max_age;
  int mx;
  char mode[16];
} sts_policy;

static int policy_line(sts_policy *p, const char *k, const char *v, char *why,
                       size_t len) {
  static const char *const modes[] = {"enforce", "testing", "none", NULL};
  if (strcmp(k, "version") == 0) {
    if (strcmp(v, "STSv1") != 0)
      return say(why, len, "version: %s, expected STSv1", v);
    p->version = true;
  } else if (strcmp(k, "mode") == 0) {
    if (!one_of(v, modes))
      return say(why, len, "mode: %s, expected enforce, testing or none", v);
    snprintf(p->mode, sizeof(p->mode), "%s", v);
  } else if (strcmp(k, "max_age") == 0) {
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*v == 0 || *end || n < 0 || n > 31557600)
      return say(why, len, "max_age: %s, expected 0 to 31557600", v);
    p->max_age = true;
  } else if (strcmp(k, "mx") == 0) {
    if (*v == 0)
      return say(why, len, "empty mx: line");
    p->mx++;
  }
  return 0;
}

int pp_sts_policy_check(const char *body, size_t blen, char *mode, char *why,
                        size_t len) {
  sts_policy p = {0};
  size_t i = 0;
  while (i < blen) {
    size_t e = i;
    while (e < blen && body[e] != '\n')
      e++;
    char line[512];
    size_t n = e - i;
    if (n > 0 && body[i + n - 1] == '\r')
      n--;
    if (n >= sizeof(line))
      return say(why, len, "policy line longer than 511 bytes");
    memcpy(line, body + i, n);
    line[n] = 0;
    i = e + 1;
    if (n == 0)
      continue;
    char *colon = strchr(line, ':');
    if (colon == NULL)
      return say(why, len, "policy line without \"key:\": \"%.60s\"", line);
    *colon = 0;
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
      v++;
    if (policy_line(&p, line, v, why, len) != 0)
      return -1;
  }
  if (!p.version)
    return say(why, len, "version: STSv1 is missing");
  if (!p.mode[0])
    return say(why, len, "mode: is missing");
  if (!p.max_age)
    return say(why, len, "max_age: is missing");
  if (p.mx == 0 && strcmp(p.mode, "none") != 0)
    return say(why, len, "no mx: line for mode %s", p.mode);
  snprintf(mode, 16, "%s", p.mode);
  return 0;
}
