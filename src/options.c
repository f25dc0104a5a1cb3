/* The option table and the parsers behind it. Validation lives here only:
 * front ends pass key/value text in and get a message back. */
#include "options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(f) offsetof(pp_opts, f)
#define DAY_MS (86400.0 * 1000)

static const char *const af_choices[] = {"auto", "ipv4", "ipv6", NULL};
static const char *const starttls_choices[] = {"default", "no", "try",
                                               "require", NULL};
static const char *const httpv_choices[] = {"auto", "1.0", "1.1", "2", NULL};
static const char *const auth_choices[] = {"auto", "plain", "login", NULL};
static const char *const downgrade_choices[] = {"allow", "refuse", NULL};
static const char *const redirect_headers_choices[] = {"same_host", "all",
                                                       NULL};
static const char *const ocsp_choices[] = {"no", "check", "require", NULL};
static const char *const tls_version_choices[] = {"any",    "tls1.0", "tls1.1",
                                                  "tls1.2", "tls1.3", NULL};
static const char *const transport_choices[] = {"udp", "tcp", "tls", NULL};
static const char *const match_choices[] = {"all", "any", NULL};
static const char *const dnssec_choices[] = {"off", "report", "require", NULL};
static const char *const dns_check_choices[] = {
    "query",   "ns_consistency", "dnsbl", "spf", "dmarc",
    "mta_sts", "tls_rpt",        "dane",  NULL};
static const char *const addresses_choices[] = {"any", "all", NULL};

#define TCPISH (PP_APPLY_TCP | PP_APPLY_TLS | PP_APPLY_DIALOG | PP_APPLY_HTTP)
#define TLSISH (PP_APPLY_TLS | PP_APPLY_HTTP)

