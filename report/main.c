/* main.c — portprobe-report: availability, outages, response times, loss and
 * certificate time left per target (and location) from the history that
 * portprobe_mongodb or Telegraf's outputs.mongodb keep in MongoDB.
 * Options in, rows out: one row is computed and written at a time. */
#include "format.h"
#include "query.h"
#include "timefmt.h"

#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PROG "portprobe-report"
#define MAX_TARGETS 1024

enum { EXIT_QUERY = 1, EXIT_USAGE = 2 };

typedef struct {
  const char *uri, *database, *schema, *location, *format;
  const char *targets[MAX_TARGETS];
  size_t ntargets;
  const char *last, *from, *to;
  double interval;
  bool by_location;
} options;

static const char usage_text[] =
    "usage: " PROG
    " [--uri URI] [--database NAME] [--schema collectd|telegraf]\n"
    "       [--last 24h|7d|30d|DURATION | --from TIME [--to TIME]]\n"
    "       [--target NAME ...] [--location NAME] [--by-location]\n"
    "       [--format text|csv|json|html] [--interval SECONDS]\n"
    "       [--help] [--version]\n"
    "TIME is ISO 8601 (2026-10-01, 2026-10-01T08:00, ...Z, ...+02:00); "
    "without\n"
    "a zone it is the report's time zone (TZ). Default: --last 24h.\n";

__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt,
                                                             ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, PROG ": ");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n%s", usage_text);
  return -1;
}

static const struct option longopts[] = {
    {"uri", required_argument, NULL, 'u'},
    {"database", required_argument, NULL, 'd'},
    {"schema", required_argument, NULL, 's'},
    {"last", required_argument, NULL, 'l'},
    {"from", required_argument, NULL, 'f'},
    {"to", required_argument, NULL, 't'},
    {"target", required_argument, NULL, 'T'},
    {"location", required_argument, NULL, 'L'},
    {"by-location", no_argument, NULL, 'B'},
    {"format", required_argument, NULL, 'F'},
    {"interval", required_argument, NULL, 'i'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

/* 0: run; 1: done (help, version); -1: bad usage (said on stderr). */
static int parse_args(int argc, char **argv, options *o) {
  int c;
  char *end;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'u':
      o->uri = optarg;
      break;
    case 'd':
      o->database = optarg;
      break;
    case 's':
      o->schema = optarg;
      break;
    case 'l':
      o->last = optarg;
      break;
    case 'f':
      o->from = optarg;
      break;
    case 't':
      o->to = optarg;
      break;
    case 'L':
      o->location = optarg;
      break;
    case 'B':
      o->by_location = true;
      break;
    case 'F':
      o->format = optarg;
      break;
    case 'T':
      if (o->ntargets == MAX_TARGETS)
        return usage_error("more than %s --target options", "1024");
      o->targets[o->ntargets++] = optarg;
      break;
    case 'i':
      o->interval = strtod(optarg, &end);
      if (*end != '\0' || !(o->interval > 0))
        return usage_error("--interval: expected seconds, got \"%s\"", optarg);
      break;
    case 'h':
      fputs(usage_text, stdout);
      return 1;
    case 'V':
      puts(PROG " " PACKAGE_VERSION);
      return 1;
    default:
      return usage_error("%s", "unknown option");
    }
  }
  if (optind < argc)
    return usage_error("unexpected argument \"%s\"", argv[optind]);
  if (o->last != NULL && o->from != NULL)
    return usage_error("%s", "--last and --from exclude each other");
  return 0;
}

static int parse_when(const char *opt, const char *s, double *out) {
  if (pr_parse_time(s, out) != 0)
    return usage_error("%s: expected an ISO 8601 time, got \"%s\"", opt, s);
  return 0;
}

static int make_window(const options *o, pr_window *w) {
  double now = (double)time(NULL);
  w->to = now;
  if (o->to != NULL && parse_when("--to", o->to, &w->to) != 0)
    return -1;
  w->to = fmin(w->to, now); /* the future holds no data yet */
  if (o->from != NULL) {
    if (parse_when("--from", o->from, &w->from) != 0)
      return -1;
  } else {
    double span = pr_parse_duration(o->last ? o->last : "24h");
    if (span < 0)
      return usage_error("--last: expected a duration such as 24h, 7d or "
                         "30d, got \"%s\"",
                         o->last);
    w->from = w->to - span;
  }
  if (!(w->from < w->to))
    return usage_error("%s", "the window is empty: --from must come before "
                             "--to (and before now)");
  if (pr_window_days(w) != 0)
    return usage_error("the window is longer than %s days", "400");
  return 0;
}

/* The run: each series is filled into a row of its own; with --by-location
 * every row is written, else a target's rows are kept to its worst. */
typedef struct {
  const options *o;
  pr_db *db;
  pr_writer wr;
  const pr_window *w;
  pr_row *cur; /* the worst row of the current target so far */
  bool found[MAX_TARGETS];
  char err[1024];
} run;

static int flush_row(run *r) {
  if (r->cur != NULL)
    pr_write_row(&r->wr, r->cur);
  pr_row_free(r->cur);
  r->cur = NULL;
  return 0;
}

static void mark_found(run *r, const char *target) {
  for (size_t i = 0; i < r->o->ntargets; i++)
    if (strcmp(r->o->targets[i], target) == 0)
      r->found[i] = true;
}

/* Keeps the worse of the current row and `row` (of the same target). */
static void keep_worst(run *r, pr_row *row) {
  size_t seen = r->cur->locations + 1;
  if (pr_row_worse(row, r->cur)) {
    pr_row_free(r->cur);
    r->cur = row;
  } else {
    pr_row_free(row);
  }
  r->cur->locations = seen;
}

