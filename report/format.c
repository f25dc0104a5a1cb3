/* format.c — text, CSV and JSON output of portprobe-report (HTML: html.c).
 * Times are ISO 8601 in the report's time zone; JSON numbers are numbers,
 * and null where there is nothing to say ("no data" is never 100 %). */
#include "format.h"
#include "timefmt.h"

#include <math.h>
#include <string.h>

const char *const pr_definitions[][2] = {
    {"availability", "up / (up + down) seconds of the window, in percent; "
                     "no data at all is \"no data\", never 100 %"},
    {"unknown", "time without data: from one interval after a sample to the "
                "next one when they are more than two intervals apart, and "
                "before the first sample; never counted as up"},
    {"outage", "from a DOWN state event to the next UP one (kind state), "
               "clipped to the window; still down at its end: ongoing"},
    {"mttr", "mean outage duration in the window"},
    {"mtbf", "up seconds per outage"},
    {"response_time", "total time of the checks that were up; percentiles "
                      "by nearest rank within 1 %"},
    {"icmp", "packet loss in percent per round, jitter in seconds"},
    {"certificate", "seconds left at the window's end, from the newest "
                    "value in the window"},
    {"locations", "a target seen from several locations is one row per "
                  "location with --by-location, else the row of its worst "
                  "location (lowest availability): seconds are never "
                  "added up across locations"},
    {"consensus", "with --by-location, a central collectd's consensus is a "
                  "row of its own, location consensus: its bool-consensus "
                  "values, outages from its DOWN verdict to the next verdict "
                  "that is not down (a regional one is no outage)"},
};
const size_t pr_definitions_count =
    sizeof(pr_definitions) / sizeof(*pr_definitions);

static const char *const formats[] = {"text", "csv", "json", "html"};

int pr_format_find(const char *name, pr_format *out) {
  for (size_t i = 0; i < sizeof(formats) / sizeof(*formats); i++)
    if (strcmp(formats[i], name) == 0) {
      *out = (pr_format)i;
      return 0;
    }
  return -1;
}

void pr_put_num(FILE *f, double v, int decimals, const char *none) {
  if (isnan(v) || isinf(v))
    fputs(none, f);
  else
    fprintf(f, "%.*f", decimals, v);
}

void pr_put_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      fprintf(f, "\\%c", *p);
    else if (*p < 0x20)
      fprintf(f, "\\u%04x", *p);
    else
      fputc(*p, f);
  }
  fputc('"', f);
}

static void put_time(FILE *f, double t) {
  char buf[64];
  pr_format_time(t, buf, sizeof(buf));
  fputs(buf, f);
}

/* "1d 2h 3m 4s", "80s" */
static void put_span(FILE *f, double s) {
  long v = lround(s);
  if (v >= 86400)
    fprintf(f, "%ldd ", v / 86400);
  if (v >= 3600)
    fprintf(f, "%ldh ", v / 3600 % 24);
  if (v >= 60)
    fprintf(f, "%ldm ", v / 60 % 60);
  fprintf(f, "%lds", v % 60);
}

/* ---------------------------------------------------------------- text */

static void text_begin(pr_writer *wr) {
  char zone[64];
  pr_zone_name(wr->w->to, zone, sizeof(zone));
  fprintf(wr->out, "portprobe report: ");
  put_time(wr->out, wr->w->from);
  fprintf(wr->out, " to ");
  put_time(wr->out, wr->w->to);
  fprintf(wr->out, " (");
  put_span(wr->out, wr->w->to - wr->w->from);
  fprintf(wr->out, "), time zone %s\nsource: %s, database \"%s\", schema %s\n",
          zone, wr->uri, wr->database, wr->schema);
  for (size_t i = 0; i < pr_definitions_count; i++)
    fprintf(wr->out, "  %-14s %s\n", pr_definitions[i][0],
            pr_definitions[i][1]);
}

