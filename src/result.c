/* Names and words for results, phases and grades, in one place. */
#include "result.h"

#include <stdio.h>
#include <string.h>

static const struct {
  const char *name;
  const char *words;
} results[PP_R_COUNT] = {
    [PP_R_OK] = {"ok", "ok"},
    [PP_R_DNS_FAILED] = {"dns_failed", "name resolution failed"},
    [PP_R_REFUSED] = {"refused", "connection refused"},
    [PP_R_TIMEOUT] = {"timeout", "timed out"},
    [PP_R_UNREACHABLE] = {"unreachable", "network or host unreachable"},
    [PP_R_RESET] = {"reset", "connection reset by the server"},
    [PP_R_CLOSED] = {"closed", "server closed the connection"},
    [PP_R_UNEXPECTED_OPEN] = {"unexpected_open",
                              "port accepts connections but must be closed"},
    [PP_R_TLS_HANDSHAKE_FAILED] = {"tls_handshake_failed",
                                   "TLS handshake failed"},
    [PP_R_TLS_VERIFY_FAILED] = {"tls_verify_failed",
                                "TLS certificate verification failed"},
    [PP_R_BANNER_MISMATCH] = {"banner_mismatch", "unexpected greeting"},
    [PP_R_EXPECT_MISMATCH] = {"expect_mismatch", "unexpected reply"},
    [PP_R_STARTTLS_UNAVAILABLE] = {"starttls_unavailable",
                                   "STARTTLS not offered"},
    [PP_R_AUTH_FAILED] = {"auth_failed", "authentication refused"},
    [PP_R_PROTOCOL_ERROR] = {"protocol_error", "malformed reply"},
    [PP_R_NO_REPLY] = {"no_reply", "no reply"},
    [PP_R_HTTP_STATUS] = {"http_status", "unexpected HTTP status"},
    [PP_R_KEYWORD_MISSING] = {"keyword_missing", "keyword missing from page"},
    [PP_R_KEYWORD_PRESENT] = {"keyword_present",
                              "forbidden keyword present on page"},
    [PP_R_TOO_MANY_REDIRECTS] = {"too_many_redirects", "too many redirects"},
    [PP_R_SOCKET_ERROR] = {"socket_error", "local socket error"},
    [PP_R_UNSUPPORTED] = {"unsupported", "check not supported by this build"},
    [PP_R_INSECURE_REDIRECT] = {"insecure_redirect",
                                "redirected from https to http"},
    [PP_R_CERT_REVOKED] = {"cert_revoked", "certificate revoked"},
    [PP_R_PIN_MISMATCH] = {"pin_mismatch", "public key not pinned"},
    [PP_R_OCSP_MISSING] = {"ocsp_missing", "no good stapled OCSP response"},
    [PP_R_TLS_WEAK_PROTOCOL] = {"tls_weak_protocol",
                                "TLS protocol version too old"},
    [PP_R_HEADER_MISMATCH] = {"header_mismatch",
                              "response header missing or unexpected"},
    [PP_R_JSON_MISMATCH] = {"json_mismatch", "unexpected JSON answer"},
    [PP_R_DNS_RCODE] = {"dns_rcode", "unexpected DNS response code"},
    [PP_R_NO_ANSWER] = {"no_answer", "no records in the answer"},
    [PP_R_DNSSEC_BOGUS] = {"dnssec_bogus", "DNSSEC validation failed"},
    [PP_R_DNSSEC_INSECURE] = {"dnssec_insecure",
                              "answer not secured by DNSSEC"},
    [PP_R_NS_MISMATCH] = {"ns_mismatch",
                          "name servers disagree on the zone's serial"},
    [PP_R_NS_LAME] = {"ns_lame", "a name server is lame or silent"},
    [PP_R_DNSBL_LISTED] = {"dnsbl_listed", "listed on a DNS blocklist"},
    [PP_R_RECORD_MISSING] = {"record_missing", "policy record missing"},
    [PP_R_RECORD_INVALID] = {"record_invalid", "policy record invalid"},
    [PP_R_DANE_MISMATCH] = {"dane_mismatch",
                            "certificate matches no TLSA record"},
    [PP_R_NOT_DELIVERED] = {"not_delivered",
                            "message accepted but never delivered"},
    [PP_R_NULL_MX] = {"null_mx", "the domain accepts no mail (null MX)"},
    [PP_R_UNAVAILABLE] = {"unavailable", "server answers but refuses service"},
};

static const char *const phases[PP_PHASE_COUNT] = {
    [PP_PHASE_NONE] = "none",         [PP_PHASE_DNS] = "dns",
    [PP_PHASE_CONNECT] = "connect",   [PP_PHASE_TLS] = "tls",
    [PP_PHASE_BANNER] = "banner",     [PP_PHASE_DIALOG] = "dialog",
    [PP_PHASE_STARTTLS] = "starttls", [PP_PHASE_AUTH] = "auth",
    [PP_PHASE_REQUEST] = "request",   [PP_PHASE_FIRST_BYTE] = "first_byte",
    [PP_PHASE_BODY] = "body",         [PP_PHASE_ICMP] = "icmp",
    [PP_PHASE_QUERY] = "query",       [PP_PHASE_DELIVERY] = "delivery",
    [PP_PHASE_FETCH] = "fetch",
};

const char *pp_dnssec_name(int status) {
  static const char *const names[] = {"unchecked", "secure", "insecure",
                                      "bogus", "signed"};
  return status >= 0 && (size_t)status < sizeof(names) / sizeof(names[0])
             ? names[status]
             : "unknown";
}

