/* libportprobe: the core shared by the collectd plugin and the Telegraf
 * command. It knows nothing of either collector, never prints and never
 * exits: it reports through the log callback its user installs. */
#ifndef PORTPROBE_H
#define PORTPROBE_H

#include "options.h"
#include "result.h"
#include "state.h"
#include "target.h"

#include <stddef.h>

#define PP_VERSION PACKAGE_VERSION

typedef enum {
  PP_LOG_ERR = 3,
  PP_LOG_WARNING = 4,
  PP_LOG_NOTICE = 5,
  PP_LOG_INFO = 6,
  PP_LOG_DEBUG = 7,
} pp_log_level; /* the syslog numbers, which collectd uses too */

typedef void (*pp_log_fn)(void *ud, pp_log_level level, const char *msg);

typedef struct pp_engine pp_engine;

/* HTTP(S) checks in flight at once by default. Each holds libcurl's and
 * OpenSSL's per-transfer state (~80 KiB during a TLS handshake), and
 * handshakes are CPU-bound: more in flight costs memory, not wall time. */
#define PP_HTTP_CONCURRENCY_DEFAULT 128

typedef struct {
  pp_log_fn log; /* NULL: silent */
  void *log_ud;
  size_t max_concurrent; /* checks in flight at once; 0: a default that fits
                            the process's descriptor limit */
  size_t max_concurrent_http; /* of those, HTTP(S) checks; 0: the default,
                                 PP_HTTP_CONCURRENCY_DEFAULT */
  const char *resolver;       /* "addr[:port],..." or NULL for resolv.conf */
  size_t threads; /* event loops, each on a thread of its own during a large
                     round; 0: one per CPU the process may run on; 1: one
                     loop, on the caller's thread */
} pp_engine_config;

/* An engine owns an event loop, a resolver and what the check kinds keep
 * between rounds (TLS contexts, ICMP sockets). With threads > 1 it owns as
 * many loops, each with its own resolver and state: a large round is
 * divided among them by expected cost (spread.h) and runs on that many
 * threads, started for the round; concurrency limits are shared out. Use
 * one engine from one thread at a time; engines are independent of each
 * other. The log callback may be called from any of the round's threads. */
pp_engine *pp_engine_new(const pp_engine_config *cfg, char *err, size_t errlen);
void pp_engine_free(pp_engine *e);

/* Runs one round: every target checked once, concurrently; results[i] is
 * the record for targets[i]. Returns when every check has ended, which is
 * about the slowest target's time, not the sum. Targets must be finalized.
 * Returns 0, or -1 if the round could not run at all (logged). */
int pp_engine_run(pp_engine *e, pp_target *const *targets, size_t n,
                  pp_result *results);

/* Ends the running round promptly, and makes every later round return at
 * once: for shutting down. Safe in a signal handler and from another thread.
 * The interrupted pp_engine_run returns -1; its results are incomplete. */
void pp_engine_interrupt(pp_engine *e);

#endif
