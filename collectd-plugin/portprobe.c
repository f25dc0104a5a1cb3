/* portprobe.so: collectd read plugin. It turns <Plugin portprobe> into core
 * targets (plugin_conf.c), runs one round per read callback, one callback
 * and one engine per interval, and dispatches the results as values
 * (plugin_values.c) and the core's state transitions (state.c) as
 * notifications, so notify_email, exec and threshold work unchanged. */
#include "collectd.h"

#include "plugin.h"

#include "plugin_conf.h"
#include "plugin_values.h"
#include "state.h"

#include <inttypes.h>

#define PLUGIN_NAME "portprobe"

_Static_assert(PPC_NAME_MAX < DATA_MAX_NAME_LEN,
               "target names must fit collectd's plugin instance");

/* Targets read from the configuration, until init hands them to groups. */
static ppc_config conf;

/* The targets that share an interval: one read callback, one engine (an
 * engine is single-threaded, and collectd may run callbacks in parallel). */
typedef struct {
  int64_t interval_ms; /* 0: the plugin's interval */
  pp_engine *engine;
  pp_target **targets; /* owned */
  char **host_blocks;  /* owned; NULL entries outside <Host> */
  pp_result *results;
  pp_state_table *state; /* confirmed state, flapping: per target */
  size_t n;
} group;

static void log_to_collectd(void *ud, pp_log_level level, const char *msg) {
  (void)ud;
  plugin_log((int)level, PLUGIN_NAME ": %s", msg);
}

static void group_free(void *p) {
  group *g = p;
  if (g == NULL)
    return;
  pp_engine_free(g->engine);
  for (size_t i = 0; i < g->n; i++) {
    pp_target_free(g->targets[i]);
    free(g->host_blocks[i]);
  }
  free(g->targets);
  free(g->host_blocks);
  free(g->results);
  pp_state_table_free(g->state);
  free(g);
}

static int ppc_config_cb(oconfig_item_t *ci) {
  char err[1024];
  if (ppc_config_add(&conf, ci, err, sizeof(err)) != 0) {
    ERROR(PLUGIN_NAME ": %s", err);
    return -1;
  }
  return 0;
}

/* The checked host and the target's labels, as meta data of every value
 * (write plugins such as portprobe_mongodb store them; NULL if no memory). */
static meta_data_t *target_meta(const pp_target *t) {
  meta_data_t *md = meta_data_create();
  if (md == NULL)
    return NULL;
  meta_data_add_string(md, "target_host", t->host);
  for (size_t i = 0; i < t->opts.labels.n; i++) {
    const char *kv = t->opts.labels.items[i];
    const char *eq = strchr(kv, '=');
    char key[DATA_MAX_NAME_LEN];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
    meta_data_add_string(md, key, eq + 1);
  }
  return md;
}

static void dispatch_values(const pp_target *t, const pp_result *r,
                            const pp_state_info *st) {
  ppc_value vals[PPC_VALUES_MAX];
  size_t n = ppc_values(t, r, st, vals);
  meta_data_t *md = target_meta(t); /* copied by each dispatch */
  for (size_t k = 0; k < n; k++) {
    value_t v = {.gauge = vals[k].value};
    value_list_t vl = VALUE_LIST_INIT;
    vl.values = &v;
    vl.values_len = 1;
    vl.meta = md;
    vl.time = NS_TO_CDTIME_T((uint64_t)r->time_ns); /* when the check began */
    snprintf(vl.plugin, sizeof(vl.plugin), "%s", PLUGIN_NAME);
    snprintf(vl.plugin_instance, sizeof(vl.plugin_instance), "%s",
             pp_target_name(t));
    snprintf(vl.type, sizeof(vl.type), "%s", vals[k].type);
    snprintf(vl.type_instance, sizeof(vl.type_instance), "%s",
             vals[k].type_instance);
    plugin_dispatch_values(&vl);
  }
  meta_data_destroy(md);
}

static void meta_string(notification_t *n, const char *key, const char *v) {
  if (v != NULL && *v != 0)
    plugin_notification_meta_add_string(n, key, v);
}

/* An alert as a collectd notification: the alert's one-line message, and
 * its fields as meta data for plugins (exec, write plugins) that read them.
 * host is the checked host, plugin instance the target's name. */