const pp_option pp_options[] = {
    /* common */
    {"name", PP_OPT_STRING, NULL, 1, 200, NULL, OFF(name), PP_APPLY_ALL,
     "Name shown in values, tags and alerts (default: the URL)."},
    {"interval", PP_OPT_DURATION, NULL, 1000, 86400000, NULL, OFF(interval_ms),
     PP_APPLY_ALL, "How often to check (default: the collector's interval)."},
    {"timeout", PP_OPT_DURATION, "5s", 10, 600000, NULL, OFF(timeout_ms),
     PP_APPLY_ALL, "Deadline for the whole check, every phase included."},
    {"connect_timeout", PP_OPT_DURATION, NULL, 10, 600000, NULL,
     OFF(connect_timeout_ms), TCPISH,
     "Deadline for the TCP connect phase (default: bounded by timeout)."},
    {"address_family", PP_OPT_ENUM, "auto", 0, 0, af_choices,
     OFF(address_family), PP_APPLY_ALL,
     "Which addresses a host name resolves to: auto, ipv4 or ipv6."},
    {"source_address", PP_OPT_STRING, NULL, 1, 64, NULL, OFF(source_address),
     PP_APPLY_ALL, "Local address to send from."},
    {"down_after", PP_OPT_INT, "2", 1, 100, NULL, OFF(down_after), PP_APPLY_ALL,
     "Consecutive failures before a target is confirmed DOWN."},
    {"up_after", PP_OPT_INT, "1", 1, 100, NULL, OFF(up_after), PP_APPLY_ALL,
     "Consecutive successes before a target is confirmed UP again."},
    {"label", PP_OPT_LABEL, NULL, 0, 0, NULL, OFF(labels), PP_APPLY_ALL,
     "A name=value label added to values and alerts (repeatable)."},
    {"expect_closed", PP_OPT_BOOL, "no", 0, 0, NULL, OFF(expect_closed),
     PP_APPLY_TCP,
     "The port must NOT accept connections: refused or filtered is up, an "
     "open port is the failure unexpected_open."},
    {"slow_warn", PP_OPT_DURATION, NULL, 1, 600000, NULL, OFF(slow_warn_ms),
     PP_APPLY_ALL, "Response time above which an up target is slow (warning)."},
    {"slow_crit", PP_OPT_DURATION, NULL, 1, 600000, NULL, OFF(slow_crit_ms),
     PP_APPLY_ALL, "Response time above which an up target is slow (failure)."},
    {"flap_high", PP_OPT_DOUBLE, "20", 1, 100, NULL, OFF(flap_high),
     PP_APPLY_ALL, "Percent of state changes at which flapping starts."},
    {"flap_low", PP_OPT_DOUBLE, "5", 0, 100, NULL, OFF(flap_low), PP_APPLY_ALL,
     "Percent of state changes below which flapping ends."},

    /* TLS */
    {"starttls", PP_OPT_ENUM, "default", 0, 0, starttls_choices, OFF(starttls),
     PP_APPLY_DIALOG | PP_APPLY_WIRE,
     "Upgrade to TLS in the dialog: no, try or require (default: require for "
     "submission, try for smtp, imap, pop3, postgres, mysql and ldap)."},
    {"verify", PP_OPT_BOOL, "yes", 0, 0, NULL, OFF(verify), TLSISH,
     "Verify the certificate chain and host name."},
    {"ca_file", PP_OPT_STRING, NULL, 1, 4096, NULL, OFF(ca_file), TLSISH,
     "PEM file of trusted CAs (default: the system's)."},
    {"sni", PP_OPT_STRING, NULL, 1, 255, NULL, OFF(sni), TLSISH,
     "Server name sent in the handshake and verified (default: the host)."},
    {"cert_warn_days", PP_OPT_INT, "20", 0, 3650, NULL, OFF(cert_warn_days),
     TLSISH, "Days before certificate expiry that grade it warning."},
    {"cert_crit_days", PP_OPT_INT, "7", 0, 3650, NULL, OFF(cert_crit_days),
     TLSISH, "Days before certificate expiry that grade it critical."},

    /* dialogs */
    {"expect_banner", PP_OPT_REGEX, NULL, 0, 0, NULL, OFF(expect_banner),
     PP_APPLY_DIALOG, "Regular expression the greeting must match."},
    {"send", PP_OPT_STEP, NULL, 0, 0, NULL, OFF(steps),
     PP_APPLY_DIALOG | PP_APPLY_UDP,
     "Bytes to send (escapes \\r \\n \\t \\xNN); repeatable, in order with "
     "expect."},
    {"expect", PP_OPT_STEP, NULL, 0, 0, NULL, OFF(steps),
     PP_APPLY_DIALOG | PP_APPLY_DNS | PP_APPLY_UDP,
     "Regular expression the next reply must match; repeatable. dns: "
     "matched against the whole answer set (see expect_match)."},
    {"ehlo", PP_OPT_STRING, NULL, 1, 255, NULL, OFF(ehlo), PP_APPLY_DIALOG,
     "Name sent with EHLO (default: this machine's host name)."},
    {"username", PP_OPT_STRING, NULL, 1, 255, NULL, OFF(username),
     PP_APPLY_DIALOG | PP_APPLY_HTTP | PP_APPLY_WIRE,
     "Log in as this user (IMAP LOGIN, POP3 USER, SMTP AUTH, HTTP basic "
     "authentication, PostgreSQL)."},
    {"password_file", PP_OPT_STRING, NULL, 1, 4096, NULL, OFF(password_file),
     PP_APPLY_DIALOG | PP_APPLY_HTTP | PP_APPLY_WIRE,
     "File whose first line is the password; never logged or reported."},
    {"auth_mechanism", PP_OPT_ENUM, "auto", 0, 0, auth_choices,
     OFF(auth_mechanism), PP_APPLY_DIALOG,
     "SMTP AUTH mechanism: auto, plain or login."},
    {"auth_plaintext", PP_OPT_BOOL, "no", 0, 0, NULL, OFF(auth_plaintext),
     PP_APPLY_DIALOG | PP_APPLY_HTTP | PP_APPLY_WIRE,
     "Send the password even when the connection has no TLS (a test "
     "server on a trusted network)."},
    {"max_reply", PP_OPT_SIZE, "16384", 64, 1048576, NULL, OFF(max_reply),
     PP_APPLY_DIALOG | PP_APPLY_WIRE | PP_APPLY_UDP,
     "Bytes a reply may have before it is a protocol error."},

    /* HTTP */
    {"method", PP_OPT_STRING, NULL, 1, 32, NULL, OFF(method), PP_APPLY_HTTP,
     "Request method, any token: GET, HEAD, POST, PUT, DELETE, OPTIONS... "
     "(default: GET, or POST with a body)."},
    {"status", PP_OPT_STATUS, "200-399", 100, 599, NULL, OFF(status),
     PP_APPLY_HTTP, "Accepted status codes and ranges, such as 200-299,301."},
    {"keyword", PP_OPT_REGEX, NULL, 0, 0, NULL, OFF(keyword), PP_APPLY_HTTP,
     "Regular expression the body must contain."},
    {"keyword_absent", PP_OPT_REGEX, NULL, 0, 0, NULL, OFF(keyword_absent),
     PP_APPLY_HTTP, "Regular expression the body must not contain."},
    {"follow_redirects", PP_OPT_BOOL, "yes", 0, 0, NULL, OFF(follow_redirects),
     PP_APPLY_HTTP, "Follow redirects (bounded by max_redirects)."},
    {"max_redirects", PP_OPT_INT, "5", 0, 50, NULL, OFF(max_redirects),
     PP_APPLY_HTTP, "Redirects followed before too_many_redirects."},
    {"header", PP_OPT_LIST, NULL, 0, 0, NULL, OFF(headers), PP_APPLY_HTTP,
     "Request header \"Name: value\" (repeatable)."},
    {"http_version", PP_OPT_ENUM, "auto", 0, 0, httpv_choices,
     OFF(http_version), PP_APPLY_HTTP, "HTTP version: auto, 1.0, 1.1 or 2."},
    {"max_body", PP_OPT_SIZE, "1048576", 1024, 67108864, NULL, OFF(max_body),
     PP_APPLY_HTTP, "Bytes of body searched for keywords; more is not read."},

    /* ICMP */
    {"count", PP_OPT_INT, "5", 1, 100, NULL, OFF(count), PP_APPLY_ICMP,
     "Echo requests per round."},
    {"spacing", PP_OPT_DURATION, "200ms", 10, 60000, NULL, OFF(spacing_ms),
     PP_APPLY_ICMP, "Time between echo requests to one host."},
    {"size", PP_OPT_INT, "56", 0, 65000, NULL, OFF(size), PP_APPLY_ICMP,
     "Echo payload bytes."},
    {"quality_window", PP_OPT_INT, "20", 1, 1000, NULL, OFF(quality_window),
     PP_APPLY_ICMP, "Recent echoes the quality grade is judged over."},
    {"loss_warn", PP_OPT_DOUBLE, "5", 0, 100, NULL, OFF(loss_warn),
     PP_APPLY_ICMP, "Loss percent above which quality is warning."},
    {"loss_bad", PP_OPT_DOUBLE, "15", 0, 100, NULL, OFF(loss_bad),
     PP_APPLY_ICMP, "Loss percent above which quality is bad."},
    {"loss_crit", PP_OPT_DOUBLE, "30", 0, 100, NULL, OFF(loss_crit),
     PP_APPLY_ICMP, "Loss percent above which quality is critical."},
    {"rtt_warn", PP_OPT_DURATION, "100ms", 0, 60000, NULL, OFF(rtt_warn_ms),
     PP_APPLY_ICMP, "Average round-trip time above which quality is warning."},
    {"rtt_bad", PP_OPT_DURATION, "250ms", 0, 60000, NULL, OFF(rtt_bad_ms),
     PP_APPLY_ICMP, "Average round-trip time above which quality is bad."},
    {"rtt_crit", PP_OPT_DURATION, "500ms", 0, 60000, NULL, OFF(rtt_crit_ms),
     PP_APPLY_ICMP, "Average round-trip time above which quality is critical."},
    {"jitter_warn", PP_OPT_DURATION, "30ms", 0, 60000, NULL,
     OFF(jitter_warn_ms), PP_APPLY_ICMP,
     "Jitter above which quality is warning."},
    {"jitter_bad", PP_OPT_DURATION, "60ms", 0, 60000, NULL, OFF(jitter_bad_ms),
     PP_APPLY_ICMP, "Jitter above which quality is bad."},
    {"jitter_crit", PP_OPT_DURATION, "100ms", 0, 60000, NULL,
     OFF(jitter_crit_ms), PP_APPLY_ICMP,
     "Jitter above which quality is critical."},

    /* HTTP: redirects */
    {"redirect_downgrade", PP_OPT_ENUM, "allow", 0, 0, downgrade_choices,
     OFF(redirect_downgrade), PP_APPLY_HTTP,
     "A redirect from https to http: allow (followed, final_scheme says "
     "http) or refuse (the failure insecure_redirect)."},
    {"redirect_headers", PP_OPT_ENUM, "same_host", 0, 0,
     redirect_headers_choices, OFF(redirect_headers), PP_APPLY_HTTP,
     "Where header options go after a redirect: same_host (only to the "
     "target's host name) or all. Credentials never leave the host."},

    /* TLS: the whole chain, revocation, protocol hygiene, client identity */
    {"pin", PP_OPT_LIST, NULL, 0, 0, NULL, OFF(pins), TLSISH,
     "sha256//BASE64 of a public key the certificate must have, as the "
     "record's cert_pin shows it (repeatable: any one matches)."},
    {"ocsp", PP_OPT_ENUM, "check", 0, 0, ocsp_choices, OFF(ocsp), TLSISH,
     "Stapled OCSP response: no (not asked for), check (reported; revoked "
     "is the failure cert_revoked) or require (no good response is the "
     "failure ocsp_missing)."},
    {"tls_min_version", PP_OPT_ENUM, "any", 0, 0, tls_version_choices,
     OFF(tls_min_version), TLSISH,
     "The negotiated TLS version must be at least this: any, tls1.0, "
     "tls1.1, tls1.2 or tls1.3 (else tls_weak_protocol)."},
    {"client_cert", PP_OPT_STRING, NULL, 1, 4096, NULL, OFF(client_cert),
     TLSISH,
     "PEM file with the client certificate to present (and its chain; "
     "and its key, unless client_key is set)."},
    {"client_key", PP_OPT_STRING, NULL, 1, 4096, NULL, OFF(client_key), TLSISH,
     "PEM file with the client certificate's private key."},
    {"client_key_password_file", PP_OPT_STRING, NULL, 1, 4096, NULL,
     OFF(client_key_password_file), TLSISH,
     "File whose first line is the client key's passphrase; never logged "
     "or reported."},
    {"refuse_protocols", PP_OPT_STRING, NULL, 1, 64, NULL,
     OFF(refuse_protocols), TLSISH,
     "Protocols the server must refuse, such as tls1.0,tls1.1: a second "
     "handshake offers only those, and a server that accepts one is "
     "tls_weak_protocol (implicit TLS only)."},

    /* HTTP: the request users send, and what the answer must hold */
    {"body", PP_OPT_STRING, NULL, 0, 65536, NULL, OFF(body), PP_APPLY_HTTP,
     "Request body, as written (with it the method is POST unless set)."},
    {"body_file", PP_OPT_STRING, NULL, 1, 4096, NULL, OFF(body_file),
     PP_APPLY_HTTP,
     "File whose content is the request body (at most 1 MiB), read at each "
     "check."},
    {"content_type", PP_OPT_STRING, NULL, 1, 255, NULL, OFF(content_type),
     PP_APPLY_HTTP,
     "Content-Type of the body (default: application/x-www-form-urlencoded, "
     "as curl sends)."},
    {"expect_header", PP_OPT_LIST, NULL, 0, 0, NULL, OFF(expect_headers),
     PP_APPLY_HTTP,
     "\"Name: regex\": the response must have that header, with a value "
     "the regular expression matches (repeatable; else header_mismatch)."},
    {"json_path", PP_OPT_STRING, NULL, 1, 1024, NULL, OFF(json_path),
     PP_APPLY_HTTP,
     "JSON Pointer (RFC 6901) into the response body, such as /status or "
     "/items/0/name: it must exist (else json_mismatch)."},
    {"json_expect", PP_OPT_REGEX, NULL, 0, 0, NULL, OFF(json_expect),
     PP_APPLY_HTTP,
     "Regular expression the value at json_path must match: a string "
     "without its quotes, a number, true, false or null as written."},
    {"bearer_token_file", PP_OPT_STRING, NULL, 1, 4096, NULL,
     OFF(bearer_token_file), PP_APPLY_HTTP,
     "File whose first line is a bearer token (Authorization: Bearer); "
     "never logged or reported."},
    {"proxy", PP_OPT_STRING, NULL, 1, 1024, NULL, OFF(proxy), PP_APPLY_HTTP,
     "Proxy URL: http://, socks4://, socks4a://, socks5:// or socks5h:// "
     "host:port (socks5h: the proxy resolves names)."},
    {"proxy_username", PP_OPT_STRING, NULL, 1, 255, NULL, OFF(proxy_username),
     PP_APPLY_HTTP, "User name for the proxy (basic authentication)."},
    {"proxy_password_file", PP_OPT_STRING, NULL, 1, 4096, NULL,
     OFF(proxy_password_file), PP_APPLY_HTTP,
     "File whose first line is the proxy's password; never logged or "
     "reported."},
    /* DNS */
    {"dns_check", PP_OPT_ENUM, "query", 0, 0, dns_check_choices, OFF(dns_check),
     PP_APPLY_DNS,
     "What a dns target checks: query, ns_consistency, dnsbl, spf, dmarc, "
     "mta_sts, tls_rpt or dane (docs/dns.md)."},
    {"query", PP_OPT_STRING, NULL, 1, 253, NULL, OFF(query), PP_APPLY_DNS,
     "The name asked: a name, a zone, a mail domain, an address (dnsbl) or "
     "an MX host (dane)."},
    {"type", PP_OPT_STRING, "A", 1, 16, NULL, OFF(qtype), PP_APPLY_DNS,
     "Record type asked: A, AAAA, MX, TXT, NS, SOA, CNAME, PTR, SRV, CAA, "
     "TLSA, DNSKEY, DS, ..."},
    {"class", PP_OPT_STRING, "IN", 1, 8, NULL, OFF(qclass), PP_APPLY_DNS,
     "Query class: IN, CH or HS."},
    {"recursion", PP_OPT_BOOL, "yes", 0, 0, NULL, OFF(recursion), PP_APPLY_DNS,
     "Set the recursion desired (RD) flag."},
    {"transport", PP_OPT_ENUM, "udp", 0, 0, transport_choices, OFF(transport),
     PP_APPLY_DNS,
     "udp (TCP when the answer is truncated), tcp, or tls (DNS over TLS, "
     "port 853 unless the URL names one)."},
    {"expect_rcode", PP_OPT_STRING, "NOERROR", 1, 16, NULL, OFF(expect_rcode),
     PP_APPLY_DNS,
     "Response code that is success: NOERROR, NXDOMAIN, ...; another is the "
     "failure dns_rcode."},
    {"expect_match", PP_OPT_ENUM, "all", 0, 0, match_choices, OFF(expect_match),
     PP_APPLY_DNS,
     "all: every expect must match the answer set; any: one is enough."},
    {"dnssec", PP_OPT_ENUM, "report", 0, 0, dnssec_choices, OFF(dnssec),
     PP_APPLY_DNS,
     "off (no DO bit), report (signature expiry when signed), require (the "
     "answer must validate: dnssec_bogus, dnssec_insecure)."},
    {"trust_anchor", PP_OPT_STRING, NULL, 1, 4096, NULL, OFF(trust_anchor),
     PP_APPLY_DNS,
     "File of DS or DNSKEY records: portprobe validates itself from them "
     "(default: the AD flag of a validating resolver)."},
    {"rrsig_warn", PP_OPT_DURATION, "5d", 0, 365 * DAY_MS, NULL,
     OFF(rrsig_warn_ms), PP_APPLY_DNS,
     "Time before the earliest RRSIG expires that grades it warning."},
    {"rrsig_crit", PP_OPT_DURATION, "2d", 0, 365 * DAY_MS, NULL,
     OFF(rrsig_crit_ms), PP_APPLY_DNS,
     "Time before the earliest RRSIG expires that grades it critical."},
    {"dnsbl_zone", PP_OPT_LIST, NULL, 0, 0, NULL, OFF(dnsbl_zones),
     PP_APPLY_DNS,
     "A DNS blocklist zone to look the query up in "
     "(repeatable)."},
    {"service_port", PP_OPT_INT, NULL, 1, 65535, NULL, OFF(service_port),
     PP_APPLY_DNS,
     "Port of the service a dane (default 25) or mta_sts (default 443) "
     "check connects to."},

    /* every address, every MX host */
    {"addresses", PP_OPT_ENUM, "any", 0, 0, addresses_choices, OFF(addresses),
     TCPISH,
     "Which addresses of a name are checked: any (in turn, up when one "
     "answers) or all (every A and AAAA at once, each reported)."},
    {"require", PP_OPT_INT, NULL, 1, 64, NULL, OFF(require), TCPISH,
     "With addresses=all or mx=yes: how many addresses or MX hosts must be "
     "up for the target to be up (default: all)."},
    {"mx", PP_OPT_BOOL, "no", 0, 0, NULL, OFF(mx), PP_APPLY_DIALOG,
     "smtp targets: the host is a mail domain; every MX host is checked, in "
     "preference order (no MX: the domain itself)."},

    /* the mail round trip */
    {"mail_to", PP_OPT_STRING, NULL, 3, 254, NULL, OFF(mail_to),
     PP_APPLY_DIALOG,
     "smtp targets: send a message to this address and find it in the "
     "fetch mailbox (a round trip)."},
    {"mail_from", PP_OPT_STRING, NULL, 3, 254, NULL, OFF(mail_from),
     PP_APPLY_DIALOG,
     "Sender of the round trip's message (default: portprobe@ the EHLO "
     "name)."},
    {"fetch", PP_OPT_STRING, NULL, 8, 1024, NULL, OFF(fetch), PP_APPLY_DIALOG,
     "Mailbox the round trip's message is fetched from and deleted: "
     "imap|imaps|pop3|pop3s://host[:port]."},
    {"fetch_username", PP_OPT_STRING, NULL, 1, 255, NULL, OFF(fetch_username),
     PP_APPLY_DIALOG, "Login of the fetch mailbox (default: username)."},
    {"fetch_password_file", PP_OPT_STRING, NULL, 1, 4096, NULL,
     OFF(fetch_password_file), PP_APPLY_DIALOG,
     "Password file of the fetch mailbox (default: password_file); never "
     "logged or reported."},
    {"delivery_timeout", PP_OPT_DURATION, "60s", 1000, 3600000, NULL,
     OFF(delivery_timeout_ms), PP_APPLY_DIALOG,
     "How long after SMTP accepted the round trip's message the mailbox is "
     "polled for it."},

    /* binary protocols and UDP */
    {"database", PP_OPT_STRING, NULL, 1, 63, NULL, OFF(database), PP_APPLY_WIRE,
     "Database the PostgreSQL startup message names (default: postgres)."},
    {"retries", PP_OPT_INT, "2", 0, 20, NULL, OFF(retries), PP_APPLY_UDP,
     "Datagrams sent again while no reply has come, spread evenly over "
     "timeout (udp, ntp)."},
};
const size_t pp_options_count = sizeof(pp_options) / sizeof(pp_options[0]);

