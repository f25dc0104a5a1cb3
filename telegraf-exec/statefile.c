/* --state-file for the command (see statefile.h). A one-shot run whose file
 * cannot be saved starts afresh every time: DOWN is never confirmed and no
 * alert fires, so that is an error, in the log and in the data. */
#include "statefile.h"

#include "log.h"

#include <string.h>
#include <time.h>

void pp_statefile_load(pp_statefile *sf, pp_state_table *st) {
  sf->load_error[0] = 0;
  if (pp_state_load(st, sf->path, sf->load_error, sizeof(sf->load_error)) != 0)
    pp_cmd_log(PP_LOG_WARNING, "%s", sf->load_error);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int pp_statefile_save(pp_statefile *sf, const pp_state_table *st, FILE *out,
                      pp_format fmt) {
  char err[1024] = "", both[2100];
  int rc = pp_state_save(st, sf->path, err, sizeof(err));
  if (rc != 0 && sf->execd)
    pp_cmd_log(PP_LOG_WARNING,
               "%s; target state is kept in memory only, and is lost when "
               "portprobe restarts",
               err);
  else if (rc != 0)
    pp_cmd_log(PP_LOG_ERR,
               "%s; target state is not kept between runs, so DOWN and UP "
               "are never confirmed and no alert fires",
               err);
  if (rc == 0 && sf->load_error[0] == 0)
    return 0;
  snprintf(both, sizeof(both), "%s%s%s", sf->load_error,
           sf->load_error[0] && err[0] ? "; " : "", err);
  pp_output_state_file(out, fmt, sf->path, rc == 0, both, now_ns());
  sf->load_error[0] = 0; /* told once: later rounds kept their state */
  return rc;
}
