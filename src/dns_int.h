/* What the dns kind's files share: its per-engine, per-target and per-check
 * state, one DNS exchange on the loop (dns_xfer.c), a TCP/TLS stream
 * (dns_stream.c) and each check's entry point. ldns builds, parses and
 * validates; the I/O is ours, on the engine's loop. Internal to the kind. */
#ifndef PP_DNS_INT_H
#define PP_DNS_INT_H

#include "check_core.h"
#include "tls.h"

#include <ldns/ldns.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_UDP_SIZE 1232    /* EDNS buffer size (the 2020 flag day's) */
#define DNS_MAX_MSG 65535    /* largest DNS message over TCP */
#define DNS_RETRY_US 1000000 /* first UDP retransmission */

/* --- per engine --- */
typedef struct dns_http dns_http; /* MTA-STS policy fetches (dns_mail.c) */

typedef struct {
  pp_engine *engine;
  pp_tls_ctxs *tls; /* DNS over TLS, DANE's STARTTLS */
  pcre2_match_data *md;
  pcre2_match_context *mctx;
  dns_http *http;
  uint8_t rbuf[DNS_MAX_MSG]; /* one UDP datagram at a time */
} dns_engine;

/* --- per target: made at finalize, kept across rounds --- */
typedef struct {
  ldns_rdf *qname; /* the query as a name; NULL for a dnsbl address */
  ldns_rr_type qtype;
  ldns_rr_class qclass;
  int expect_rcode;
  pcre2_code **expect; /* the expect steps, compiled */
  size_t nexpect;
  ldns_rr_list *anchors; /* trust_anchor's DS and DNSKEY records, or NULL */
  bool system;           /* dns://: the servers of resolv.conf */
  pp_sockaddr system_server;
  char *bl_name; /* dnsbl: the reversed address or the name, dot-ended */
} dns_plan;

/* --- per check --- */
typedef struct dnsx dnsx;
typedef struct dns_check dns_check;

typedef enum {
  DNSX_OK,        /* an answer (pkt) */
  DNSX_TIMEOUT,   /* the exchange's own deadline passed */
  DNSX_ERRNO,     /* a socket error (err) */
  DNSX_TLS,       /* TLS failed or did not verify (why, code) */
  DNSX_MALFORMED, /* not a DNS answer to our query (why) */
} dnsx_status;

typedef struct {
  dnsx_status status;
  ldns_pkt *pkt; /* DNSX_OK: the answer, the callback's to free */
  int err;
  pp_result_code code; /* DNSX_TLS: handshake or verify failure */
  const char *why;
  double secs;   /* query sent to answer read */
  bool over_tcp; /* udp fell back to TCP after a truncated answer */
} dnsx_result;

typedef void (*dnsx_cb)(dns_check *dc, void *ud, const dnsx_result *r);

struct dns_check {
  pp_check *c;
  const pp_target *t;
  const dns_plan *pl;
  dns_engine *de;
  pp_sockaddr server; /* with its port */
  dnsx *xs;           /* exchanges in flight, cancelled at cleanup */
  void *mode;         /* the check's own state */
  void (*mode_free)(dns_check *dc);
  int pending;         /* sub-queries awaited by a mode that sends several */
  struct dns_sec *sec; /* a DNSSEC judgement under way (dns_dnssec.c) */
};

/* What an exchange asks of the transport. */
typedef struct {
  const pp_sockaddr *server; /* port set */
  int transport;             /* PP_DNS_UDP, TCP or TLS */
  uint64_t deadline_us;      /* 0: the check's deadline ends it */
  bool primary; /* sets the check's phases, timings and TLS facts */
} dnsx_opts;

/* --- dns_xfer.c --- */

/* Sends query (kept by the caller) and calls cb once with the outcome,
 * unless the check ends first. Returns -1 (cb not called) when the query
 * cannot be sent at all; the caller finishes the check. */
int dnsx_send(dns_check *dc, const dnsx_opts *o, const ldns_pkt *query,
              dnsx_cb cb, void *ud);
/* Ends every exchange of the check without calling back. */
void dnsx_cancel_all(dns_check *dc);

/* --- check_dns.c: helpers every mode uses --- */

/* Binds fd to source_address when one is set. -1 with why when the address
 * is not of the family or cannot be bound. */
