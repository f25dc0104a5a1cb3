/* The consensus of a central collectd (<Consensus> in <Plugin portprobe>):
 * write, notification and read callbacks around the core's consensus. */
#ifndef PPC_PLUGIN_CONSENSUS_H
#define PPC_PLUGIN_CONSENSUS_H

#include "consensus.h"

/* Makes the consensus and registers its callbacks (at init). Returns 0, or
 * -1 after logging why. */
int ppc_consensus_start(const pp_consensus_config *c);

#endif
