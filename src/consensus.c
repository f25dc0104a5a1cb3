/* The consensus of several locations, per target: each location's latest
 * check, silence after `timeout` intervals without one, and the verdict
 * (UP, SILENT, REGIONAL, DOWN). A change is announced once every location
 * still reporting has checked since it began and every DOWN location has
 * said why (or `timeout` intervals have passed), so that locations whose
 * rounds are not in step yield one alert, not one each. */
#include "consensus.h"
#include "alert_read.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REASON_MAX 64
#define SERVICE_MAX 32

typedef struct {
  char name[PP_CONSENSUS_NAME_MAX];
  bool checked; /* a check arrived (a notice alone does not count) */
  bool up;
  int64_t time_ns;     /* the latest check, the location's clock */
  int64_t seen_ns;     /* when it arrived, the caller's clock */
  int64_t interval_ns; /* the location's interval for this target */
  int64_t down_ns;     /* first check of the current DOWN streak */
  char reason[REASON_MAX];
  int64_t reason_ns; /* the alert the reason came from */
  pp_view announced;
} location;

typedef struct target {
  struct target *next;
  uint32_t hash;
  char name[PP_CONSENSUS_NAME_MAX];
  char host[256];
  char service[SERVICE_MAX];
  location *loc; /* sorted by name */
  size_t nloc, cap;
  int64_t first_ns; /* the first check's arrival; -1 before */
  pp_verdict announced;
  bool pending;
  int64_t pending_ns;      /* when the change began, locations' clocks */
  int64_t pending_seen_ns; /* when it was first seen, the caller's clock */
  int64_t away_ns;         /* the change away from UP; -1 while UP */
} target;

struct pp_consensus {
  pp_consensus_config c;
  target **buckets;
  size_t nbuckets, count;
  pp_consensus_location words[PP_CONSENSUS_LOCATIONS_MAX];
};

/* --- the table of targets --- */

