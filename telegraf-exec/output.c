/* Formats result records. Field names here are the schema documented in the
 * README; change both together. */
#include "output.h"

#include "hosts.h"
#include "nagios.h"

#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int pp_format_parse(const char *s, pp_format *fmt) {
  if (strcmp(s, "text") == 0)
    *fmt = PP_FMT_TEXT;
  else if (strcmp(s, "influx") == 0)
    *fmt = PP_FMT_INFLUX;
  else if (strcmp(s, "json") == 0)
    *fmt = PP_FMT_JSON;
  else if (strcmp(s, "nagios") == 0)
    *fmt = PP_FMT_NAGIOS;
  else
    return -1;
  return 0;
}

/* --- text that is not UTF-8 ---
 * Names and labels are the user's bytes (an INI section, a collectd block)
 * and need not be UTF-8, which JSON and line protocol must be: a byte that
 * starts no valid sequence is written as U+FFFD, the replacement character,
 * as a decoder would show it. */

#define REPLACEMENT "\xef\xbf\xbd"

/* The length of the valid UTF-8 sequence at s (left bytes there), 0 when
 * there is none (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t left) {
  size_t n = s[0] < 0x80                    ? 1
             : s[0] >= 0xc2 && s[0] <= 0xdf ? 2
             : s[0] >= 0xe0 && s[0] <= 0xef ? 3
             : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                            : 0;
  if (n == 0 || n > left)
    return 0;
  for (size_t i = 1; i < n; i++)
    if ((s[i] & 0xc0) != 0x80)
      return 0;
  if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
      (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
    return 0;
  return n;
}

/* Writes the sequence at s (or U+FFFD for a bad byte); returns its length. */
static size_t put_utf8(FILE *f, const char *s, size_t left) {
  size_t n = utf8_len((const unsigned char *)s, left);
  if (n == 0) {
    fputs(REPLACEMENT, f);
    return 1;
  }
  fwrite(s, 1, n, f);
  return n;
}

/* Line protocol, as InfluxDB 1.x and Telegraf's parser read it: in names,
 * tag keys and tag values a backslash escapes only the separators (comma,
 * space, and in tags the equals sign); any other backslash is itself. A
 * line cannot carry control characters there, so each becomes a space. */
static void influx_escaped(FILE *f, const char *s, size_t len, bool is_tag) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c >= 0x80) {
      i += put_utf8(f, s + i, len - i) - 1;
      continue;
    }
    if (c < 0x20 || c == 0x7f)
      c = ' ';
    if (c == ',' || c == ' ' || (is_tag && c == '='))
      fputc('\\', f);
    fputc(c, f);
    /* A backslash at the end would escape the separator after it, and no
     * escape writes a lone backslash there: it is kept, with an escaped
     * space after it ("C:\\" reads back as "C:\\ "). */
    if (c == '\\' && i + 1 == len)
      fputs("\\ ", f);
  }
}

void pp_influx_measurement(FILE *f, const char *s) {
  influx_escaped(f, s, strlen(s), false);
}

void pp_influx_tag(FILE *f, const char *s) {
  influx_escaped(f, s, strlen(s), true);
}

/* String fields: quote and backslash are escaped, control characters
 * become spaces (Telegraf's parser refuses \r and \f in strings). */
void pp_influx_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x80) {
      s += put_utf8(f, s, 4) - 1; /* stops at the NUL */
      continue;
    }
    if (c == '"' || c == '\\')
      fputc('\\', f);
    fputc(c < 0x20 || c == 0x7f ? ' ' : c, f);
  }
  fputc('"', f);
}

typedef struct {
  const char *key; /* not terminated: a label's key ends at its '=' */
  size_t klen;
  const char *value;
} tag_ref;

static int tag_cmp(const tag_ref *a, const tag_ref *b) {
  int c = memcmp(a->key, b->key, a->klen < b->klen ? a->klen : b->klen);
  return c ? c : (a->klen > b->klen) - (a->klen < b->klen);
}

