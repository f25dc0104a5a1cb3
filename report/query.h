/* query.h — portprobe-report's reads from MongoDB: which series the window
 * holds, and a row filled from them. The server selects (indexed $match),
 * counts ($group with $sum, which every server of the tests has), sorts and
 * projects; the client adds up streams with bounded memory (report.h).
 * Errors name the URI (password hidden), the database and the collection. */
#ifndef PR_QUERY_H
#define PR_QUERY_H

#include "report.h"

#include <stddef.h>

typedef struct pr_schema pr_schema;
typedef struct pr_db pr_db;

/* "collectd" (portprobe_mongodb's metrics/events) or "telegraf"
 * (outputs.mongodb: portprobe/portprobe_event, timestamp, tags.*). */
const pr_schema *pr_schema_find(const char *name);
const char *pr_schema_default_database(const pr_schema *s);
/* The schema of the consensus kept beside `s` (collectd's), else NULL. */
const pr_schema *pr_schema_consensus(const pr_schema *s);

/* uri with any password replaced by "***". */
void pr_redact_uri(const char *uri, char *out, size_t len);

pr_db *pr_db_open(const char *uri, const char *database,
                  const pr_schema *schema, char *err, size_t len);
void pr_db_close(pr_db *db);
/* Reads from now on through `schema` (of the same database). */
void pr_db_use(pr_db *db, const pr_schema *schema);

/* Calls found(target, location, ud) for every series with samples in w,
 * sorted by target then location ("" when unlabelled); targets (if n > 0)
 * and location (if not NULL) narrow the search. Returns 0, or -1 with err
 * (found's non-zero return is passed on). */
typedef int (*pr_series_cb)(const char *target, const char *location, void *ud);
int pr_db_series(pr_db *db, const pr_window *w, const char *const *targets,
                 size_t ntargets, const char *location, pr_series_cb found,
                 void *ud, char *err, size_t len);

/* Adds one series (row->target at location) to row: availability, outages,
 * response time, loss, jitter, certificate. interval <= 0: the documents'
 * own interval, or one taken from the samples. */
int pr_db_fill(pr_db *db, pr_row *row, const char *location, double interval,
               char *err, size_t len);

#endif
