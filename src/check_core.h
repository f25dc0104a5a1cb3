/* What check modules share with the engine: the per-check state, the hooks
 * each kind provides, and the helpers that end a check with a named result.
 * Internal to the core. */
#ifndef PP_CHECK_CORE_H
#define PP_CHECK_CORE_H

#include "dns.h"
#include "loop.h"
#include "portprobe.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/socket.h>

typedef struct pp_check pp_check;

/* A kind of check: one descriptor holds what targets of the kind need
 * (which options apply, checking and preparing a target when it is
 * finalized) and what the engine calls to run a check. One per check
 * module (check_tcp.c, dialog.c, check_http.c, check_icmp.c). */
typedef struct {
  const char *name;
  /* PP_APPLY_*: the options that mean something to the kind; a scheme with
   * TLS adds PP_APPLY_TLS. */
  unsigned applies;
  /* Checks a target's options against the kind, once all are set. -1 with
   * a message naming the target. May be NULL. */
  int (*validate)(const pp_target *t, char *err, size_t errlen);
  /* Makes the data a target keeps across rounds (compiled regexes, a
   * request, an ICMP window), once, when it is finalized; the target owns
   * it and frees it with data_free. NULL with a message on error. May be
   * NULL: no data. */
  void *(*prepare)(const pp_target *t, char *err, size_t errlen);
  void (*data_free)(void *data);
  /* Starts the check. May end it at once with pp_check_finish. */
  void (*start)(pp_check *c);
  /* TCP-based kinds: the connection is up (c->fd connected). */
  void (*connected)(pp_check *c);
  /* Releases c->priv and anything watched; called once when the check
   * ends, before the descriptor is closed. May be NULL. */
  void (*cleanup)(pp_check *c);
  /* Releases the kind's per-engine state. May be NULL. */
  void (*engine_free)(pp_engine *e);
} pp_check_ops;

enum { PP_KIND_COUNT = PP_KIND_UDP + 1 };

/* The descriptor of a kind. */
const pp_check_ops *pp_kind_ops(pp_check_kind kind);

struct pp_engine {
  pp_loop *loop;
  pp_dns *dns;
  pp_log_fn log;
  void *log_ud;
  size_t max_concurrent;
  size_t max_concurrent_http;      /* HTTP(S) checks, within max_concurrent */
  size_t active_http;              /* HTTP(S) checks in flight */
  void *kind_state[PP_KIND_COUNT]; /* owned by each kind's module */
  size_t active;                   /* checks in flight */
  int wake_fd;                     /* eventfd: pp_engine_interrupt */
  atomic_int interrupted; /* set by pp_engine_interrupt, from any thread */
  /* descriptors: max_concurrent made to fit them (auto_concurrency: at each
   * round); a check that finds none left waits in fdq for one that ends */
  bool auto_concurrency;
  pp_check *round;   /* the round's checks, while it runs */
  size_t *fdq, nfdq; /* ring of check indices in round[], of its size */
  size_t fdq_head, fdq_tail;
  struct pp_round_mem *round_mem; /* pp_engine_round_alloc's, this round */
  /* threads > 1: the engines that run the other parts of a large round,
   * each on a thread of its own during the round (spread.c) */
  pp_engine **helpers;
  size_t nhelpers;
};

struct pp_check {
  pp_engine *engine;
  const pp_target *target;
  pp_result *res;
  pp_timer deadline;
  uint64_t t_start_us;
  uint64_t t_phase_us; /* when the current phase began */
  uint64_t deadline_us;
  pp_phase phase;
  int fd;
  pp_dns_query *dnsq;
  void (*after_resolve)(pp_check *c);
  pp_sockaddr addr; /* the address being tried */
  socklen_t addrlen;
  /* A name with several addresses: each is tried in turn until one
   * connects (NULL for one address). Owned by the engine. */
  struct pp_attempts *attempts;
  uint64_t t_attempt_us; /* when the current connect attempt began */
  bool keep_addresses;   /* resolving for a connect: keep every address */
  void *priv;            /* the kind's state for this check */
  /* refuse_protocols' probe while it runs (tls_probe.c) */
  struct pp_tls_probe *probe;
  bool done;
  /* the hooks this check runs: its kind's, or for a target checked on
   * every address or MX host (fanout.c) or a mail round trip
   * (mail_trip.c) the hooks that run its child checks */
  const pp_check_ops *ops;
  const char *host; /* the name resolved and verified: the target's, or an
                       MX host's; borrowed */
  bool host_is_ip;
  bool has_fixed;    /* connect to fixed only: one address of many */
  pp_sockaddr fixed; /* port 0 */
  bool counts_http;  /* holds one of max_concurrent_http */
  /* a child check (pp_check_start_child): its parent, and what is told
   * when it has ended */
  pp_check *parent;
  void (*done_cb)(void *ud, pp_check *child);
  void *done_ud;
};

extern const pp_check_ops pp_tcp_ops;
extern const pp_check_ops pp_dialog_ops;
extern const pp_check_ops pp_http_ops;
extern const pp_check_ops pp_icmp_ops;
extern const pp_check_ops pp_wire_ops;
extern const pp_check_ops pp_udp_ops;
extern const pp_check_ops pp_dns_ops;
/* not kinds: they run child checks of the target's kind */
extern const pp_check_ops pp_fanout_ops;   /* addresses=all, mx=yes */
extern const pp_check_ops pp_mailtrip_ops; /* mail_to and fetch */