/* Stable insertion by key; of a repeated key the first given is kept. */
static void insert_tag(tag_ref *v, size_t *n, tag_ref t) {
  if (t.klen == 0 || t.value == NULL || t.value[0] == 0)
    return; /* line protocol has no empty tag: leave it out */
  size_t i = *n;
  while (i > 0 && tag_cmp(&v[i - 1], &t) > 0)
    i--;
  if (i > 0 && tag_cmp(&v[i - 1], &t) == 0)
    return;
  memmove(&v[i + 1], &v[i], (*n - i) * sizeof(*v));
  v[i] = t;
  (*n)++;
}

void pp_influx_series(FILE *f, const char *measurement,
                      const pp_influx_kv *tags, size_t n,
                      const pp_strlist *labels) {
  size_t cap = n + (labels ? labels->n : 0), m = 0;
  tag_ref local[32];
  tag_ref *v = cap <= 32 ? local : malloc(cap * sizeof(*v));
  pp_influx_measurement(f, measurement);
  if (v == NULL)
    return; /* out of memory: a line without tags still parses */
  for (size_t i = 0; i < n; i++)
    insert_tag(v, &m,
               (tag_ref){tags[i].key, strlen(tags[i].key), tags[i].value});
  for (size_t i = 0; labels && i < labels->n; i++) {
    const char *kv = labels->items[i], *eq = strchr(kv, '=');
    if (eq != NULL)
      insert_tag(v, &m, (tag_ref){kv, (size_t)(eq - kv), eq + 1});
  }
  /* sorted by key, as InfluxDB recommends for fast writes */
  for (size_t i = 0; i < m; i++) {
    fputc(',', f);
    influx_escaped(f, v[i].key, v[i].klen, true);
    fputc('=', f);
    pp_influx_tag(f, v[i].value);
  }
  if (v != local)
    free(v);
}

void pp_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c >= 0x80) {
      s += put_utf8(f, s, 4) - 1; /* stops at the NUL */
      continue;
    }
    if (c == '"' || c == '\\')
      fprintf(f, "\\%c", c);
    else if (c < 0x20)
      fprintf(f, "\\u%04x", c);
    else
      fputc(c, f);
  }
  fputc('"', f);
}

typedef struct {
  FILE *f;
  pp_format fmt;
  int n; /* fields written so far */
} fields;

static void sep(fields *w) {
  if (w->n++ > 0)
    fputc(',', w->f);
}

static void field_key(fields *w, const char *key) {
  sep(w);
  if (w->fmt == PP_FMT_JSON)
    fprintf(w->f, "\"%s\":", key);
  else
    fprintf(w->f, "%s=", key);
}

static void f_int(fields *w, const char *key, long long v) {
  field_key(w, key);
  fprintf(w->f, w->fmt == PP_FMT_INFLUX ? "%lldi" : "%lld", v);
}

static void f_float(fields *w, const char *key, double v) {
  if (v < 0 || !isfinite(v))
    return; /* not measured */
  field_key(w, key);
  fprintf(w->f, "%.6f", v);
}

/* A measured figure that may be negative (a clock offset). */
static void f_signed(fields *w, const char *key, double v) {
  if (!isfinite(v))
    return;
  field_key(w, key);
  fprintf(w->f, "%.6f", v);
}

static void f_str(fields *w, const char *key, const char *v) {
  if (v == NULL || *v == 0)
    return;
  field_key(w, key);
  if (w->fmt == PP_FMT_INFLUX)
    pp_influx_string(w->f, v);
  else
    pp_json_string(w->f, v);
}

/* The TLS facts beyond version and expiry (tls_check.c), for every kind
 * that spoke TLS. */
static void write_tls_facts(fields *w, const pp_target *t, const pp_result *r) {
  if (!r->tls_used)
    return;
  const pp_cert_facts *c = pp_result_cert(r);
  f_str(w, "tls_cipher", c->tls_cipher);
  if (r->cert_seen) {
    f_str(w, "cert_subject", c->cert_subject);
    f_str(w, "cert_serial", c->cert_serial);
    f_str(w, "cert_sha256", c->cert_sha256);
    f_str(w, "cert_pin", c->cert_pin);
    f_str(w, "cert_key_type", c->cert_key_type);
    if (c->cert_key_bits > 0)
      f_int(w, "cert_key_bits", c->cert_key_bits);
    f_str(w, "cert_signature", c->cert_signature);
  }
  if (r->chain_seen) {
    f_int(w, "chain_expiry", r->chain_expiry_s);
    f_str(w, "chain_expiry_subject", c->chain_expiry_subject);
  }
  if (r->cert_seen && t->opts->ocsp != PP_OCSP_OPT_NO) {
    f_str(w, "ocsp_status", pp_ocsp_name(r->ocsp_status));
    if (r->ocsp_status != PP_OCSP_NONE)
      f_int(w, "ocsp_next_update", r->ocsp_next_update_s);
  }
}

