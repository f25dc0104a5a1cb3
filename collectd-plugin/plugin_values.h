/* Which collectd values a check's result becomes: type, type instance and
 * number, in one table-like function. Collectd's own types where one fits,
 * types.db (shipped beside the plugin) for the rest. And the host diagnosis
 * a port's DOWN notification carries. No daemon calls here. */
#ifndef PPC_PLUGIN_VALUES_H
#define PPC_PLUGIN_VALUES_H

#include "portprobe.h"
#include "state.h"

#include <stddef.h>

typedef struct {
  const char *type;          /* a collectd type (types.db) */
  const char *type_instance; /* "" when the type says it all */
  double value;
} ppc_value;

#define PPC_VALUES_MAX 16

/* Fills out[] (room for PPC_VALUES_MAX) with the values of one result and
 * returns how many. A figure the check did not measure is left out rather
 * than sent as zero. st is the target's state after this result, or NULL
 * when there is none. */
size_t ppc_values(const pp_target *t, const pp_result *r,
                  const pp_state_info *st, ppc_value *out);

/* The host diagnosis for the DOWN message of targets[i], from the n
 * targets and results of one round; host_blocks[j] is the name of the
 * <Host> block targets[j] came from, or NULL. Inside a <Host> block, the
 * block's ICMP check and its other checks are read together (pp_diagnose:
 * "service down: ...; host up: ping ...", "host down: ...", ...); outside,
 * an ICMP target of the same host tells (pp_alert_diagnosis). Writes ""
 * when there is nothing to say, and for an ICMP target itself. */
void ppc_diagnosis(pp_target *const *targets, const pp_result *results,
                   char *const *host_blocks, size_t n, size_t i, char *buf,
                   size_t len);

#endif