const char *pp_result_name(pp_result_code code) {
  return (unsigned)code < PP_R_COUNT ? results[code].name : "unknown";
}

const char *pp_result_describe(pp_result_code code) {
  return (unsigned)code < PP_R_COUNT ? results[code].words : "unknown";
}

const char *pp_phase_name(pp_phase phase) {
  return (unsigned)phase < PP_PHASE_COUNT ? phases[phase] : "unknown";
}

const char *pp_grade_name(pp_grade grade) {
  switch (grade) {
  case PP_GRADE_GOOD:
    return "good";
  case PP_GRADE_WARNING:
    return "warning";
  case PP_GRADE_BAD:
    return "bad";
  case PP_GRADE_CRITICAL:
    return "critical";
  default:
    return "none";
  }
}

const char *pp_ocsp_name(pp_ocsp_status status) {
  switch (status) {
  case PP_OCSP_GOOD:
    return "good";
  case PP_OCSP_REVOKED:
    return "revoked";
  case PP_OCSP_UNKNOWN:
    return "unknown";
  case PP_OCSP_INVALID:
    return "invalid";
  default:
    return "none";
  }
}

void pp_result_reset(pp_result *r) {
  memset(r, 0, sizeof(*r));
  r->t_dns = r->t_connect = r->t_tls = r->t_first_byte = r->t_total = -1;
  r->rtt_min = r->rtt_avg = r->rtt_max = r->rtt_stddev = r->jitter = -1;
  r->dns_rcode = -1;
  r->dns_ttl_min = -1;
  r->dns_count = -1;
  r->dns_dnskeys = r->dns_ds = -1;
  r->t_query = -1;
  r->t_delivery = r->t_smtp = r->t_fetch = -1;
}

void pp_result_copy_tls(pp_result *to, const pp_result *from) {
  to->tls_used = from->tls_used;
  memcpy(to->tls_version, from->tls_version, sizeof(to->tls_version));
  to->cert_seen = from->cert_seen;
  to->cert_expiry_s = from->cert_expiry_s;
  to->cert_grade = from->cert_grade;
  to->chain_seen = from->chain_seen;
  to->chain_expiry_s = from->chain_expiry_s;
  to->cert = from->cert; /* the same round's: shared */
  to->ocsp_status = from->ocsp_status;
  to->ocsp_next_update_s = from->ocsp_next_update_s;
}

const pp_cert_facts *pp_result_cert(const pp_result *r) {
  static const pp_cert_facts none;
  return r->cert ? r->cert : &none;
}

const pp_server_words *pp_result_words(const pp_result *r) {
  static const pp_server_words none;
  return r->words ? r->words : &none;
}

const char *pp_result_dns_info(const pp_result *r) {
  return r->words && r->words->dns_info ? r->words->dns_info : "";
}

const char *pp_result_family(const pp_result *r) {
  if (r->address[0] == 0)
    return NULL;
  return strchr(r->address, ':') ? "ipv6" : "ipv4";
}

void pp_part_name(const pp_part *p, char *buf, size_t len) {
  if (p->mx == NULL)
    snprintf(buf, len, "%s", p->r.address);
  else if (p->one_address && p->r.address[0])
    snprintf(buf, len, "%s[%s]", p->mx, p->r.address);
  else
    snprintf(buf, len, "%s", p->mx);
}

void pp_result_summary(const pp_result *r, char *buf, size_t len) {
  if (r->code == PP_R_TIMEOUT)
    snprintf(buf, len, "timeout (%s)", pp_phase_name(r->phase));
  else if (r->code == PP_R_HTTP_STATUS)
    snprintf(buf, len, "http_status %d", r->http_status);
  else if (r->code == PP_R_DNS_RCODE && r->dns_rcode >= 0)
    snprintf(buf, len, "dns_rcode %s", pp_dns_rcode_name(r->dns_rcode));
  else
    snprintf(buf, len, "%s", pp_result_name(r->code));
}

/* Line ends and tabs become one space between words; before the first
 * word they are shown as \xNN, since a space there would hide them (a reply
 * that starts with a bare line feed is not the reply it looks like). */
void pp_result_set_excerpt(pp_result *r, const char *data, size_t len) {
  size_t o = 0, max = sizeof(r->excerpt) - 4; /* room for "..." */
  size_t i;
  bool lead = true;
  for (i = 0; i < len && o < max; i++) {
    unsigned char c = (unsigned char)data[i];
    bool blank = c == '\r' || c == '\n' || c == '\t';
    lead = lead && blank;
    if (blank && !lead) {
      if (o > 0 && r->excerpt[o - 1] != ' ')
        r->excerpt[o++] = ' ';
    } else if (c >= 0x20 && c < 0x7f) {
      r->excerpt[o++] = (char)c;
    } else {
      if (o + 4 > max)
        break;
      snprintf(r->excerpt + o, 5, "\\x%02x", c);
      o += 4;
    }
  }
  while (o > 0 && r->excerpt[o - 1] == ' ')
    o--;
  r->excerpt[o] = 0;
  if (i < len) {
    /* cut: say so */
    memcpy(r->excerpt + o, "...", 4);
  }
}

void pp_words_set_version(pp_server_words *w, const char *data, size_t len) {
  pp_result tmp;
  pp_result_set_excerpt(&tmp, data, len);
  size_t n = strlen(tmp.excerpt);
  if (n >= sizeof(w->server_version))
    n = sizeof(w->server_version) - 1;
  memcpy(w->server_version, tmp.excerpt, n);
  w->server_version[n] = 0;
}
