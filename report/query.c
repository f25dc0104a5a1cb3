/* query.c — portprobe-report's MongoDB reads (see query.h): filters built
 * from the schema, cursors walked one document at a time, every error
 * named by URI (password hidden), database and collection. */
#include "query.h"
#include "schema.h"

#include <math.h>
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <string.h>

struct pr_db {
  mongoc_client_t *client;
  const pr_schema *schema;
  char database[128];
  char uri[512]; /* redacted */
};

void pr_redact_uri(const char *uri, char *out, size_t len) {
  const char *scheme = strstr(uri, "://");
  const char *host = scheme ? scheme + 3 : uri;
  const char *slash = strchr(host, '/');
  const char *at = NULL;
  for (const char *p = host; *p && (slash == NULL || p < slash); p++)
    if (*p == '@')
      at = p;
  const char *colon = at ? memchr(host, ':', (size_t)(at - host)) : NULL;
  if (colon == NULL)
    snprintf(out, len, "%s", uri);
  else
    snprintf(out, len, "%.*s:***%s", (int)(colon - uri), uri, at);
}

static int fail(const pr_db *db, const char *coll, const char *msg, char *err,
                size_t len) {
  snprintf(err, len, "%s, database \"%s\", collection \"%s\": %s", db->uri,
           db->database, coll, msg);
  return -1;
}

pr_db *pr_db_open(const char *uri, const char *database,
                  const pr_schema *schema, char *err, size_t len) {
  pr_db *db = calloc(1, sizeof(*db));
  if (db == NULL) {
    snprintf(err, len, "out of memory");
    return NULL;
  }
  db->schema = schema;
  snprintf(db->database, sizeof(db->database), "%s", database);
  pr_redact_uri(uri, db->uri, sizeof(db->uri));
  bson_error_t error;
  mongoc_uri_t *u = mongoc_uri_new_with_error(uri, &error);
  if (u != NULL) {
    if (!mongoc_uri_has_option(u, MONGOC_URI_SERVERSELECTIONTIMEOUTMS))
      mongoc_uri_set_option_as_int32(u, MONGOC_URI_SERVERSELECTIONTIMEOUTMS,
                                     5000);
    mongoc_uri_set_appname(u, "portprobe-report");
    db->client = mongoc_client_new_from_uri_with_error(u, &error);
    mongoc_uri_destroy(u);
  }
  if (db->client == NULL) {
    snprintf(err, len, "%s: not a usable MongoDB URI: %s", db->uri,
             error.message);
    pr_db_close(db);
    return NULL;
  }
  mongoc_client_set_error_api(db->client, MONGOC_ERROR_API_VERSION_2);
  /* reach the server before anything is written, so that a wrong URI or
   * password ends the report with one line and nothing else */
  bson_t *ping = BCON_NEW("ping", BCON_INT32(1));
  bool ok = mongoc_client_command_simple(db->client, db->database, ping, NULL,
                                         NULL, &error);
  bson_destroy(ping);
  if (!ok) {
    fail(db, schema->metrics, error.message, err, len);
    pr_db_close(db);
    return NULL;
  }
  return db;
}

void pr_db_close(pr_db *db) {
  if (db == NULL)
    return;
  if (db->client != NULL)
    mongoc_client_destroy(db->client);
  free(db);
}

/* ------------------------------------------------------------ filters */

static void append_pairs(bson_t *f, const pr_pair *pairs) {
  for (size_t i = 0; i < PR_MATCH_MAX && pairs[i].field != NULL; i++) {
    if (pairs[i].str != NULL)
      BSON_APPEND_UTF8(f, pairs[i].field, pairs[i].str);
    else
      BSON_APPEND_INT64(f, pairs[i].field, pairs[i].num);
  }
}

