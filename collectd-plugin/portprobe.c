/* portprobe.so: collectd read plugin. It turns <Plugin portprobe> into core
 * targets (plugin_conf.c), runs one round per read callback, one callback
 * and one engine per interval, and dispatches the results as values
 * (plugin_values.c) and the core's state transitions (state.c) as
 * notifications, so notify_email, exec and threshold work unchanged. */
#include "collectd.h"

#include "plugin.h"

#include "consensus_conf.h"
#include "plugin_conf.h"
#include "plugin_consensus.h"
#include "plugin_values.h"
#include "round.h"
#include "spread.h"
#include "state.h"

#include <inttypes.h>

#define PLUGIN_NAME "portprobe"

_Static_assert(PPC_NAME_MAX < DATA_MAX_NAME_LEN,
               "target names must fit collectd's plugin instance");

/* Targets read from the configuration, until init hands them to groups. */
static ppc_config conf;
/* <Consensus>: a central collectd's view of every location */
static ppc_consensus_conf consensus_conf;

/* The targets that share an interval, or a part of a large such group: one
 * read callback, one engine with one loop (collectd's read threads run the
 * callbacks in parallel). */
typedef struct {
  int64_t interval_ms; /* 0: the plugin's interval */
  pp_engine *engine;
  pp_target **targets; /* owned */
  pp_hosts *hosts;     /* the targets' <Host> blocks, for diagnoses */
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
  pp_hosts_free(g->hosts);
  for (size_t i = 0; i < g->n; i++)
    pp_target_free(g->targets[i]);
  free(g->targets);
  free(g->results);
  pp_state_table_free(g->state);
  free(g);
}

static int ppc_config_cb(oconfig_item_t *ci) {
  char err[1024];
  oconfig_item_t probes; /* the block without <Consensus> */
  if (ppc_consensus_split(ci, 0, &consensus_conf, &probes, err, sizeof(err)) !=
      0) {
    ERROR(PLUGIN_NAME ": %s", err);
    return -1;
  }
  int rc = ppc_config_add(&conf, &probes, err, sizeof(err));
  ppc_block_rest_free(&probes);
  if (rc != 0) {
    ERROR(PLUGIN_NAME ": %s", err);
    return -1;
  }
  return 0;
}

/* The checked host, the target's scheme, what the server said about itself
 * (version, facts) and the target's labels, as meta data of every value
 * (write plugins such as portprobe_mongodb store them; NULL if no memory).
 * A label named target_host or scheme takes their place. */
static meta_data_t *target_meta(const pp_target *t, const pp_result *r) {
  meta_data_t *md = meta_data_create();
  if (md == NULL)
    return NULL;
  meta_data_add_string(md, "target_host", t->host);
  meta_data_add_string(md, "scheme", t->scheme->name);
  const pp_server_words *words = pp_result_words(r);
  if (words->server_version[0])
    meta_data_add_string(md, "server_version", words->server_version);
  if (words->info[0])
    meta_data_add_string(md, "server_info", words->info);
  for (size_t i = 0; i < t->opts->labels.n; i++) {
    const char *kv = t->opts->labels.items[i];
    const char *eq = strchr(kv, '=');
    char key[DATA_MAX_NAME_LEN];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
    meta_data_add_string(md, key, eq + 1);
  }
  return md;
}

/* The values of a target's record (part NULL), or of one of its parts as
 * plugin instance "NAME@PART" (NAME@2001:db8::1, NAME@mx1.example.com,
 * NAME@mx1.example.com[192.0.2.1]) with its address, family and MX host as
 * meta data. */
