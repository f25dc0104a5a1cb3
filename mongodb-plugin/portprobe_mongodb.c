/* portprobe_mongodb.c — collectd write and notification plugin: values go to
 * a MongoDB time-series collection, notifications to an events collection.
 * collectd's callbacks only turn data into BSON and queue it; one writer
 * thread owns the mongo-c-driver client, batches inserts and bridges outages
 * with the bounded queue of mongo_buffer.c. */

#include "collectd.h"
#include "plugin.h"

#include "mongo_buffer.h"
#include "mongo_docs.h"
#include "mongo_schema.h"

#include <math.h>
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <time.h>

#define PLUGIN "portprobe_mongodb"
#define LOG_PREFIX PLUGIN ": "

#define METRICS_COLLECTION PPM_METRICS_COLLECTION
#define EVENTS_COLLECTION PPM_EVENTS_COLLECTION
#define MONGO_DUPLICATE_KEY 11000

enum doc_kind { KIND_METRIC = 0, KIND_EVENT = 1 };

static const char *kind_collection(int kind) {
  return kind == KIND_EVENT ? EVENTS_COLLECTION : METRICS_COLLECTION;
}

/* Configuration, fixed once collectd has called init. */
typedef struct {
  char *uri;
  char *database;
  int retention_days; /* 0: keep for ever */
  int batch_size;
  double flush_interval; /* seconds */
  int buffer_limit;
  char **store_plugins; /* NULL: every plugin */
  size_t store_plugins_num;
  bool store_notifications;
  bool batch_size_set;
  double retry_interval;   /* seconds between attempts while failing */
  double shutdown_timeout; /* seconds a flush or shutdown waits at most */
  double timeout;          /* driver timeouts the URI does not set */
  double report_interval;  /* seconds between repeated warnings */
} pp_conf_t;

static pp_conf_t conf = {
    .retention_days = 90,
    .batch_size = 500,
    .flush_interval = 10.0,
    .buffer_limit = 100000,
    .store_notifications = true,
    .retry_interval = 5.0,
    .shutdown_timeout = 10.0,
    .timeout = 5.0,
    .report_interval = 60.0,
};

/* State shared by collectd's threads and the writer; all under `lock`. */
static struct {
  pthread_mutex_t lock;
  pthread_cond_t wake;     /* for the writer: data, flush request, stop */
  pthread_cond_t progress; /* for flush and shutdown: the writer moved on */
  mongo_buffer_t *buf;
  uint64_t flush_target; /* write everything pushed before this sequence */
  bool running;          /* writer started and not told to stop */
  bool stopping;         /* drain what is left, then exit */
  bool abandon;          /* shutdown gave up waiting: exit at once */
  bool failing;          /* the last attempt failed: MongoDB unreachable */
  bool writer_done;
  pthread_t writer;
} st = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
};

/* ---------------------------------------------------------------- time */

static double mono_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits on cond (monotonic clock) until `until`, a mono_now() value. */
static void cond_wait_until(pthread_cond_t *cond, double until) {
  double whole = floor(until);
  struct timespec ts = {.tv_sec = (time_t)whole,
                        .tv_nsec = (long)((until - whole) * 1e9)};
  pthread_cond_timedwait(cond, &st.lock, &ts);
}

/* ---------------------------------------------------------------- BSON */

static void free_doc(void *doc) {
  bson_destroy(doc);
}

/* ------------------------------------------------------------- enqueue */

static bool plugin_wanted(const char *plugin) {
  if (conf.store_plugins == NULL)
    return true;
  for (size_t i = 0; i < conf.store_plugins_num; i++)
    if (strcasecmp(conf.store_plugins[i], plugin) == 0)
      return true;
  return false;
}

/* Hands doc to the queue. Never blocks on MongoDB: the only wait is the
 * queue's mutex, held by others for a few pointer moves. */