/* Keys compare with case, '_' and '-' ignored. */
static int key_cmp(const char *a, const char *b) {
  for (;;) {
    while (*a == '_' || *a == '-')
      a++;
    while (*b == '_' || *b == '-')
      b++;
    int ca = tolower((unsigned char)*a), cb = tolower((unsigned char)*b);
    if (ca != cb || ca == 0)
      return ca - cb;
    a++;
    b++;
  }
}

const pp_option *pp_option_find(const char *key) {
  for (size_t i = 0; i < pp_options_count; i++)
    if (key_cmp(pp_options[i].key, key) == 0)
      return &pp_options[i];
  return NULL;
}

static size_t edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 40 || lb > 40)
    return 99;
  size_t row[41];
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t cost =
          tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
      size_t best = diag + cost;
      if (row[j] + 1 < best)
        best = row[j] + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

const char *pp_option_suggest(const char *key) {
  const char *best = NULL;
  size_t best_d = 3; /* further than two edits is no suggestion */
  for (size_t i = 0; i < pp_options_count; i++) {
    size_t d = edit_distance(key, pp_options[i].key);
    if (d < best_d) {
      best_d = d;
      best = pp_options[i].key;
    }
  }
  return best;
}

int pp_parse_bool(const char *s, bool *b) {
  static const char *const yes[] = {"yes", "true", "on", "1"};
  static const char *const no[] = {"no", "false", "off", "0"};
  for (size_t i = 0; i < 4; i++) {
    if (strcasecmp(s, yes[i]) == 0) {
      *b = true;
      return 0;
    }
    if (strcasecmp(s, no[i]) == 0) {
      *b = false;
      return 0;
    }
  }
  return -1;
}

