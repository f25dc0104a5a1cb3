/* mongo_docs.c — BSON documents of portprobe_mongodb: a value list becomes a
 * `metrics` document, a notification an `events` document. Types are kept:
 * GAUGE double (NaN is null), DERIVE/COUNTER/ABSOLUTE int64, meta data as
 * typed as collectd has them. */
#include "mongo_docs.h"

#include <math.h>

static void append_oid(bson_t *doc) {
  /* The _id is fixed here, not by the driver at send time, so that a
   * retried insert repeats the same _id: events then meet the unique index
   * instead of doubling, and metrics duplicates can be told apart. */
  bson_oid_t oid;
  bson_oid_init(&oid, NULL);
  BSON_APPEND_OID(doc, "_id", &oid);
}

static void append_gauge(bson_t *doc, const char *key, gauge_t g) {
  /* NaN means "unknown" in collectd; null keeps $avg and friends honest. */
  if (isnan(g))
    BSON_APPEND_NULL(doc, key);
  else
    BSON_APPEND_DOUBLE(doc, key, g);
}

static void append_value(bson_t *doc, const char *key, int ds_type, value_t v) {
  switch (ds_type) {
  case DS_TYPE_GAUGE:
    append_gauge(doc, key, v.gauge);
    break;
  case DS_TYPE_DERIVE:
    BSON_APPEND_INT64(doc, key, v.derive);
    break;
  case DS_TYPE_COUNTER:
    /* BSON has no unsigned 64-bit integer; beyond INT64_MAX keep the
     * magnitude rather than a negative number. */
    if (v.counter > (counter_t)INT64_MAX)
      BSON_APPEND_DOUBLE(doc, key, (double)v.counter);
    else
      BSON_APPEND_INT64(doc, key, (int64_t)v.counter);
    break;
  case DS_TYPE_ABSOLUTE:
    if (v.absolute > (absolute_t)INT64_MAX)
      BSON_APPEND_DOUBLE(doc, key, (double)v.absolute);
    else
      BSON_APPEND_INT64(doc, key, (int64_t)v.absolute);
    break;
  default:
    BSON_APPEND_NULL(doc, key);
  }
}

/* Data source names that would overwrite a field of the document itself. */
static bool reserved_field(const char *name) {
  return strcmp(name, "_id") == 0 || strcmp(name, "time") == 0 ||
         strcmp(name, "meta") == 0 || strcmp(name, "interval") == 0;
}

/* collectd's network plugin carries no meta data: a portprobe value or
 * notification it received names its location in a field instead (the
 * value's host, the notification's type instance; collectd-plugin/
 * portprobe.c), and a notification its kind in its type. */
static bool received_from_portprobe(const char *plugin, bool received) {
  return received && strcmp(plugin, "portprobe") == 0;
}

static bool value_received(const value_list_t *vl) {
  bool received = false;
  return vl->meta != NULL &&
         meta_data_get_boolean(vl->meta, "network:received", &received) == 0 &&
         received;
}

/* Copies a value list's meta data (for example a target's labels), and
 * location as labels.location when the meta data have none. */
static void append_labels(bson_t *meta, meta_data_t *md, const char *location) {
  char **toc = NULL;
  int n = meta_data_toc(md, &toc);
  if (n <= 0)
    return;

  bson_t labels;
  BSON_APPEND_DOCUMENT_BEGIN(meta, "labels", &labels);
  for (int i = 0; i < n; i++) {
    const char *key = toc[i];
    if (location != NULL && strcmp(key, "location") == 0)
      location = NULL; /* its own label comes first */
    switch (meta_data_type(md, key)) {
    case MD_TYPE_STRING: {
      char *s = NULL;
      if (meta_data_get_string(md, key, &s) == 0 && s != NULL)
        BSON_APPEND_UTF8(&labels, key, s);
      free(s);
      break;
    }
    case MD_TYPE_SIGNED_INT: {
      int64_t v;
      if (meta_data_get_signed_int(md, key, &v) == 0)
        BSON_APPEND_INT64(&labels, key, v);
      break;
    }
    case MD_TYPE_UNSIGNED_INT: {
      uint64_t v;
      if (meta_data_get_unsigned_int(md, key, &v) == 0) {
        if (v > (uint64_t)INT64_MAX)
          BSON_APPEND_DOUBLE(&labels, key, (double)v);
        else
          BSON_APPEND_INT64(&labels, key, (int64_t)v);
      }
      break;
    }
    case MD_TYPE_DOUBLE: {
      double v;
      if (meta_data_get_double(md, key, &v) == 0)
        BSON_APPEND_DOUBLE(&labels, key, v);
      break;
    }
    case MD_TYPE_BOOLEAN: {
      bool v;
      if (meta_data_get_boolean(md, key, &v) == 0)
        BSON_APPEND_BOOL(&labels, key, v);
      break;
    }
    }
    free(toc[i]);
  }
  free(toc);
  if (location != NULL)
    BSON_APPEND_UTF8(&labels, "location", location);
  bson_append_document_end(meta, &labels);
}