static int enqueue(bson_t *doc, int kind) {
  pthread_mutex_lock(&st.lock);
  if (!st.running) {
    pthread_mutex_unlock(&st.lock);
    bson_destroy(doc);
    return -1;
  }
  mongo_buffer_push(st.buf, doc, kind);
  size_t count = mongo_buffer_count(st.buf);
  /* The writer sleeps until the flush interval ends; wake it when the
   * queue stops being empty (to start that clock) or a batch is full. */
  if (count == 1 || count >= (size_t)conf.batch_size)
    pthread_cond_signal(&st.wake);
  pthread_mutex_unlock(&st.lock);
  return 0;
}

/* Whether to keep data of this plugin: 1 yes, 0 no, -1 shut down. Under
 * the lock because shutdown frees the configuration, and a notification
 * may still arrive from another plugin's thread after that. */
static int accepting(const char *plugin, bool notification) {
  pthread_mutex_lock(&st.lock);
  int ok = -1;
  if (st.running)
    ok = (!notification || conf.store_notifications) &&
         (plugin[0] == '\0' || plugin_wanted(plugin));
  pthread_mutex_unlock(&st.lock);
  return ok;
}

static int pp_write(const data_set_t *ds, const value_list_t *vl,
                    user_data_t *ud) {
  (void)ud;
  if (ds->ds_num == 0 || vl->values_len != ds->ds_num) {
    ERROR(LOG_PREFIX "%s/%s: %zu values for %zu data sources, skipped",
          vl->plugin, vl->type, vl->values_len, ds->ds_num);
    return -1;
  }
  int ok = accepting(vl->plugin, false);
  if (ok <= 0)
    return ok;
  return enqueue(ppm_metric_doc(ds, vl), KIND_METRIC);
}

static int pp_notify(const notification_t *n, user_data_t *ud) {
  (void)ud;
  int ok = accepting(n->plugin, true);
  if (ok <= 0)
    return ok;
  return enqueue(ppm_event_doc(n), KIND_EVENT);
}

/* -------------------------------------------------------------- writer */

typedef struct {
  mongoc_client_t *client;
  bool schema_ready;
  bool failing;
  double retry_at;
  double last_error_log;
  uint64_t failed_attempts;
  uint64_t dropped_reported;
  double last_drop_log;
} writer_t;

static void mongoc_to_collectd_log(mongoc_log_level_t level, const char *domain,
                                   const char *message, void *data) {
  (void)data;
  switch (level) {
  case MONGOC_LOG_LEVEL_ERROR:
  case MONGOC_LOG_LEVEL_CRITICAL:
    ERROR(LOG_PREFIX "mongoc %s: %s", domain, message);
    break;
  case MONGOC_LOG_LEVEL_WARNING:
    WARNING(LOG_PREFIX "mongoc %s: %s", domain, message);
    break;
  default:
    break; /* the driver's chatter is not the administrator's business */
  }
}

/* Parses the configured URI and fills in the timeouts it does not set, so
 * that a hung server cannot hold the writer for the driver's default five
 * minutes. Never logs the URI: it may hold a password. */
static mongoc_uri_t *make_uri(bson_error_t *error) {
  mongoc_uri_t *uri = mongoc_uri_new_with_error(conf.uri, error);
  if (uri == NULL)
    return NULL;
  int32_t ms = (int32_t)(conf.timeout * 1000.0);
  const char *opts[] = {MONGOC_URI_CONNECTTIMEOUTMS, MONGOC_URI_SOCKETTIMEOUTMS,
                        MONGOC_URI_SERVERSELECTIONTIMEOUTMS};
  for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++)
    if (!mongoc_uri_has_option(uri, opts[i]))
      mongoc_uri_set_option_as_int32(uri, opts[i], ms);
  if (mongoc_uri_get_appname(uri) == NULL)
    mongoc_uri_set_appname(uri, PLUGIN);
  return uri;
}

