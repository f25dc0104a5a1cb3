/* schema.h — the field names and filters of one storage schema (schema.c).
 * A series' filter is equalities (base, target, location, a measure's
 * match) and the time range, nothing else: each is a key of one index of
 * the schema, so that servers that plan an index only when it covers the
 * whole filter (SecantusDB) use it. */
#ifndef PR_SCHEMA_H
#define PR_SCHEMA_H

#include "query.h"

#include <stdbool.h>
#include <stdint.h>

#define PR_MATCH_MAX 3

/* field == str, or field == num when str is NULL; field NULL ends a list */
typedef struct {
  const char *field;
  const char *str;
  int64_t num;
} pr_pair;

typedef struct {
  pr_pair match[PR_MATCH_MAX]; /* besides target, location and time */
  const char *value;           /* the field holding the number */
  double scale;                /* to seconds, or to percent for loss */
} pr_measure;

struct pr_schema {
  const char *name, *database;
  const char *metrics, *events;
  const char *time, *target, *location;
  const char *interval; /* NULL: the samples tell */
  bool one_document;    /* a round's document holds every measure */
  pr_pair base[PR_MATCH_MAX];
  pr_measure up, response, loss, jitter, cert;
  pr_pair ev_base[PR_MATCH_MAX];
  const char *ev_target, *ev_location, *ev_state, *ev_message;
  const char *ev_severity; /* FAILURE/OKAY when ev_state is missing, or NULL */
  bool ev_down_only; /* only "down" opens an outage; any other state ends it */
};

#endif