/* A dns check's count and words, named for what the check counts. */
static void dns_names(const pp_target *t, const char **count,
                      const char **info) {
  static const struct {
    const char *count, *info;
  } names[] = {
      [PP_DNSC_QUERY] = {NULL, "dns_info"},
      [PP_DNSC_NS] = {"ns_servers", "ns_serials"},
      [PP_DNSC_DNSBL] = {"dnsbl_listed", "dnsbl_reasons"},
      [PP_DNSC_SPF] = {"policy_records", NULL},
      [PP_DNSC_DMARC] = {"policy_records", NULL},
      [PP_DNSC_MTA_STS] = {"policy_records", "sts_mode"},
      [PP_DNSC_TLS_RPT] = {"policy_records", NULL},
      [PP_DNSC_DANE] = {"tlsa_records", "dane_match"},
  };
  *count = names[t->opts->dns_check].count;
  *info = names[t->opts->dns_check].info;
}

static void write_dns_fields(fields *w, const pp_target *t,
                             const pp_result *r) {
  const char *count, *info;
  dns_names(t, &count, &info);
  if (r->dns_rcode >= 0) {
    f_int(w, "dns_rcode", r->dns_rcode);
    f_str(w, "dns_rcode_name", pp_dns_rcode_name(r->dns_rcode));
    f_int(w, "dns_answers", r->dns_answers);
  }
  if (r->dns_ttl_min >= 0)
    f_int(w, "dns_ttl_min", r->dns_ttl_min);
  f_float(w, "query_time", r->t_query);
  if (r->dnssec != PP_DNSSEC_UNCHECKED)
    f_str(w, "dnssec", pp_dnssec_name(r->dnssec));
  if (r->rrsig_seen) {
    f_int(w, "rrsig_expiry", r->rrsig_expiry_s);
    f_str(w, "rrsig_grade", pp_grade_name(r->rrsig_grade));
  }
  if (r->dns_dnskeys >= 0)
    f_int(w, "dnskey_records", r->dns_dnskeys);
  if (r->dns_ds >= 0)
    f_int(w, "ds_records", r->dns_ds);
  if (count != NULL && r->dns_count >= 0)
    f_int(w, count, r->dns_count);
  if (info != NULL)
    f_str(w, info, pp_result_dns_info(r));
}

/* One address (addresses=all) is a series of its own: in line protocol its
 * address is a tag, not a field. */
static bool address_is_tag(const pp_target *t, const pp_part *p, pp_format f) {
  return p != NULL && f == PP_FMT_INFLUX &&
         t->opts->addresses == PP_ADDRESSES_ALL;
}