/* "500ms", "3s", "1.5s", "2m", "1h"; a bare number is seconds. */
int pp_parse_duration_ms(const char *s, int64_t *ms) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno != 0 || !isfinite(v) || v < 0)
    return -1;
  double mult;
  if (*end == 0 || strcmp(end, "s") == 0)
    mult = 1000;
  else if (strcmp(end, "ms") == 0)
    mult = 1;
  else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
    mult = 60000;
  else if (strcmp(end, "h") == 0)
    mult = 3600000;
  else if (strcmp(end, "d") == 0)
    mult = DAY_MS;
  else
    return -1;
  double r = v * mult;
  if (r > 1e15)
    return -1;
  *ms = (int64_t)llround(r);
  return 0;
}

/* "4096", "16k", "1M". */
int pp_parse_size(const char *s, int64_t *bytes) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (end == s || errno != 0 || v < 0)
    return -1;
  long long mult = 1;
  if (*end == 'k' || *end == 'K')
    mult = 1024, end++;
  else if (*end == 'M')
    mult = 1024 * 1024, end++;
  if (*end == 'B' || *end == 'b')
    end++;
  if (*end != 0 || v > (1LL << 40) / mult)
    return -1;
  *bytes = v * mult;
  return 0;
}

static int parse_status(const char *s, pp_status_set *set, double min,
                        double max) {
  pp_status_set out = {.n = 0};
  const char *p = s;
  while (*p) {
    char *end;
    long lo = strtol(p, &end, 10), hi;
    if (end == p)
      return -1;
    p = end;
    if (*p == '-') {
      p++;
      hi = strtol(p, &end, 10);
      if (end == p)
        return -1;
      p = end;
    } else {
      hi = lo;
    }
    if (lo < min || hi > max || lo > hi || out.n == PP_STATUS_RANGES_MAX)
      return -1;
    out.r[out.n].lo = (int)lo;
    out.r[out.n].hi = (int)hi;
    out.n++;
    while (*p == ' ')
      p++;
    if (*p == ',') {
      p++;
      while (*p == ' ')
        p++;
      if (*p == 0)
        return -1;
    } else if (*p != 0) {
      return -1;
    }
  }
  if (out.n == 0)
    return -1;
  *set = out;
  return 0;
}