static uint32_t name_hash(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

int pp_consensus_config_check(const pp_consensus_config *c, char *err,
                              size_t errlen) {
  if (c->quorum < 1 || c->quorum > PP_CONSENSUS_LOCATIONS_MAX) {
    snprintf(err, errlen, "Quorum must be between 1 and %d, got %d",
             PP_CONSENSUS_LOCATIONS_MAX, c->quorum);
    return -1;
  }
  if (c->timeout < 1 || c->timeout > 1000) {
    snprintf(err, errlen,
             "Timeout must be between 1 and 1000 intervals, got %d",
             c->timeout);
    return -1;
  }
  return 0;
}

pp_consensus *pp_consensus_new(const pp_consensus_config *c) {
  char err[128];
  if (pp_consensus_config_check(c, err, sizeof(err)) != 0)
    return NULL;
  pp_consensus *cs = calloc(1, sizeof(*cs));
  if (cs == NULL)
    return NULL;
  cs->c = *c;
  cs->nbuckets = 64;
  if ((cs->buckets = calloc(cs->nbuckets, sizeof(*cs->buckets))) == NULL) {
    free(cs);
    return NULL;
  }
  return cs;
}

void pp_consensus_free(pp_consensus *cs) {
  if (cs == NULL)
    return;
  for (size_t i = 0; i < cs->nbuckets; i++)
    for (target *t = cs->buckets[i], *next; t != NULL; t = next) {
      next = t->next;
      free(t->loc);
      free(t);
    }
  free(cs->buckets);
  free(cs);
}

size_t pp_consensus_count(const pp_consensus *cs) {
  return cs->count;
}

static void table_grow(pp_consensus *cs) {
  size_t n = cs->nbuckets * 2;
  target **b = calloc(n, sizeof(*b));
  if (b == NULL)
    return; /* longer chains, still correct */
  for (size_t i = 0; i < cs->nbuckets; i++)
    for (target *t = cs->buckets[i], *next; t != NULL; t = next) {
      next = t->next;
      t->next = b[t->hash & (n - 1)];
      b[t->hash & (n - 1)] = t;
    }
  free(cs->buckets);
  cs->buckets = b;
  cs->nbuckets = n;
}

static target *target_get(pp_consensus *cs, const char *name) {
  if (strlen(name) >= PP_CONSENSUS_NAME_MAX)
    return NULL;
  uint32_t h = name_hash(name);
  for (target *t = cs->buckets[h & (cs->nbuckets - 1)]; t; t = t->next)
    if (t->hash == h && strcmp(t->name, name) == 0)
      return t;
  target *t = calloc(1, sizeof(*t));
  if (t == NULL)
    return NULL;
  t->hash = h;
  snprintf(t->name, sizeof(t->name), "%s", name);
  t->first_ns = -1;
  t->away_ns = -1;
  t->next = cs->buckets[h & (cs->nbuckets - 1)];
  cs->buckets[h & (cs->nbuckets - 1)] = t;
  if (++cs->count > cs->nbuckets)
    table_grow(cs);
  return t;
}

/* The location named name of t, added in name order if new. */
static location *location_get(target *t, const char *name) {
  if (strlen(name) >= PP_CONSENSUS_NAME_MAX || *name == '\0')
    return NULL;
  size_t i = 0;
  for (; i < t->nloc; i++) {
    int cmp = strcmp(t->loc[i].name, name);
    if (cmp == 0)
      return &t->loc[i];
    if (cmp > 0)
      break;
  }
  if (t->nloc == PP_CONSENSUS_LOCATIONS_MAX)
    return NULL;
  if (t->nloc == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 4;
    location *l = realloc(t->loc, cap * sizeof(*l));
    if (l == NULL)
      return NULL;
    t->loc = l;
    t->cap = cap;
  }
  memmove(&t->loc[i + 1], &t->loc[i], (t->nloc - i) * sizeof(*t->loc));
  t->nloc++;
  location *l = &t->loc[i];
  memset(l, 0, sizeof(*l));
  snprintf(l->name, sizeof(l->name), "%s", name);
  l->announced = PP_VIEW_UP; /* a newcomer that is up is no news */
  return l;
}

/* --- what the locations say --- */

/* How long the consensus waits: `timeout` of the longest interval. */
static int64_t patience_ns(const pp_consensus *cs, const target *t) {
  int64_t iv = 0;
  for (size_t i = 0; i < t->nloc; i++)
    if (t->loc[i].checked && t->loc[i].interval_ns > iv)
      iv = t->loc[i].interval_ns;
  return iv * cs->c.timeout;
}

static pp_view view_of(const pp_consensus *cs, const location *l,
                       int64_t now_ns) {
  if (now_ns - l->seen_ns > l->interval_ns * cs->c.timeout)
    return PP_VIEW_SILENT;
  return l->up ? PP_VIEW_UP : PP_VIEW_DOWN;
}

static bool reason_known(const location *l) {
  return l->reason[0] != '\0' && l->reason_ns >= l->down_ns;
}

static bool changed(const pp_consensus *cs, const target *t, int64_t now_ns) {
  for (size_t i = 0; i < t->nloc; i++)
    if (t->loc[i].checked &&
        view_of(cs, &t->loc[i], now_ns) != t->loc[i].announced)
      return true;
  return false;
}

/* Whether a pending change may be announced: every location still
 * reporting has checked since it began, and every DOWN one said why; or
 * the consensus has waited long enough (also after its start). */
static bool ready(const pp_consensus *cs, const target *t, int64_t now_ns) {
  int64_t patience = patience_ns(cs, t);
  if (now_ns - t->first_ns < patience)
    return false;
  if (now_ns - t->pending_seen_ns >= patience)
    return true;
  for (size_t i = 0; i < t->nloc; i++) {
    const location *l = &t->loc[i];
    if (!l->checked)
      continue;
    pp_view v = view_of(cs, l, now_ns);
    if (v == PP_VIEW_SILENT)
      continue;
    if (l->time_ns < t->pending_ns || (v == PP_VIEW_DOWN && !reason_known(l)))
      return false;
  }
  return true;
}

/* --- the words --- */

static void append(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...) {
  size_t used = strlen(buf);
  if (used + 1 >= len)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf + used, len - used, fmt, ap);
  va_end(ap);
}

/* "fra1: refused, nyc1: timeout (connect); sgp1: up": the locations whose
 * view is `first` (silent ones too when first is DOWN and none is), then
 * the others, in name order. */