bson_t *ppm_metric_doc(const data_set_t *ds, const value_list_t *vl) {
  bson_t *doc = bson_new();
  bson_t meta;

  append_oid(doc);
  BSON_APPEND_DATE_TIME(doc, "time", (int64_t)CDTIME_T_TO_MS(vl->time));
  BSON_APPEND_DOCUMENT_BEGIN(doc, "meta", &meta);
  BSON_APPEND_UTF8(&meta, "host", vl->host);
  BSON_APPEND_UTF8(&meta, "plugin", vl->plugin);
  BSON_APPEND_UTF8(&meta, "plugin_instance", vl->plugin_instance);
  BSON_APPEND_UTF8(&meta, "type", vl->type);
  BSON_APPEND_UTF8(&meta, "type_instance", vl->type_instance);
  if (vl->meta != NULL)
    append_labels(&meta, vl->meta,
                  received_from_portprobe(vl->plugin, value_received(vl))
                      ? vl->host
                      : NULL);
  bson_append_document_end(doc, &meta);
  BSON_APPEND_DOUBLE(doc, "interval", CDTIME_T_TO_DOUBLE(vl->interval));

  if (ds->ds_num == 1) {
    append_value(doc, "value", ds->ds[0].type, vl->values[0]);
  } else {
    for (size_t i = 0; i < ds->ds_num && i < vl->values_len; i++) {
      char key[DATA_MAX_NAME_LEN + 4];
      snprintf(key, sizeof(key), "%s%s",
               reserved_field(ds->ds[i].name) ? "ds_" : "", ds->ds[i].name);
      append_value(doc, key, ds->ds[i].type, vl->values[i]);
    }
  }
  return doc;
}

static const char *severity_name(int severity) {
  switch (severity) {
  case NOTIF_FAILURE:
    return "FAILURE";
  case NOTIF_WARNING:
    return "WARNING";
  case NOTIF_OKAY:
    return "OKAY";
  }
  return "UNKNOWN";
}

/* Appends one notification meta datum under key to doc, with its type. */
static void append_nmeta(bson_t *doc, const char *key,
                         const notification_meta_t *m) {
  switch (m->type) {
  case NM_TYPE_STRING:
    BSON_APPEND_UTF8(doc, key,
                     m->nm_value.nm_string ? m->nm_value.nm_string : "");
    break;
  case NM_TYPE_SIGNED_INT:
    BSON_APPEND_INT64(doc, key, m->nm_value.nm_signed_int);
    break;
  case NM_TYPE_UNSIGNED_INT:
    if (m->nm_value.nm_unsigned_int > (uint64_t)INT64_MAX)
      BSON_APPEND_DOUBLE(doc, key, (double)m->nm_value.nm_unsigned_int);
    else
      BSON_APPEND_INT64(doc, key, (int64_t)m->nm_value.nm_unsigned_int);
    break;
  case NM_TYPE_DOUBLE:
    append_gauge(doc, key, m->nm_value.nm_double);
    break;
  case NM_TYPE_BOOLEAN:
    BSON_APPEND_BOOL(doc, key, m->nm_value.nm_boolean);
    break;
  }
}

#define LABEL_PREFIX "label_"

static bool is_label(const notification_meta_t *m) {
  return strncmp(m->name, LABEL_PREFIX, strlen(LABEL_PREFIX)) == 0 &&
         m->name[strlen(LABEL_PREFIX)] != '\0';
}

static const notification_meta_t *nmeta(const notification_t *n,
                                        const char *name) {
  for (const notification_meta_t *m = n->meta; m != NULL; m = m->next)
    if (strcmp(m->name, name) == 0)
      return m;
  return NULL;
}

/* kind, labels and meta of an event: see mongo_docs.h. */
static void append_event_meta(bson_t *doc, const notification_t *n) {
  bson_t sub;
  const notification_meta_t *rx = nmeta(n, "network:received");
  bool wire = received_from_portprobe(
      n->plugin,
      rx != NULL && rx->type == NM_TYPE_BOOLEAN && rx->nm_value.nm_boolean);
  const notification_meta_t *kind = nmeta(n, "kind");
  if (kind != NULL && kind->type == NM_TYPE_STRING)
    append_nmeta(doc, "kind", kind);
  else if (wire && n->type[0] != '\0')
    BSON_APPEND_UTF8(doc, "kind", n->type);
  bool labels = false;
  for (const notification_meta_t *m = n->meta; m != NULL && !labels;
       m = m->next)
    labels = is_label(m);
  const char *location =
      wire && nmeta(n, LABEL_PREFIX "location") == NULL && n->type_instance[0]
          ? n->type_instance
          : NULL;
  if (labels || location != NULL) {
    BSON_APPEND_DOCUMENT_BEGIN(doc, "labels", &sub);
    for (const notification_meta_t *m = n->meta; m != NULL; m = m->next)
      if (is_label(m))
        append_nmeta(&sub, m->name + strlen(LABEL_PREFIX), m);
    if (location != NULL)
      BSON_APPEND_UTF8(&sub, "location", location);
    bson_append_document_end(doc, &sub);
  }
  BSON_APPEND_DOCUMENT_BEGIN(doc, "meta", &sub);
  for (const notification_meta_t *m = n->meta; m != NULL; m = m->next)
    if (!is_label(m) &&
        !(strcmp(m->name, "kind") == 0 && m->type == NM_TYPE_STRING))
      append_nmeta(&sub, m->name, m);
  bson_append_document_end(doc, &sub);
}

bson_t *ppm_event_doc(const notification_t *n) {
  bson_t *doc = bson_new();
  append_oid(doc);
  cdtime_t t = n->time != 0 ? n->time : cdtime();
  BSON_APPEND_DATE_TIME(doc, "time", (int64_t)CDTIME_T_TO_MS(t));
  BSON_APPEND_UTF8(doc, "severity", severity_name(n->severity));
  BSON_APPEND_UTF8(doc, "host", n->host);
  BSON_APPEND_UTF8(doc, "plugin", n->plugin);
  BSON_APPEND_UTF8(doc, "plugin_instance", n->plugin_instance);
  BSON_APPEND_UTF8(doc, "type", n->type);
  BSON_APPEND_UTF8(doc, "type_instance", n->type_instance);
  BSON_APPEND_UTF8(doc, "message", n->message);
  append_event_meta(doc, n);
  return doc;
}