static bool writer_connect(writer_t *w, bson_error_t *error) {
  if (w->client != NULL)
    return true;
  mongoc_uri_t *uri = make_uri(error);
  if (uri == NULL)
    return false;
  w->client = mongoc_client_new_from_uri_with_error(uri, error);
  mongoc_uri_destroy(uri);
  if (w->client == NULL)
    return false;
  mongoc_client_set_error_api(w->client, MONGOC_ERROR_API_VERSION_2);
  return true;
}

/* The first write error of an ordered insert: its index, code, message. */
static bool first_write_error(const bson_t *reply, uint32_t *index,
                              int32_t *code, const char **msg) {
  bson_iter_t it, err;
  if (!bson_iter_init_find(&it, reply, "writeErrors") ||
      !BSON_ITER_HOLDS_ARRAY(&it) || !bson_iter_recurse(&it, &err) ||
      !bson_iter_next(&err) || !BSON_ITER_HOLDS_DOCUMENT(&err))
    return false;
  bson_iter_t f;
  *index = 0;
  *code = 0;
  *msg = "";
  if (!bson_iter_recurse(&err, &f))
    return false;
  while (bson_iter_next(&f)) {
    const char *k = bson_iter_key(&f);
    if (strcmp(k, "index") == 0 && BSON_ITER_HOLDS_NUMBER(&f))
      *index = (uint32_t)bson_iter_as_int64(&f);
    else if (strcmp(k, "code") == 0 && BSON_ITER_HOLDS_NUMBER(&f))
      *code = (int32_t)bson_iter_as_int64(&f);
    else if (strcmp(k, "errmsg") == 0 && BSON_ITER_HOLDS_UTF8(&f))
      *msg = bson_iter_utf8(&f, NULL);
  }
  return true;
}

typedef struct {
  size_t written;
  size_t rejected;
  bool failed; /* nothing decided: retry the whole batch later */
  bson_error_t error;
} attempt_t;

static attempt_t write_batch(writer_t *w, int kind, bson_t **docs, size_t n) {
  attempt_t a = {0};

  if (!writer_connect(w, &a.error) ||
      (!w->schema_ready && !ppm_schema_ensure(w->client, conf.database,
                                              conf.retention_days, &a.error))) {
    a.failed = true;
    return a;
  }
  w->schema_ready = true;

  mongoc_collection_t *coll = mongoc_client_get_collection(
      w->client, conf.database, kind_collection(kind));
  bson_t reply;
  bson_t *opts = BCON_NEW("ordered", BCON_BOOL(true));
  bool ok = mongoc_collection_insert_many(coll, (const bson_t **)docs, n, opts,
                                          &reply, &a.error);
  bson_destroy(opts);
  mongoc_collection_destroy(coll);

  uint32_t index;
  int32_t code;
  const char *msg;
  if (ok) {
    a.written = n;
  } else if (first_write_error(&reply, &index, &code, &msg) && index < n) {
    /* An ordered insert stops at its first error: the documents before it
     * are stored, the ones after it were not tried and go again. */
    a.written = index;
    if (code == MONGO_DUPLICATE_KEY) {
      a.written++; /* stored by an earlier attempt whose reply was lost */
    } else {
      a.rejected = 1;
      ERROR(LOG_PREFIX "%s.%s refused a document (code %d): %s; it is "
                       "dropped",
            conf.database, kind_collection(kind), code, msg);
    }
  } else if (bson_has_field(&reply, "writeConcernError") &&
             !bson_has_field(&reply, "writeErrors")) {
    a.written = n; /* stored, though not as durably as asked */
    WARNING(LOG_PREFIX "write concern error on %s.%s: %s", conf.database,
            kind_collection(kind), a.error.message);
  } else {
    /* No verdict on the batch, but an insert split into several messages
     * may have had a first part acknowledged: do not send that again. */
    a.failed = true;
    bson_iter_t it;
    if (bson_iter_init_find(&it, &reply, "insertedCount") &&
        BSON_ITER_HOLDS_NUMBER(&it) && bson_iter_as_int64(&it) > 0 &&
        (uint64_t)bson_iter_as_int64(&it) <= n)
      a.written = (size_t)bson_iter_as_int64(&it);
  }
  bson_destroy(&reply);
  return a;
}

