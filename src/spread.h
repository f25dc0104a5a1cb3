/* Dividing a round among engines: what a check is expected to cost, and a
 * division of targets into parts of about equal cost. An engine with
 * threads > 1 runs the parts of a large round on threads of its own
 * (spread.c); the collectd plugin gives each part of a large interval
 * group a read callback of its own. */
#ifndef PP_SPREAD_H
#define PP_SPREAD_H

#include "hosts.h"
#include "target.h"

#include <stddef.h>

/* The CPU a check of t is expected to take, in units of about 10 us as
 * measured with bench/run.py: a TCP connect 4, a plain dialog 6, an HTTP
 * transfer 8, a binary protocol's exchange (wire) 6, a DNS query or a
 * datagram's 3 (DNSSEC validation 20 more); a TLS handshake
 * (implicit, STARTTLS, https, DNS over TLS) adds 80; ICMP costs 1 per
 * echo. Every address or MX host counts as two checks, a mail round trip
 * adds two mailbox logins. Only the ratios matter. */
unsigned pp_target_cost(const pp_target *t);

/* A part costs at least this much, else the round gets fewer parts: a
 * thread, and an engine's first use of TLS or of a protocol, cost more
 * than a smaller part saves. */
#define PP_SPREAD_MIN_COST 200

/* The most engines (and threads) an engine configuration may ask for. */
#define PP_THREADS_MAX 256

/* The CPUs the process may run on (normally every online CPU), at most
 * PP_THREADS_MAX: the engines a configuration with threads = 0 gets. */
size_t pp_cpu_count(void);

enum {
  /* Every ICMP target (and its host, with hosts) in part 0: one ICMP socket
   * per family sees every reply (check_icmp.c), not one per part. */
  PP_SPREAD_ICMP_FIRST = 1,
};

/* Assigns targets[0..n-1] to parts (part_of[i] < the value returned):
 * at most parts of them, fewer for a small round (PP_SPREAD_MIN_COST); in
 * target order, each to the part with the least expected cost so far.
 * hosts (NULL: none) keeps the targets one host's diagnosis reads in one
 * part; flags are PP_SPREAD_*. The same targets always get the same
 * parts. A part may be empty. Returns at least 1. */
size_t pp_spread(pp_target *const *targets, size_t n, const pp_hosts *hosts,
                 unsigned flags, size_t parts, size_t *part_of);

#endif
