/* mongo_docs.h — collectd values and notifications as the BSON documents
 * portprobe_mongodb stores (the document reference is in README.md beside
 * this file). The caller owns the returned document (bson_destroy). */
#ifndef PPM_MONGO_DOCS_H
#define PPM_MONGO_DOCS_H

#include "collectd.h"
#include "plugin.h"

#include <mongoc/mongoc.h>

/* One `metrics` document per value list: time, meta (identity and the
 * value list's meta data as labels), interval, the value(s). */
bson_t *ppm_metric_doc(const data_set_t *ds, const value_list_t *vl);

/* One `events` document per notification. Meta data named "kind" becomes
 * the top-level `kind`, "label_NAME" becomes labels.NAME, the rest stays
 * in `meta` with its type. */
bson_t *ppm_event_doc(const notification_t *n);

#endif