bool pp_status_match(const pp_status_set *set, int code) {
  for (int i = 0; i < set->n; i++)
    if (code >= set->r[i].lo && code <= set->r[i].hi)
      return true;
  return false;
}

long pp_unescape(const char *in, char *out) {
  char *o = out;
  for (const char *p = in; *p; p++) {
    if (*p != '\\') {
      *o++ = *p;
      continue;
    }
    p++;
    switch (*p) {
    case 'r':
      *o++ = '\r';
      break;
    case 'n':
      *o++ = '\n';
      break;
    case 't':
      *o++ = '\t';
      break;
    case '\\':
      *o++ = '\\';
      break;
    case 'x': {
      int v = 0;
      for (int i = 0; i < 2; i++) {
        char c = p[1];
        if (!isxdigit((unsigned char)c))
          return -1;
        v = v * 16 + (isdigit((unsigned char)c)
                          ? c - '0'
                          : tolower((unsigned char)c) - 'a' + 10);
        p++;
      }
      *o++ = (char)v;
      break;
    }
    default:
      return -1;
    }
  }
  *o = 0;
  return (long)(o - out);
}

static int list_append(pp_strlist *l, const char *v) {
  char **n = realloc(l->items, (l->n + 1) * sizeof(*n));
  if (n == NULL)
    return -1;
  l->items = n;
  if ((n[l->n] = strdup(v)) == NULL)
    return -1;
  l->n++;
  return 0;
}