/* Builds the warning about documents dropped since the last one, if any.
 * Called with the lock held, outside any attempt (so the count is final);
 * the caller logs the message after unlocking. At most one warning per
 * ReportInterval unless forced (recovery, exit); never silent. */
static bool drop_report(writer_t *w, bool force, char *msg, size_t size) {
  uint64_t dropped = mongo_buffer_dropped(st.buf);
  double now = mono_now();

  if (dropped == w->dropped_reported)
    return false;
  if (!force && w->dropped_reported > 0 &&
      now - w->last_drop_log < conf.report_interval)
    return false;

  snprintf(msg, size,
           LOG_PREFIX "buffer full (BufferLimit %d): dropped %" PRIu64
                      " oldest documents since the last report, %" PRIu64
                      " dropped in total",
           conf.buffer_limit, dropped - w->dropped_reported, dropped);
  w->dropped_reported = dropped;
  w->last_drop_log = now;
  return true;
}

typedef enum { BATCH_DUE, BATCH_NOT_YET, BATCH_STOP } batch_wait_t;

/* With the lock held: whether the writer takes a batch now. Otherwise it
 * waits on st.wake until the next moment one could be due (the end of the
 * flush window, the retry time after a failure) and says BATCH_NOT_YET;
 * BATCH_STOP when collectd is stopping and nothing is queued. */
static batch_wait_t batch_due(const writer_t *w, double *window_start) {
  double now = mono_now();
  if (mongo_buffer_count(st.buf) == 0) {
    if (st.stopping)
      return BATCH_STOP;
    cond_wait_until(&st.wake, now + conf.flush_interval);
    *window_start = mono_now();
    return BATCH_NOT_YET;
  }
  if (st.failing && now < w->retry_at) {
    cond_wait_until(&st.wake, w->retry_at);
    return BATCH_NOT_YET;
  }
  bool due = mongo_buffer_count(st.buf) >= (size_t)conf.batch_size ||
             now >= *window_start + conf.flush_interval || st.stopping ||
             st.flush_target > mongo_buffer_head_seq(st.buf);
  if (due)
    return BATCH_DUE;
  cond_wait_until(&st.wake, *window_start + conf.flush_interval);
  return BATCH_NOT_YET;
}

static void *writer_main(void *arg) {
  (void)arg;
  writer_t w = {0};
  bson_t **batch = calloc((size_t)conf.batch_size, sizeof(*batch));
  /* A document waits at most one FlushInterval (plus an insert's time) from
   * the moment the queue stops being empty or the last attempt ended. */
  double window_start = mono_now();
  char msg[512];

  pthread_mutex_lock(&st.lock);
  while (batch != NULL && !st.abandon) {
    batch_wait_t wait = batch_due(&w, &window_start);
    if (wait == BATCH_STOP)
      break;
    if (wait == BATCH_NOT_YET)
      continue;

    int kind = KIND_METRIC;
    size_t n = mongo_buffer_take(st.buf, (void **)batch,
                                 (size_t)conf.batch_size, &kind);
    pthread_mutex_unlock(&st.lock);

    attempt_t a = write_batch(&w, kind, batch, n);

    pthread_mutex_lock(&st.lock);
    mongo_buffer_finish(st.buf, a.written, a.rejected);
    window_start = mono_now();
    size_t left = mongo_buffer_count(st.buf);
    bool recovered = false, log_failure = false;
    if (a.failed) {
      w.failed_attempts++;
      w.retry_at = window_start + conf.retry_interval;
      log_failure = !st.failing ||
                    window_start - w.last_error_log >= conf.report_interval;
      st.failing = true;
    } else if (st.failing) {
      st.failing = false;
      recovered = true;
    }
    bool drops = drop_report(&w, recovered, msg, sizeof(msg));
    pthread_cond_broadcast(&st.progress);
    pthread_mutex_unlock(&st.lock);

    if (log_failure) {
      w.last_error_log = window_start;
      ERROR(LOG_PREFIX "insert into %s.%s failed: %s; %zu documents "
                       "buffered, retrying every %g s",
            conf.database, kind_collection(kind), a.error.message, left,
            conf.retry_interval);
    }
    if (recovered) {
      INFO(LOG_PREFIX "MongoDB reachable again after %" PRIu64
                      " failed attempts; %zu buffered documents to write",
           w.failed_attempts, left);
      w.failed_attempts = 0;
    }
    if (drops)
      WARNING("%s", msg);

    pthread_mutex_lock(&st.lock);
  }

  bool drops = batch != NULL && drop_report(&w, true, msg, sizeof(msg));
  st.writer_done = true;
  pthread_cond_broadcast(&st.progress);
  pthread_mutex_unlock(&st.lock);

  if (batch == NULL)
    ERROR(LOG_PREFIX "out of memory: writer not started");
  if (drops)
    WARNING("%s", msg);
  free(batch);
  if (w.client != NULL)
    mongoc_client_destroy(w.client);
  return NULL;
}

