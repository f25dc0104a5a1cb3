/* One round, the same for every front end: run every check, give each
 * failed port check its host's diagnosis, feed the state, and hand each
 * record and each alert of a transition to the front end's sink, in target
 * order. */
#ifndef PP_ROUND_H
#define PP_ROUND_H

#include "hosts.h"
#include "portprobe.h"

#include <stddef.h>

typedef struct {
  /* Target i's record is final (results[i]) and its state updated; st is
   * its state after this round, NULL without a state table. May be NULL. */
  void (*result)(void *ud, size_t i, const pp_state_info *st);
  /* A transition of target i, after its result. May be NULL. */
  void (*alert)(void *ud, size_t i, const pp_alert *a, const pp_state_info *st);
  void *ud;
} pp_round_sink;

/* Runs targets[0..n-1] once on e into results[] (room for n). hosts (may be
 * NULL: no diagnosis) groups the same targets; state (may be NULL: no
 * alerts) keeps them across rounds. Returns 0 when every target is up, 1
 * when some target is down, -1 when the round could not run (logged by the
 * engine); the sink is called only for a round that ran. */
int pp_round_run(pp_engine *e, pp_target *const *targets, size_t n,
                 const pp_hosts *hosts, pp_state_table *state,
                 pp_result *results, const pp_round_sink *sink);

#endif
