/* One round for the portprobe command: the core's round, then the table or
 * lines, then the alerts it collected. */
#include "cli_round.h"

#include <stdlib.h>

typedef struct {
  size_t target;
  unsigned seq; /* the target's alerts in this round, from 0 */
  pp_alert alert;
} held_alert;

/* Alerts wait until the results are printed. */
typedef struct {
  held_alert *items;
  size_t n, cap;
  bool oom;
} alert_list;

static void hold_alert(void *ud, size_t i, const pp_alert *a,
                       const pp_state_info *st) {
  (void)st;
  alert_list *l = ud;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 8;
    held_alert *items = realloc(l->items, cap * sizeof(*items));
    if (items == NULL) {
      l->oom = true;
      return;
    }
    l->items = items;
    l->cap = cap;
  }
  unsigned seq = l->n > 0 && l->items[l->n - 1].target == i
                     ? l->items[l->n - 1].seq + 1
                     : 0;
  l->items[l->n++] = (held_alert){i, seq, *a};
}

int pp_run_round(pp_engine *e, pp_target *const *targets, size_t n,
                 const pp_hosts *hosts, pp_format fmt, pp_state_table *state,
                 FILE *out) {
  pp_result *results = calloc(n ? n : 1, sizeof(*results));
  if (results == NULL) {
    fprintf(stderr, "portprobe: error: round of %zu targets: out of memory\n",
            n);
    return -1;
  }
  alert_list alerts = {0};
  pp_round_sink sink = {.alert = hold_alert, .ud = &alerts};
  int status = pp_round_run(e, targets, n, hosts, state, results, &sink);
  int nagios = 0;
  if (status >= 0) {
    nagios = pp_output_results(out, fmt, targets, results, n);
    for (size_t k = 0; k < alerts.n; k++)
      pp_output_alert(out, fmt, targets[alerts.items[k].target],
                      &alerts.items[k].alert, alerts.items[k].seq);
    if (alerts.oom)
      fprintf(stderr, "portprobe: error: out of memory: alerts were lost\n");
    fflush(out);
  }
  free(alerts.items);
  free(results);
  return status >= 0 && fmt == PP_FMT_NAGIOS ? nagios : status;
}