static void text_ms(FILE *f, const char *label, double seconds) {
  fprintf(f, " %s ", label);
  pr_put_num(f, seconds * 1000, 3, "-");
}

static void text_outages(FILE *f, const pr_row *r) {
  fprintf(f, "  outages %zu", r->noutages);
  if (r->noutages > 0) {
    fprintf(f, ": MTTR ");
    put_span(f, pr_mttr(r));
    fprintf(f, ", MTBF ");
    put_span(f, pr_mtbf(r));
    fprintf(f, ", longest ");
    put_span(f, r->longest);
  }
  fputc('\n', f);
  for (size_t i = 0; i < r->outages_listed; i++) {
    const pr_outage *o = &r->outages[i];
    fputs("    ", f);
    put_time(f, o->start);
    fputs(" .. ", f);
    if (o->end < 0)
      fputs("(ongoing)", f);
    else
      put_time(f, o->end);
    fputs("  ", f);
    put_span(f, o->duration);
    fprintf(f, "%s%s  %s\n", *o->location ? "  at " : "", o->location,
            o->message);
  }
}

static void text_row(pr_writer *wr, const pr_row *r) {
  FILE *f = wr->out;
  const pr_secs *t = &r->total;
  fprintf(f, "\n%s", r->target);
  if (r->locations > 1)
    fprintf(f, " (worst of %zu locations: %s)", r->locations, r->location);
  else if (*r->location)
    fprintf(f, " (location %s)", r->location);
  fputs("\n  availability ", f);
  pr_put_num(f, pr_availability(t), 3, "no data");
  if (!isnan(pr_availability(t)))
    fputs(" %", f);
  fputs("  up ", f);
  put_span(f, t->s[PR_UP]);
  fputs("  down ", f);
  put_span(f, t->s[PR_DOWN]);
  fputs("  unknown ", f);
  put_span(f, t->s[PR_UNKNOWN]);
  fprintf(f, "  samples %llu\n", (unsigned long long)r->samples);
  text_outages(f, r);
  if (r->response.n > 0) {
    fputs("  response time (ms):", f);
    text_ms(f, "mean", pr_dist_mean(&r->response));
    text_ms(f, "p50", pr_dist_quantile(&r->response, 0.50));
    text_ms(f, "p95", pr_dist_quantile(&r->response, 0.95));
    text_ms(f, "p99", pr_dist_quantile(&r->response, 0.99));
    text_ms(f, "max", r->response.max);
    fputc('\n', f);
  }
  if (r->loss.n > 0) {
    fputs("  ICMP loss mean ", f);
    pr_put_num(f, pr_dist_mean(&r->loss), 2, "-");
    fputs(" %, max ", f);
    pr_put_num(f, r->loss.max, 2, "-");
    fputs(" %", f);
    text_ms(f, ", jitter mean (ms)", pr_dist_mean(&r->jitter));
    fputc('\n', f);
  }
  if (r->has_cert)
    fprintf(f, "  certificate: %.1f days left\n", r->cert_left / 86400);
  for (size_t d = 0; d < r->w->ndays && r->w->ndays > 1; d++) {
    char day[16];
    pr_format_day(r->w->day_start[d], day, sizeof(day));
    fprintf(f, "    %s  ", day);
    pr_put_num(f, pr_availability(&r->days[d]), 3, "no data");
    fputs(isnan(pr_availability(&r->days[d])) ? "" : " %", f);
    fprintf(f, "  down %.0f s  unknown %.0f s\n", r->days[d].s[PR_DOWN],
            r->days[d].s[PR_UNKNOWN]);
  }
}

/* ----------------------------------------------------------------- csv */

static const char csv_header[] =
    "target,location,availability_percent,up_seconds,down_seconds,"
    "unknown_seconds,samples,outages,mttr_seconds,mtbf_seconds,"
    "longest_outage_seconds,response_mean_seconds,response_p50_seconds,"
    "response_p95_seconds,response_p99_seconds,response_max_seconds,"
    "loss_mean_percent,loss_max_percent,jitter_mean_seconds,"
    "certificate_seconds_left,locations\n";