static void dispatch_alert(const pp_target *t, const pp_result *r,
                           const pp_alert *a, const pp_state_info *st) {
  notification_t n = {
      .severity = a->severity == PP_SEV_FAILURE   ? NOTIF_FAILURE
                  : a->severity == PP_SEV_WARNING ? NOTIF_WARNING
                                                  : NOTIF_OKAY,
      .time = NS_TO_CDTIME_T((uint64_t)a->time_ns),
      .meta = NULL,
  };
  size_t len = strlen(a->message);
  if (len < sizeof(n.message))
    memcpy(n.message, a->message, len + 1);
  else /* cut to collectd's 255 characters, and say so */
    snprintf(n.message, sizeof(n.message), "%.*s...",
             (int)sizeof(n.message) - 4, a->message);
  snprintf(n.host, sizeof(n.host), "%s", a->host);
  snprintf(n.plugin, sizeof(n.plugin), "%s", PLUGIN_NAME);
  snprintf(n.plugin_instance, sizeof(n.plugin_instance), "%s", a->target);

  pp_grade quality = a->kind == PP_ALERT_QUALITY ? a->grade
                     : st != NULL                ? st->quality
                                                 : PP_GRADE_NONE;
  /* always there, so that a consumer can rely on them (excerpt may be "") */
  plugin_notification_meta_add_string(&n, "target", a->target);
  plugin_notification_meta_add_string(&n, "url", t->url);
  plugin_notification_meta_add_string(&n, "result", pp_result_name(a->result));
  plugin_notification_meta_add_string(&n, "state", pp_tstate_name(a->state));
  plugin_notification_meta_add_string(&n, "quality", pp_grade_name(quality));
  plugin_notification_meta_add_string(&n, "excerpt", a->excerpt);
  /* when they apply */
  plugin_notification_meta_add_string(&n, "kind", pp_alert_kind_name(a->kind));
  if (!r->up)
    meta_string(&n, "phase", pp_phase_name(r->phase));
  meta_string(&n, "service", a->service);
  if (a->port != 0)
    plugin_notification_meta_add_signed_int(&n, "port", a->port);
  meta_string(&n, "diagnosis", a->diagnosis);
  if (a->outage_s >= 0)
    plugin_notification_meta_add_double(&n, "outage_seconds", a->outage_s);
  if (a->flap_pct >= 0)
    plugin_notification_meta_add_double(&n, "flap_percent", a->flap_pct);
  if (a->kind == PP_ALERT_CERTIFICATE)
    plugin_notification_meta_add_signed_int(&n, "cert_expiry_seconds",
                                            a->cert_expiry_s);
  if (len >= sizeof(n.message))
    meta_string(&n, "message", a->message);
  /* labels as label_NAME, so a notification carries its target's labels */
  for (size_t i = 0; i < t->opts.labels.n; i++) {
    const char *kv = t->opts.labels.items[i];
    const char *eq = strchr(kv, '=');
    char key[DATA_MAX_NAME_LEN];
    snprintf(key, sizeof(key), "label_%.*s", (int)(eq - kv), kv);
    meta_string(&n, key, eq + 1);
  }
  plugin_dispatch_notification(&n);
  plugin_notification_meta_free(n.meta);
}

static int ppc_read(user_data_t *ud) {
  group *g = ud->data;
  if (pp_engine_run(g->engine, g->targets, g->n, g->results) != 0)
    return -1; /* logged by the core */
  for (size_t i = 0; i < g->n; i++) {
    const pp_target *t = g->targets[i];
    const pp_result *r = &g->results[i];
    char diagnosis[PP_DIAGNOSIS_MAX] = "";
    if (!r->up) /* a port's DOWN message tells how its host is */
      ppc_diagnosis(g->targets, g->results, g->host_blocks, g->n, i, diagnosis,
                    sizeof(diagnosis));
    pp_alert alerts[PP_STATE_MAX_ALERTS];
    size_t na =
        pp_state_update(g->state, t, r, diagnosis, alerts, PP_STATE_MAX_ALERTS);
    pp_state_info st;
    bool have_st = pp_state_get(g->state, t, &st) == 0;
    dispatch_values(t, r, have_st ? &st : NULL);
    for (size_t k = 0; k < na; k++)
      dispatch_alert(t, r, &alerts[k], have_st ? &st : NULL);
  }
  return 0;
}

static group *group_for(group **groups, size_t *ngroups, int64_t interval_ms) {
  for (size_t i = 0; i < *ngroups; i++)
    if (groups[i]->interval_ms == interval_ms)
      return groups[i];
  group *g = calloc(1, sizeof(*g));
  if (g == NULL)
    return NULL;
  g->interval_ms = interval_ms;
  groups[(*ngroups)++] = g;
  return g;
}

/* Splits the configured targets into interval groups and registers one read
 * callback for each. */
