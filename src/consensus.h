/* The consensus of several probe locations about each target: every
 * location's latest check (up or down, and when), the reason it gave for a
 * DOWN, and one alert per change of what they say together. Pure: the
 * caller feeds checks, notices and the clock in; alerts come out through a
 * callback. docs/locations.md describes the rules. */
#ifndef PP_CONSENSUS_H
#define PP_CONSENSUS_H

#include "alert.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest target or location name kept (collectd's names hold 127). */
#define PP_CONSENSUS_NAME_MAX 128
/* Locations one target may have; checks from further ones are refused. */
#define PP_CONSENSUS_LOCATIONS_MAX 64

typedef struct {
  int quorum;  /* locations that must see a target down for a FAILURE, >= 1 */
  int timeout; /* intervals without a check before a location is silent */
} pp_consensus_config;

/* What the locations say together, in rising severity. */
typedef enum {
  PP_VERDICT_UP = 0,   /* every location that reports sees it up */
  PP_VERDICT_SILENT,   /* none sees it down, some location is silent */
  PP_VERDICT_REGIONAL, /* down from fewer locations than the quorum */
  PP_VERDICT_DOWN,     /* down from at least the quorum */
} pp_verdict;

/* What one location says: its latest check, or nothing for too long. */
typedef enum {
  PP_VIEW_UP = 0,
  PP_VIEW_DOWN,
  PP_VIEW_SILENT,
} pp_view;

typedef struct {
  const char *name;
  pp_view view;
  const char *reason; /* DOWN: "refused", "timeout (connect)", or "down"
                         until the location said why; otherwise "" */
} pp_consensus_location;

/* One change. Pointers are valid during the callback only. */
typedef struct {
  pp_severity severity; /* DOWN: failure; REGIONAL, SILENT: warning */
  pp_verdict verdict;
  int64_t time_ns; /* when the change began (the locations' clocks) */
  const char *target;
  const char *host; /* the checked host as a location's alert named it,
                       or "" before any did */
  int quorum;
  int down, silent, up;
  double outage_s; /* back UP: since the first change away from UP;
                      else -1 */
  char message[PP_ALERT_MESSAGE_MAX];
  const pp_consensus_location *locations; /* by name */
  size_t nlocations;
} pp_consensus_alert;

typedef void (*pp_consensus_emit)(void *ud, const pp_consensus_alert *a);

typedef struct pp_consensus pp_consensus;

/* Returns NULL when out of memory or when c is out of bounds (see
 * pp_consensus_config_check). */
pp_consensus *pp_consensus_new(const pp_consensus_config *c);
void pp_consensus_free(pp_consensus *cs);

/* 0, or -1 with the words of what is wrong ("Quorum must be at least 1"). */
int pp_consensus_config_check(const pp_consensus_config *c, char *err,
                              size_t errlen);

/* A check of target from location: up or down at time_ns (the location's
 * clock), made every interval_ns; now_ns is the caller's clock as it
 * arrives. Returns 0, or -1 when it was not kept (out of memory, too many
 * locations, a name too long, interval_ns <= 0). */
int pp_consensus_check(pp_consensus *cs, const char *target,
                       const char *location, bool up, int64_t time_ns,
                       int64_t interval_ns, int64_t now_ns,
                       pp_consensus_emit emit, void *ud);

/* A location's alert about target, as text: its severity, message and the
 * checked host. A FAILURE's reason ("DOWN: refused") and the subject's
 * service are kept for the words. Returns 0, or -1 when not kept. */
int pp_consensus_notice(pp_consensus *cs, const char *target,
                        const char *location, const char *host,
                        pp_severity severity, const char *message,
                        int64_t time_ns, int64_t now_ns, pp_consensus_emit emit,
                        void *ud);

/* Time passes: locations fall silent, changes waiting for every location's
 * word are announced. Call it about once an interval. */
void pp_consensus_tick(pp_consensus *cs, int64_t now_ns, pp_consensus_emit emit,
                       void *ud);

/* "up", "silent", "regional", "down" */
const char *pp_verdict_name(pp_verdict v);

/* Calls each(ud, target, verdict, reporting) for every target with a
 * check: the verdict last announced (UP before any) and how many locations
 * report now (not silent). */
void pp_consensus_each(pp_consensus *cs, int64_t now_ns,
                       void (*each)(void *ud, const char *target,
                                    pp_verdict verdict, int reporting),
                       void *ud);

/* Number of targets the consensus knows. */
size_t pp_consensus_count(const pp_consensus *cs);

#endif
