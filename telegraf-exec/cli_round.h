/* One round of the portprobe command, shared by the one-shot run and the
 * --execd loop: the core's round (round.h), then the results and the alerts
 * of its transitions printed in the chosen format. */
#ifndef PP_CLI_ROUND_H
#define PP_CLI_ROUND_H

#include "output.h"
#include "round.h"

#include <stdio.h>

/* Runs every target once and prints to out in fmt. With state (may be
 * NULL), the alerts of its transitions follow the results. hosts (may be
 * NULL) groups the targets for the DOWN messages' diagnosis. Returns 0
 * when every target is up, 1 when some target is down, -1 when the round
 * could not run (the core logged why); for PP_FMT_NAGIOS, the plugin's
 * state (0 OK to 3 UNKNOWN) instead of 0 or 1. */
int pp_run_round(pp_engine *e, pp_target *const *targets, size_t n,
                 const pp_hosts *hosts, pp_format fmt, pp_state_table *state,
                 FILE *out);

#endif