/* The measured fields shared by influx and json; p: r is that part's. */
static void write_fields(fields *w, const pp_target *t, const pp_result *r,
                         const pp_part *p) {
  f_int(w, "up", r->up);
  f_float(w, "response_time", r->t_total);
  f_float(w, "dns_time", r->t_dns);
  f_float(w, "connect_time", r->t_connect);
  f_float(w, "tls_time", r->t_tls);
  f_float(w, "first_byte_time", r->t_first_byte);
  if (!address_is_tag(t, p, w->fmt))
    f_str(w, "address", r->address);
  if (p != NULL && w->fmt == PP_FMT_JSON) {
    f_str(w, "family", pp_result_family(r));
    f_str(w, "mx", p->mx);
  }
  if (p != NULL && p->mx != NULL && p->mx_preference >= 0)
    f_int(w, "mx_preference", p->mx_preference);
  if (r->port || t->port) /* a proxy's when one answered */
    f_int(w, "port", r->port ? r->port : t->port);
  if (r->addresses_tried > 0)
    f_int(w, "addresses_tried", r->addresses_tried);
  if (r->parts != NULL) {
    f_int(w, "checked", r->nparts);
    f_int(w, "checked_up", r->parts_up);
  }
  f_float(w, "delivery_time", r->t_delivery);
  f_float(w, "smtp_time", r->t_smtp);
  f_float(w, "fetch_time", r->t_fetch);
  if (!r->up)
    f_str(w, "phase", pp_phase_name(r->phase));
  f_str(w, "detail", r->detail);
  f_str(w, "excerpt", r->excerpt);
  if (r->tls_used)
    f_str(w, "tls_version", r->tls_version);
  if (r->cert_seen) {
    f_int(w, "cert_expiry", r->cert_expiry_s);
    f_str(w, "cert_grade", pp_grade_name(r->cert_grade));
  }
  write_tls_facts(w, t, r);
  if (t->kind == PP_KIND_HTTP && r->http_status > 0) {
    f_int(w, "http_status", r->http_status);
    f_int(w, "http_redirects", r->http_redirects);
  }
  if (t->kind == PP_KIND_HTTP)
    f_str(w, "final_scheme", r->final_scheme);
  f_str(w, "server_version", pp_result_words(r)->server_version);
  f_str(w, "info", pp_result_words(r)->info);
  if (r->clock_seen) {
    f_signed(w, "clock_offset", r->clock_offset);
    f_int(w, "stratum", r->stratum);
  }
  if (t->kind == PP_KIND_ICMP && r->icmp_sent > 0) {
    f_int(w, "packets_sent", r->icmp_sent);
    f_int(w, "packets_received", r->icmp_received);
    f_float(w, "loss_percent", r->loss_pct);
    f_float(w, "rtt_min", r->rtt_min);
    f_float(w, "rtt_avg", r->rtt_avg);
    f_float(w, "rtt_max", r->rtt_max);
    f_float(w, "rtt_stddev", r->rtt_stddev);
    f_float(w, "jitter", r->jitter);
    f_str(w, "quality", pp_grade_name(r->quality));
  }
  if (t->kind == PP_KIND_DNS)
    write_dns_fields(w, t, r);
}

/* A line of the target's record, or (p) of one of its parts, tagged with
 * its address, family and MX host. */
static void write_influx(FILE *f, const pp_target *t, const pp_result *r,
                         const pp_part *p) {
  pp_influx_kv tags[6] = {
      {"target", pp_target_name(t)},
      {"scheme", t->scheme->name},
      {"result", pp_result_name(r->code)},
  };
  size_t n = 3;
  if (address_is_tag(t, p, PP_FMT_INFLUX)) {
    tags[n++] = (pp_influx_kv){"address", r->address};
    tags[n++] = (pp_influx_kv){"family", pp_result_family(r)};
  }
  if (p != NULL && p->mx != NULL)
    tags[n++] = (pp_influx_kv){"mx", p->mx};
  pp_influx_series(f, "portprobe", tags, n, &t->opts->labels);
  fputc(' ', f);
  fields w = {f, PP_FMT_INFLUX, 0};
  write_fields(&w, t, r, p);
  fprintf(f, " %" PRId64 "\n", r->time_ns);
  for (size_t i = 0; p == NULL && i < r->nparts; i++)
    write_influx(f, t, &r->parts[i].r, &r->parts[i]);
}

static void json_labels(FILE *f, const pp_target *t) {
  if (t->opts->labels.n == 0)
    return;
  fputs(",\"labels\":{", f);
  for (size_t i = 0; i < t->opts->labels.n; i++) {
    const char *kv = t->opts->labels.items[i];
    const char *eq = strchr(kv, '=');
    fprintf(f, "%s\"%.*s\":", i ? "," : "", (int)(eq - kv), kv);
    pp_json_string(f, eq + 1);
  }
  fputc('}', f);
}

