/* What the state table's two files share: state.c (the transitions) and
 * state_file.c (the state-file format) both see the table and its entries.
 * Internal to the core. */
#ifndef PP_STATE_INT_H
#define PP_STATE_INT_H

#include "flap.h"
#include "state.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COUNT_CAP 1000000 /* consecutive counters stop here */

typedef enum { SLOW_NO = 0, SLOW_WARN, SLOW_CRIT } slow_level;

typedef struct entry {
  struct entry *next; /* hash chain */
  uint32_t hash;
  char *name; /* "" when the target has no name option */
  char *url;

  pp_tstate state;     /* confirmed */
  pp_tstate announced; /* the state the last state alert told */
  int fails, oks;      /* consecutive outcomes; one of them is 0 */
  int64_t streak_ns;   /* first check of the current run of outcomes */
  int64_t since_ns;    /* first check of the confirmed state */
  int64_t last_ns;     /* last update */
  pp_flap_history hist;
  bool flapping;
  pp_grade quality, cert;
  /* the certificate last seen, to tell a change (hex, "" before one) */
  char cert_sha256[65];
  char cert_serial[64];
  pp_grade rrsig; /* the earliest DNSSEC signature's grade */
  /* slow: the confirmed level and the runs of checks above and below it,
   * with the mildest level seen in each run */
  int slow, slow_hi, slow_hi_level, slow_lo, slow_lo_level;
} entry;

struct pp_state_table {
  entry **buckets;
  size_t nbuckets; /* a power of two */
  size_t count;
};

/* The entry of a name ("" for none) and URL, or NULL. */
entry *pp_state_find(const pp_state_table *st, const char *name,
                     const char *url);

/* Adds a fresh entry (state unknown). NULL when out of memory. */
entry *pp_state_add(pp_state_table *st, const char *name, const char *url);

/* Drops every entry. */
void pp_state_clear(pp_state_table *st);

#endif