/* Asks the writer to write everything queued now and waits for it, at most
 * until `deadline` (mono_now() time). Returns true when all of it is gone.
 * Called with the lock held. */
static bool wait_written(uint64_t target, double deadline) {
  while (mongo_buffer_head_seq(st.buf) < target && !st.writer_done) {
    if (mono_now() >= deadline || st.failing)
      return false;
    cond_wait_until(&st.progress, deadline);
  }
  return mongo_buffer_head_seq(st.buf) >= target;
}

static int pp_flush(cdtime_t timeout, const char *identifier, user_data_t *ud) {
  (void)timeout;
  (void)identifier;
  (void)ud;
  pthread_mutex_lock(&st.lock);
  if (!st.running) {
    pthread_mutex_unlock(&st.lock);
    return 0;
  }
  uint64_t target = mongo_buffer_next_seq(st.buf);
  if (target > st.flush_target)
    st.flush_target = target;
  pthread_cond_signal(&st.wake);
  bool done = wait_written(target, mono_now() + conf.shutdown_timeout);
  size_t left = mongo_buffer_count(st.buf);
  bool failing = st.failing;
  pthread_mutex_unlock(&st.lock);
  if (!done) {
    WARNING(LOG_PREFIX "flush: %zu documents stay buffered: %s", left,
            failing ? "MongoDB is unreachable"
                    : "not written within ShutdownTimeout");
    return -1;
  }
  return 0;
}

/* ------------------------------------------------------ init, shutdown */

static int pp_init(void) {
  static bool initialised;
  if (initialised)
    return 0;

  if (conf.uri == NULL &&
      (conf.uri = strdup("mongodb://127.0.0.1:27017")) == NULL)
    return -1;
  if (conf.database == NULL && (conf.database = strdup("portprobe")) == NULL)
    return -1;

  mongoc_init();
  mongoc_log_set_handler(mongoc_to_collectd_log, NULL);

  st.buf = mongo_buffer_create((size_t)conf.buffer_limit,
                               (size_t)conf.batch_size, free_doc);
  if (st.buf == NULL) {
    ERROR(LOG_PREFIX "cannot allocate a buffer of %d documents",
          conf.buffer_limit);
    return -1;
  }

  pthread_condattr_t attr;
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&st.wake, &attr);
  pthread_cond_init(&st.progress, &attr);
  pthread_condattr_destroy(&attr);

  st.running = true;
  int status =
      plugin_thread_create(&st.writer, writer_main, NULL, "pp_mongodb");
  if (status != 0) {
    ERROR(LOG_PREFIX "cannot start the writer thread: %s", strerror(status));
    st.running = false;
    return -1;
  }
  initialised = true;

  plugin_register_write(PLUGIN, pp_write, NULL);
  plugin_register_notification(PLUGIN, pp_notify, NULL);
  plugin_register_flush(PLUGIN, pp_flush, NULL);

  INFO(LOG_PREFIX "writing to database \"%s\": batches of %d every %g s at "
                  "most, buffer of %d documents, retention %d days",
       conf.database, conf.batch_size, conf.flush_interval, conf.buffer_limit,
       conf.retention_days);
  return 0;
}