static void append_locations(char *buf, size_t len,
                             const pp_consensus_location *w, size_t n,
                             pp_view first) {
  append(buf, len, " (");
  const char *sep = "";
  for (int group = 0; group < 2; group++) {
    for (size_t i = 0; i < n; i++) {
      if ((w[i].view == first) != (group == 0))
        continue;
      const char *what = w[i].view == PP_VIEW_DOWN     ? w[i].reason
                         : w[i].view == PP_VIEW_SILENT ? "silent"
                                                       : "up";
      append(buf, len, "%s%s: %s", sep, w[i].name, what);
      sep = ", ";
    }
    if (*sep)
      sep = "; ";
  }
  append(buf, len, ")");
}

static const char *plural(int n) {
  return n == 1 ? "location" : "locations";
}

static void write_message(const target *t, pp_consensus_alert *a) {
  char *m = a->message;
  size_t len = sizeof(a->message);
  int n = a->down + a->silent + a->up;
  if (t->service[0] && t->host[0])
    snprintf(m, len, "%s on %s", t->service, t->host);
  else
    snprintf(m, len, "%s", t->name);
  switch (a->verdict) {
  case PP_VERDICT_DOWN:
  case PP_VERDICT_REGIONAL:
    append(m, len, " DOWN from %d of %d %s%s", a->down, n, plural(n),
           a->verdict == PP_VERDICT_REGIONAL ? ", regional" : "");
    append_locations(m, len, a->locations, a->nlocations, PP_VIEW_DOWN);
    break;
  case PP_VERDICT_SILENT:
    if (a->up == 0)
      append(m, len, ": no location reports");
    else
      append(m, len, " UP from %d of %d %s, %d silent", a->up, n, plural(n),
             a->silent);
    append_locations(m, len, a->locations, a->nlocations, PP_VIEW_SILENT);
    break;
  case PP_VERDICT_UP:
    if (n == 1)
      append(m, len, " UP again from its location");
    else
      append(m, len, " UP again from all %d locations", n);
    if (a->outage_s >= 0) {
      char d[32];
      pp_format_duration(d, sizeof(d), a->outage_s);
      append(m, len, " after %s", d);
    }
    break;
  }
}

/* --- announcing --- */

static pp_verdict verdict_of(const pp_consensus *cs, int down, int silent) {
  if (down >= cs->c.quorum)
    return PP_VERDICT_DOWN;
  if (down > 0)
    return PP_VERDICT_REGIONAL;
  return silent > 0 ? PP_VERDICT_SILENT : PP_VERDICT_UP;
}

static const pp_severity severities[] = {
    [PP_VERDICT_UP] = PP_SEV_OKAY,
    [PP_VERDICT_SILENT] = PP_SEV_WARNING,
    [PP_VERDICT_REGIONAL] = PP_SEV_WARNING,
    [PP_VERDICT_DOWN] = PP_SEV_FAILURE,
};

static void announce(pp_consensus *cs, target *t, int64_t now_ns,
                     pp_consensus_emit emit, void *ud) {
  pp_consensus_alert a = {.target = t->name,
                          .host = t->host,
                          .quorum = cs->c.quorum,
                          .time_ns = t->pending_ns,
                          .outage_s = -1,
                          .locations = cs->words};
  for (size_t i = 0; i < t->nloc; i++) {
    location *l = &t->loc[i];
    if (!l->checked)
      continue;
    pp_view v = view_of(cs, l, now_ns);
    l->announced = v;
    a.down += v == PP_VIEW_DOWN;
    a.silent += v == PP_VIEW_SILENT;
    a.up += v == PP_VIEW_UP;
    cs->words[a.nlocations++] =
        (pp_consensus_location){.name = l->name,
                                .view = v,
                                .reason = v != PP_VIEW_DOWN ? ""
                                          : reason_known(l) ? l->reason
                                                            : "down"};
  }
  a.verdict = verdict_of(cs, a.down, a.silent);
  a.severity = severities[a.verdict];
  if (a.verdict == PP_VERDICT_UP && t->away_ns >= 0) {
    a.outage_s = t->pending_ns > t->away_ns
                     ? (double)(t->pending_ns - t->away_ns) / 1e9
                     : 0;
    t->away_ns = -1;
  } else if (a.verdict != PP_VERDICT_UP && t->away_ns < 0) {
    t->away_ns = t->pending_ns;
  }
  t->announced = a.verdict;
  t->pending = false;
  write_message(t, &a);
  if (emit != NULL)
    emit(ud, &a);
}

