/* The <Consensus> of a central collectd: a write callback feeds every
 * location's bool-up to the core's consensus (src/consensus.c), a
 * notification callback their alerts (for the reasons), a read callback
 * the clock (silence); what the consensus announces becomes a notification,
 * and each interval a bool-consensus value per target. Nothing is probed.
 * A location is a value's host and a notification's type instance: that is
 * how portprobe.c names it, because collectd's network plugin drops meta
 * data. */
#include "collectd.h"

#include "plugin.h"
#include "utils_complain.h"

#include "plugin_consensus.h"

#include <math.h>
#include <pthread.h>

#define PLUGIN_NAME "portprobe"
#define CALLBACK_NAME "portprobe/consensus"

/* Callbacks run in collectd's write, read and dispatch threads at once. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pp_consensus *consensus;

/* What the consensus said while the lock was held, dispatched after it is
 * released: dispatching calls the notification callbacks, this one too. */
typedef struct {
  notification_t *n;
  size_t len, cap;
} told;

static void meta_int(notification_t *n, const char *key, int64_t v) {
  plugin_notification_meta_add_signed_int(n, key, v);
}

/* Each location's word as meta data: location_fra1 = "refused". */
static void location_meta(notification_t *n, const pp_consensus_alert *a) {
  for (size_t i = 0; i < a->nlocations; i++) {
    const pp_consensus_location *l = &a->locations[i];
    char key[DATA_MAX_NAME_LEN + 16];
    snprintf(key, sizeof(key), "location_%s", l->name);
    plugin_notification_meta_add_string(n, key,
                                        l->view == PP_VIEW_DOWN     ? l->reason
                                        : l->view == PP_VIEW_SILENT ? "silent"
                                                                    : "up");
  }
}

static void keep(void *ud, const pp_consensus_alert *a) {
  told *t = ud;
  if (t->len == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 8;
    notification_t *grown = realloc(t->n, cap * sizeof(*grown));
    if (grown == NULL) {
      ERROR(PLUGIN_NAME ": consensus: out of memory, \"%s\" not told",
            a->message);
      return;
    }
    t->n = grown;
    t->cap = cap;
  }
  notification_t *n = &t->n[t->len++];
  *n = (notification_t){
      .severity = a->severity == PP_SEV_FAILURE   ? NOTIF_FAILURE
                  : a->severity == PP_SEV_WARNING ? NOTIF_WARNING
                                                  : NOTIF_OKAY,
      .time = NS_TO_CDTIME_T((uint64_t)a->time_ns),
  };
  size_t len = strlen(a->message);
  snprintf(n->message, sizeof(n->message), "%.*s%s",
           len < sizeof(n->message) ? (int)len : (int)sizeof(n->message) - 4,
           a->message, len < sizeof(n->message) ? "" : "...");
  snprintf(n->host, sizeof(n->host), "%.*s", (int)sizeof(n->host) - 1,
           *a->host ? a->host : hostname_g);
  snprintf(n->plugin, sizeof(n->plugin), PLUGIN_NAME);
  snprintf(n->plugin_instance, sizeof(n->plugin_instance), "%s", a->target);
  snprintf(n->type, sizeof(n->type), "consensus");
  plugin_notification_meta_add_string(n, "kind", "consensus");
  plugin_notification_meta_add_string(n, "target", a->target);
  plugin_notification_meta_add_string(n, "verdict",
                                      pp_verdict_name(a->verdict));
  meta_int(n, "quorum", a->quorum);
  meta_int(n, "locations_down", a->down);
  meta_int(n, "locations_silent", a->silent);
  meta_int(n, "locations_up", a->up);
  if (a->outage_s >= 0)
    plugin_notification_meta_add_double(n, "outage_seconds", a->outage_s);
  location_meta(n, a);
  if (len >= sizeof(n->message))
    plugin_notification_meta_add_string(n, "message", a->message);
}

static void tell(told *t) {
  for (size_t i = 0; i < t->len; i++) {
    plugin_dispatch_notification(&t->n[i]);
    plugin_notification_meta_free(t->n[i].meta);
  }
  free(t->n);
}

static int64_t now_ns(void) {
  return (int64_t)CDTIME_T_TO_NS(cdtime());
}

/* Every location's bool-up, local or from the network plugin. */
static int consensus_write(const data_set_t *ds, const value_list_t *vl,
                           user_data_t *ud) {
  (void)ud;
  if (strcmp(vl->plugin, PLUGIN_NAME) != 0 || strcmp(vl->type, "bool") != 0 ||
      strcmp(vl->type_instance, "up") != 0 || vl->values_len != 1 ||
      ds->ds_num != 1 || ds->ds[0].type != DS_TYPE_GAUGE ||
      isnan(vl->values[0].gauge))
    return 0;
  told t = {0};
  pthread_mutex_lock(&lock);
  int rc = consensus == NULL
               ? 0
               : pp_consensus_check(consensus, vl->plugin_instance, vl->host,
                                    vl->values[0].gauge >= 0.5,
                                    (int64_t)CDTIME_T_TO_NS(vl->time),
                                    (int64_t)CDTIME_T_TO_NS(vl->interval),
                                    now_ns(), keep, &t);
  pthread_mutex_unlock(&lock);
  if (rc != 0) {
    static c_complain_t complaint = C_COMPLAIN_INIT_STATIC;
    c_complain(LOG_WARNING, &complaint,
               PLUGIN_NAME ": consensus: the check of \"%s\" from \"%s\" is "
                           "not counted (more than %d locations, or a "
                           "name too long)",
               vl->plugin_instance, vl->host, PP_CONSENSUS_LOCATIONS_MAX);
  }
  tell(&t);
  return 0;
}

