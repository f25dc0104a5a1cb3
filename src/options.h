/* The option table: every target option is declared once here and in
 * options.c (key, type, default, bounds, help). Front ends, validation
 * messages and the README's reference all come from it. */
#ifndef PP_OPTIONS_H
#define PP_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  PP_OPT_BOOL,
  PP_OPT_INT,
  PP_OPT_DOUBLE,
  PP_OPT_DURATION, /* stored as milliseconds */
  PP_OPT_SIZE,     /* bytes, stored as int64_t: 4096, 16k, 1M */
  PP_OPT_STRING,
  PP_OPT_ENUM,   /* stored as int: index into choices */
  PP_OPT_REGEX,  /* stored as pp_regex: pattern validated on set */
  PP_OPT_STATUS, /* HTTP status set: "200-399,401" */
  PP_OPT_LIST,   /* repeatable: each value appended */
  PP_OPT_STEP,   /* send / expect: appended to one ordered step list */
  PP_OPT_LABEL,  /* name=value, repeatable */
} pp_opt_type;

/* Which kinds of targets an option applies to. */
enum {
  PP_APPLY_TCP = 1 << 0,    /* plain connect, and every TCP-based check */
  PP_APPLY_TLS = 1 << 1,    /* checks that may use TLS */
  PP_APPLY_DIALOG = 1 << 2, /* send/expect and protocol dialogs */
  PP_APPLY_HTTP = 1 << 3,
  PP_APPLY_ICMP = 1 << 4,
  PP_APPLY_DNS = 1 << 5,
  PP_APPLY_WIRE = 1 << 6, /* binary protocols over TCP (postgres, ...) */
  PP_APPLY_UDP = 1 << 7,  /* datagram checks (udp, ntp) */
  PP_APPLY_ALL = 0xff,
};

typedef struct {
  char *pattern; /* compiled by the module that matches, once per target */
} pp_regex;

typedef struct {
  char **items;
  size_t n;
} pp_strlist;

typedef enum { PP_STEP_SEND, PP_STEP_EXPECT } pp_step_kind;
typedef struct {
  pp_step_kind kind;
  char *text; /* send: unescaped bytes; expect: regular expression */
  size_t len;
} pp_step;

typedef struct {
  pp_step *items;
  size_t n;
} pp_steplist;

#define PP_STATUS_RANGES_MAX 16
typedef struct {
  struct {
    int lo, hi;
  } r[PP_STATUS_RANGES_MAX];
  int n;
} pp_status_set;

enum { PP_AF_AUTO, PP_AF_IPV4, PP_AF_IPV6 };
enum {
  PP_STARTTLS_DEFAULT,
  PP_STARTTLS_NO,
  PP_STARTTLS_TRY,
  PP_STARTTLS_REQUIRE
};
enum { PP_HTTPV_AUTO, PP_HTTPV_1_0, PP_HTTPV_1_1, PP_HTTPV_2 };
enum { PP_AUTH_AUTO, PP_AUTH_PLAIN, PP_AUTH_LOGIN };
enum { PP_DOWNGRADE_ALLOW, PP_DOWNGRADE_REFUSE };
enum { PP_OCSP_OPT_NO, PP_OCSP_OPT_CHECK, PP_OCSP_OPT_REQUIRE };
enum { PP_REDIRECT_HEADERS_SAME_HOST, PP_REDIRECT_HEADERS_ALL };
enum { PP_DNS_UDP, PP_DNS_TCP, PP_DNS_TLS };
enum { PP_MATCH_ALL, PP_MATCH_ANY };
enum { PP_DNSSEC_OFF, PP_DNSSEC_REPORT, PP_DNSSEC_REQUIRE };
enum {
  PP_DNSC_QUERY,
  PP_DNSC_NS,
  PP_DNSC_DNSBL,
  PP_DNSC_SPF,
  PP_DNSC_DMARC,
  PP_DNSC_MTA_STS,
  PP_DNSC_TLS_RPT,
  PP_DNSC_DANE,
};
enum { PP_ADDRESSES_ANY, PP_ADDRESSES_ALL };