static int ppc_init(void) {
  if (conf.n == 0) {
    WARNING(PLUGIN_NAME ": no <Target> or <Host> configured: nothing to check");
    return 0;
  }
  group **groups = calloc(conf.n, sizeof(*groups));
  size_t ngroups = 0;
  if (groups == NULL)
    goto oom;
  for (size_t i = 0; i < conf.n; i++) {
    group *g =
        group_for(groups, &ngroups, conf.items[i].target->opts.interval_ms);
    if (g == NULL)
      goto oom;
    g->n++;
  }
  for (size_t k = 0; k < ngroups; k++) {
    group *g = groups[k];
    g->targets = calloc(g->n, sizeof(*g->targets));
    g->host_blocks = calloc(g->n, sizeof(*g->host_blocks));
    g->results = calloc(g->n, sizeof(*g->results));
    if (!g->targets || !g->host_blocks || !g->results)
      goto oom;
    g->n = 0;
  }
  /* move each target to its group, keeping the configuration's order */
  for (size_t i = 0; i < conf.n; i++) {
    group *g =
        group_for(groups, &ngroups, conf.items[i].target->opts.interval_ms);
    g->targets[g->n] = conf.items[i].target;
    g->host_blocks[g->n] = conf.items[i].host_block;
    g->n++;
  }
  conf.n = 0;

  int status = 0;
  for (size_t k = 0; k < ngroups; k++) {
    group *g = groups[k];
    groups[k] = NULL;
    char err[512];
    pp_engine_config ec = {.log = log_to_collectd,
                           .max_concurrent = conf.concurrency,
                           .max_concurrent_http = conf.http_concurrency,
                           .resolver = conf.resolver};
    cdtime_t interval = g->interval_ms > 0
                            ? MS_TO_CDTIME_T((uint64_t)g->interval_ms)
                            : plugin_get_interval();
    for (size_t i = 0; i < g->n; i++)
      if (MS_TO_CDTIME_T((uint64_t)g->targets[i]->opts.timeout_ms) > interval)
        WARNING(PLUGIN_NAME
                ": target \"%s\": timeout (%" PRId64
                "ms) is longer than its interval (%.3gs): rounds will run "
                "late",
                pp_target_name(g->targets[i]), g->targets[i]->opts.timeout_ms,
                CDTIME_T_TO_DOUBLE(interval));
    if ((g->state = pp_state_table_new()) == NULL) {
      ERROR(PLUGIN_NAME ": out of memory");
      group_free(g);
      status = -1;
      continue;
    }
    if ((g->engine = pp_engine_new(&ec, err, sizeof(err))) == NULL) {
      ERROR(PLUGIN_NAME ": %s", err);
      group_free(g);
      status = -1;
      continue;
    }
    char name[64];
    snprintf(name, sizeof(name), PLUGIN_NAME "/%" PRId64 "ms", g->interval_ms);
    user_data_t ud = {.data = g, .free_func = group_free};
    /* interval 0: the plugin's interval (Interval, or LoadPlugin's) */
    if (plugin_register_complex_read(PLUGIN_NAME, name, ppc_read,
                                     g->interval_ms > 0 ? interval : 0,
                                     &ud) != 0) {
      ERROR(PLUGIN_NAME ": cannot register the read callback %s", name);
      group_free(g);
      status = -1;
      continue;
    }
    INFO(PLUGIN_NAME ": %zu target%s every %.3gs", g->n, g->n == 1 ? "" : "s",
         CDTIME_T_TO_DOUBLE(interval));
  }
  free(groups);
  ppc_config_free(&conf);
  /* collectd unloads a plugin whose init fails, but finds read callbacks by
   * name only: drop the groups that did register, so that none runs on */
  if (status != 0)
    plugin_unregister_read_group(PLUGIN_NAME);
  return status;

oom:
  ERROR(PLUGIN_NAME ": out of memory");
  for (size_t k = 0; k < ngroups; k++)
    if (groups[k] != NULL) {
      free(groups[k]->targets);
      free(groups[k]->host_blocks);
      free(groups[k]->results);
      free(groups[k]);
    }
  free(groups);
  return -1;
}

static int ppc_shutdown(void) {
  ppc_config_free(&conf); /* what init did not take, if init never ran */
  return 0;
}

void module_register(void) {
  plugin_register_complex_config(PLUGIN_NAME, ppc_config_cb);
  plugin_register_init(PLUGIN_NAME, ppc_init);
  plugin_register_shutdown(PLUGIN_NAME, ppc_shutdown);
}
