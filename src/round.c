/* The round pipeline shared by the collectd plugin and the command:
 * checks, then per target diagnosis, state and the sink's callbacks. */
#include "round.h"

int pp_round_run(pp_engine *e, pp_target *const *targets, size_t n,
                 const pp_hosts *hosts, pp_state_table *state,
                 pp_result *results, const pp_round_sink *sink) {
  if (pp_engine_run(e, targets, n, results) != 0)
    return -1;
  int status = 0;
  for (size_t i = 0; i < n; i++) {
    if (!results[i].up)
      status = 1;
    pp_alert alerts[PP_STATE_MAX_ALERTS];
    size_t na = 0;
    pp_state_info st;
    const pp_state_info *stp = NULL;
    if (state != NULL) {
      char diagnosis[PP_DIAGNOSIS_MAX] = "";
      if (hosts != NULL)
        pp_hosts_diagnose_target(hosts, i, results, diagnosis,
                                 sizeof(diagnosis));
      na = pp_state_update(state, targets[i], &results[i], diagnosis, alerts,
                           PP_STATE_MAX_ALERTS);
      if (pp_state_get(state, targets[i], &st) == 0)
        stp = &st;
    }
    if (sink != NULL && sink->result != NULL)
      sink->result(sink->ud, i, stp);
    for (size_t k = 0; sink != NULL && sink->alert != NULL && k < na; k++)
      sink->alert(sink->ud, i, &alerts[k], stp);
  }
  return status;
}
