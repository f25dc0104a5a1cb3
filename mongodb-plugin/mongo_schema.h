/* mongo_schema.h — the collections and indexes portprobe_mongodb writes to and
 * portprobe-report reads from, created on first contact with the server.
 * `metrics` is a time-series collection where the server has them, else an
 * ordinary collection with a TTL index on `time`; `events` an ordinary one.
 * Logs through collectd; never logs the URI. */
#ifndef PPM_MONGO_SCHEMA_H
#define PPM_MONGO_SCHEMA_H

#include <mongoc/mongoc.h>
#include <stdbool.h>

#define PPM_METRICS_COLLECTION "metrics"
#define PPM_EVENTS_COLLECTION "events"

/* Creates what is missing in `database`; retention_days 0 keeps documents
 * for ever. A refusal by the server (no right to create, a feature it
 * lacks) is logged and set aside: writing matters more. Returns false only
 * when the server did not answer (error says why): try again later. */
bool ppm_schema_ensure(mongoc_client_t *client, const char *database,
                       int retention_days, bson_error_t *error);

#endif