static int on_series(const char *target, const char *location, void *ud) {
  run *r = ud;
  mark_found(r, target);
  pr_row *row = pr_row_new(r->w, target, location);
  if (row == NULL) {
    snprintf(r->err, sizeof(r->err), "out of memory");
    return -1;
  }
  if (pr_db_fill(r->db, row, location, r->o->interval, r->err,
                 sizeof(r->err)) != 0) {
    pr_row_free(row);
    return -1;
  }
  if (r->cur != NULL && !r->o->by_location &&
      strcmp(r->cur->target, target) == 0) {
    keep_worst(r, row);
    return 0;
  }
  flush_row(r);
  r->cur = row;
  return 0;
}

/* Targets asked for by name that have no samples: a "no data" row each. */
static int missing_rows(run *r) {
  for (size_t i = 0; i < r->o->ntargets; i++) {
    if (r->found[i])
      continue;
    r->cur = pr_row_new(r->w, r->o->targets[i],
                        r->o->location ? r->o->location : "");
    if (r->cur == NULL ||
        pr_db_fill(r->db, r->cur, r->o->location, r->o->interval, r->err,
                   sizeof(r->err)) != 0)
      return -1;
    flush_row(r);
  }
  return 0;
}

/* A consensus series: a row of its own, location "consensus". */
static int on_consensus(const char *target, const char *location, void *ud) {
  run *r = ud;
  (void)location; /* the central's own values carry none */
  mark_found(r, target);
  pr_row *row = pr_row_new(r->w, target, PR_CONSENSUS);
  if (row == NULL) {
    snprintf(r->err, sizeof(r->err), "out of memory");
    return -1;
  }
  if (pr_db_fill(r->db, row, "", r->o->interval, r->err, sizeof(r->err)) != 0) {
    pr_row_free(row);
    return -1;
  }
  pr_write_row(&r->wr, row);
  pr_row_free(row);
  return 0;
}

/* The rows of the locations (each, or each target's worst), then with
 * --by-location the consensus's rows where a central collectd keeps one;
 * --location consensus: those alone. */
static int rows(run *r, const pr_schema *schema) {
  const options *o = r->o;
  bool only_consensus = o->location && strcmp(o->location, PR_CONSENSUS) == 0;
  if (!only_consensus &&
      (pr_db_series(r->db, r->w, o->targets, o->ntargets, o->location,
                    on_series, r, r->err, sizeof(r->err)) != 0 ||
       flush_row(r) != 0 || missing_rows(r) != 0))
    return -1;
  const pr_schema *consensus = pr_schema_consensus(schema);
  if (consensus == NULL ||
      !(only_consensus || (o->by_location && !o->location)))
    return 0;
  pr_db_use(r->db, consensus);
  int rc = pr_db_series(r->db, r->w, o->targets, o->ntargets, "", on_consensus,
                        r, r->err, sizeof(r->err));
  pr_db_use(r->db, schema);
  return rc;
}

static int report(const options *o, const pr_schema *schema, pr_format fmt,
                  const pr_window *w) {
  run *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return EXIT_QUERY;
  r->o = o;
  r->w = w;
  const char *database =
      o->database ? o->database : pr_schema_default_database(schema);
  char uri[512];
  pr_redact_uri(o->uri, uri, sizeof(uri));
  r->wr = (pr_writer){.format = fmt,
                      .out = stdout,
                      .w = w,
                      .uri = uri,
                      .database = database,
                      .schema = o->schema,
                      .by_location = o->by_location};
  int status = 0;
  r->db = pr_db_open(o->uri, database, schema, r->err, sizeof(r->err));
  if (r->db == NULL)
    status = EXIT_QUERY;
  if (status == 0) {
    pr_write_begin(&r->wr);
    if (rows(r, schema) != 0)
      status = EXIT_QUERY;
    pr_write_end(&r->wr, status != 0 ? r->err : NULL);
  }
  if (status != 0)
    fprintf(stderr, PROG ": %s\n", r->err);
  pr_row_free(r->cur);
  pr_db_close(r->db);
  free(r);
  return status;
}

/* The driver's warnings and errors on stderr, its chatter nowhere. */
static void driver_log(mongoc_log_level_t level, const char *domain,
                       const char *message, void *ud) {
  (void)ud;
  /* at exit the driver ends the sessions it used; a server without the
   * endSessions command (FerretDB) refuses, which loses nothing */
  if (strstr(message, "\"endSessions\"") != NULL)
    return;
  if (level <= MONGOC_LOG_LEVEL_WARNING)
    fprintf(stderr, PROG ": mongoc %s: %s\n", domain, message);
}

int main(int argc, char **argv) {
  options o = {.uri = "mongodb://127.0.0.1:27017",
               .schema = "collectd",
               .format = "text"};
  int rc = parse_args(argc, argv, &o);
  if (rc != 0)
    return rc > 0 ? 0 : EXIT_USAGE;
  const pr_schema *schema = pr_schema_find(o.schema);
  pr_format fmt;
  pr_window w = {0};
  if (schema == NULL) {
    usage_error("--schema: expected collectd or telegraf, got \"%s\"",
                o.schema);
    return EXIT_USAGE;
  }
  if (pr_format_find(o.format, &fmt) != 0) {
    usage_error("--format: expected text, csv, json or html, got \"%s\"",
                o.format);
    return EXIT_USAGE;
  }
  if (make_window(&o, &w) != 0)
    return EXIT_USAGE;
  mongoc_init();
  mongoc_log_set_handler(driver_log, NULL);
  rc = report(&o, schema, fmt, &w);
  mongoc_cleanup();
  return rc;
}