/* Whether a target is checked on each of its addresses or MX hosts
 * (fanout.c), rather than by one check. */
bool pp_fanout_wanted(const pp_target *t);

void pp_log(pp_engine *e, pp_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Enters a phase: stamps its start and arms its deadline (the phase's own
 * timeout if it has one, never past the check's). */
void pp_check_phase(pp_check *c, pp_phase phase);

/* Seconds since the current phase began. */
double pp_check_phase_elapsed(const pp_check *c);

/* Ends the check. code PP_R_OK means up. detail may be NULL. Releases the
 * kind's state, the descriptor, timers and any DNS query. Safe to call
 * once only; later calls are ignored. */
void pp_check_finish(pp_check *c, pp_result_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Ends the check with the class an errno names (refused, unreachable...). */
void pp_check_fail_errno(pp_check *c, int err);

/* Maps an errno from connect/read/write to a result class. */
pp_result_code pp_result_from_errno(int err);

/* Resolves the target's host (if not an IP literal) into c->addr with
 * target->port (the first address; pp_check_resolve_and_connect tries the
 * others), in phase dns, then calls next; finishes on failure. */
void pp_check_resolve(pp_check *c, void (*next)(pp_check *c));

/* Resolves, then connects in phase connect, trying the name's addresses in
 * the resolver's order: an address that refuses, is unreachable or does not
 * connect within its share of the connect budget gives way to the next (as
 * curl and RFC 8305 clients do). Calls ops->connected with c->fd connected
 * to c->addr, or finishes with the last address's failure; the record names
 * the address that answered and what the others did. */
void pp_check_resolve_and_connect(pp_check *c);

/* Runs targets[idx[k]] for k < n (idx NULL: targets[0..n-1]) on e alone,
 * into results[] at the same indexes, with at most max checks in flight
 * (max_http of them HTTP(S)). Returns as pp_engine_run. */
int pp_engine_run_part(pp_engine *e, pp_target *const *targets,
                       const size_t *idx, size_t n, pp_result *results,
                       size_t max, size_t max_http);

/* The checks e's round may have in flight: its configured concurrency, or
 * what the descriptor limit allows now (auto_concurrency). */
size_t pp_engine_concurrency(pp_engine *e);

/* The checks in flight the descriptor limit allows now, after what the
 * process holds. */
size_t pp_descriptors_fit(void);

/* A round over e and its helpers (spread.c). */
int pp_spread_run(pp_engine *e, pp_target *const *targets, size_t n,
                  pp_result *results);
/* Binds fd to source_address, if one is set; -1 with the check ended when
 * that fails. */
int pp_check_bind_source(pp_check *c, int fd);

/* Formats sa as text, without port. */
void pp_format_address(const struct sockaddr *sa, char *buf, size_t len);

/* Parses an IPv4 or IPv6 address (port 0). 0, or -1 when host is none. */
int pp_parse_address(const char *host, pp_sockaddr *sa);

/* The family address_family asks for: AF_INET, AF_INET6 or AF_UNSPEC. */
int pp_check_family(const pp_target *t);

/* The family of the target's source_address (AF_INET, AF_INET6), or
 * AF_UNSPEC when none is set: the only family its connects can use. */
int pp_check_source_family(const pp_target *t);

/* A check inside another: one address or MX host of a target, one leg of a
 * mail round trip. It runs the kind's hooks on target (the parent's, or
 * another such as the mailbox of a round trip), resolving host (NULL: the
 * target's) or connecting to addr alone (NULL: resolve), into res; it ends
 * by its own timeout or the parent's deadline (or deadline_us), whichever
 * comes first, and then done(ud, child) is called from the loop (never from
 * inside the code that ended it, so done may free child). The caller owns
 * child and res; both must stay until done has run or pp_check_end_child.
 * A parent that ends first ends its children in its cleanup hook with
 * pp_check_end_child. */
typedef struct {
  const pp_target *target;
  const char *host;
  const pp_sockaddr *addr;
  pp_result *res;
  void (*done)(void *ud, pp_check *child);
  void *ud;
  uint64_t deadline_us; /* an earlier end than the parent's; 0: none */
} pp_child_spec;
void pp_check_start_child(pp_check *parent, pp_check *child,
                          const pp_child_spec *spec);

/* Ends a child that is still running with code and detail, or forgets one
 * whose done is due: either way done is not called, and child may be
 * freed. Nothing for a child never started (child->engine NULL). */
void pp_check_end_child(pp_check *child, pp_result_code code,
                        const char *detail);

/* Memory that lasts until the engine's next round or pp_engine_free: the
 * per-address records a summary points to. Zeroed; NULL when out of
 * memory. */
void *pp_engine_round_alloc(pp_engine *e, size_t size);

/* c's record's words (result.h), taken from the round's memory on the
 * first call. Out of memory, a scratch copy whose words are left out of
 * the record; never NULL. */
pp_server_words *pp_check_words(pp_check *c);
/* Its dns facts' buffer (PP_DETAIL_MAX bytes, zeroed at first), the same
 * way; never NULL. */
char *pp_check_dns_info(pp_check *c);

#endif
