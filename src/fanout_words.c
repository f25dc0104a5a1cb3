/* Every address, every MX host: the options' checks, and the summary a
 * target's record gives of its parts, in words and figures. */
#include "fanout.h"
#include "dialog.h"

#include <stdio.h>
#include <string.h>

static bool is_smtp(const pp_scheme *s) {
  return s->protocol != NULL && strcmp(s->protocol->scheme, "smtp") == 0;
}

int pp_fanout_validate(const pp_target *t, char *err, size_t errlen) {
  const pp_opts *o = t->opts;
  const char *name = pp_target_name(t);
  if (o->require && o->addresses != PP_ADDRESSES_ALL && !o->mx) {
    snprintf(err, errlen,
             "target \"%s\": option \"require\" counts addresses or MX "
             "hosts: it needs addresses=all or mx=yes",
             name);
    return -1;
  }
  if (!o->mx)
    return 0;
  if (!is_smtp(t->scheme)) {
    char list[128];
    pp_scheme_names(list, sizeof(list), is_smtp);
    snprintf(err, errlen,
             "target \"%s\": option \"mx\" applies to %s targets (a mail "
             "domain's MX hosts take mail over SMTP)",
             name, list);
    return -1;
  }
  if (t->host_is_ip) {
    snprintf(err, errlen,
             "target \"%s\": option \"mx\" needs a mail domain, not the "
             "address %s",
             name, t->host);
    return -1;
  }
  return 0;
}

/* "mx1.example.com (10) IPv6 2001:db8::1", "IPv4 192.0.2.1", "mx1 (10)". */
static void label(const pp_part *p, bool with_address, char *buf, size_t len) {
  int n = 0;
  if (p->mx != NULL)
    n = p->mx_preference >= 0
            ? snprintf(buf, len, "%s (%d)", p->mx, p->mx_preference)
            : snprintf(buf, len, "%s", p->mx);
  if (n < 0 || (size_t)n >= len)
    return;
  const char *fam = pp_result_family(&p->r);
  if (with_address && fam != NULL)
    snprintf(buf + n, len - (size_t)n, "%s%s %s", n ? " " : "",
             strcmp(fam, "ipv6") == 0 ? "IPv6" : "IPv4", p->r.address);
}

/* Appends each part up (or each not up) to out at *used, ", " between
 * items after start: "x refused, y ok". */
static void list_parts(const pp_part *parts, size_t n, bool up,
                       bool with_address, char *out, size_t cap, size_t start,
                       size_t *used) {
  for (size_t i = 0; i < n && *used + 1 < cap; i++) {
    if (parts[i].r.up != up)
      continue;
    char name[320], how[64];
    label(&parts[i], with_address, name, sizeof(name));
    if (up)
      snprintf(how, sizeof(how), "ok");
    else
      pp_result_summary(&parts[i].r, how, sizeof(how));
    int w = snprintf(out + *used, cap - *used, "%s%s %s",
                     *used == start ? "" : ", ", name, how);
    if (w > 0)
      *used += (size_t)w < cap - *used ? (size_t)w : cap - *used - 1;
  }
}

/* The TLS facts of the certificate that expires first, if any was seen. */
static void first_expiry(const pp_part *parts, size_t n, pp_result *r) {
  const pp_result *best = NULL;
  for (size_t i = 0; i < n; i++)
    if (parts[i].r.cert_seen &&
        (best == NULL || parts[i].r.cert_expiry_s < best->cert_expiry_s))
      best = &parts[i].r;
  if (best != NULL)
    pp_result_copy_tls(r, best);
}

pp_result_code pp_fanout_summary(const pp_target *t, const pp_part *parts,
                                 size_t n, bool implicit_mx, pp_result *r,
                                 char *detail, size_t len) {
  const pp_part *failed = NULL;
  size_t up = 0;
  for (size_t i = 0; i < n; i++) {
    up += parts[i].r.up;
    if (!parts[i].r.up && failed == NULL)
      failed = &parts[i];
  }
  r->parts_up = (uint16_t)up;
  size_t need = t->opts->require > 0 ? (size_t)t->opts->require : n;
  bool all = t->opts->addresses == PP_ADDRESSES_ALL;
  char out[2 * PP_DETAIL_MAX], required[32] = "";
  if (t->opts->require)
    snprintf(required, sizeof(required), " (%d required)", t->opts->require);
  size_t used = (size_t)snprintf(
      out, sizeof(out), "%s%zu of %zu %s up%s: ",
      implicit_mx ? "no MX, mail goes to the domain itself: " : "", up, n,
      !t->opts->mx || all ? "addresses"
      : implicit_mx       ? "hosts"
                          : "MX hosts",
      required);
  if (used >= sizeof(out))
    used = sizeof(out) - 1;
  size_t start = used;
  /* the failed ones first: a detail cut short still names them */
  list_parts(parts, n, false, all, out, sizeof(out), start, &used);
  list_parts(parts, n, true, all, out, sizeof(out), start, &used);
  if (strlen(out) >= len && len > 4)
    memcpy(out + len - 4, "...", 4);
  snprintf(detail, len, "%s", out);
  first_expiry(parts, n, r);
  if (n > 0 && up >= need)
    return PP_R_OK;
  if (failed == NULL) { /* the name has fewer addresses than required */
    r->phase = PP_PHASE_DNS;
    return PP_R_DNS_FAILED;
  }
  r->phase = failed->r.phase;
  r->sys_errno = failed->r.sys_errno;
  memcpy(r->excerpt, failed->r.excerpt, sizeof(r->excerpt));
  return failed->r.code;
}