static void append_time(bson_t *f, const char *field, double from, double to) {
  bson_t range;
  BSON_APPEND_DOCUMENT_BEGIN(f, field, &range);
  if (!isnan(from))
    BSON_APPEND_DATE_TIME(&range, "$gte", (int64_t)floor(from * 1000));
  BSON_APPEND_DATE_TIME(&range, "$lt", (int64_t)ceil(to * 1000));
  bson_append_document_end(f, &range);
}

/* "" is an unlabelled series: the field is missing (or null) */
static void append_location(bson_t *f, const char *field, const char *loc) {
  if (loc == NULL)
    return;
  if (*loc == '\0')
    BSON_APPEND_NULL(f, field);
  else
    BSON_APPEND_UTF8(f, field, loc);
}

/* The filter of one measure of one series over [from, to). */
static bson_t *measure_filter(const pr_db *db, const pr_measure *m,
                              const char *target, const char *loc, double from,
                              double to) {
  const pr_schema *s = db->schema;
  bson_t *f = bson_new();
  append_pairs(f, s->base);
  BSON_APPEND_UTF8(f, s->target, target);
  append_location(f, s->location, loc);
  append_pairs(f, m->match);
  bson_t exists;
  BSON_APPEND_DOCUMENT_BEGIN(f, m->value, &exists);
  BSON_APPEND_BOOL(&exists, "$exists", true);
  bson_append_document_end(f, &exists);
  append_time(f, s->time, from, to);
  return f;
}

/* ------------------------------------------------------------ reading */

static double doc_time(const bson_t *doc, const char *field) {
  bson_iter_t it;
  if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, field, &it) &&
      BSON_ITER_HOLDS_DATE_TIME(&it))
    return (double)bson_iter_date_time(&it) / 1000.0;
  return NAN;
}

static double doc_number(const bson_t *doc, const char *field) {
  bson_iter_t it;
  if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, field, &it) &&
      BSON_ITER_HOLDS_NUMBER(&it))
    return bson_iter_as_double(&it);
  return NAN;
}

static const char *doc_string(const bson_t *doc, const char *field) {
  bson_iter_t it;
  if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, field, &it) &&
      BSON_ITER_HOLDS_UTF8(&it))
    return bson_iter_utf8(&it, NULL);
  return "";
}

typedef void (*doc_cb)(const bson_t *doc, void *ud);

/* Walks find(filter) sorted by time (order 1 or -1), at most limit
 * documents (0: all), calling each(doc). Destroys filter. */
static int walk(pr_db *db, const char *coll, bson_t *filter, int order,
                int64_t limit, doc_cb each, void *ud, char *err, size_t len) {
  bson_t *opts =
      BCON_NEW("sort", "{", db->schema->time, BCON_INT32(order), "}");
  if (limit > 0)
    BSON_APPEND_INT64(opts, "limit", limit);
  mongoc_collection_t *c =
      mongoc_client_get_collection(db->client, db->database, coll);
  mongoc_cursor_t *cur =
      mongoc_collection_find_with_opts(c, filter, opts, NULL);
  const bson_t *doc;
  while (mongoc_cursor_next(cur, &doc))
    each(doc, ud);
  bson_error_t error;
  int rc = 0;
  if (mongoc_cursor_error(cur, &error))
    rc = fail(db, coll, error.message, err, len);
  mongoc_cursor_destroy(cur);
  mongoc_collection_destroy(c);
  bson_destroy(opts);
  bson_destroy(filter);
  return rc;
}

/* ------------------------------------------------------------- series */

static const char *id_string(const bson_t *doc, const char *key) {
  bson_iter_t it;
  if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, key, &it) &&
      BSON_ITER_HOLDS_UTF8(&it))
    return bson_iter_utf8(&it, NULL);
  return "";
}

