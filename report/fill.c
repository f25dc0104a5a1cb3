/* fill.c — a report row from one series (see query.h, pr_db_fill): the up
 * samples (and the last one before the window), response times, ICMP loss
 * and jitter, the newest certificate value, and outages from the state
 * events. collectd's schema keeps each measure in documents of its own, a
 * query each; Telegraf's keeps them all in one document per round, read
 * once. */
#include "query_int.h"

#include <math.h>
#include <string.h>

typedef struct {
  const pr_db *db;
  pr_row *row;
  const pr_measure *m; /* of the walk under way */
  pr_avail avail;
  pr_outages outages;
} fill_ctx;

static pr_read measure_read(const pr_db *db, const pr_measure *m) {
  const pr_schema *s = db->schema;
  return (pr_read){s->metrics, {m->value, s->interval}};
}

/* Every measure's field at once: one document per round. */
static pr_read all_read(const pr_db *db) {
  const pr_schema *s = db->schema;
  return (pr_read){s->metrics,
                   {s->up.value, s->response.value, s->loss.value,
                    s->jitter.value, s->cert.value, s->interval}};
}

static pr_read events_read(const pr_db *db) {
  const pr_schema *s = db->schema;
  return (pr_read){s->events, {s->ev_state, s->ev_message, s->ev_severity}};
}

static double value(const bson_t *doc, const pr_measure *m) {
  return pr_q_number(doc, m->value) * m->scale;
}

/* Whether doc satisfies a measure's match, where the match cannot be part
 * of the query because one document holds every measure. */
static bool matches(const bson_t *doc, const pr_pair *pairs) {
  for (size_t i = 0; i < PR_MATCH_MAX && pairs[i].field != NULL; i++) {
    bool same =
        pairs[i].str != NULL
            ? strcmp(pr_q_string(doc, pairs[i].field), pairs[i].str) == 0
            : pr_q_number(doc, pairs[i].field) == (double)pairs[i].num;
    if (!same)
      return false;
  }
  return true;
}

static void add_up(fill_ctx *f, const bson_t *doc) {
  const pr_schema *s = f->db->schema;
  double iv = s->interval ? pr_q_number(doc, s->interval) : 0;
  pr_avail_sample(&f->avail, pr_q_time(doc, s->time), value(doc, &s->up), iv);
}

/* The newest certificate value gives the seconds left at the window's end. */
static void add_cert(fill_ctx *f, const bson_t *doc) {
  pr_row *r = f->row;
  double t = pr_q_time(doc, f->db->schema->time);
  double v = value(doc, &f->db->schema->cert);
  if (isnan(v) || (r->has_cert && t <= r->cert_time))
    return;
  r->has_cert = true;
  r->cert_time = t;
  r->cert_left = v - (r->w->to - t);
}

static void on_up(const bson_t *doc, void *ud) {
  add_up(ud, doc);
}

static void on_response(const bson_t *doc, void *ud) {
  fill_ctx *f = ud;
  pr_row_response(f->row, pr_q_time(doc, f->db->schema->time),
                  value(doc, f->m));
}

static void on_value(const bson_t *doc, void *ud) {
  fill_ctx *f = ud;
  pr_dist *d = f->m == &f->db->schema->loss ? &f->row->loss : &f->row->jitter;
  pr_dist_add(d, value(doc, f->m));
}

static void on_cert(const bson_t *doc, void *ud) {
  add_cert(ud, doc);
}

/* A round's document holding every measure (absent ones read as NaN, which
 * every accumulator skips). */
static void on_all(const bson_t *doc, void *ud) {
  fill_ctx *f = ud;
  const pr_schema *s = f->db->schema;
  add_up(f, doc);
  if (matches(doc, s->response.match))
    pr_row_response(f->row, pr_q_time(doc, s->time), value(doc, &s->response));
  pr_dist_add(&f->row->loss, value(doc, &s->loss));
  pr_dist_add(&f->row->jitter, value(doc, &s->jitter));
  add_cert(f, doc);
}

