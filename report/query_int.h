/* query_int.h — what query.c (the reads) shares with fill.c (rows from
 * them): the connection, filters of one series, and a cursor walk that
 * reads only the fields asked for. */
#ifndef PR_QUERY_INT_H
#define PR_QUERY_INT_H

#include "query.h"
#include "schema.h"

#include <mongoc/mongoc.h>

struct pr_db {
  mongoc_client_t *client;
  const pr_schema *schema;
  char database[128];
  char uri[512]; /* redacted */
};

#define PR_READ_FIELDS 7

/* A collection and the fields read from it besides the time (NULL ends). */
typedef struct {
  const char *coll;
  const char *fields[PR_READ_FIELDS];
} pr_read;

typedef void (*pr_doc_cb)(const bson_t *doc, void *ud);

/* One series' documents (base, target, location, match) over [from, to);
 * from NaN: everything before to. The caller walks and so destroys it. */
bson_t *pr_q_measure_filter(const pr_db *db, const pr_pair *match,
                            const char *target, const char *loc, double from,
                            double to);
/* One series' state events over [from, to), as above. */
bson_t *pr_q_event_filter(const pr_db *db, const char *target, const char *loc,
                          double from, double to);

/* Walks find(filter) on r->coll sorted by time (order 1 or -1), at most
 * limit documents (0: all), calling each(doc); destroys filter. 0, or -1
 * with err naming URI, database and collection. */
int pr_q_walk(pr_db *db, const pr_read *r, bson_t *filter, int order,
              int64_t limit, pr_doc_cb each, void *ud, char *err, size_t len);

/* A field of a document (dotted path): NaN or "" when missing. */
double pr_q_time(const bson_t *doc, const char *field);
double pr_q_number(const bson_t *doc, const char *field);
const char *pr_q_string(const bson_t *doc, const char *field);

#endif