static bson_t *series_pipeline(const pr_db *db, const pr_window *w,
                               const char *const *targets, size_t n,
                               const char *location) {
  const pr_schema *s = db->schema;
  char tref[128], lref[128];
  snprintf(tref, sizeof(tref), "$%s", s->target);
  snprintf(lref, sizeof(lref), "$%s", s->location);
  bson_t *p = bson_new(), stages, stage, match, in, list;
  BSON_APPEND_ARRAY_BEGIN(p, "pipeline", &stages);
  BSON_APPEND_DOCUMENT_BEGIN(&stages, "0", &stage);
  BSON_APPEND_DOCUMENT_BEGIN(&stage, "$match", &match);
  append_pairs(&match, s->base);
  append_pairs(&match, s->up.match);
  if (n > 0) {
    BSON_APPEND_DOCUMENT_BEGIN(&match, s->target, &in);
    BSON_APPEND_ARRAY_BEGIN(&in, "$in", &list);
    for (size_t i = 0; i < n; i++) {
      char key[16];
      const char *k;
      bson_uint32_to_string((uint32_t)i, &k, key, sizeof(key));
      BSON_APPEND_UTF8(&list, k, targets[i]);
    }
    bson_append_array_end(&in, &list);
    bson_append_document_end(&match, &in);
  }
  if (location != NULL)
    append_location(&match, s->location, location);
  append_time(&match, s->time, w->from, w->to);
  bson_append_document_end(&stage, &match);
  bson_append_document_end(&stages, &stage);
  BCON_APPEND(&stages, "1", "{", "$group", "{", "_id", "{", "t",
              BCON_UTF8(tref), "l", BCON_UTF8(lref), "}", "n", "{", "$sum",
              BCON_INT32(1), "}", "}", "}", "2", "{", "$sort", "{", "_id",
              BCON_INT32(1), "}", "}");
  bson_append_array_end(p, &stages);
  return p;
}

