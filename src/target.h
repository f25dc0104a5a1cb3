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
} pp_check_kind;

typedef enum { PP_TLS_NONE, PP_TLS_IMPLICIT, PP_TLS_STARTTLS } pp_tls_mode;

typedef struct {
  const char *name;
  uint16_t default_port; /* 0: the URL must name one */
  pp_tls_mode tls;
  int starttls_default; /* PP_STARTTLS_* for PP_TLS_STARTTLS schemes */
  pp_check_kind kind;
  const char *service; /* word for alerts: "smtp", "https", ... */
} pp_scheme;

/* The scheme table; NULL if name is not a scheme portprobe knows. */
const pp_scheme *pp_scheme_find(const char *name);
extern const pp_scheme pp_schemes[];
extern const size_t pp_schemes_count;

typedef struct pp_target {
  char *url;
  const pp_scheme *scheme;
  char *host;    /* without brackets for IPv6 literals */
  uint16_t port; /* 0 for icmp */
  char *path;    /* http: path and query, "/" when empty; NULL otherwise */
  bool host_is_ip;
  pp_check_kind kind; /* tcp with send/expect runs as a dialog */
  int starttls;       /* PP_STARTTLS_NO/TRY/REQUIRE, default resolved */
  pp_opts opts;
  char *group; /* the <Host> block it belongs to, or NULL (hosts.h) */
  bool finalized;
  void *check_data; /* per-kind data kept across rounds (compiled regexes,
                       ICMP windows); owned by the check module */
  void (*check_data_free)(void *);
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

/* The name shown for the target: the name option, else the URL. */
const char *pp_target_name(const pp_target *t);

#endif
