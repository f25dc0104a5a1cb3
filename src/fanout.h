/* Every address, every MX host: what fanout.c (the child checks) and
 * fanout_words.c (the summary and the target checks) share. Internal to
 * the core. */
#ifndef PP_FANOUT_H
#define PP_FANOUT_H

#include "result.h"
#include "target.h"

#include <stdbool.h>
#include <stddef.h>

/* Parts of one target at most (addresses of MX hosts included). */
#define PP_FANOUT_MAX 64

/* Checks addresses, require and mx against the target (mx on smtp schemes
 * only, on a domain, not an address). -1 with a message naming the target
 * and the key. */
int pp_fanout_validate(const pp_target *t, char *err, size_t errlen);

/* Sums parts[0..n-1] up into r: parts_up, the phase, excerpt and errno of
 * the first failed part, the TLS facts of the certificate that expires
 * first; writes the detail ("1 of 2 addresses up: IPv6 ::1 refused, IPv4
 * 127.0.0.1 ok") and returns the record's class: ok when every part is up
 * or at least require are, else the first failed part's. implicit_mx: the
 * domain had no MX record and stood in for its one host. */
pp_result_code pp_fanout_summary(const pp_target *t, const pp_part *parts,
                                 size_t n, bool implicit_mx, pp_result *r,
                                 char *detail, size_t len);

#endif
