/* What a check found: one record per check, and the names users see for its
 * failure classes and phases. Strings for users come from here only. */
#ifndef PP_RESULT_H
#define PP_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  PP_R_OK = 0,
  PP_R_DNS_FAILED,
  PP_R_REFUSED,
  PP_R_TIMEOUT,
  PP_R_UNREACHABLE,
  PP_R_RESET,
  PP_R_CLOSED,          /* server closed the connection early */
  PP_R_UNEXPECTED_OPEN, /* expect_closed=yes and the port accepted */
  PP_R_TLS_HANDSHAKE_FAILED,
  PP_R_TLS_VERIFY_FAILED,
  PP_R_BANNER_MISMATCH,
  PP_R_EXPECT_MISMATCH,
  PP_R_STARTTLS_UNAVAILABLE,
  PP_R_AUTH_FAILED,
  PP_R_PROTOCOL_ERROR, /* garbage, binary, over-long reply */
  PP_R_NO_REPLY,       /* icmp: every echo lost */
  PP_R_HTTP_STATUS,
  PP_R_KEYWORD_MISSING,
  PP_R_KEYWORD_PRESENT,
  PP_R_TOO_MANY_REDIRECTS,
  PP_R_SOCKET_ERROR, /* a local failure: no descriptors, no permission */
  PP_R_UNSUPPORTED,  /* this build cannot run that kind of check */
  /* added later; each a failure a user alerts on by name */
  PP_R_INSECURE_REDIRECT, /* https redirected to http, refused */
  PP_R_CERT_REVOKED,      /* the stapled OCSP response says revoked */
  PP_R_PIN_MISMATCH,      /* the key is none of the pins */
  PP_R_OCSP_MISSING,      /* ocsp=require without a good stapled response */
  PP_R_TLS_WEAK_PROTOCOL, /* below tls_min_version, or an old one accepted */
  PP_R_HEADER_MISMATCH,   /* expect_header: missing or another value */
  PP_R_JSON_MISMATCH,     /* json_path missing, or json_expect unmet */
  /* dns */
  PP_R_DNS_RCODE,       /* a response code other than expect_rcode */
  PP_R_NO_ANSWER,       /* the expected rcode, but no records */
  PP_R_DNSSEC_BOGUS,    /* signatures present that do not validate */
  PP_R_DNSSEC_INSECURE, /* dnssec=require and the answer is unsigned */
  PP_R_NS_MISMATCH,     /* authoritative servers serve different serials */
  PP_R_NS_LAME,         /* an authoritative server is lame or silent */
  PP_R_DNSBL_LISTED,    /* listed on a DNS blocklist */
  PP_R_RECORD_MISSING,  /* SPF, DMARC, MTA-STS or TLS-RPT record absent */
  PP_R_RECORD_INVALID,  /* more than one such record, or bad syntax */
  PP_R_DANE_MISMATCH,   /* the certificate matches no TLSA record */
  PP_R_NOT_DELIVERED,   /* a round trip's message never reached the mailbox */
  PP_R_NULL_MX,         /* the mail domain says it takes no mail (RFC 7505) */
  PP_R_UNAVAILABLE,     /* the server answers in its protocol but refuses
                           service: starting up, too many clients, blocked */
  PP_R_COUNT
} pp_result_code;

typedef enum {
  PP_PHASE_NONE = 0,
  PP_PHASE_DNS,
  PP_PHASE_CONNECT,
  PP_PHASE_TLS,
  PP_PHASE_BANNER,
  PP_PHASE_DIALOG,
  PP_PHASE_STARTTLS,
  PP_PHASE_AUTH,
  PP_PHASE_REQUEST,
  PP_PHASE_FIRST_BYTE,
  PP_PHASE_BODY,
  PP_PHASE_ICMP,
  PP_PHASE_QUERY,    /* dns: a query sent, its answer awaited */
  PP_PHASE_DELIVERY, /* a round trip waits for its message */
  PP_PHASE_FETCH,    /* a round trip's mailbox session */
  PP_PHASE_COUNT
} pp_phase;

typedef enum {
  PP_GRADE_NONE = 0, /* not graded (no data, or not applicable) */
  PP_GRADE_GOOD,
  PP_GRADE_WARNING,
  PP_GRADE_BAD,
  PP_GRADE_CRITICAL,
} pp_grade;

