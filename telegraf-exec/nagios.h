/* --format nagios: the Monitoring Plugins convention that Nagios, Icinga,
 * Naemon, Checkmk, Sensu and Telegraf's nagios parser read. One status line
 * "PORTPROBE STATE - text | perfdata", a line per target, and the exit
 * status 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
#ifndef PP_NAGIOS_H
#define PP_NAGIOS_H

#include "portprobe.h"

#include <stdio.h>

typedef enum {
  PP_NAGIOS_OK = 0,
  PP_NAGIOS_WARNING = 1,
  PP_NAGIOS_CRITICAL = 2,
  PP_NAGIOS_UNKNOWN = 3,
} pp_nagios_state;

/* "OK", "WARNING", "CRITICAL", "UNKNOWN". */
const char *pp_nagios_state_name(pp_nagios_state s);

/* The worse of two states: CRITICAL, then WARNING, then UNKNOWN, then OK
 * (a check that could not run hides no known problem of another). */
pp_nagios_state pp_nagios_worse(pp_nagios_state a, pp_nagios_state b);

/* One target's state: CRITICAL when down, its certificate is within
 * cert_crit_days (or expired), its ICMP quality is critical or it is slower
 * than slow_crit; WARNING for cert_warn_days, quality warning or bad, and
 * slow_warn; UNKNOWN when the check could not run here (socket_error,
 * unsupported). Its words go to why ("refused after 0.2 ms (127.0.0.1):
 * Connection refused"), without the target's name. */
pp_nagios_state pp_nagios_judge(const pp_target *t, const pp_result *r,
                                char *why, size_t len);

/* The status line with every target's perfdata, then a line per target.
 * Returns the plugin's state, the worst of the targets'. */
pp_nagios_state pp_nagios_write(FILE *f, pp_target *const *targets,
                                const pp_result *results, size_t n);

/* A transition (with --state-file) as one more line of long output. */
void pp_nagios_alert(FILE *f, const pp_alert *a);

/* "PORTPROBE UNKNOWN - msg": a usage or configuration error. */
void pp_nagios_unknown(FILE *f, const char *msg);

#endif
