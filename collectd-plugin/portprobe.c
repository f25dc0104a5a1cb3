/* portprobe.so: collectd read plugin. It turns <Plugin portprobe> into core
 * targets (plugin_conf.c), runs one round per read callback, one callback
 * and one engine per interval, and dispatches the results as values
 * (plugin_values.c) and state transitions as notifications. */
#include "collectd.h"

#include "plugin.h"

#include "plugin_conf.h"
#include "plugin_values.h"

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

static void dispatch_values(const group *g, size_t i) {
  const pp_target *t = g->targets[i];
  const pp_result *r = &g->results[i];
  ppc_value vals[PPC_VALUES_MAX];
  size_t n = ppc_values(t, r, vals);
  for (size_t k = 0; k < n; k++) {
    value_t v = {.gauge = vals[k].value};
    value_list_t vl = VALUE_LIST_INIT;
    vl.values = &v;
    vl.values_len = 1;
    vl.time = NS_TO_CDTIME_T((uint64_t)r->time_ns); /* when the check began */
    snprintf(vl.plugin, sizeof(vl.plugin), "%s", PLUGIN_NAME);
    snprintf(vl.plugin_instance, sizeof(vl.plugin_instance), "%s",
             pp_target_name(t));
    snprintf(vl.type, sizeof(vl.type), "%s", vals[k].type);
    snprintf(vl.type_instance, sizeof(vl.type_instance), "%s",
             vals[k].type_instance);
    plugin_dispatch_values(&vl);
  }
}

static int ppc_read(user_data_t *ud) {
  group *g = ud->data;
  if (pp_engine_run(g->engine, g->targets, g->n, g->results) != 0)
    return -1; /* logged by the core */
  for (size_t i = 0; i < g->n; i++)
    dispatch_values(g, i);
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
