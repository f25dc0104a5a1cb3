/* --state-file for the command: loaded at start, saved after each round.
 * A file that cannot be kept never costs the round's values, and is never
 * quiet either: it is logged every round and the output says so. */
#ifndef PP_STATEFILE_H
#define PP_STATEFILE_H

#include "output.h"

#include <stdbool.h>
#include <stdio.h>

typedef struct {
  const char *path;
  bool execd;            /* state lives in memory too (--execd) */
  char load_error[1024]; /* why the file could not be read, until reported */
} pp_statefile;

/* Loads path into st. A missing file is a first run; a corrupt or foreign
 * one is logged, remembered for the first round's report, and the state
 * starts afresh. */
void pp_statefile_load(pp_statefile *sf, pp_state_table *st);

/* Saves st after a round, and when the state is not kept (not saved, or
 * not loaded at start) logs why and writes pp_output_state_file's line to
 * out. Returns 0 when saved, -1 when not. */
int pp_statefile_save(pp_statefile *sf, const pp_state_table *st, FILE *out,
                      pp_format fmt);

#endif