int dns_bind_source(const dns_check *dc, int fd, int family, char *why,
                    size_t len);

/* A query for name: RD from the recursion option, DO unless dnssec=off,
 * CD when the check validates itself. NULL when out of memory. */
ldns_pkt *dns_query_new(const dns_check *dc, const ldns_rdf *name,
                        ldns_rr_type type, bool rd);
/* Asks the check's server over the target's transport for name/type;
 * deadline_us 0: the check's. On a failure to send, finishes the check and
 * returns -1. */
int dns_ask(dns_check *dc, const ldns_rdf *name, ldns_rr_type type,
            bool primary, uint64_t deadline_us, dnsx_cb cb, void *ud);
/* Ends the check with what a failed primary exchange says. */
void dns_fail_exchange(dns_check *dc, const dnsx_result *r);
/* When a sub-query is given up: a share of the check's time left. */
uint64_t dns_sub_deadline(const dns_check *dc);
/* "NXDOMAIN" */
const char *dns_rcode_words(int rcode);
/* The records of sec in presentation format, one per line, RRSIGs left
 * out; malloc'd, NULL when out of memory. */
char *dns_rrs_text(const ldns_rr_list *rrs);
/* Counts the records of sec that are not RRSIG, and their lowest TTL. */
int dns_count_rrs(const ldns_rr_list *rrs, int64_t *ttl_min);
/* The TXT records of pkt's answer as strings (character-strings joined),
 * malloc'd; returns the count, -1 when out of memory. */
int dns_txt_strings(const ldns_pkt *pkt, char ***out);
void dns_strings_free(char **v, int n);

/* --- the modes: each starts with the server known --- */
void dns_query_start(dns_check *dc); /* dns_answer.c */
void dns_ns_start(dns_check *dc);    /* dns_ns.c */
void dns_bl_start(dns_check *dc);    /* dns_bl.c */
void dns_mail_start(dns_check *dc);  /* dns_mail.c: spf dmarc sts rpt */
void dns_dane_start(dns_check *dc);  /* dns_dane.c */
void dns_mail_engine_free(dns_engine *de);

/* --- dns_dnssec.c --- */

/* Judges the signatures of answer (kept by the caller until done runs):
 * DNSKEY and DS of the signer, the earliest RRSIG expiry, and with
 * dnssec=require the verdict (the AD flag, or ours from trust_anchor).
 * Writes res->dnssec and the rrsig fields, then calls done, whose code is
 * PP_R_OK or the DNSSEC failure with why. */
typedef void (*dns_dnssec_done)(dns_check *dc, pp_result_code code,
                                const char *why);
void dns_dnssec_judge(dns_check *dc, const ldns_pkt *answer,
                      dns_dnssec_done done);
/* Frees what a judgement keeps (called from cleanup). */
void dns_dnssec_free(dns_check *dc);

/* --- dns_stream.c: a TCP connection, TLS on demand --- */
typedef struct dstream dstream;
/* status 0: done; otherwise a result class, why in ds_why(). */
typedef void (*dstream_fn)(dstream *s, void *ud, int status);

dstream *ds_new(dns_check *dc, const pp_sockaddr *to);
void ds_free(dstream *s);
void ds_connect(dstream *s, dstream_fn fn, void *ud);
/* TLS over the connection, the facts into the record when record; when
 * verify, a chain or name (NULL: the server's address) that does not verify
 * as the target's TLS options say ends it with tls_verify_failed. */
void ds_tls(dstream *s, const char *name, bool record, bool verify,
            dstream_fn fn, void *ud);
void ds_write(dstream *s, const void *buf, size_t len, dstream_fn fn, void *ud);
/* Reads until complete(buf, len) returns the length of a whole message
 * (0: more needed, (size_t)-1: malformed), at most max bytes. */
void ds_read(dstream *s, size_t max,
             size_t (*complete)(const uint8_t *b, size_t n), dstream_fn fn,
             void *ud);
const uint8_t *ds_data(const dstream *s, size_t *len);
/* Drops n bytes read (a message handled). */
void ds_consume(dstream *s, size_t n);
const char *ds_why(const dstream *s);
int ds_errno(const dstream *s);
pp_tls *ds_tls_session(dstream *s);

#endif
