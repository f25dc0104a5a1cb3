/* The plugin's configuration: collectd's <Plugin portprobe> block turned into
 * finalized core targets. Only liboconfig's plain structs are used here (no
 * daemon function), so the translation is unit-tested without collectd. */
#ifndef PPC_PLUGIN_CONF_H
#define PPC_PLUGIN_CONF_H

#include "builder.h"
#include "portprobe.h"

#include "liboconfig/oconfig.h"
#include <stddef.h>

/* Longest target name: it becomes collectd's plugin instance, whose buffer
 * (DATA_MAX_NAME_LEN) holds 127 characters and the terminator. */
#define PPC_NAME_MAX 127

typedef struct {
  /* finalized, uniquely named; a <Host> block's targets carry its name as
   * their group */
  pp_targets targets;
  /* Resolver, Concurrency, HTTPConcurrency (per interval group) */
  pp_engine_settings engine;
} ppc_config;

/* Adds the targets of one <Plugin portprobe> block to cfg (collectd calls
 * the config callback once per block). On error returns -1 with a message
 * naming the target or host and the key; cfg keeps what it held before. */
int ppc_config_add(ppc_config *cfg, const oconfig_item_t *block, char *err,
                   size_t errlen);

/* Frees every target still owned by cfg and resets it. */
void ppc_config_free(ppc_config *cfg);

#endif
