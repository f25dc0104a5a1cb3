/* A target: a URL plus options. The scheme names the protocol and the TLS
 * mode (see DESIGN.md); options never come from the URL's query string. */
#ifndef PP_TARGET_H
#define PP_TARGET_H

#include "options.h"

#include <stdbool.h>
#include <stdint.h>

typedef enum {
  PP_KIND_TCP,    /* connect only (expect_closed too) */
  PP_KIND_DIALOG, /* connect, [TLS], a step table */
  PP_KIND_HTTP,   /* libcurl */
  PP_KIND_ICMP,   /* echo requests */
  PP_KIND_DNS,    /* DNS queries, DNSSEC, mail-domain records (ldns) */
  PP_KIND_WIRE,   /* connect, [TLS], a binary protocol's codec (wire.h) */
  PP_KIND_UDP,    /* datagrams: send/expect, or a codec (ntp) */
} pp_check_kind;

typedef enum { PP_TLS_NONE, PP_TLS_IMPLICIT, PP_TLS_STARTTLS } pp_tls_mode;

struct pp_protocol;   /* dialog.h */
struct pp_wire_proto; /* wire.h */

/* One row per scheme (protocols.c): its kind, TLS mode and protocol. Adding
 * a protocol is adding a row there and, where needed, a kind. */
typedef struct {
  const char *name;
  uint16_t default_port; /* 0: the URL must name one */
  pp_tls_mode tls;
  int starttls_default; /* PP_STARTTLS_* for PP_TLS_STARTTLS schemes */
  pp_check_kind kind;
  const char *service; /* word for alerts: "smtp", "https", ... */
  /* the step table a dialog runs (tcp's: its send/expect, if any); NULL for
   * kinds without one */
  const struct pp_protocol *protocol;
  const char *alias; /* another name for the scheme ("ping"), or NULL */
  /* the codec of a binary protocol (wire and udp kinds), or NULL */
  const struct pp_wire_proto *wire;
} pp_scheme;

/* The scheme table; NULL if name is not a scheme portprobe knows. */
const pp_scheme *pp_scheme_find(const char *name);
extern const pp_scheme pp_schemes[];
extern const size_t pp_schemes_count;

/* Writes the names of the schemes want() accepts (every scheme when want
 * is NULL), "tcp, tls, smtp" with aliases in brackets, for messages that
 * list them. Returns how many were listed. */
size_t pp_scheme_names(char *buf, size_t len, bool (*want)(const pp_scheme *s));

/* Whether targets of the scheme can log in (username, password_file). */
bool pp_scheme_takes_login(const pp_scheme *s);

typedef struct pp_target {
  char *url;
  const pp_scheme *scheme;
  char *host;    /* without brackets for IPv6 literals */
  uint16_t port; /* 0 for icmp */
  char *path;    /* http: path and query, "/" when empty; NULL otherwise */
  bool host_is_ip;
  pp_check_kind kind; /* tcp with send/expect runs as a dialog */
  int starttls;       /* PP_STARTTLS_NO/TRY/REQUIRE, default resolved */
  /* its options: its own while options are set; from finalize on, the
   * block it shares with every target of equal options (opts_share.c),
   * read-only, which pp_target_set copies before writing */
  pp_opts *opts;
  bool opts_shared;
  char *name;  /* the name option once finalized (kept out of the shared
                * block: every target's differs); read pp_target_name() */
  char *group; /* the <Host> block it belongs to, or NULL (hosts.h) */
  bool finalized;
  /* the kind's data kept across rounds (compiled regexes, a request, an
   * ICMP window): made by its prepare hook when finalized, freed with the
   * target; the check that runs the target may change what it points to */
  void *check_data;
  void (*check_data_free)(void *);
  bool port_given; /* the URL named the port (dns: 853 for tls otherwise) */
  /* a mail round trip (mail_trip.c): the mailbox it fetches from, made
   * when finalized and owned; fetch_leg marks that mailbox target */
  struct pp_target *fetch;
  bool fetch_leg;
} pp_target;

/* Parses url. Returns NULL and a message in err on a bad URL. The message
 * names the URL and what is wrong. */
pp_target *pp_target_new(const char *url, char *err, size_t errlen);

/* url as a message may show it: anything between the scheme and its last
 * '@' (credentials, which may hold '@', '/', '?' or '#') is "****". */
void pp_url_shown(const char *url, char *out, size_t len);
void pp_target_free(pp_target *t);

/* Sets one option. On failure returns -1 with a message naming the target,
 * the key and what was expected. */
int pp_target_set(pp_target *t, const char *key, const char *value, char *err,
                  size_t errlen);

/* Checks options against each other and the scheme, once all are set.
 * Returns -1 with a message naming the target on failure. */
int pp_target_finalize(pp_target *t, char *err, size_t errlen);

/* Whether opt means anything for this target's kind. */
bool pp_target_option_applies(const pp_target *t, const pp_option *opt);

/* Puts the target in a host group (collectd's <Host> block), whose checks
 * are diagnosed together. Returns -1 when out of memory. */
int pp_target_set_group(pp_target *t, const char *group);

/* The longest its check can run, in ms: timeout, or for a mail round trip
 * its two sessions' timeouts and delivery_timeout (mail_trip.c). */
int64_t pp_target_longest_ms(const pp_target *t);

/* The name shown for the target: the name option, else the URL. */
const char *pp_target_name(const pp_target *t);
/* The name option alone, NULL when the target has none. */
const char *pp_target_name_option(const pp_target *t);

#endif
