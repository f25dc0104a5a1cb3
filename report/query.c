/* query.c — portprobe-report's MongoDB reads (see query.h): the connection,
 * filters built from the schema, cursors walked one document at a time,
 * the series of a window; every error named by URI (password hidden),
 * database and collection. Rows are filled from these in fill.c. */
#include "query_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void pr_db_use(pr_db *db, const pr_schema *schema) {
  db->schema = schema;
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

/* Only equalities and the time range, each a key of the schema's index
 * (see schema.h): no $exists, which no index covers. */
bson_t *pr_q_measure_filter(const pr_db *db, const pr_pair *match,
                            const char *target, const char *loc, double from,
                            double to) {
  const pr_schema *s = db->schema;
  bson_t *f = bson_new();
  append_pairs(f, s->base);
  BSON_APPEND_UTF8(f, s->target, target);
  append_location(f, s->location, loc);
  if (match != NULL)
    append_pairs(f, match);
  append_time(f, s->time, from, to);
  return f;
}

bson_t *pr_q_event_filter(const pr_db *db, const char *target, const char *loc,
                          double from, double to) {
  const pr_schema *s = db->schema;
  bson_t *f = bson_new();
  append_pairs(f, s->ev_base);
  BSON_APPEND_UTF8(f, s->ev_target, target);
  append_location(f, s->ev_location, loc);
  append_time(f, s->time, from, to);
  return f;
}

/* ------------------------------------------------------------ reading */

double pr_q_time(const bson_t *doc, const char *field) {
  bson_iter_t it;
  if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, field, &it) &&
      BSON_ITER_HOLDS_DATE_TIME(&it))
    return (double)bson_iter_date_time(&it) / 1000.0;
  return NAN;
}

double pr_q_number(const bson_t *doc, const char *field) {
  bson_iter_t it;
  if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, field, &it) &&
      BSON_ITER_HOLDS_NUMBER(&it))
    return bson_iter_as_double(&it);
  return NAN;
}

const char *pr_q_string(const bson_t *doc, const char *field) {
  bson_iter_t it;
  if (bson_iter_init(&it, doc) && bson_iter_find_descendant(&it, field, &it) &&
      BSON_ITER_HOLDS_UTF8(&it))
    return bson_iter_utf8(&it, NULL);
  return "";
}

/* The sort, limit and projection: only the fields the report reads. */
static bson_t *read_opts(const pr_db *db, const pr_read *r, int order,
                         int64_t limit) {
  bson_t *opts =
      BCON_NEW("sort", "{", db->schema->time, BCON_INT32(order), "}");
  if (limit > 0)
    BSON_APPEND_INT64(opts, "limit", limit);
  bson_t fields;
  BSON_APPEND_DOCUMENT_BEGIN(opts, "projection", &fields);
  BSON_APPEND_INT32(&fields, "_id", 0);
  BSON_APPEND_INT32(&fields, db->schema->time, 1);
  for (size_t i = 0; i < PR_READ_FIELDS && r->fields[i] != NULL; i++)
    BSON_APPEND_INT32(&fields, r->fields[i], 1);
  bson_append_document_end(opts, &fields);
  return opts;
}