static void write_json(FILE *f, const pp_target *t, const pp_result *r,
                       const pp_part *p) {
  fputs("{\"target\":", f);
  pp_json_string(f, pp_target_name(t));
  fputs(",\"url\":", f);
  pp_json_string(f, t->url);
  fputs(",\"scheme\":", f);
  pp_json_string(f, t->scheme->name);
  fputs(",\"result\":", f);
  pp_json_string(f, pp_result_name(r->code));
  fprintf(f, ",\"time\":%.3f", (double)r->time_ns / 1e9);
  json_labels(f, t);
  fields w = {f, PP_FMT_JSON, 1};
  write_fields(&w, t, r, p);
  fputs("}\n", f);
  for (size_t i = 0; p == NULL && i < r->nparts; i++)
    write_json(f, t, &r->parts[i].r, &r->parts[i]);
}

/* --- alerts --- */

static void write_alert_fields(fields *w, const pp_alert *a) {
  f_str(w, "severity", pp_severity_name(a->severity));
  f_str(w, "message", a->message);
  f_str(w, "kind", pp_alert_kind_name(a->kind));
  f_str(w, "state", pp_tstate_name(a->state));
  f_str(w, "result", pp_result_name(a->result));
  f_float(w, "outage_seconds", a->outage_s);
  f_float(w, "flap_percent", a->flap_pct);
  if (a->kind == PP_ALERT_QUALITY || a->kind == PP_ALERT_CERTIFICATE ||
      a->kind == PP_ALERT_SIGNATURE)
    f_str(w, "grade", pp_grade_name(a->grade));
  if (a->kind == PP_ALERT_CERTIFICATE || a->kind == PP_ALERT_CERT_CHANGE)
    f_int(w, "cert_expiry", a->cert_expiry_s);
  if (a->kind == PP_ALERT_CERT_CHANGE) {
    f_str(w, "cert_serial", a->cert_serial);
    f_str(w, "cert_previous_serial", a->cert_previous_serial);
    f_str(w, "cert_sha256", a->cert_sha256);
    f_str(w, "cert_subject", a->cert_subject);
  }
  if (a->kind == PP_ALERT_SIGNATURE)
    f_int(w, "rrsig_expiry", a->rrsig_expiry_s);
  f_str(w, "diagnosis", a->diagnosis);
  f_str(w, "excerpt", a->excerpt);
}

void pp_output_alert(FILE *f, pp_format fmt, const pp_target *t,
                     const pp_alert *a, unsigned seq) {
  fields w = {f, fmt, 0};
  switch (fmt) {
  case PP_FMT_TEXT:
    fprintf(f, "ALERT %s: %s\n", pp_severity_name(a->severity), a->message);
    break;
  case PP_FMT_NAGIOS:
    pp_nagios_alert(f, a);
    break;
  case PP_FMT_INFLUX: {
    const pp_influx_kv tags[] = {
        {"target", pp_target_name(t)},
        {"scheme", t->scheme->name},
    };
    pp_influx_series(f, "portprobe_event", tags, sizeof(tags) / sizeof(tags[0]),
                     &t->opts->labels);
    fputc(' ', f);
    write_alert_fields(&w, a);
    fprintf(f, " %" PRId64 "\n", a->time_ns + (int64_t)seq);
    break;
  }
  case PP_FMT_JSON:
    fputs("{\"event\":true,\"target\":", f);
    pp_json_string(f, pp_target_name(t));
    fputs(",\"url\":", f);
    pp_json_string(f, t->url);
    fputs(",\"scheme\":", f);
    pp_json_string(f, t->scheme->name);
    fprintf(f, ",\"time\":%.3f", (double)a->time_ns / 1e9);
    json_labels(f, t);
    w.n = 1;
    write_alert_fields(&w, a);
    fputs("}\n", f);
    break;
  }
}

void pp_output_state_file(FILE *f, pp_format fmt, const char *path, bool saved,
                          const char *error, int64_t time_ns) {
  fields w = {f, fmt, 0};
  if (fmt == PP_FMT_INFLUX) {
    fputs("portprobe_state_file ", f);
  } else if (fmt == PP_FMT_JSON) {
    fputs("{\"state_file\":", f);
    pp_json_string(f, path);
    fprintf(f, ",\"time\":%.3f", (double)time_ns / 1e9);
    w.n = 1;
  } else {
    return;
  }
  f_int(&w, "saved", saved);
  if (fmt == PP_FMT_INFLUX)
    f_str(&w, "file", path);
  f_str(&w, "error", error);
  if (fmt == PP_FMT_INFLUX)
    fprintf(f, " %" PRId64 "\n", time_ns);
  else
    fputs("}\n", f);
  fflush(f);
}

