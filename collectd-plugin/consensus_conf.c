/* Reads <Consensus> (Quorum, Timeout) out of <Plugin portprobe>; the core
 * checks the bounds (pp_consensus_config_check). */
#include "consensus_conf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WHERE "<Plugin portprobe> <Consensus>"

static int whole_number(const oconfig_item_t *ci, int *out, char *err,
                        size_t errlen) {
  if (ci->values_num != 1 || ci->values[0].type != OCONFIG_TYPE_NUMBER ||
      ci->values[0].value.number != floor(ci->values[0].value.number) ||
      ci->values[0].value.number < 0 || ci->values[0].value.number > 1e6) {
    snprintf(err, errlen, WHERE ": \"%s\" takes one whole number", ci->key);
    return -1;
  }
  *out = (int)ci->values[0].value.number;
  return 0;
}

static int read_block(const oconfig_item_t *ci, int default_timeout,
                      pp_consensus_config *c, char *err, size_t errlen) {
  if (ci->values_num != 0 || ci->children_num == 0) {
    snprintf(err, errlen,
             WHERE ": write <Consensus> with no name, and Quorum inside");
    return -1;
  }
  *c = (pp_consensus_config){.quorum = -1, .timeout = -1};
  for (int i = 0; i < ci->children_num; i++) {
    const oconfig_item_t *k = &ci->children[i];
    int *dest = strcasecmp(k->key, "Quorum") == 0    ? &c->quorum
                : strcasecmp(k->key, "Timeout") == 0 ? &c->timeout
                                                     : NULL;
    if (dest == NULL) {
      snprintf(err, errlen,
               WHERE ": unknown key \"%s\" (the keys are Quorum and Timeout)",
               k->key);
      return -1;
    }
    if (whole_number(k, dest, err, errlen) != 0)
      return -1;
  }
  bool timeout_given = c->timeout != -1;
  if (!timeout_given)
    c->timeout = default_timeout;
  if (c->quorum == -1) {
    snprintf(err, errlen,
             WHERE ": \"Quorum\" is missing (how many locations must see a "
                   "target down for a FAILURE)");
    return -1;
  }
  char why[128];
  pp_consensus_config check = *c;
  if (!timeout_given && default_timeout == 0)
    check.timeout = 1; /* collectd's Timeout, known at init only */
  if (pp_consensus_config_check(&check, why, sizeof(why)) != 0) {
    snprintf(err, errlen, WHERE ": %s", why);
    return -1;
  }
  return 0;
}

int ppc_consensus_split(const oconfig_item_t *block, int default_timeout,
                        ppc_consensus_conf *cc, oconfig_item_t *rest, char *err,
                        size_t errlen) {
  *rest = *block;
  rest->children_num = 0;
  rest->children =
      calloc((size_t)block->children_num + 1, sizeof(*block->children));
  if (rest->children == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  ppc_consensus_conf got = *cc;
  for (int i = 0; i < block->children_num; i++) {
    const oconfig_item_t *ci = &block->children[i];
    if (strcasecmp(ci->key, "Consensus") != 0) {
      rest->children[rest->children_num++] = *ci;
      continue;
    }
    if (got.set) {
      snprintf(err, errlen, WHERE ": only one <Consensus> block is allowed");
      ppc_block_rest_free(rest);
      return -1;
    }
    if (read_block(ci, default_timeout, &got.c, err, errlen) != 0) {
      ppc_block_rest_free(rest);
      return -1;
    }
    got.set = true;
  }
  *cc = got;
  return 0;
}

void ppc_block_rest_free(oconfig_item_t *rest) {
  free(rest->children); /* the children themselves belong to the block */
  rest->children = NULL;
  rest->children_num = 0;
}