static void csv_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"')
      fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static void csv_row(pr_writer *wr, const pr_row *r) {
  FILE *f = wr->out;
  const pr_dist *rt = &r->response;
  double nums[] = {
      pr_availability(&r->total),
      r->total.s[PR_UP],
      r->total.s[PR_DOWN],
      r->total.s[PR_UNKNOWN],
      (double)r->samples,
      (double)r->noutages,
      pr_mttr(r),
      pr_mtbf(r),
      r->noutages ? r->longest : NAN,
      pr_dist_mean(rt),
      pr_dist_quantile(rt, 0.50),
      pr_dist_quantile(rt, 0.95),
      pr_dist_quantile(rt, 0.99),
      rt->n ? rt->max : NAN,
      pr_dist_mean(&r->loss),
      r->loss.n ? r->loss.max : NAN,
      pr_dist_mean(&r->jitter),
      r->has_cert ? r->cert_left : NAN,
  };
  csv_string(f, r->target);
  fputc(',', f);
  csv_string(f, r->location);
  for (size_t i = 0; i < sizeof(nums) / sizeof(*nums); i++) {
    fputc(',', f);
    pr_put_num(f, nums[i], 6, "");
  }
  fprintf(f, ",%zu\n", r->locations);
}

/* ---------------------------------------------------------------- json */

static void json_key_num(FILE *f, const char *key, double v, bool comma) {
  fprintf(f, "%s\"%s\":", comma ? "," : "", key);
  pr_put_num(f, v, 6, "null");
}

static void json_key_time(FILE *f, const char *key, double t) {
  fprintf(f, "\"%s\":", key);
  if (t < 0) {
    fputs("null", f);
    return;
  }
  fputc('"', f);
  put_time(f, t);
  fputc('"', f);
}

static void json_begin(pr_writer *wr) {
  FILE *f = wr->out;
  char zone[64];
  pr_zone_name(wr->w->to, zone, sizeof(zone));
  fputc('{', f);
  json_key_time(f, "from", wr->w->from);
  fputc(',', f);
  json_key_time(f, "to", wr->w->to);
  fputs(",\"time_zone\":", f);
  pr_put_json_string(f, zone);
  fputs(",\"source\":", f);
  pr_put_json_string(f, wr->uri);
  fputs(",\"database\":", f);
  pr_put_json_string(f, wr->database);
  fputs(",\"schema\":", f);
  pr_put_json_string(f, wr->schema);
  fputs(",\"definitions\":{", f);
  for (size_t i = 0; i < pr_definitions_count; i++) {
    fprintf(f, "%s\"%s\":", i ? "," : "", pr_definitions[i][0]);
    pr_put_json_string(f, pr_definitions[i][1]);
  }
  fputs("},\"targets\":[", f);
}

static void json_secs(FILE *f, const pr_secs *s) {
  json_key_num(f, "availability", pr_availability(s), false);
  json_key_num(f, "up_seconds", s->s[PR_UP], true);
  json_key_num(f, "down_seconds", s->s[PR_DOWN], true);
  json_key_num(f, "unknown_seconds", s->s[PR_UNKNOWN], true);
}

static void json_outages(FILE *f, const pr_row *r) {
  fputs(",\"outages\":[", f);
  for (size_t i = 0; i < r->outages_listed; i++) {
    const pr_outage *o = &r->outages[i];
    fputs(i ? ",{" : "{", f);
    json_key_time(f, "start", o->start);
    fputc(',', f);
    json_key_time(f, "end", o->end);
    json_key_num(f, "duration_seconds", o->duration, true);
    fputs(",\"location\":", f);
    pr_put_json_string(f, o->location);
    fputs(",\"message\":", f);
    pr_put_json_string(f, o->message);
    fputc('}', f);
  }
  fprintf(f, "],\"outage_count\":%zu", r->noutages);
  json_key_num(f, "mttr_seconds", pr_mttr(r), true);
  json_key_num(f, "mtbf_seconds", pr_mtbf(r), true);
  json_key_num(f, "longest_outage_seconds", r->noutages ? r->longest : NAN,
               true);
}