/* A stapled OCSP response, as the handshake delivered it. */
typedef enum {
  PP_OCSP_NONE = 0, /* none stapled (or none asked for: ocsp=no) */
  PP_OCSP_GOOD,
  PP_OCSP_REVOKED,
  PP_OCSP_UNKNOWN, /* the responder does not know the certificate */
  PP_OCSP_INVALID, /* unreadable, not signed by a trusted responder, not
                      for this certificate, or out of date */
} pp_ocsp_status;

#define PP_EXCERPT_MAX 160
#define PP_DETAIL_MAX 200
#define PP_VERSION_MAX 64
#define PP_INFO_MAX 160

/* Timings are seconds; a negative value means the phase did not happen. */
typedef struct pp_result {
  bool up;
  pp_result_code code;
  pp_phase phase;   /* the phase a failure or timeout hit */
  int64_t time_ns;  /* wall clock when the check started */
  int sys_errno;    /* errno behind a socket failure, 0 otherwise */
  char address[48]; /* address that answered, else the last one tried;
                       empty before DNS */
  uint16_t port;
  uint8_t addresses_tried; /* connect attempts (a name's addresses in turn) */
  double t_dns, t_connect, t_tls, t_first_byte, t_total;
  char detail[PP_DETAIL_MAX];   /* why, in words (OpenSSL's reason, ...) */
  char excerpt[PP_EXCERPT_MAX]; /* sanitised words of the server */

  /* TLS facts, reported even when verification failed. */
  bool tls_used;
  char tls_version[16];
  bool cert_seen;
  int64_t cert_expiry_s; /* seconds until notAfter, negative when past */
  pp_grade cert_grade;   /* of the earliest expiry, leaf or chain */

  /* HTTP */
  int http_status;
  int http_redirects;
  char final_scheme[8]; /* where redirects led (followed or refused); "" */

  /* TLS facts, continued (tls_check.c): the same for every kind */
  bool chain_seen;
  int64_t chain_expiry_s; /* earliest notAfter of the presented chain */
  /* the certificate's words, NULL without a handshake; read them through
   * pp_result_cert */
  struct pp_cert_facts *cert;
  pp_ocsp_status ocsp_status;
  int64_t ocsp_next_update_s; /* until the stapled response's nextUpdate */

  /* ICMP */
  int icmp_sent, icmp_received;
  double loss_pct, rtt_min, rtt_avg, rtt_max, rtt_stddev, jitter;
  pp_grade quality;

  /* DNS */
  int dns_rcode;          /* the answer's response code, -1 without one */
  int dns_answers;        /* records in the answer section */
  int64_t dns_ttl_min;    /* lowest TTL in the answer, -1 without records */
  double t_query;         /* query sent to answer read, seconds */
  int dnssec;             /* PP_DNSSEC_* */
  bool rrsig_seen;        /* signatures over the answer or the DNSKEY set */
  int64_t rrsig_expiry_s; /* until the earliest expires; negative: past */
  pp_grade rrsig_grade;
  int dns_count; /* ns: servers asked; dnsbl: zones listing; mail: records;
                    -1 until known */
  int dns_dnskeys, dns_ds; /* the signer's DNSKEY and DS records, -1 */

  /* Checked on every address or every MX host: one record per address or
   * host (parts[0..nparts-1], in the order checked), which this one
   * summarises; parts_up of them were up. The engine keeps them until its
   * next round. NULL and 0 otherwise. */
  const struct pp_part *parts;
  uint16_t nparts, parts_up;

  /* Mail round trip: SMTP accepted the message -> seen in the mailbox,
   * the SMTP session, the mailbox session that found it. */
  double t_delivery, t_smtp, t_fetch;

  /* What the server said in words beyond these fields (a dns check's
   * facts, a server's version and protocol facts), NULL when nothing: read
   * them through pp_result_words(), write through pp_check_words(). */
  struct pp_server_words *words;
  /* NTP: the server's clock against ours, and its stratum */
  bool clock_seen;
  double clock_offset; /* seconds, positive when the server is ahead */
  int stratum;
} pp_result;

/* What a handshake showed of the server's certificate, in words. Kept out
 * of the record, which most checks (no TLS) keep per target: tls_check.c
 * takes it from the engine's memory for the round, so it lives as long as
 * the round's parts do (until that engine's next round), and a copy of a
 * record shares it. */