static void dispatch_values(const pp_target *t, const pp_result *r,
                            const pp_state_info *st, const pp_part *part) {
  ppc_value vals[PPC_VALUES_MAX];
  size_t n = ppc_values(t, r, st, vals);
  char instance[DATA_MAX_NAME_LEN];
  snprintf(instance, sizeof(instance), "%s", pp_target_name(t));
  meta_data_t *md = target_meta(t, r); /* copied by each dispatch */
  if (part != NULL) {
    char name[300];
    pp_part_name(part, name, sizeof(name));
    /* a long target name gives way, so that each part keeps its own */
    int room = (int)sizeof(instance) - 2 - (int)strlen(name);
    if (snprintf(instance, sizeof(instance), "%.*s@%s", room > 0 ? room : 0,
                 pp_target_name(t), name) >= (int)sizeof(instance))
      instance[sizeof(instance) - 1] = 0;
    if (md != NULL && r->address[0]) {
      meta_data_add_string(md, "address", r->address);
      meta_data_add_string(md, "family", pp_result_family(r));
    }
    if (md != NULL && part->mx != NULL)
      meta_data_add_string(md, "mx", part->mx);
  }
  for (size_t k = 0; k < n; k++) {
    value_t v = {.gauge = vals[k].value};
    value_list_t vl = VALUE_LIST_INIT;
    vl.values = &v;
    vl.values_len = 1;
    vl.meta = md;
    vl.time = NS_TO_CDTIME_T((uint64_t)r->time_ns); /* when the check began */
    snprintf(vl.plugin, sizeof(vl.plugin), "%s", PLUGIN_NAME);
    snprintf(vl.plugin_instance, sizeof(vl.plugin_instance), "%s", instance);
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
  /* cut to collectd's fields (a host of 255, a name of 127 characters) */
  snprintf(n.host, sizeof(n.host), "%.*s", (int)sizeof(n.host) - 1, a->host);
  snprintf(n.plugin, sizeof(n.plugin), "%s", PLUGIN_NAME);
  snprintf(n.plugin_instance, sizeof(n.plugin_instance), "%.*s",
           (int)sizeof(n.plugin_instance) - 1, a->target);
  /* the kind, and the probe as its values name it (their host), in fields
   * collectd's network plugin carries: it drops meta data */
  snprintf(n.type, sizeof(n.type), "%s", pp_alert_kind_name(a->kind));
  snprintf(n.type_instance, sizeof(n.type_instance), "%s", hostname_g);

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
  if (a->kind == PP_ALERT_CERTIFICATE || a->kind == PP_ALERT_CERT_CHANGE)
    plugin_notification_meta_add_signed_int(&n, "cert_expiry_seconds",
                                            a->cert_expiry_s);
  if (a->kind == PP_ALERT_CERT_CHANGE) {
    meta_string(&n, "cert_serial", a->cert_serial);
    meta_string(&n, "cert_previous_serial", a->cert_previous_serial);
    meta_string(&n, "cert_sha256", a->cert_sha256);
    meta_string(&n, "cert_subject", a->cert_subject);
  }
  if (a->kind == PP_ALERT_SIGNATURE)
    plugin_notification_meta_add_signed_int(&n, "rrsig_expiry_seconds",
                                            a->rrsig_expiry_s);
  if (len >= sizeof(n.message))
    meta_string(&n, "message", a->message);
  /* labels as label_NAME, so a notification carries its target's labels */
  for (size_t i = 0; i < t->opts->labels.n; i++) {
    const char *kv = t->opts->labels.items[i];
    const char *eq = strchr(kv, '=');
    char key[DATA_MAX_NAME_LEN];
    snprintf(key, sizeof(key), "label_%.*s", (int)(eq - kv), kv);
    meta_string(&n, key, eq + 1);
  }
  plugin_dispatch_notification(&n);
  plugin_notification_meta_free(n.meta);
}

static void on_result(void *ud, size_t i, const pp_state_info *st) {
  group *g = ud;
  const pp_result *r = &g->results[i];
  dispatch_values(g->targets[i], r, st, NULL);
  for (size_t k = 0; k < r->nparts; k++)
    dispatch_values(g->targets[i], &r->parts[k].r, NULL, &r->parts[k]);
}

static void on_alert(void *ud, size_t i, const pp_alert *a,
                     const pp_state_info *st) {
  group *g = ud;
  dispatch_alert(g->targets[i], &g->results[i], a, st);
}

static int ppc_read(user_data_t *ud) {
  group *g = ud->data;
  pp_round_sink sink = {.result = on_result, .alert = on_alert, .ud = g};
  if (pp_round_run(g->engine, g->targets, g->n, g->hosts, g->state, g->results,
                   &sink) < 0)
    return -1; /* logged by the core */
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

/* Moves the configured targets into one group per interval, keeping the
 * configuration's order. Returns the number of groups, or 0 when out of
 * memory (then the configuration still owns every target). */
static size_t split_by_interval(group **groups) {
  size_t ngroups = 0;
  pp_targets *all = &conf.targets;
  for (size_t i = 0; i < all->n; i++) {
    group *g = group_for(groups, &ngroups, all->items[i]->opts->interval_ms);
    if (g == NULL)
      goto oom;
    g->n++;
  }
  for (size_t k = 0; k < ngroups; k++) {
    group *g = groups[k];
    g->targets = calloc(g->n, sizeof(*g->targets));
    g->results = calloc(g->n, sizeof(*g->results));
    if (!g->targets || !g->results)
      goto oom;
    g->n = 0;
  }
  for (size_t i = 0; i < all->n; i++) {
    group *g = group_for(groups, &ngroups, all->items[i]->opts->interval_ms);
    g->targets[g->n++] = all->items[i];
  }
  all->n = 0; /* the groups own them now */
  return ngroups;
oom:
  for (size_t k = 0; k < ngroups; k++) {
    free(groups[k]->targets);
    free(groups[k]->results);
    free(groups[k]);
  }
  return 0;
}

static cdtime_t group_interval(const group *g) {
  return g->interval_ms > 0 ? MS_TO_CDTIME_T((uint64_t)g->interval_ms)
                            : plugin_get_interval();
}

/* Starts one read callback: g's engine (one loop: collectd's read threads
 * run the parts in parallel), state and host groups. On failure logs why
 * and frees g. */
static int start_part(group *g, const char *name, size_t nparts) {
  char err[512];
  pp_engine_config ec = {.log = log_to_collectd};
  pp_engine_settings_apply(&conf.engine, &ec);
  ec.threads = 1;
  /* the descriptor limit and HTTP's memory bound are shared out */
  if (ec.max_concurrent > 0)
    ec.max_concurrent =
        ec.max_concurrent / nparts ? ec.max_concurrent / nparts : 1;
  size_t http = ec.max_concurrent_http ? ec.max_concurrent_http
                                       : PP_HTTP_CONCURRENCY_DEFAULT;
  ec.max_concurrent_http = http / nparts ? http / nparts : 1;
  if ((g->state = pp_state_table_new()) == NULL ||
      (g->hosts = pp_hosts_new(g->targets, g->n)) == NULL) {
    ERROR(PLUGIN_NAME ": out of memory");
    group_free(g);
    return -1;
  }
  if ((g->engine = pp_engine_new(&ec, err, sizeof(err))) == NULL) {
    ERROR(PLUGIN_NAME ": %s", err);
    group_free(g);
    return -1;
  }
  user_data_t ud = {.data = g, .free_func = group_free};
  /* interval 0: the plugin's interval (Interval, or LoadPlugin's) */
  if (plugin_register_complex_read(PLUGIN_NAME, name, ppc_read,
                                   g->interval_ms > 0 ? group_interval(g) : 0,
                                   &ud) != 0) {
    ERROR(PLUGIN_NAME ": cannot register the read callback %s", name);
    group_free(g);
    return -1;
  }
  return 0;
}

/* Read callbacks a group is spread over: Threads, else one per CPU but no
 * more than collectd's ReadThreads (which run them); fewer for a group too
 * small to gain from it. part_of[i] receives target i's part. */
static size_t parts_of(const group *g, size_t *part_of) {
  long read_threads = global_option_get_long("ReadThreads", 5);
  size_t want = conf.engine.threads;
  if (want == 0) {
    want = pp_cpu_count();
    if (read_threads > 0 && want > (size_t)read_threads)
      want = (size_t)read_threads;
  } else if (read_threads > 0 && want > (size_t)read_threads) {
    WARNING(PLUGIN_NAME
            ": Threads %zu is more than collectd's ReadThreads "
            "%ld: parts of a round will wait for a free read thread",
            want, read_threads);
  }
  pp_hosts *hosts = pp_hosts_new(g->targets, g->n);
  size_t parts =
      hosts ? pp_spread(g->targets, g->n, hosts, 0, want, part_of) : 1;
  pp_hosts_free(hosts);
  if (parts <= 1)
    for (size_t i = 0; i < g->n; i++)
      part_of[i] = 0;
  return parts;
}

/* Moves g's targets into parts[0..nparts-1] (made here), in order. On
 * failure g still owns every target. */
static int split_group(group *g, const size_t *part_of, group **parts,
                       size_t nparts) {
  for (size_t p = 0; p < nparts; p++) {
    size_t count = 0;
    for (size_t i = 0; i < g->n; i++)
      count += part_of[i] == p;
    group *q = parts[p] = calloc(1, sizeof(*q));
    if (q == NULL)
      return -1;
    q->interval_ms = g->interval_ms;
    q->targets = calloc(count ? count : 1, sizeof(*q->targets));
    q->results = calloc(count ? count : 1, sizeof(*q->results));
    if (q->targets == NULL || q->results == NULL)
      return -1;
  }
  for (size_t i = 0; i < g->n; i++) {
    group *q = parts[part_of[i]];
    q->targets[q->n++] = g->targets[i];
  }
  g->n = 0; /* the parts own them now */
  return 0;
}

/* Starts group g: one read callback, or several for a large group (its
 * targets divided by expected cost, a <Host> block's in one of them). On
 * failure logs why and frees g. */
static int start_group(group *g) {
  cdtime_t interval = group_interval(g);
  for (size_t i = 0; i < g->n; i++) {
    const pp_target *t = g->targets[i];
    int64_t longest = pp_target_longest_ms(t);
    if (MS_TO_CDTIME_T((uint64_t)longest) <= interval)
      continue;
    if (t->fetch != NULL)
      WARNING(PLUGIN_NAME ": target \"%s\": a round trip can take %" PRId64
                          "ms (two timeouts and delivery_timeout), longer "
                          "than its interval (%.3gs): rounds will run late",
              pp_target_name(t), longest, CDTIME_T_TO_DOUBLE(interval));
    else
      WARNING(PLUGIN_NAME ": target \"%s\": timeout (%" PRId64
                          "ms) is longer than its interval (%.3gs): rounds "
                          "will run late",
              pp_target_name(t), longest, CDTIME_T_TO_DOUBLE(interval));
  }
  char name[64];
  size_t n = g->n;
  size_t *part_of = calloc(n ? n : 1, sizeof(*part_of));
  size_t nparts = part_of ? parts_of(g, part_of) : 1;
  group **parts = calloc(nparts, sizeof(*parts));
  if (nparts <= 1 || parts == NULL || split_group(g, part_of, parts, nparts)) {
    if (parts != NULL && nparts > 1) /* out of memory: one callback */
      for (size_t p = 0; p < nparts; p++)
        group_free(parts[p]);
    free(parts);
    free(part_of);
    snprintf(name, sizeof(name), PLUGIN_NAME "/%" PRId64 "ms", g->interval_ms);
    INFO(PLUGIN_NAME ": %zu target%s every %.3gs", n, n == 1 ? "" : "s",
         CDTIME_T_TO_DOUBLE(interval));
    return start_part(g, name, 1);
  }
  free(part_of);
  group_free(g);
  int status = 0;
  for (size_t p = 0; p < nparts; p++) {
    snprintf(name, sizeof(name), PLUGIN_NAME "/%" PRId64 "ms/%zu",
             parts[p]->interval_ms, p + 1);
    if (parts[p]->n == 0) {
      group_free(parts[p]);
      continue;
    }
    if (start_part(parts[p], name, nparts) != 0)
      status = -1;
  }
  free(parts);
  INFO(PLUGIN_NAME ": %zu target%s every %.3gs, in %zu read callbacks run "
                   "by collectd's read threads",
       n, n == 1 ? "" : "s", CDTIME_T_TO_DOUBLE(interval), nparts);
  return status;
}

/* Through collectd's network plugin, which drops meta data, a location is
 * known by collectd's Hostname: say so when a location label differs. */
static void check_location_labels(void) {
  static const char key[] = "location=";
  const pp_target *first = NULL;
  size_t n = 0;
  for (size_t i = 0; i < conf.targets.n; i++) {
    const pp_target *t = conf.targets.items[i];
    for (size_t k = 0; k < t->opts->labels.n; k++) {
      const char *kv = t->opts->labels.items[k];
      if (strncmp(kv, key, sizeof(key) - 1) == 0 &&
          strcmp(kv + sizeof(key) - 1, hostname_g) != 0 && n++ == 0)
        first = t;
    }
  }
  if (n > 0)
    WARNING(PLUGIN_NAME ": target \"%s\"%s: its location label is not "
                        "collectd's Hostname \"%s\"; the network plugin "
                        "drops labels, so a central collectd knows this "
                        "location as \"%s\" (set Hostname to the location)",
            pp_target_name(first), n > 1 ? " and others" : "", hostname_g,
            hostname_g);
}

/* Splits the configured targets into interval groups and registers one read
 * callback for each. */
static int ppc_init(void) {
  if (plugin_is_loaded("network"))
    check_location_labels();
  if (consensus_conf.set && consensus_conf.c.timeout == 0)
    consensus_conf.c.timeout = timeout_g > 0 ? timeout_g : 2;
  if (consensus_conf.set && ppc_consensus_start(&consensus_conf.c) != 0)
    return -1;
  if (conf.targets.n == 0 && consensus_conf.set)
    return 0; /* a central collectd: it listens, it does not probe */
  if (conf.targets.n == 0) {
    WARNING(PLUGIN_NAME ": no <Target> or <Host> configured: nothing to check");
    return 0;
  }
  group **groups = calloc(conf.targets.n, sizeof(*groups));
  size_t ngroups = groups ? split_by_interval(groups) : 0;
  if (ngroups == 0) {
    ERROR(PLUGIN_NAME ": out of memory");
    free(groups);
    return -1;
  }
  int status = 0;
  for (size_t k = 0; k < ngroups; k++)
    if (start_group(groups[k]) != 0)
      status = -1;
  free(groups);
  ppc_config_free(&conf);
  /* collectd unloads a plugin whose init fails, but finds read callbacks by
   * name only: drop the groups that did register, so that none runs on */
  if (status != 0)
    plugin_unregister_read_group(PLUGIN_NAME);
  return status;
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