static void json_measures(FILE *f, const pr_row *r) {
  const pr_dist *rt = &r->response;
  fprintf(f, ",\"response_time\":{\"count\":%llu", (unsigned long long)rt->n);
  json_key_num(f, "mean", pr_dist_mean(rt), true);
  json_key_num(f, "p50", pr_dist_quantile(rt, 0.50), true);
  json_key_num(f, "p95", pr_dist_quantile(rt, 0.95), true);
  json_key_num(f, "p99", pr_dist_quantile(rt, 0.99), true);
  json_key_num(f, "max", rt->n ? rt->max : NAN, true);
  fputs("},\"icmp\":{", f);
  json_key_num(f, "loss_percent_mean", pr_dist_mean(&r->loss), false);
  json_key_num(f, "loss_percent_max", r->loss.n ? r->loss.max : NAN, true);
  json_key_num(f, "jitter_seconds_mean", pr_dist_mean(&r->jitter), true);
  fputc('}', f);
  json_key_num(f, "certificate_seconds_left", r->has_cert ? r->cert_left : NAN,
               true);
}

static void json_row(pr_writer *wr, const pr_row *r) {
  FILE *f = wr->out;
  fputs(wr->rows ? ",{\"target\":" : "{\"target\":", f);
  pr_put_json_string(f, r->target);
  fputs(",\"location\":", f);
  if (*r->location || wr->by_location)
    pr_put_json_string(f, r->location);
  else
    fputs("null", f);
  fprintf(f, ",\"locations\":%zu,\"samples\":%llu,", r->locations,
          (unsigned long long)r->samples);
  json_secs(f, &r->total);
  json_outages(f, r);
  json_measures(f, r);
  fputs(",\"days\":[", f);
  for (size_t d = 0; d < r->w->ndays; d++) {
    char day[16];
    pr_format_day(r->w->day_start[d], day, sizeof(day));
    fprintf(f, "%s{\"day\":\"%s\",", d ? "," : "", day);
    json_secs(f, &r->days[d]);
    fputc('}', f);
  }
  fputs("]}", f);
}

/* ---------------------------------------------------------------- all */

void pr_write_begin(pr_writer *wr) {
  switch (wr->format) {
  case PR_FMT_TEXT:
    text_begin(wr);
    break;
  case PR_FMT_CSV:
    fputs(csv_header, wr->out);
    break;
  case PR_FMT_JSON:
    json_begin(wr);
    break;
  case PR_FMT_HTML:
    pr_html_begin(wr);
    break;
  }
}

void pr_write_row(pr_writer *wr, const pr_row *r) {
  switch (wr->format) {
  case PR_FMT_TEXT:
    text_row(wr, r);
    break;
  case PR_FMT_CSV:
    csv_row(wr, r);
    break;
  case PR_FMT_JSON:
    json_row(wr, r);
    break;
  case PR_FMT_HTML:
    pr_html_row(wr, r);
    break;
  }
  wr->rows++;
}

void pr_write_end(pr_writer *wr, const char *failed) {
  switch (wr->format) {
  case PR_FMT_JSON:
    fputs("]", wr->out);
    if (failed != NULL) {
      fputs(",\"error\":", wr->out);
      pr_put_json_string(wr->out, failed);
    }
    fputs("}\n", wr->out);
    break;
  case PR_FMT_HTML:
    pr_html_end(wr, failed);
    break;
  case PR_FMT_TEXT:
    if (failed != NULL)
      fprintf(wr->out, "\nreport incomplete: %s\n", failed);
    else if (wr->rows == 0)
      fputs("\nno portprobe data in this window\n", wr->out);
    break;
  case PR_FMT_CSV: /* rows only: the exit status and stderr tell */
    break;
  }
}