/* Typed storage of every option. Owned by the target; freed with it. */
typedef struct pp_opts {
  /* common */
  char *name;
  int64_t interval_ms;
  int64_t timeout_ms;
  int64_t connect_timeout_ms; /* 0: bounded by timeout only */
  int address_family;
  char *source_address;
  int down_after;
  int up_after;
  pp_strlist labels; /* "name=value" */
  bool expect_closed;
  int64_t slow_warn_ms; /* 0: off */
  int64_t slow_crit_ms;
  double flap_high; /* percent */
  double flap_low;

  /* TLS */
  int starttls;
  bool verify;
  char *ca_file;
  char *sni;
  int cert_warn_days;
  int cert_crit_days;

  /* dialogs */
  pp_regex expect_banner;
  pp_steplist steps;
  char *ehlo;
  char *username;
  char *password_file;
  int auth_mechanism;
  bool auth_plaintext;
  int64_t max_reply; /* bytes */

  /* HTTP */
  char *method; /* NULL: GET, or POST with a body */
  pp_status_set status;
  pp_regex keyword;
  pp_regex keyword_absent;
  bool follow_redirects;
  int max_redirects;
  pp_strlist headers;
  int http_version;
  int64_t max_body; /* bytes */

  /* ICMP */
  int count;
  int64_t spacing_ms;
  int size;
  int quality_window;
  double loss_warn, loss_bad, loss_crit;
  int64_t rtt_warn_ms, rtt_bad_ms, rtt_crit_ms;
  int64_t jitter_warn_ms, jitter_bad_ms, jitter_crit_ms;

  /* HTTP: redirects */
  int redirect_downgrade; /* PP_DOWNGRADE_* */
  int redirect_headers;   /* PP_REDIRECT_HEADERS_* */

  /* TLS: the whole chain, revocation, protocol hygiene, client identity */
  pp_strlist pins;     /* "sha256//BASE64", any one matches */
  int ocsp;            /* PP_OCSP_OPT_* */
  int tls_min_version; /* index of tls_min_version's choices; 0: any */
  char *client_cert;
  char *client_key;
  char *client_key_password_file;
  char *refuse_protocols; /* "tls1.0,tls1.1": offered alone, must fail */

  /* HTTP: the request users send, and what the answer must hold */
  char *body;
  char *body_file;
  char *content_type;
  pp_strlist expect_headers; /* "Name: regex" */
  char *json_path;           /* JSON Pointer (RFC 6901) */
  pp_regex json_expect;
  char *bearer_token_file;
  char *proxy;
  char *proxy_username;
  char *proxy_password_file;
  /* DNS (expect: the steps above, matched against the answer set) */
  int dns_check; /* PP_DNSC_* */
  char *query;
  char *qtype;
  char *qclass;
  bool recursion;
  int transport;
  char *expect_rcode;
  int expect_match;
  int dnssec;
  char *trust_anchor;
  int64_t rrsig_warn_ms, rrsig_crit_ms;
  pp_strlist dnsbl_zones;
  int service_port; /* 0: the check's own (25 for dane, 443 mta_sts) */

  /* every address, every MX host (fanout.c) */
  int addresses; /* PP_ADDRESSES_* */
  int require;   /* 0: all of them */
  bool mx;

  /* the mail round trip (mail_trip.c) */
  char *mail_to;
  char *mail_from;
  char *fetch; /* imap|imaps|pop3|pop3s://host[:port] */
  char *fetch_username;
  char *fetch_password_file;
  int64_t delivery_timeout_ms;

  /* binary protocols and UDP */
  char *database;
  int retries;
} pp_opts;

typedef struct {
  const char *key;
  pp_opt_type type;
  const char *def; /* default, written as a user would; NULL: unset */
  double min, max; /* bounds for numbers, durations (ms), sizes */
  const char *const *choices;
  size_t offset;
  unsigned applies; /* PP_APPLY_* */
  const char *help;
} pp_option;

/* The table, in the order the README lists it. */
extern const pp_option pp_options[];
extern const size_t pp_options_count;

/* Finds an option by key. Case, '_' and '-' are ignored, so collectd's
 * "StartTLS" and "CAFile" find "starttls" and "ca_file". NULL if unknown. */
const pp_option *pp_option_find(const char *key);

/* The closest key to an unknown one, for "did you mean"; NULL if none. */
const char *pp_option_suggest(const char *key);

/* The message for a key that is no option, with a suggestion when one is
 * near: 'unknown option "Timout" (did you mean "timeout"?)'. The one place
 * that message is made. */
void pp_option_unknown(const char *key, char *buf, size_t len);

/* Sets every option to its default. */
void pp_opts_init(pp_opts *o);
void pp_opts_free(pp_opts *o);

/* Sharing (opts_share.c): targets with equal options point to one block.
 * pp_opts_share takes o (from malloc, filled, never written again) and
 * returns the shared block equal to it, freeing o when one existed; NULL
 * when out of memory, o then still the caller's. pp_opts_unshare drops one
 * reference, freeing the block with the last. pp_opts_copy makes a deep
 * copy into to (uninitialised memory); -1 when out of memory, to freed. */
const pp_opts *pp_opts_share(pp_opts *o);
void pp_opts_unshare(const pp_opts *o);
int pp_opts_copy(pp_opts *to, const pp_opts *from);
bool pp_opts_equal(const pp_opts *a, const pp_opts *b);
size_t pp_opts_shared_count(void); /* distinct blocks shared now */

/* Parses value for opt into o. On failure returns -1 and writes to err what
 * was expected, without the target's name (the caller adds it). */
int pp_option_set(const pp_option *opt, pp_opts *o, const char *value,
                  char *err, size_t errlen);

/* The option's type in listings: "duration", "text, repeatable". */
const char *pp_option_type_name(const pp_option *opt);

/* Describes the accepted values: "a duration such as 500ms, 3s or 1m". */
void pp_option_expected(const pp_option *opt, char *buf, size_t len);

/* Parsers shared with front ends. */
int pp_parse_duration_ms(const char *s, int64_t *ms);
int pp_parse_bool(const char *s, bool *b);
int pp_parse_size(const char *s, int64_t *bytes);
bool pp_status_match(const pp_status_set *set, int code);

/* Turns C-style escapes (\r \n \t \\ \xNN) into bytes. Returns the length,
 * or -1 on a bad escape. out must hold strlen(in)+1 bytes. */
long pp_unescape(const char *in, char *out);

#endif
