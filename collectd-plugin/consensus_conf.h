/* The <Consensus> block of <Plugin portprobe>: read apart from the targets,
 * with liboconfig's plain structs only (no daemon function), so that it is
 * unit-tested without collectd. */
#ifndef PPC_CONSENSUS_CONF_H
#define PPC_CONSENSUS_CONF_H

#include "consensus.h"

#include "liboconfig/oconfig.h"
#include <stdbool.h>
#include <stddef.h>

typedef struct {
  bool set; /* a <Consensus> block was read */
  pp_consensus_config c;
} ppc_consensus_conf;

/* Reads the <Consensus> children of block into cc and fills rest with a
 * shallow copy of block without them, for the target reader (release it
 * with ppc_block_rest_free). default_timeout is what Timeout is when not
 * given (0: collectd's Timeout, filled in at init, when it is known). On
 * error returns -1 with a message naming the block and the key; cc is
 * then unchanged and rest empty. */
int ppc_consensus_split(const oconfig_item_t *block, int default_timeout,
                        ppc_consensus_conf *cc, oconfig_item_t *rest, char *err,
                        size_t errlen);

void ppc_block_rest_free(oconfig_item_t *rest);

#endif