int pr_db_series(pr_db *db, const pr_window *w, const char *const *targets,
                 size_t ntargets, const char *location, pr_series_cb found,
                 void *ud, char *err, size_t len) {
  const char *coll = db->schema->metrics;
  bson_t *pipeline = series_pipeline(db, w, targets, ntargets, location);
  mongoc_collection_t *c =
      mongoc_client_get_collection(db->client, db->database, coll);
  mongoc_cursor_t *cur =
      mongoc_collection_aggregate(c, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
  const bson_t *doc;
  int rc = 0;
  while (rc == 0 && mongoc_cursor_next(cur, &doc))
    rc = found(id_string(doc, "_id.t"), id_string(doc, "_id.l"), ud);
  bson_error_t error;
  if (rc == 0 && mongoc_cursor_error(cur, &error))
    rc = fail(db, coll, error.message, err, len);
  mongoc_cursor_destroy(cur);
  mongoc_collection_destroy(c);
  bson_destroy(pipeline);
  return rc;
}

/* --------------------------------------------------------------- fill */

typedef struct {
  const pr_db *db;
  pr_row *row;
  const pr_measure *m;
  pr_avail avail;
  pr_outages outages;
  double last; /* cert: newest value, time */
} fill_ctx;

static void on_up(const bson_t *doc, void *ud) {
  fill_ctx *f = ud;
  const pr_schema *s = f->db->schema;
  double iv = s->interval ? doc_number(doc, s->interval) : 0;
  pr_avail_sample(&f->avail, doc_time(doc, s->time),
                  doc_number(doc, f->m->value) * f->m->scale, iv);
}

static void on_response(const bson_t *doc, void *ud) {
  fill_ctx *f = ud;
  pr_row_response(f->row, doc_time(doc, f->db->schema->time),
                  doc_number(doc, f->m->value) * f->m->scale);
}

static void on_value(const bson_t *doc, void *ud) {
  fill_ctx *f = ud;
  pr_dist *d = f->m == &f->db->schema->loss ? &f->row->loss : &f->row->jitter;
  pr_dist_add(d, doc_number(doc, f->m->value) * f->m->scale);
}

static void on_cert(const bson_t *doc, void *ud) {
  fill_ctx *f = ud;
  double t = doc_time(doc, f->db->schema->time);
  double v = doc_number(doc, f->m->value);
  if (isnan(v) || (f->row->has_cert && t <= f->row->cert_time))
    return;
  f->row->has_cert = true;
  f->row->cert_time = t;
  f->row->cert_left = v - (f->row->w->to - t);
}

static void on_event(const bson_t *doc, void *ud) {
  fill_ctx *f = ud;
  const pr_schema *s = f->db->schema;
  const char *state = doc_string(doc, s->ev_state);
  if (strcmp(state, "down") == 0 || strcmp(state, "up") == 0)
    pr_outages_event(&f->outages, doc_time(doc, s->time),
                     strcmp(state, "down") == 0,
                     doc_string(doc, s->ev_message));
}

static bson_t *event_filter(const pr_db *db, const pr_row *row, const char *loc,
                            double from, double to) {
  const pr_schema *s = db->schema;
  bson_t *f = bson_new();
  append_pairs(f, s->ev_base);
  BSON_APPEND_UTF8(f, s->ev_target, row->target);
  append_location(f, s->ev_location, loc);
  append_time(f, s->time, from, to);
  return f;
}

/* Availability: the last sample before the window (it may cover the
 * window's start), then the window's samples in time order. */
static int fill_up(pr_db *db, fill_ctx *f, const char *loc, double interval,
                   char *err, size_t len) {
  const pr_schema *s = db->schema;
  const pr_window *w = f->row->w;
  f->m = &s->up;
  pr_avail_begin(&f->avail, f->row, interval);
  bson_t *before = measure_filter(db, f->m, f->row->target, loc, NAN, w->from);
  if (walk(db, s->metrics, before, -1, 1, on_up, f, err, len) != 0)
    return -1;
  bson_t *in = measure_filter(db, f->m, f->row->target, loc, w->from, w->to);
  if (walk(db, s->metrics, in, 1, 0, on_up, f, err, len) != 0)
    return -1;
  pr_avail_end(&f->avail);
  return 0;
}

static int fill_measure(pr_db *db, fill_ctx *f, const pr_measure *m,
                        const char *loc, doc_cb each, char *err, size_t len) {
  const pr_window *w = f->row->w;
  f->m = m;
  bson_t *in = measure_filter(db, m, f->row->target, loc, w->from, w->to);
  return walk(db, db->schema->metrics, in, 1, 0, each, f, err, len);
}

static int fill_events(pr_db *db, fill_ctx *f, const char *loc, char *err,
                       size_t len) {
  const pr_schema *s = db->schema;
  const pr_window *w = f->row->w;
  pr_outages_begin(&f->outages, f->row, loc);
  bson_t *before = event_filter(db, f->row, loc, NAN, w->from);
  if (walk(db, s->events, before, -1, 1, on_event, f, err, len) != 0)
    return -1;
  bson_t *in = event_filter(db, f->row, loc, w->from, w->to);
  if (walk(db, s->events, in, 1, 0, on_event, f, err, len) != 0)
    return -1;
  pr_outages_end(&f->outages);
  return 0;
}

int pr_db_fill(pr_db *db, pr_row *row, const char *location, double interval,
               char *err, size_t len) {
  const pr_schema *s = db->schema;
  fill_ctx f = {.db = db, .row = row};
  if (fill_up(db, &f, location, interval, err, len) != 0 ||
      fill_measure(db, &f, &s->response, location, on_response, err, len) ||
      fill_measure(db, &f, &s->loss, location, on_value, err, len) ||
      fill_measure(db, &f, &s->jitter, location, on_value, err, len) ||
      fill_events(db, &f, location, err, len) != 0)
    return -1;
  f.m = &s->cert;
  bson_t *cert =
      measure_filter(db, &s->cert, row->target, location, NAN, row->w->to);
  return walk(db, s->metrics, cert, -1, 1, on_cert, &f, err, len);
}