/* The locations' alerts: a DOWN one says why ("DOWN: refused"). */
static int consensus_notify(const notification_t *n, user_data_t *ud) {
  (void)ud;
  if (strcmp(n->plugin, PLUGIN_NAME) != 0 ||
      strcmp(n->type, "consensus") == 0 || n->type_instance[0] == '\0')
    return 0;
  pp_severity sev = n->severity == NOTIF_FAILURE   ? PP_SEV_FAILURE
                    : n->severity == NOTIF_WARNING ? PP_SEV_WARNING
                                                   : PP_SEV_OKAY;
  told t = {0};
  pthread_mutex_lock(&lock);
  if (consensus != NULL) /* NULL: collectd is shutting down */
    pp_consensus_notice(consensus, n->plugin_instance, n->type_instance,
                        n->host, sev, n->message,
                        (int64_t)CDTIME_T_TO_NS(n->time), now_ns(), keep, &t);
  pthread_mutex_unlock(&lock);
  tell(&t);
  return 0;
}

typedef struct {
  char (*names)[PP_CONSENSUS_NAME_MAX];
  bool *up;
  size_t len, cap;
} verdicts;

static void keep_verdict(void *ud, const char *target, pp_verdict v,
                         int reporting) {
  verdicts *vs = ud;
  if (reporting == 0)
    return; /* nobody reports: unknown, not up */
  if (vs->len == vs->cap) {
    size_t cap = vs->cap ? vs->cap * 2 : 64;
    void *names = realloc(vs->names, cap * sizeof(*vs->names));
    if (names != NULL)
      vs->names = names;
    bool *up = realloc(vs->up, cap * sizeof(*vs->up));
    if (up != NULL)
      vs->up = up;
    if (names == NULL || up == NULL)
      return;
    vs->cap = cap;
  }
  snprintf(vs->names[vs->len], PP_CONSENSUS_NAME_MAX, "%s", target);
  vs->up[vs->len++] = v != PP_VERDICT_DOWN;
}

/* bool-consensus: 1 unless the quorum sees the target down; for
 * availability by consensus (portprobe-report). */
static void dispatch_verdicts(const verdicts *vs) {
  for (size_t i = 0; i < vs->len; i++) {
    value_t v = {.gauge = vs->up[i] ? 1 : 0};
    value_list_t vl = VALUE_LIST_INIT;
    vl.values = &v;
    vl.values_len = 1;
    snprintf(vl.plugin, sizeof(vl.plugin), PLUGIN_NAME);
    snprintf(vl.plugin_instance, sizeof(vl.plugin_instance), "%s",
             vs->names[i]);
    snprintf(vl.type, sizeof(vl.type), "bool");
    snprintf(vl.type_instance, sizeof(vl.type_instance), "consensus");
    plugin_dispatch_values(&vl);
  }
}

static int consensus_read(user_data_t *ud) {
  (void)ud;
  told t = {0};
  verdicts vs = {0};
  pthread_mutex_lock(&lock);
  int64_t now = now_ns();
  if (consensus != NULL) {
    pp_consensus_tick(consensus, now, keep, &t);
    pp_consensus_each(consensus, now, keep_verdict, &vs);
  }
  pthread_mutex_unlock(&lock);
  tell(&t);
  dispatch_verdicts(&vs);
  free(vs.names);
  free(vs.up);
  return 0;
}

static void consensus_free(void *p) {
  (void)p;
  pthread_mutex_lock(&lock);
  pp_consensus_free(consensus);
  consensus = NULL;
  pthread_mutex_unlock(&lock);
}

int ppc_consensus_start(const pp_consensus_config *c) {
  if ((consensus = pp_consensus_new(c)) == NULL) {
    ERROR(PLUGIN_NAME ": consensus: out of memory");
    return -1;
  }
  /* the read callback owns the consensus: it is freed last, at shutdown */
  user_data_t owner = {.data = consensus, .free_func = consensus_free};
  if (plugin_register_write(CALLBACK_NAME, consensus_write, NULL) != 0 ||
      plugin_register_notification(CALLBACK_NAME, consensus_notify, NULL) !=
          0 ||
      plugin_register_complex_read(PLUGIN_NAME, CALLBACK_NAME, consensus_read,
                                   0, &owner) != 0) {
    ERROR(PLUGIN_NAME ": consensus: cannot register its callbacks");
    plugin_unregister_write(CALLBACK_NAME);
    plugin_unregister_notification(CALLBACK_NAME);
    return -1;
  }
  INFO(PLUGIN_NAME ": consensus of the locations: quorum %d, silent after %d "
                   "intervals",
       c->quorum, c->timeout);
  return 0;
}
