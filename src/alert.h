/* Alert records: what a state transition tells people. One line of words
 * for a notification plus the fields behind it; built by state.c, printed or
 * dispatched by the front ends. */
#ifndef PP_ALERT_H
#define PP_ALERT_H

#include "result.h"
#include "target.h"

#include <stddef.h>
#include <stdint.h>

/* collectd's notification severities, in rising order. */
typedef enum {
  PP_SEV_OKAY = 0,
  PP_SEV_WARNING,
  PP_SEV_FAILURE,
} pp_severity;

typedef enum {
  PP_ALERT_STATE = 0,   /* confirmed UP / DOWN */
  PP_ALERT_FLAPPING,    /* started or stopped flapping */
  PP_ALERT_QUALITY,     /* ICMP quality grade changed */
  PP_ALERT_CERTIFICATE, /* certificate grade changed */
  PP_ALERT_SLOW,        /* up, but response time crossed slow_warn/slow_crit */
  PP_ALERT_CERT_CHANGE, /* the server presents another certificate */
  PP_ALERT_SIGNATURE,   /* DNSSEC signature (RRSIG expiry) grade changed */
  PP_ALERT_KIND_COUNT
} pp_alert_kind;

/* A target's confirmed state. */
typedef enum {
  PP_TSTATE_UNKNOWN = 0,
  PP_TSTATE_UP,
  PP_TSTATE_DOWN,
} pp_tstate;

#define PP_ALERT_MESSAGE_MAX 640
#define PP_DIAGNOSIS_MAX 256

/* Every string is a copy, so an alert outlives the target and result it
 * came from. Nothing secret is copied: results carry no password. */
typedef struct {
  pp_severity severity;
  pp_alert_kind kind;
  int64_t time_ns;                    /* the check that caused it */
  char message[PP_ALERT_MESSAGE_MAX]; /* one line, printable ASCII */

  char target[512];      /* the target's name (the name option, or URL) */
  char host[256];        /* without brackets */
  uint16_t port;         /* 0 for icmp */
  const char *scheme;    /* "smtps": static, from the scheme table */
  const char *service;   /* "smtps": static, from the scheme table */
  pp_tstate state;       /* confirmed state after this alert */
  pp_result_code result; /* the check's result class */
  char excerpt[PP_EXCERPT_MAX];
  char diagnosis[PP_DIAGNOSIS_MAX]; /* host-level, empty when unknown */
  double outage_s;                  /* recoveries: outage length; else -1 */
  double flap_pct;       /* flapping: weighted percent of state changes */
  pp_grade grade;        /* quality / certificate: the new grade */
  int64_t cert_expiry_s; /* certificate: seconds left (negative: expired) */
  /* certificate_change: the new certificate, and the serial it replaced */
  char cert_serial[64];
  char cert_previous_serial[64];
  char cert_sha256[65];
  char cert_subject[128];
  /* signature: seconds until the earliest RRSIG expires (negative: past) */
  int64_t rrsig_expiry_s;
} pp_alert;

/* "okay", "warning", "failure" */
const char *pp_severity_name(pp_severity s);
/* "state", "flapping", "quality", "certificate", "slow",
 * "certificate_change" */
/* "state", "flapping", "quality", "certificate", "slow", "signature" */
const char *pp_alert_kind_name(pp_alert_kind k);
/* "unknown", "up", "down" */
const char *pp_tstate_name(pp_tstate s);

/* Writes a duration for people: "45s", "3m 12s", "2h 5m", "3d 4h". */
void pp_format_duration(char *buf, size_t len, double seconds);

#endif