static int step_append(pp_steplist *l, pp_step_kind kind, const char *v) {
  pp_step *n = realloc(l->items, (l->n + 1) * sizeof(*n));
  if (n == NULL)
    return -1;
  l->items = n;
  char *text = malloc(strlen(v) + 1);
  if (text == NULL)
    return -1;
  long len;
  if (kind == PP_STEP_SEND) {
    len = pp_unescape(v, text);
    if (len < 0) {
      free(text);
      return -2;
    }
  } else {
    strcpy(text, v);
    len = (long)strlen(v);
  }
  n[l->n] = (pp_step){.kind = kind, .text = text, .len = (size_t)len};
  l->n++;
  return 0;
}

static bool regex_syntax_ok(const char *pattern, char *err, size_t errlen);

/* Tag names the front ends set themselves ("time" is InfluxDB's own). */
static const char *const reserved_labels[] = {
    "time", "target", "scheme", "result", "address", "family", "mx", NULL};

/* --- one descriptor per option type ---
 * set parses s->value into the field; on failure it returns -1 and either
 * writes a message of its own to s->why or leaves it empty for the usual
 * "expected <what expected says>, got "<value>"". */

typedef struct {
  const pp_option *opt;
  const char *value;
  char why[160];
} setting;

typedef struct {
  int (*set)(setting *s, void *field);
  void (*expected)(const pp_option *opt, char *buf, size_t len);
  void (*free)(void *field); /* NULL: the type owns no memory */
  const char *name;          /* the type in listings: "duration" */
} opt_type;

static int say(setting *s, const char *why) {
  snprintf(s->why, sizeof(s->why), "%s", why);
  return -1;
}

/* Replaces the string at *field with a copy of value. */
static int set_dup(setting *s, char **field) {
  char *dup = strdup(s->value);
  if (dup == NULL)
    return say(s, "out of memory");
  free(*field);
  *field = dup;
  return 0;
}

static int set_bool(setting *s, void *field) {
  return pp_parse_bool(s->value, field);
}

static void expected_bool(const pp_option *opt, char *buf, size_t len) {
  (void)opt;
  snprintf(buf, len, "yes or no");
}

static int set_int(setting *s, void *field) {
  char *end;
  errno = 0;
  long long v = strtoll(s->value, &end, 10);
  if (end == s->value || *end != 0 || errno != 0 || v < s->opt->min ||
      v > s->opt->max)
    return -1;
  *(int *)field = (int)v;
  return 0;
}

static void expected_int(const pp_option *opt, char *buf, size_t len) {
  snprintf(buf, len, "a whole number from %.0f to %.0f", opt->min, opt->max);
}

static int set_size(setting *s, void *field) {
  int64_t v;
  if (pp_parse_size(s->value, &v) != 0 || v < s->opt->min || v > s->opt->max)
    return -1;
  *(int64_t *)field = v;
  return 0;
}

static void expected_size(const pp_option *opt, char *buf, size_t len) {
  snprintf(buf, len,
           "a size in bytes such as 4096, 16k or 1M, from %.0f to "
           "%.0f",
           opt->min, opt->max);
}

