/* mongo_schema.c — creates portprobe_mongodb's collections and indexes once
 * per start, and falls back where a server lacks a feature: no time-series
 * collections (FerretDB, older "compatible" services: code 238) gives an
 * ordinary `metrics` with a TTL index on `time`; no TTL indexes keeps the
 * documents. Each fallback is logged once, as a warning. */
#include "collectd.h"
#include "plugin.h"

#include "mongo_schema.h"

#define LOG_PREFIX "portprobe_mongodb: "
#define MONGO_NAMESPACE_EXISTS 48
#define MAX_INDEX_KEYS 6

typedef enum { CMD_OK, CMD_EXISTS, CMD_REFUSED, CMD_NO_ANSWER } cmd_status;

/* An index the reports rely on: its name and keys (ascending). */
typedef struct {
  const char *name;
  const char *keys[MAX_INDEX_KEYS + 1]; /* NULL-terminated */
  bool ttl;                             /* expireAfterSeconds on it */
} index_spec;

static const index_spec metrics_indexes[] = {
    /* one target over time: the dashboard's and the report's query */
    {"plugin_instance_time", {"meta.plugin_instance", "time"}, false},
    /* everything one host's plugin reported over time */
    {"host_plugin_time", {"meta.host", "meta.plugin", "time"}, false},
    /* portprobe-report: one series of one target at one location over time,
     * and which series the window holds. Every field of its filters is a
     * key: a server may plan an index only when it covers them all
     * (SecantusDB scans the collection otherwise). */
    {"series_time",
     {"meta.plugin", "meta.type", "meta.type_instance", "meta.plugin_instance",
      "meta.labels.location", "time"},
     false},
    {"type_time",
     {"meta.plugin", "meta.type", "meta.type_instance", "time"},
     false},
};
/* an ordinary `metrics` needs its own index for retention */
static const index_spec metrics_ttl_index = {"time_1", {"time"}, true};

static const index_spec events_indexes[] = {
    {"time_1", {"time"}, true},
    {"plugin_instance_time", {"plugin_instance", "time"}, false},
    {"host_plugin_time", {"host", "plugin", "time"}, false},
    /* portprobe-report: one target's state events at one location */
    {"state_time",
     {"plugin", "kind", "plugin_instance", "labels.location", "time"},
     false},
};

/* Runs cmd (and destroys it). Only an answer from the server counts as a
 * verdict; no answer (network, authentication, TLS) decides nothing. */
static cmd_status run(mongoc_database_t *db, bson_t *cmd, bson_error_t *error) {
  bson_t reply;
  bool ok =
      mongoc_database_write_command_with_opts(db, cmd, NULL, &reply, error);
  bson_destroy(&reply);
  bson_destroy(cmd);
  if (ok)
    return CMD_OK;
  if (error->domain != MONGOC_ERROR_SERVER)
    return CMD_NO_ANSWER;
  return error->code == MONGO_NAMESPACE_EXISTS ? CMD_EXISTS : CMD_REFUSED;
}

/* Whether an existing `metrics` is a time-series collection: MongoDB says
 * type "timeseries", SecantusDB type "collection" with options.timeseries. */
static bool is_timeseries(mongoc_database_t *db) {
  bson_t *opts =
      BCON_NEW("filter", "{", "name", BCON_UTF8(PPM_METRICS_COLLECTION), "}");
  mongoc_cursor_t *c = mongoc_database_find_collections_with_opts(db, opts);
  bson_destroy(opts);
  const bson_t *info;
  bool ts = false;
  bson_iter_t it;
  if (mongoc_cursor_next(c, &info)) {
    if (bson_iter_init_find(&it, info, "type") && BSON_ITER_HOLDS_UTF8(&it))
      ts = strcmp(bson_iter_utf8(&it, NULL), "timeseries") == 0;
    if (bson_iter_init(&it, info) &&
        bson_iter_find_descendant(&it, "options.timeseries", &it))
      ts = true;
  }
  mongoc_cursor_destroy(c);
  return ts;
}

/* Creates `metrics`: time-series if the server can, else ordinary
 * (*plain set). Returns false when the server did not answer. */
static bool create_metrics(mongoc_database_t *db, int64_t ttl, bool *plain,
                           bson_error_t *error) {
  bson_t *cmd =
      BCON_NEW("create", BCON_UTF8(PPM_METRICS_COLLECTION), "timeseries", "{",
               "timeField", BCON_UTF8("time"), "metaField", BCON_UTF8("meta"),
               "granularity", BCON_UTF8("seconds"), "}");
  if (ttl > 0)
    BSON_APPEND_INT64(cmd, "expireAfterSeconds", ttl);
  *plain = false;
  switch (run(db, cmd, error)) {
  case CMD_NO_ANSWER:
    return false;
  case CMD_OK:
    INFO(LOG_PREFIX
         "created the time-series collection " PPM_METRICS_COLLECTION);
    return true;
  case CMD_EXISTS:
    *plain = !is_timeseries(db);
    INFO(LOG_PREFIX "%s collection " PPM_METRICS_COLLECTION
                    " already exists, kept as it is",
         *plain ? "the ordinary" : "the time-series");
    return true;
  case CMD_REFUSED:
    break;
  }
  WARNING(LOG_PREFIX "the server refused a time-series collection (code %u: "
                     "%s): " PPM_METRICS_COLLECTION
                     " is an ordinary collection with the same indexes and "
                     "a TTL index on time",
          error->code, error->message);
  *plain = true;
  cmd = BCON_NEW("create", BCON_UTF8(PPM_METRICS_COLLECTION));
  cmd_status st = run(db, cmd, error);
  if (st == CMD_REFUSED)
    WARNING(LOG_PREFIX "create " PPM_METRICS_COLLECTION
                       " refused (code %u): %s; writing anyway",
            error->code, error->message);
  return st != CMD_NO_ANSWER;
}