static void fmt_seconds(char *buf, size_t len, double s) {
  if (s < 0)
    snprintf(buf, len, "-");
  else if (s < 1)
    snprintf(buf, len, "%.1f ms", s * 1000);
  else
    snprintf(buf, len, "%.2f s", s);
}

/* After the table: for each host with an ICMP target and port checks, the
 * two read together ("service down: ...; host up: ping 0% loss, ..."), so
 * that a person sees at once whether the host or the service is down. The
 * words are the core's (hosts.c), as in the alerts. */
static void write_hosts(FILE *f, pp_target *const *targets,
                        const pp_result *results, size_t n, size_t wname) {
  pp_hosts *hosts = pp_hosts_new(targets, n);
  if (hosts == NULL)
    return;
  for (size_t g = 0; g < pp_hosts_count(hosts); g++) {
    char text[PP_DIAGNOSIS_MAX];
    pp_diagnosis d = pp_hosts_diagnose(hosts, g, results, text, sizeof(text));
    if (g == 0)
      fprintf(f, "\n%-4s  %-*s  DIAGNOSIS\n", "", (int)wname, "HOST");
    fprintf(f, "%-4s  %-*s  %-20s  %s\n", "HOST", (int)wname,
            pp_hosts_name(hosts, g), pp_diagnosis_name(d), text);
  }
  pp_hosts_free(hosts);
}

/* A dns check's words in the table: DNSSEC status, signature time left,
 * and what a non-query check found. Returns the separator for what
 * follows. */
static const char *write_dns_text(FILE *f, const pp_target *t,
                                  const pp_result *r, const char *sepr) {
  if (t->kind == PP_KIND_DNS && r->dnssec != PP_DNSSEC_UNCHECKED) {
    fprintf(f, "%sdnssec %s", sepr, pp_dnssec_name(r->dnssec));
    sepr = "  ";
  }
  if (r->rrsig_seen) {
    double days = (double)r->rrsig_expiry_s / 86400.0;
    fprintf(f, "%srrsig %s %.1f days%s (%s)", sepr,
            r->rrsig_expiry_s < 0 ? "expired" : "expires in",
            days < 0 ? -days : days, r->rrsig_expiry_s < 0 ? " ago" : "",
            pp_grade_name(r->rrsig_grade));
    sepr = "  ";
  }
  const char *dns_info = pp_result_dns_info(r);
  if (t->kind == PP_KIND_DNS && dns_info[0] &&
      t->opts->dns_check != PP_DNSC_QUERY) {
    fprintf(f, "%s%s", sepr, dns_info);
    sepr = "  ";
  }
  return sepr;
}

/* What a server said about itself: its version and facts, an NTP clock's
 * offset. Returns the separator for what follows. */
static const char *write_server_text(FILE *f, const pp_result *r,
                                     const char *sepr) {
  const pp_server_words *words = pp_result_words(r);
  if (words->server_version[0]) {
    fprintf(f, "%sversion %s", sepr, words->server_version);
    sepr = "  ";
  }
  if (words->info[0]) {
    fprintf(f, "%s%s", sepr, words->info);
    sepr = "  ";
  }
  if (r->clock_seen) {
    fprintf(f, "%sclock offset %+.6f s", sepr, r->clock_offset);
    sepr = "  ";
  }
  return sepr;
}

/* One row of the table: a target's record, or one of its parts (indented,
 * named for its address or MX host). */
