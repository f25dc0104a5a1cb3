/* One round for the portprobe command: checks, results, state, alerts. */
#include "round.h"

#include <stdlib.h>

int pp_run_round(pp_engine *e, pp_target *const *targets, size_t n,
                 pp_format fmt, pp_state_table *state, FILE *out) {
  pp_result *results = calloc(n ? n : 1, sizeof(*results));
  if (results == NULL) {
    fprintf(stderr, "portprobe: error: round of %zu targets: out of memory\n",
            n);
    return -1;
  }
  if (pp_engine_run(e, targets, n, results) != 0) {
    free(results);
    return -1;
  }
  int nagios = pp_output_results(out, fmt, targets, results, n);

  int status = 0;
  for (size_t i = 0; i < n; i++) {
    if (!results[i].up)
      status = 1;
    if (state == NULL)
      continue;
    char diagnosis[PP_DIAGNOSIS_MAX] = "";
    if (!results[i].up) /* only a DOWN message tells the host's health */
      pp_alert_diagnosis(targets, results, n, i, diagnosis, sizeof(diagnosis));
    pp_alert alerts[PP_STATE_MAX_ALERTS];
    size_t na = pp_state_update(state, targets[i], &results[i], diagnosis,
                                alerts, PP_STATE_MAX_ALERTS);
    for (size_t k = 0; k < na; k++)
      pp_output_alert(out, fmt, targets[i], &alerts[k], (unsigned)k);
  }
  fflush(out);
  free(results);
  return fmt == PP_FMT_NAGIOS ? nagios : status;
}