static int set_double(setting *s, void *field) {
  char *end;
  errno = 0;
  double v = strtod(s->value, &end);
  if (end == s->value || (*end != 0 && strcmp(end, "%") != 0) || errno != 0 ||
      !isfinite(v) || v < s->opt->min || v > s->opt->max)
    return -1;
  *(double *)field = v;
  return 0;
}

static void expected_double(const pp_option *opt, char *buf, size_t len) {
  snprintf(buf, len, "a number from %g to %g", opt->min, opt->max);
}

static int set_duration(setting *s, void *field) {
  int64_t ms;
  if (pp_parse_duration_ms(s->value, &ms) != 0 || ms < s->opt->min ||
      ms > s->opt->max)
    return -1;
  *(int64_t *)field = ms;
  return 0;
}

static void expected_duration(const pp_option *opt, char *buf, size_t len) {
  snprintf(buf, len, "a duration such as 500ms, 3s or 1m, from %gms to %gs",
           opt->min, opt->max / 1000);
}

/* Text that goes into a request, a tag or a log line: a line break there
 * would start another (a second HTTP header, a forged log line). */
static bool has_control(const char *v) {
  for (const unsigned char *p = (const unsigned char *)v; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return true;
  return false;
}

static int set_string(setting *s, void *field) {
  size_t len = strlen(s->value);
  if (len < s->opt->min || len > s->opt->max)
    return -1;
  if (has_control(s->value))
    return say(s, "control characters are not allowed");
  return set_dup(s, field);
}

static void expected_string(const pp_option *opt, char *buf, size_t len) {
  snprintf(buf, len, "a text of %.0f to %.0f characters", opt->min, opt->max);
}

static void free_string(void *field) {
  free(*(char **)field);
  *(char **)field = NULL;
}

static int set_enum(setting *s, void *field) {
  for (int i = 0; s->opt->choices[i]; i++)
    if (strcasecmp(s->opt->choices[i], s->value) == 0) {
      *(int *)field = i;
      return 0;
    }
  return -1;
}

static void expected_enum(const pp_option *opt, char *buf, size_t len) {
  size_t off = (size_t)snprintf(buf, len, "one of");
  for (size_t i = 0; opt->choices[i] && off < len; i++)
    off += (size_t)snprintf(buf + off, len - off, "%s %s", i ? "," : "",
                            opt->choices[i]);
}

static int set_regex(setting *s, void *field) {
  if (!regex_syntax_ok(s->value, s->why, sizeof(s->why)))
    return -1;
  return set_dup(s, &((pp_regex *)field)->pattern);
}

static void expected_regex(const pp_option *opt, char *buf, size_t len) {
  (void)opt;
  snprintf(buf, len, "a regular expression (PCRE2 syntax)");
}

static void free_regex(void *field) {
  free(((pp_regex *)field)->pattern);
  ((pp_regex *)field)->pattern = NULL;
}

static int set_status(setting *s, void *field) {
  return parse_status(s->value, field, s->opt->min, s->opt->max);
}

static void expected_status(const pp_option *opt, char *buf, size_t len) {
  snprintf(buf, len,
           "status codes and ranges from %.0f to %.0f, such as "
           "200-299,301",
           opt->min, opt->max);
}

static int set_list(setting *s, void *field) {
  if (*s->value == 0)
    return -1;
  if (has_control(s->value))
    return say(s, "control characters are not allowed");
  if (s->opt->offset == OFF(headers) && strchr(s->value, ':') == NULL)
    return say(s, "expected \"Name: value\" (a colon is missing)");
  if (list_append(field, s->value) != 0)
    return say(s, "out of memory");
  return 0;
}

static void expected_list(const pp_option *opt, char *buf, size_t len) {
  (void)opt;
  snprintf(buf, len, "a non-empty text");
}

static void free_strlist(void *field) {
  pp_strlist *l = field;
  for (size_t j = 0; j < l->n; j++)
    free(l->items[j]);
  free(l->items);
  l->items = NULL;
  l->n = 0;
}

/* send and expect share one list: the key's first letter tells them apart */
static int set_step(setting *s, void *field) {
  pp_step_kind kind = s->opt->key[0] == 's' ? PP_STEP_SEND : PP_STEP_EXPECT;
  if (kind == PP_STEP_EXPECT &&
      !regex_syntax_ok(s->value, s->why, sizeof(s->why)))
    return -1;
  int rc = step_append(field, kind, s->value);
  if (rc == -2)
    return say(s, "bad escape (use \\r \\n \\t \\\\ or \\xNN)");
  if (rc != 0)
    return say(s, "out of memory");
  return 0;
}

static void expected_step(const pp_option *opt, char *buf, size_t len) {
  snprintf(buf, len,
           opt->key[0] == 's'
               ? "bytes to send, with escapes \\r \\n \\t \\\\ \\xNN"
               : "a regular expression (PCRE2 syntax)");
}

static void free_steplist(void *field) {
  pp_steplist *l = field;
  for (size_t j = 0; j < l->n; j++)
    free(l->items[j].text);
  free(l->items);
  l->items = NULL;
  l->n = 0;
}

static int set_label(setting *s, void *field) {
  const char *value = s->value, *eq = strchr(value, '=');
  if (eq == NULL || eq == value || eq[1] == 0)
    return -1;
  if (has_control(value))
    return say(s, "control characters are not allowed");
  for (const char *p = value; p < eq; p++)
    if (!isalnum((unsigned char)*p) && *p != '_')
      return -1;
  size_t klen = (size_t)(eq - value);
  for (size_t i = 0; reserved_labels[i]; i++)
    if (strlen(reserved_labels[i]) == klen &&
        strncasecmp(reserved_labels[i], value, klen) == 0) {
      snprintf(s->why, sizeof(s->why),
               "the label name \"%.*s\" is reserved (portprobe sets it)",
               (int)klen, value);
      return -1;
    }
  /* a label named again replaces the earlier value, so that a target's
   * own label overrides one from its defaults */
  pp_strlist *l = field;
  for (size_t i = 0; i < l->n; i++)
    if (strncmp(l->items[i], value, klen + 1) == 0)
      return set_dup(s, &l->items[i]);
  if (list_append(field, value) != 0)
    return say(s, "out of memory");
  return 0;
}

static void expected_label(const pp_option *opt, char *buf, size_t len) {
  (void)opt;
  snprintf(buf, len, "name=value with a name of letters, digits and _");
}

/* A type with a free function owns memory: opts_share.c's kinds[] must know
 * it too, to compare, hash and copy its fields. */
static const opt_type types[] = {
    [PP_OPT_BOOL] = {set_bool, expected_bool, NULL, "bool"},
    [PP_OPT_INT] = {set_int, expected_int, NULL, "integer"},
    [PP_OPT_DOUBLE] = {set_double, expected_double, NULL, "number"},
    [PP_OPT_DURATION] = {set_duration, expected_duration, NULL, "duration"},
    [PP_OPT_SIZE] = {set_size, expected_size, NULL, "size"},
    [PP_OPT_STRING] = {set_string, expected_string, free_string, "text"},
    [PP_OPT_ENUM] = {set_enum, expected_enum, NULL, "choice"},
    [PP_OPT_REGEX] = {set_regex, expected_regex, free_regex, "regex"},
    [PP_OPT_STATUS] = {set_status, expected_status, NULL, "statuses"},
    [PP_OPT_LIST] = {set_list, expected_list, free_strlist, "text, repeatable"},
    [PP_OPT_STEP] = {set_step, expected_step, free_steplist, "repeatable"},
    [PP_OPT_LABEL] = {set_label, expected_label, free_strlist,
                      "name=value, repeatable"},
};

static const opt_type *type_of(const pp_option *opt) {
  if ((size_t)opt->type >= sizeof(types) / sizeof(types[0]) ||
      types[opt->type].set == NULL)
    return NULL;
  return &types[opt->type];
}

const char *pp_option_type_name(const pp_option *opt) {
  const opt_type *ty = type_of(opt);
  return ty ? ty->name : "?";
}

void pp_option_expected(const pp_option *opt, char *buf, size_t len) {
  const opt_type *ty = type_of(opt);
  if (ty)
    ty->expected(opt, buf, len);
}

static int fail(const pp_option *opt, const char *value, char *err,
                size_t errlen, const char *why) {
  char exp[160];
  pp_option_expected(opt, exp, sizeof(exp));
  if (why)
    snprintf(err, errlen, "option \"%s\": %s", opt->key, why);
  else
    snprintf(err, errlen, "option \"%s\": expected %s, got \"%s\"", opt->key,
             exp, value);
  return -1;
}

int pp_option_set(const pp_option *opt, pp_opts *o, const char *value,
                  char *err, size_t errlen) {
  const opt_type *ty = type_of(opt);
  if (ty == NULL)
    return fail(opt, value, err, errlen, "unknown option type");
  setting s = {.opt = opt, .value = value, .why = ""};
  if (ty->set(&s, (char *)o + opt->offset) == 0)
    return 0;
  return fail(opt, value, err, errlen, s.why[0] ? s.why : NULL);
}

void pp_opts_init(pp_opts *o) {
  memset(o, 0, sizeof(*o));
  char err[256];
  for (size_t i = 0; i < pp_options_count; i++)
    if (pp_options[i].def != NULL)
      pp_option_set(&pp_options[i], o, pp_options[i].def, err, sizeof(err));
}

void pp_opts_free(pp_opts *o) {
  for (size_t i = 0; i < pp_options_count; i++) {
    const opt_type *ty = type_of(&pp_options[i]);
    if (ty && ty->free)
      ty->free((char *)o + pp_options[i].offset);
  }
}

/* Regular expressions are PCRE2: check the syntax when the option is set so
 * that a typo is a configuration error, not a failed check later. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

static bool regex_syntax_ok(const char *pattern, char *err, size_t errlen) {
  int code;
  PCRE2_SIZE off;
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0,
                                 &code, &off, NULL);
  if (re != NULL) {
    pcre2_code_free(re);
    return true;
  }
  PCRE2_UCHAR msg[120];
  pcre2_get_error_message(code, msg, sizeof(msg));
  snprintf(err, errlen, "bad regular expression \"%s\" at offset %zu: %s",
           pattern, (size_t)off, (char *)msg);
  return false;
}

void pp_option_unknown(const char *key, char *buf, size_t len) {
  const char *hint = pp_option_suggest(key);
  snprintf(buf, len, "unknown option \"%s\"%s%s%s", key,
           hint ? " (did you mean \"" : "", hint ? hint : "",
           hint ? "\"?)" : "");
}
