/* Per-target state across rounds: results become confirmed UP/DOWN after
 * down_after / up_after checks, flapping is detected as Nagios does, and
 * every transition becomes an alert. The table can be saved and loaded so
 * that one-shot runs keep it (see docs/state.md). */
#ifndef PP_STATE_H
#define PP_STATE_H

#include "alert.h"
#include "result.h"
#include "target.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most alerts one update can yield (state or flapping, slow, quality,
 * certificate grade, certificate change, signature): an out array this
 * long never drops one. */
#define PP_STATE_MAX_ALERTS 6

typedef struct pp_state_table pp_state_table;

pp_state_table *pp_state_table_new(void);
void pp_state_table_free(pp_state_table *st);

/* Feeds one result of target t into its state and writes the alerts it
 * causes to out (at most max_out; PP_STATE_MAX_ALERTS is enough). diagnosis
 * is the host-level words for a DOWN alert, or NULL. A target is found by
 * its name and URL, so reordering a config keeps its state. Returns the
 * number of alerts written: 0 in a steady state (and when a new target's
 * state cannot be allocated). */
size_t pp_state_update(pp_state_table *st, const pp_target *t,
                       const pp_result *r, const char *diagnosis, pp_alert *out,
                       size_t max_out);

/* A read-only view of one target's state, for front ends that export it. */
typedef struct {
  pp_tstate state;
  int64_t since_ns; /* first check of the current state; 0 if unknown */
  bool flapping;
  double flap_pct;  /* weighted percent of state changes in the window */
  int consecutive;  /* checks in a row with the latest outcome */
  pp_grade quality; /* last ICMP quality grade (NONE before any) */
  pp_grade cert;    /* last certificate grade (NONE before any) */
  pp_grade rrsig;   /* last DNSSEC signature grade (NONE before any) */
} pp_state_info;

/* Returns 0 and fills info, or -1 if t has no state yet. */
int pp_state_get(const pp_state_table *st, const pp_target *t,
                 pp_state_info *info);

/* Number of targets the table holds state for. */
size_t pp_state_count(const pp_state_table *st);

/* Writes the table to path atomically (a temporary file in the same
 * directory, then rename). Entries not updated within a week of the newest
 * update are dropped. Returns -1 with a message naming the file on error. */
int pp_state_save(const pp_state_table *st, const char *path, char *err,
                  size_t errlen);

/* Replaces the table's contents with the file's. A missing file is an empty
 * state (returns 0). A foreign, newer, corrupt or truncated file leaves the
 * table empty and returns -1 with a message naming the file and, where it
 * helps, the line. Never trusts the file: every line and number is bounded. */
int pp_state_load(pp_state_table *st, const char *path, char *err,
                  size_t errlen);

#endif
