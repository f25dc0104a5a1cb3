/* Which collectd values a check's result becomes: type, type instance and
 * number, in one table-like function. Collectd's own types where one fits,
 * types.db (shipped beside the plugin) for the rest. No daemon calls
 * here. */
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

#endif
