/* Which targets are read together to diagnose a host: the checks of one
 * <Host> block (a target's group), or, outside blocks, the targets of one
 * host name as written that include an ICMP check. Built once per target
 * set; the round's DOWN messages, the command's HOST lines and collectd's
 * notifications all take their diagnosis from here. */
#ifndef PP_HOSTS_H
#define PP_HOSTS_H

#include "diagnosis.h"
#include "result.h"
#include "target.h"

#include <stddef.h>

typedef struct pp_hosts pp_hosts;

/* Groups targets[0..n-1], which it borrows: they must outlive it. NULL when
 * out of memory. */
pp_hosts *pp_hosts_new(pp_target *const *targets, size_t n);
void pp_hosts_free(pp_hosts *h);

/* Groups with something to diagnose: a <Host> block, or a host with an
 * ICMP check and at least one port check. Numbered 0..count-1 in the order
 * of their names. */
size_t pp_hosts_count(const pp_hosts *h);

/* The group of target i, or PP_HOSTS_NONE. */
#define PP_HOSTS_NONE ((size_t)-1)
size_t pp_hosts_of(const pp_hosts *h, size_t i);

/* The group's host, as its ICMP check (else its first target) writes it. */
const char *pp_hosts_name(const pp_hosts *h, size_t g);

/* Whether target i is the ICMP check its group is diagnosed by. */
int pp_hosts_is_ping(const pp_hosts *h, size_t i);

/* The diagnosis a DOWN message of target i carries: its group's, or ""
 * for an up target, an ICMP check, or a target with no group. */
void pp_hosts_diagnose_target(const pp_hosts *h, size_t i,
                              const pp_result *results, char *buf, size_t len);

/* Group g's diagnosis from the round's results[] (indexed as targets). */
pp_diagnosis pp_hosts_diagnose(const pp_hosts *h, size_t g,
                               const pp_result *results, char *text,
                               size_t len);

#endif