/* Appends one index description to the array `indexes` at position i. */
static void append_index(bson_t *indexes, size_t i, const index_spec *spec,
                         int64_t ttl) {
  char pos[16];
  const char *key;
  bson_uint32_to_string((uint32_t)i, &key, pos, sizeof(pos));
  bson_t index, keys;
  BSON_APPEND_DOCUMENT_BEGIN(indexes, key, &index);
  BSON_APPEND_DOCUMENT_BEGIN(&index, "key", &keys);
  for (size_t k = 0; k < MAX_INDEX_KEYS && spec->keys[k] != NULL; k++)
    BSON_APPEND_INT32(&keys, spec->keys[k], 1);
  bson_append_document_end(&index, &keys);
  BSON_APPEND_UTF8(&index, "name", spec->name);
  if (spec->ttl && ttl > 0)
    BSON_APPEND_INT64(&index, "expireAfterSeconds", ttl);
  bson_append_document_end(indexes, &index);
}

/* Whether coll already has an index of this name. */
static bool has_index(mongoc_database_t *db, const char *coll,
                      const char *name) {
  mongoc_collection_t *c = mongoc_database_get_collection(db, coll);
  mongoc_cursor_t *cur = mongoc_collection_find_indexes_with_opts(c, NULL);
  const bson_t *info;
  bool found = false;
  bson_iter_t it;
  while (!found && mongoc_cursor_next(cur, &info))
    found = bson_iter_init_find(&it, info, "name") &&
            BSON_ITER_HOLDS_UTF8(&it) &&
            strcmp(bson_iter_utf8(&it, NULL), name) == 0;
  mongoc_cursor_destroy(cur);
  mongoc_collection_destroy(c);
  return found;
}

/* Creates the indexes of specs that coll lacks. Existing ones are left
 * alone: FerretDB 1.24 drops the connection when asked for an index it
 * already has. */
static cmd_status create_indexes(mongoc_database_t *db, const char *coll,
                                 const index_spec *const *specs, size_t n,
                                 int64_t ttl, bson_error_t *error) {
  bson_t *cmd = BCON_NEW("createIndexes", BCON_UTF8(coll));
  bson_t indexes;
  size_t missing = 0;
  BSON_APPEND_ARRAY_BEGIN(cmd, "indexes", &indexes);
  for (size_t i = 0; i < n; i++)
    if (!has_index(db, coll, specs[i]->name))
      append_index(&indexes, missing++, specs[i], ttl);
  bson_append_array_end(cmd, &indexes);
  if (missing == 0) {
    bson_destroy(cmd);
    return CMD_OK;
  }
  return run(db, cmd, error);
}

static bool has_ttl(const index_spec *const *specs, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (specs[i]->ttl)
      return true;
  return false;
}

/* Creates the indexes of coll. A server that refuses the TTL option gets
 * them again without it (documents then stay until deleted by hand). */
static bool ensure_indexes(mongoc_database_t *db, const char *coll,
                           const index_spec *const *specs, size_t n,
                           int64_t ttl, bson_error_t *error) {
  cmd_status st = create_indexes(db, coll, specs, n, ttl, error);
  if (st == CMD_REFUSED && ttl > 0 && has_ttl(specs, n)) {
    WARNING(LOG_PREFIX "the server refused a TTL index on %s.time (code %u: "
                       "%s): its documents are kept until deleted by hand",
            coll, error->code, error->message);
    st = create_indexes(db, coll, specs, n, 0, error);
  }
  if (st == CMD_REFUSED)
    WARNING(LOG_PREFIX "createIndexes %s refused (code %u): %s; writing "
                       "anyway",
            coll, error->code, error->message);
  return st != CMD_NO_ANSWER;
}

bool ppm_schema_ensure(mongoc_client_t *client, const char *database,
                       int retention_days, bson_error_t *error) {
  int64_t ttl = (int64_t)retention_days * 86400;
  mongoc_database_t *db = mongoc_client_get_database(client, database);
  const index_spec *specs[8];
  size_t n = 0;
  bool plain = false;
  bool ok = create_metrics(db, ttl, &plain, error);
  if (ok) {
    for (size_t i = 0; i < sizeof(metrics_indexes) / sizeof(*metrics_indexes);
         i++)
      specs[n++] = &metrics_indexes[i];
    if (plain)
      specs[n++] = &metrics_ttl_index;
    ok = ensure_indexes(db, PPM_METRICS_COLLECTION, specs, n, ttl, error);
  }
  if (ok) {
    n = 0;
    for (size_t i = 0; i < sizeof(events_indexes) / sizeof(*events_indexes);
         i++)
      specs[n++] = &events_indexes[i];
    ok = ensure_indexes(db, PPM_EVENTS_COLLECTION, specs, n, ttl, error);
  }
  mongoc_database_destroy(db);
  return ok;
}