static void free_conf(void) {
  free(conf.uri);
  free(conf.database);
  for (size_t i = 0; i < conf.store_plugins_num; i++)
    free(conf.store_plugins[i]);
  free(conf.store_plugins);
  conf.uri = conf.database = NULL;
  conf.store_plugins = NULL;
  conf.store_plugins_num = 0;
}

static int pp_shutdown(void) {
  pthread_mutex_lock(&st.lock);
  if (!st.running) {
    free_conf();
    pthread_mutex_unlock(&st.lock);
    return 0;
  }
  st.running = false; /* late values are refused from now on */
  st.stopping = true;
  pthread_cond_signal(&st.wake);
  double deadline = mono_now() + conf.shutdown_timeout;
  while (!st.writer_done && mono_now() < deadline)
    cond_wait_until(&st.progress, deadline);
  if (!st.writer_done) {
    /* Out of time. A writer waiting to retry leaves at once; one stuck in
     * the driver gets a short grace, then is left behind. */
    st.abandon = true;
    pthread_cond_signal(&st.wake);
    double grace = mono_now() + 0.5;
    while (!st.writer_done && mono_now() < grace)
      cond_wait_until(&st.progress, grace);
  }
  bool done = st.writer_done;
  size_t left = mongo_buffer_count(st.buf);
  pthread_mutex_unlock(&st.lock);

  if (!done) {
    /* The writer is stuck in the driver. Leave it and its buffer alone:
     * collectd exits next, and freeing them under it would crash. */
    ERROR(LOG_PREFIX "shutdown: %zu documents could not be written within "
                     "ShutdownTimeout (%g s) and are lost; the writer is "
                     "still waiting for MongoDB and is left behind",
          left, conf.shutdown_timeout);
    pthread_detach(st.writer);
    return -1;
  }

  pthread_join(st.writer, NULL);
  uint64_t written = mongo_buffer_written(st.buf);
  uint64_t dropped = mongo_buffer_dropped(st.buf);
  if (left > 0)
    ERROR(LOG_PREFIX "shutdown: %zu documents could not be written within "
                     "ShutdownTimeout (%g s) and are lost",
          left, conf.shutdown_timeout);
  INFO(LOG_PREFIX "shutdown: %" PRIu64 " documents written, %" PRIu64
                  " dropped, %" PRIu64 " refused",
       written, dropped, mongo_buffer_rejected(st.buf));
  pthread_mutex_lock(&st.lock);
  mongo_buffer_destroy(st.buf);
  st.buf = NULL;
  free_conf();
  pthread_mutex_unlock(&st.lock);
  mongoc_cleanup();
  return left > 0 ? -1 : 0;
}

/* -------------------------------------------------------------- config */

static int get_positive_int(oconfig_item_t *ci, int *out) {
  int v;
  if (cf_util_get_int(ci, &v) != 0)
    return -1;
  if (v < 1) {
    ERROR(LOG_PREFIX "%s must be at least 1, got %d", ci->key, v);
    return -1;
  }
  *out = v;
  return 0;
}

static int get_seconds(oconfig_item_t *ci, double *out, double min) {
  double v;
  if (cf_util_get_double(ci, &v) != 0)
    return -1;
  if (!(v >= min)) {
    ERROR(LOG_PREFIX "%s must be at least %g seconds, got %g", ci->key, min, v);
    return -1;
  }
  *out = v;
  return 0;
}