static void on_event(const bson_t *doc, void *ud) {
  fill_ctx *f = ud;
  const pr_schema *s = f->db->schema;
  const char *state = pr_q_string(doc, s->ev_state);
  if (*state == '\0' && s->ev_severity != NULL) {
    const char *severity = pr_q_string(doc, s->ev_severity);
    state = strcmp(severity, "FAILURE") == 0 ? "down"
            : strcmp(severity, "OKAY") == 0  ? "up"
                                             : "";
  }
  bool down = strcmp(state, "down") == 0;
  if (down || strcmp(state, "up") == 0 || (s->ev_down_only && *state))
    pr_outages_event(&f->outages, pr_q_time(doc, s->time), down,
                     pr_q_string(doc, s->ev_message));
}

/* Availability: the last sample before the window (it may cover the
 * window's start), then the window's samples in time order; with `all`,
 * those carry every other measure too. */
static int fill_up(pr_db *db, fill_ctx *f, const char *loc, double interval,
                   bool all, char *err, size_t len) {
  const pr_schema *s = db->schema;
  const pr_window *w = f->row->w;
  const char *target = f->row->target;
  pr_read up = measure_read(db, &s->up), every = all_read(db);
  pr_avail_begin(&f->avail, f->row, interval);
  bson_t *q = pr_q_measure_filter(db, s->up.match, target, loc, NAN, w->from);
  if (pr_q_walk(db, &up, q, -1, 1, on_up, f, err, len) != 0)
    return -1;
  q = pr_q_measure_filter(db, s->up.match, target, loc, w->from, w->to);
  if (pr_q_walk(db, all ? &every : &up, q, 1, 0, all ? on_all : on_up, f, err,
                len) != 0)
    return -1;
  pr_avail_end(&f->avail);
  return 0;
}

/* One measure of the window, in time order (order 1), or its newest value
 * (order -1, limit 1). */
static int fill_measure(pr_db *db, fill_ctx *f, const pr_measure *m,
                        const char *loc, int order, pr_doc_cb each, char *err,
                        size_t len) {
  const pr_window *w = f->row->w;
  pr_read r = measure_read(db, m);
  f->m = m;
  bson_t *q =
      pr_q_measure_filter(db, m->match, f->row->target, loc, w->from, w->to);
  return pr_q_walk(db, &r, q, order, order < 0 ? 1 : 0, each, f, err, len);
}

static int fill_events(pr_db *db, fill_ctx *f, const char *loc, char *err,
                       size_t len) {
  const pr_window *w = f->row->w;
  pr_read r = events_read(db);
  pr_outages_begin(&f->outages, f->row, f->row->location);
  bson_t *q = pr_q_event_filter(db, f->row->target, loc, NAN, w->from);
  if (pr_q_walk(db, &r, q, -1, 1, on_event, f, err, len) != 0)
    return -1;
  q = pr_q_event_filter(db, f->row->target, loc, w->from, w->to);
  if (pr_q_walk(db, &r, q, 1, 0, on_event, f, err, len) != 0)
    return -1;
  pr_outages_end(&f->outages);
  return 0;
}

int pr_db_fill(pr_db *db, pr_row *row, const char *location, double interval,
               char *err, size_t len) {
  const pr_schema *s = db->schema;
  fill_ctx f = {.db = db, .row = row};
  bool all = s->one_document;
  if (fill_up(db, &f, location, interval, all, err, len) != 0)
    return -1;
  if (!all &&
      (fill_measure(db, &f, &s->response, location, 1, on_response, err, len) ||
       fill_measure(db, &f, &s->loss, location, 1, on_value, err, len) ||
       fill_measure(db, &f, &s->jitter, location, 1, on_value, err, len) ||
       fill_measure(db, &f, &s->cert, location, -1, on_cert, err, len)))
    return -1;
  return fill_events(db, &f, location, err, len);
}