typedef struct pp_cert_facts {
  char tls_cipher[64];    /* IANA name: TLS_AES_128_GCM_SHA256 */
  char cert_subject[128]; /* the leaf's, RFC 2253: CN=www.example.com */
  char cert_serial[64];   /* hex */
  char cert_sha256[65];   /* fingerprint of the leaf, hex */
  char cert_pin[80];      /* sha256//BASE64 of its public key (SPKI) */
  char cert_key_type[16]; /* RSA, EC, ED25519 */
  int cert_key_bits;
  char cert_signature[48]; /* ecdsa-with-SHA256, sha256WithRSAEncryption */
  char chain_expiry_subject[128]; /* whose is chain_expiry_s */
} pp_cert_facts;

/* r's certificate facts; empty ones (every string "") when it has none. */
const pp_cert_facts *pp_result_cert(const pp_result *r);

/* What a server said in words, kept out of the record as the certificate's
 * words are (most checks say nothing of the kind): a check takes them from
 * the engine's memory for the round when it first writes one
 * (pp_check_words), and a copy of a record shares them. */
typedef struct pp_server_words {
  /* ns serials, dnsbl reasons, TLSA match (PP_DETAIL_MAX bytes, taken
   * apart: only dns checks write it); NULL: none, read pp_result_dns_info */
  char *dns_info;
  /* What a server says about itself (databases, directories, NTP...): its
   * version, and protocol facts ("writable primary, replica set rs0");
   * empty when the protocol does not say. */
  char server_version[PP_VERSION_MAX];
  char info[PP_INFO_MAX];
} pp_server_words;

/* r's words; empty ones (every string "") when it has none. */
const pp_server_words *pp_result_words(const pp_result *r);
/* r's dns facts in words, "" when none. */
const char *pp_result_dns_info(const pp_result *r);

/* What DNSSEC said of a dns check's answer. */
enum {
  PP_DNSSEC_UNCHECKED = 0, /* dnssec=off, or no answer to judge */
  PP_DNSSEC_SECURE,        /* validated (AD from the resolver, or ours) */
  PP_DNSSEC_INSECURE,      /* unsigned, or the resolver did not validate */
  PP_DNSSEC_BOGUS,         /* signatures that do not validate */
  PP_DNSSEC_SIGNED,        /* signed, not validated (dnssec=report) */
};
/* "unchecked", "secure", "insecure", "bogus", "signed" */
const char *pp_dnssec_name(int status);
/* "NOERROR", "NXDOMAIN", ...; "RCODE17" for codes without a name. */
const char *pp_dns_rcode_name(int rcode);

/* One address (or MX host, or address of an MX host) of a target. */
typedef struct pp_part {
  pp_result r;       /* its own record; r.address is the address */
  const char *mx;    /* the MX host it belongs to, or NULL */
  int mx_preference; /* -1: no MX record (the domain itself) */
  bool one_address;  /* one address (addresses=all), not a whole host */
} pp_part;

/* The part's name: "2001:db8::1", "mx1.example.com" (a host, whichever
 * address answered), "mx1.example.com[192.0.2.1]" (one of its addresses),
 * as Postfix writes a relay. */
void pp_part_name(const pp_part *p, char *buf, size_t len);

/* "ok", "refused", ...: stable identifiers for tags and documents. */
const char *pp_result_name(pp_result_code code);
/* "connection refused", ...: words for people. */
const char *pp_result_describe(pp_result_code code);
const char *pp_phase_name(pp_phase phase);
const char *pp_grade_name(pp_grade grade);
const char *pp_ocsp_name(pp_ocsp_status status);

/* "ipv4" or "ipv6" for a record's address, NULL when it has none. */
const char *pp_result_family(const pp_result *r);

/* Copies the TLS facts (version, certificate, chain, OCSP) of from to to;
 * the certificate's words are shared (both records are the same round's). */
void pp_result_copy_tls(pp_result *to, const pp_result *from);

/* Clears a record: no timings, no facts. */
void pp_result_reset(pp_result *r);

/* One line for a person: "refused", "timeout (connect)", "http_status 503". */
void pp_result_summary(const pp_result *r, char *buf, size_t len);

/* Copies what a server said into r->excerpt, printable ASCII only: control
 * bytes become spaces, other bytes \xNN, and long input is cut with "...". */
void pp_result_set_excerpt(pp_result *r, const char *data, size_t len);

/* Copies a server's version into w->server_version, sanitised as an
 * excerpt and cut to fit. */
void pp_words_set_version(pp_server_words *w, const char *data, size_t len);

#endif