static int add_store_plugin(oconfig_item_t *ci) {
  if (ci->values_num < 1) {
    ERROR(LOG_PREFIX "StorePlugin needs at least one plugin name");
    return -1;
  }
  for (int i = 0; i < ci->values_num; i++) {
    if (ci->values[i].type != OCONFIG_TYPE_STRING) {
      ERROR(LOG_PREFIX "StorePlugin takes plugin names (strings)");
      return -1;
    }
    char **p =
        realloc(conf.store_plugins, (conf.store_plugins_num + 1) * sizeof(*p));
    if (p == NULL)
      return -1;
    conf.store_plugins = p;
    if ((p[conf.store_plugins_num] = strdup(ci->values[i].value.string)) ==
        NULL)
      return -1;
    conf.store_plugins_num++;
  }
  return 0;
}

static int pp_config(oconfig_item_t *ci) {
  int status = 0;

  for (int i = 0; i < ci->children_num && status == 0; i++) {
    oconfig_item_t *child = ci->children + i;
    const char *key = child->key;

    if (strcasecmp("URI", key) == 0) {
      status = cf_util_get_string(child, &conf.uri);
      bson_error_t error;
      mongoc_uri_t *uri;
      if (status == 0 &&
          (uri = mongoc_uri_new_with_error(conf.uri, &error)) == NULL) {
        ERROR(LOG_PREFIX "URI is not a valid MongoDB URI: %s", error.message);
        status = -1;
      } else if (status == 0) {
        mongoc_uri_destroy(uri);
      }
    } else if (strcasecmp("Database", key) == 0) {
      status = cf_util_get_string(child, &conf.database);
      if (status == 0 && (conf.database[0] == '\0' ||
                          strpbrk(conf.database, "/\\. \"$") != NULL)) {
        ERROR(LOG_PREFIX "Database \"%s\" is not a valid database name",
              conf.database);
        status = -1;
      }
    } else if (strcasecmp("RetentionDays", key) == 0) {
      status = cf_util_get_int(child, &conf.retention_days);
      if (status == 0 && conf.retention_days < 0) {
        ERROR(LOG_PREFIX "RetentionDays must be 0 (keep for ever) or more");
        status = -1;
      }
    } else if (strcasecmp("BatchSize", key) == 0) {
      status = get_positive_int(child, &conf.batch_size);
      conf.batch_size_set = true;
    } else if (strcasecmp("FlushInterval", key) == 0) {
      status = get_seconds(child, &conf.flush_interval, 0.01);
    } else if (strcasecmp("BufferLimit", key) == 0) {
      status = get_positive_int(child, &conf.buffer_limit);
    } else if (strcasecmp("StorePlugin", key) == 0) {
      status = add_store_plugin(child);
    } else if (strcasecmp("StoreNotifications", key) == 0) {
      status = cf_util_get_boolean(child, &conf.store_notifications);
    } else if (strcasecmp("RetryInterval", key) == 0) {
      status = get_seconds(child, &conf.retry_interval, 0.01);
    } else if (strcasecmp("ShutdownTimeout", key) == 0) {
      status = get_seconds(child, &conf.shutdown_timeout, 0.0);
    } else if (strcasecmp("Timeout", key) == 0) {
      status = get_seconds(child, &conf.timeout, 0.1);
    } else if (strcasecmp("ReportInterval", key) == 0) {
      status = get_seconds(child, &conf.report_interval, 0.0);
    } else {
      ERROR(LOG_PREFIX "unknown config key \"%s\" in <Plugin %s>", key, PLUGIN);
      status = -1;
      break;
    }
    if (status != 0)
      ERROR(LOG_PREFIX "invalid value for \"%s\" in <Plugin %s>", key, PLUGIN);
  }

  if (status == 0 && conf.batch_size > conf.buffer_limit &&
      !conf.batch_size_set)
    conf.batch_size = conf.buffer_limit;
  if (status == 0 && conf.batch_size > conf.buffer_limit) {
    ERROR(LOG_PREFIX "BatchSize (%d) must not exceed BufferLimit (%d)",
          conf.batch_size, conf.buffer_limit);
    status = -1;
  }
  return status == 0 ? 0 : -1;
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN, pp_config);
  plugin_register_init(PLUGIN, pp_init);
  plugin_register_shutdown(PLUGIN, pp_shutdown);
}