/* After anything new about t: a change starts waiting (since cause_ns), a
 * change that undid itself is dropped, a change that may be told is. */
static void evaluate(pp_consensus *cs, target *t, int64_t cause_ns,
                     int64_t now_ns, pp_consensus_emit emit, void *ud) {
  if (t->first_ns < 0)
    return;
  if (!changed(cs, t, now_ns)) {
    t->pending = false;
    return;
  }
  if (!t->pending) {
    t->pending = true;
    t->pending_ns = cause_ns;
    t->pending_seen_ns = now_ns;
  }
  if (ready(cs, t, now_ns))
    announce(cs, t, now_ns, emit, ud);
}

int pp_consensus_check(pp_consensus *cs, const char *target_name,
                       const char *location_name, bool up, int64_t time_ns,
                       int64_t interval_ns, int64_t now_ns,
                       pp_consensus_emit emit, void *ud) {
  if (interval_ns <= 0)
    return -1;
  target *t = target_get(cs, target_name);
  location *l = t ? location_get(t, location_name) : NULL;
  if (l == NULL)
    return -1;
  if (l->checked && time_ns < l->time_ns)
    return 0; /* older than what the location said already */
  if (!up && (!l->checked || l->up))
    l->down_ns = time_ns;
  l->checked = true;
  l->up = up;
  l->time_ns = time_ns;
  l->seen_ns = now_ns;
  l->interval_ns = interval_ns;
  if (t->first_ns < 0)
    t->first_ns = now_ns;
  evaluate(cs, t, time_ns, now_ns, emit, ud);
  return 0;
}

int pp_consensus_notice(pp_consensus *cs, const char *target_name,
                        const char *location_name, const char *host,
                        pp_severity severity, const char *message,
                        int64_t time_ns, int64_t now_ns, pp_consensus_emit emit,
                        void *ud) {
  target *t = target_get(cs, target_name);
  location *l = t ? location_get(t, location_name) : NULL;
  if (l == NULL)
    return -1;
  char service[SERVICE_MAX];
  if (host != NULL && strlen(host) < sizeof(t->host) &&
      pp_alert_read_service(message, host, service, sizeof(service)) == 0) {
    snprintf(t->host, sizeof(t->host), "%s", host);
    snprintf(t->service, sizeof(t->service), "%s", service);
  }
  if (severity == PP_SEV_FAILURE &&
      pp_alert_read_reason(message, l->reason, sizeof(l->reason)) == 0)
    l->reason_ns = time_ns;
  if (t->pending) /* it may have waited for this reason */
    evaluate(cs, t, now_ns, now_ns, emit, ud);
  return 0;
}

void pp_consensus_tick(pp_consensus *cs, int64_t now_ns, pp_consensus_emit emit,
                       void *ud) {
  for (size_t i = 0; i < cs->nbuckets; i++)
    for (target *t = cs->buckets[i]; t != NULL; t = t->next)
      evaluate(cs, t, now_ns, now_ns, emit, ud);
}

const char *pp_verdict_name(pp_verdict v) {
  static const char *const names[] = {
      [PP_VERDICT_UP] = "up",
      [PP_VERDICT_SILENT] = "silent",
      [PP_VERDICT_REGIONAL] = "regional",
      [PP_VERDICT_DOWN] = "down",
  };
  return (unsigned)v <= PP_VERDICT_DOWN ? names[v] : "unknown";
}

void pp_consensus_each(pp_consensus *cs, int64_t now_ns,
                       void (*each)(void *ud, const char *target,
                                    pp_verdict verdict, int reporting),
                       void *ud) {
  for (size_t i = 0; i < cs->nbuckets; i++)
    for (target *t = cs->buckets[i]; t != NULL; t = t->next) {
      if (t->first_ns < 0)
        continue;
      int reporting = 0;
      for (size_t k = 0; k < t->nloc; k++)
        reporting += t->loc[k].checked &&
                     view_of(cs, &t->loc[k], now_ns) != PP_VIEW_SILENT;
      each(ud, t->name, t->announced, reporting);
    }
}