static void write_row(FILE *f, const pp_target *t, const pp_result *r,
                      const char *name, size_t wname) {
  char summary[64], time[32];
  pp_result_summary(r, summary, sizeof(summary));
  fmt_seconds(time, sizeof(time), r->t_total);
  fprintf(f, "%-4s  %-*s  %-20s  %9s  ", r->up ? "UP" : "DOWN", (int)wname,
          name, summary, time);
  const char *sepr = "";
  if (r->address[0]) {
    fprintf(f, "%s", r->address);
    sepr = "  ";
  }
  if (r->detail[0]) {
    fprintf(f, "%s%s", sepr, r->detail);
    sepr = "  ";
  }
  if (r->tls_used && r->tls_version[0]) {
    fprintf(f, "%s%s", sepr, r->tls_version);
    sepr = "  ";
  }
  if (r->cert_seen) {
    double days = (double)r->cert_expiry_s / 86400.0;
    if (r->cert_expiry_s < 0)
      fprintf(f, "%scert expired %.1f days ago (%s)", sepr, -days,
              pp_grade_name(r->cert_grade));
    else
      fprintf(f, "%scert expires in %.1f days (%s)", sepr, days,
              pp_grade_name(r->cert_grade));
    sepr = "  ";
  }
  if (r->chain_seen && r->cert_seen && r->chain_expiry_s < r->cert_expiry_s)
    fprintf(f, "%schain: %s %s %.1f days%s", sepr,
            pp_result_cert(r)->chain_expiry_subject,
            r->chain_expiry_s < 0 ? "expired" : "expires in",
            fabs((double)r->chain_expiry_s / 86400.0),
            r->chain_expiry_s < 0 ? " ago" : "");
  if (r->ocsp_status != PP_OCSP_NONE)
    fprintf(f, "%sOCSP %s", sepr, pp_ocsp_name(r->ocsp_status));
  if (t->kind == PP_KIND_ICMP && r->icmp_sent > 0) {
    fprintf(f, "%s%d/%d received, %.0f%% loss", sepr, r->icmp_received,
            r->icmp_sent, r->loss_pct);
    if (r->rtt_avg >= 0)
      fprintf(f, ", rtt min/avg/max %.3f/%.3f/%.3f ms", r->rtt_min * 1000,
              r->rtt_avg * 1000, r->rtt_max * 1000);
    if (r->jitter >= 0)
      fprintf(f, ", jitter %.3f ms", r->jitter * 1000);
    fprintf(f, ", quality %s", pp_grade_name(r->quality));
    sepr = "  ";
  }
  sepr = write_dns_text(f, t, r, sepr);
  sepr = write_server_text(f, r, sepr);
  if (r->excerpt[0])
    fprintf(f, "%sserver said: \"%s\"", sepr, r->excerpt);
  fputc('\n', f);
}

static void write_text(FILE *f, pp_target *const *targets,
                       const pp_result *results, size_t n) {
  size_t wname = 6;
  char name[300] = "  "; /* a part's: indented under its target */
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(pp_target_name(targets[i]));
    for (size_t k = 0; k < results[i].nparts; k++) {
      pp_part_name(&results[i].parts[k], name + 2, sizeof(name) - 2);
      if (strlen(name) > l)
        l = strlen(name);
    }
    if (l > wname)
      wname = l;
  }
  if (wname > 48)
    wname = 48;
  fprintf(f, "%-4s  %-*s  %-20s  %9s  %s\n", "", (int)wname, "TARGET", "RESULT",
          "TIME", "DETAIL");
  for (size_t i = 0; i < n; i++) {
    const pp_result *r = &results[i];
    write_row(f, targets[i], r, pp_target_name(targets[i]), wname);
    for (size_t k = 0; k < r->nparts; k++) {
      pp_part_name(&r->parts[k], name + 2, sizeof(name) - 2);
      write_row(f, targets[i], &r->parts[k].r, name, wname);
    }
  }
  write_hosts(f, targets, results, n, wname);
}

int pp_output_results(FILE *f, pp_format fmt, pp_target *const *targets,
                      const pp_result *results, size_t n) {
  int state = 0;
  switch (fmt) {
  case PP_FMT_TEXT:
    write_text(f, targets, results, n);
    break;
  case PP_FMT_INFLUX:
    for (size_t i = 0; i < n; i++)
      write_influx(f, targets[i], &results[i], NULL);
    break;
  case PP_FMT_JSON:
    for (size_t i = 0; i < n; i++)
      write_json(f, targets[i], &results[i], NULL);
    break;
  case PP_FMT_NAGIOS:
    state = (int)pp_nagios_write(f, targets, results, n);
    break;
  }
  fflush(f);
  return state;
}
