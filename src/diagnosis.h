/* A host's diagnosis: its ICMP result and the results of its port checks,
 * read together, tell "host down" from "service down", "degraded" and
 * "ICMP filtered". Pure: the collectd plugin and the state/alert module
 * call it after a round with the records of one host block. */
#ifndef PP_DIAGNOSIS_H
#define PP_DIAGNOSIS_H

#include "result.h"
#include "target.h"

#include <stddef.h>

typedef enum {
  PP_DIAG_OK = 0,        /* host answers, every port up, quality good */
  PP_DIAG_HOST_DOWN,     /* no echo reply and no port gives a sign of life */
  PP_DIAG_SERVICE_DOWN,  /* the host is alive (ping or a refusal) but a port
                            check failed */
  PP_DIAG_DEGRADED,      /* everything answers, path quality warning or worse */
  PP_DIAG_ICMP_FILTERED, /* no echo reply but the ports answer */
  PP_DIAG_UNKNOWN,       /* nothing was measured (no records, local errors) */
  PP_DIAG_DNS_FAILED,    /* the host's name does not resolve: nothing could
                            be asked of the host itself */
  PP_DIAG_COUNT
} pp_diagnosis;

/* One check of the host block: its target (for the name in the text; may
 * be NULL) and its record for this round. */
typedef struct {
  const pp_target *target;
  const pp_result *result;
} pp_diag_input;

/* Diagnoses a host from its ICMP check (NULL when the block has none) and
 * its n port checks. Writes a one-line explanation to text (may be NULL),
 * for example "host up: ping 0% loss, rtt 0.40 ms, quality good" or
 * "ICMP filtered: no echo reply, 2 of 2 ports up". */
pp_diagnosis pp_diagnose(const pp_diag_input *icmp, const pp_diag_input *ports,
                         size_t n, char *text, size_t len);

/* "ok", "host_down", "service_down", "degraded", "icmp_filtered",
 * "unknown", "dns_failed": stable identifiers for tags and documents. */
const char *pp_diagnosis_name(pp_diagnosis d);

#endif