int pr_q_walk(pr_db *db, const pr_read *r, bson_t *filter, int order,
              int64_t limit, pr_doc_cb each, void *ud, char *err, size_t len) {
  bson_t *opts = read_opts(db, r, order, limit);
  mongoc_collection_t *c =
      mongoc_client_get_collection(db->client, db->database, r->coll);
  mongoc_cursor_t *cur =
      mongoc_collection_find_with_opts(c, filter, opts, NULL);
  const bson_t *doc;
  while (mongoc_cursor_next(cur, &doc))
    each(doc, ud);
  bson_error_t error;
  int rc = 0;
  if (mongoc_cursor_error(cur, &error))
    rc = fail(db, r->coll, error.message, err, len);
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

static bson_t *series_pipeline(const pr_db *db, double from, double to,
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
  append_time(&match, s->time, from, to);
  bson_append_document_end(&stage, &match);
  bson_append_document_end(&stages, &stage);
  BCON_APPEND(&stages, "1", "{", "$group", "{", "_id", "{", "t",
              BCON_UTF8(tref), "l", BCON_UTF8(lref), "}", "n", "{", "$sum",
              BCON_INT32(1), "}", "}", "}", "2", "{", "$sort", "{", "_id",
              BCON_INT32(1), "}", "}");
  bson_append_array_end(p, &stages);
  return p;
}

/* The series found so far: sorted by target then location, each once. */
typedef struct {
  struct series {
    char *t, *l;
  } * s;
  size_t n, cap;
} series_set;

static int series_cmp(const struct series *a, const char *t, const char *l) {
  int c = strcmp(a->t, t);
  return c != 0 ? c : strcmp(a->l, l);
}

/* Adds (t, l) where it sorts, unless there; -1 out of memory. */
static int series_add(series_set *set, const char *t, const char *l) {
  size_t lo = 0, hi = set->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = series_cmp(&set->s[mid], t, l);
    if (c == 0)
      return 0;
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (set->n == set->cap) {
    size_t cap = set->cap ? 2 * set->cap : 64;
    struct series *grown = realloc(set->s, cap * sizeof(*grown));
    if (grown == NULL)
      return -1;
    set->s = grown;
    set->cap = cap;
  }
  struct series one = {strdup(t), strdup(l)};
  if (one.t == NULL || one.l == NULL) {
    free(one.t);
    free(one.l);
    return -1;
  }
  memmove(set->s + lo + 1, set->s + lo, (set->n - lo) * sizeof(*set->s));
  set->s[lo] = one;
  set->n++;
  return 0;
}

static void series_free(series_set *set) {
  for (size_t i = 0; i < set->n; i++) {
    free(set->s[i].t);
    free(set->s[i].l);
  }
  free(set->s);
}

/* The series with samples in [from, to), added to set. */
static int series_slice(pr_db *db, double from, double to,
                        const char *const *targets, size_t ntargets,
                        const char *location, series_set *set, char *err,
                        size_t len) {
  const char *coll = db->schema->metrics;
  bson_t *pipeline = series_pipeline(db, from, to, targets, ntargets, location);
  mongoc_collection_t *c =
      mongoc_client_get_collection(db->client, db->database, coll);
  mongoc_cursor_t *cur =
      mongoc_collection_aggregate(c, MONGOC_QUERY_NONE, pipeline, NULL, NULL);
  const bson_t *doc;
  int rc = 0;
  while (rc == 0 && mongoc_cursor_next(cur, &doc))
    if (series_add(set, id_string(doc, "_id.t"), id_string(doc, "_id.l")))
      rc = fail(db, coll, "out of memory", err, len);
  bson_error_t error;
  if (rc == 0 && mongoc_cursor_error(cur, &error))
    rc = fail(db, coll, error.message, err, len);
  mongoc_cursor_destroy(cur);
  mongoc_collection_destroy(c);
  bson_destroy(pipeline);
  return rc;
}

/* The series are looked for a day of the window at a time: each query's
 * work stays that of a day however long the window (SecantusDB holds what
 * a $group reads in memory: a week of 1,000 targets, 10 million documents,
 * took it past 24 GB), and a server with a time limit per query (managed
 * services) sees a day's. The client keeps the series only. */
#define SERIES_SLICE_SECONDS 86400.0

int pr_db_series(pr_db *db, const pr_window *w, const char *const *targets,
                 size_t ntargets, const char *location, pr_series_cb found,
                 void *ud, char *err, size_t len) {
  series_set set = {0};
  int rc = 0;
  if (isnan(w->from)) {
    rc = series_slice(db, w->from, w->to, targets, ntargets, location, &set,
                      err, len);
  } else {
    for (double from = w->from; rc == 0 && from < w->to;
         from += SERIES_SLICE_SECONDS) {
      double to = fmin(from + SERIES_SLICE_SECONDS, w->to);
      rc = series_slice(db, from, to, targets, ntargets, location, &set, err,
                        len);
    }
  }
  for (size_t i = 0; rc == 0 && i < set.n; i++)
    rc = found(set.s[i].t, set.s[i].l, ud);
  series_free(&set);
  return rc;
}
