/* Result records out: a table for people, Influx line protocol for
 * Telegraf, JSON lines for scripts, a plugin status line for Nagios and its
 * kin (nagios.h). */
#ifndef PP_OUTPUT_H
#define PP_OUTPUT_H

#include "portprobe.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
  PP_FMT_TEXT,
  PP_FMT_INFLUX,
  PP_FMT_JSON,
  PP_FMT_NAGIOS
} pp_format;

int pp_format_parse(const char *s, pp_format *fmt);

/* Returns, for PP_FMT_NAGIOS, the plugin's state (pp_nagios_state, the
 * exit status); 0 for the other formats. */
int pp_output_results(FILE *f, pp_format fmt, pp_target *const *targets,
                      const pp_result *results, size_t n);

/* One alert of target t, printed after the round's results: a
 * portprobe_event line, a JSON line with "event": true, or "ALERT ..."
 * (text, and a line of nagios' long output).
 * seq counts t's alerts in this round from 0: influx points are stamped
 * time + seq ns, so two alerts of one check do not overwrite each other. */
void pp_output_alert(FILE *f, pp_format fmt, const pp_target *t,
                     const pp_alert *a, unsigned seq);

/* With --state-file, a round whose state is not kept (the file could not
 * be saved, or could not be read at start): a portprobe_state_file line
 * (influx) or a JSON line with "state_file", so that the data says so.
 * Nothing for text and nagios, whose users read standard error. */
void pp_output_state_file(FILE *f, pp_format fmt, const char *path, bool saved,
                          const char *error, int64_t time_ns);

/* Line protocol pieces, also for other measurements and for tests. Each
 * writes to f. Tag values cannot be empty in line protocol: the series
 * writer leaves such tags out. */
void pp_influx_measurement(FILE *f, const char *s);
void pp_influx_tag(FILE *f, const char *s);    /* tag key or value */
void pp_influx_string(FILE *f, const char *s); /* "string field" */
void pp_json_string(FILE *f, const char *s);

typedef struct {
  const char *key, *value;
} pp_influx_kv;

/* Writes "measurement,key=value,..." with the tags and the target's labels
 * ("name=value") sorted by key; of a repeated key the first is kept. */
void pp_influx_series(FILE *f, const char *measurement,
                      const pp_influx_kv *tags, size_t n,
                      const pp_strlist *labels);

#endif
