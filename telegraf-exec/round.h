/* One round of the portprobe command, shared by the one-shot run and the
 * --execd loop: run the checks, print the results, feed the state and print
 * the alerts its transitions yield. */
#ifndef PP_ROUND_H
#define PP_ROUND_H

#include "output.h"

#include <stdio.h>

/* Runs every target once and prints to out in fmt. With state (may be
 * NULL), each result updates it and the alerts follow the results.
 * Returns 0 when every target is up, 1 when some target is down, -1 when
 * the round could not run (the core logged why); for PP_FMT_NAGIOS, the
 * plugin's state (0 OK to 3 UNKNOWN) instead of 0 or 1. */
int pp_run_round(pp_engine *e, pp_target *const *targets, size_t n,
                 pp_format fmt, pp_state_table *state, FILE *out);

#endif
