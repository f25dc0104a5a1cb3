/* The target builder: defaults layered under a target's own keys, names
 * kept unique, and the engine's few settings, for every front end alike. */
#include "builder.h"
#include "spread.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --- defaults --- */

/* Why key cannot be a default, or NULL when it can. */
static const char *not_a_default(const pp_option *opt) {
  if (strcmp(opt->key, "name") == 0)
    return "each target has a name of its own";
  if (opt->type == PP_OPT_STEP)
    return "it is one step of that target's dialog";
  return NULL;
}

int pp_defaults_add(pp_defaults *d, const char *where, const char *own_place,
                    const char *key, const char *value, char *err,
                    size_t errlen) {
  if (strcasecmp(key, "url") == 0) {
    snprintf(err, errlen, "%s: \"%s\" belongs in %s: it names one target",
             where, key, own_place);
    return -1;
  }
  const pp_option *opt = pp_option_find(key);
  if (opt == NULL) {
    char why[256];
    pp_option_unknown(key, why, sizeof(why));
    snprintf(err, errlen, "%s: %s", where, why);
    return -1;
  }
  const char *why_not = not_a_default(opt);
  if (why_not != NULL) {
    snprintf(err, errlen, "%s: option \"%s\" belongs in %s (%s)", where, key,
             own_place, why_not);
    return -1;
  }
  /* validated now, so that a bad default fails whether or not a target of
   * its kind follows */
  pp_opts scratch;
  pp_opts_init(&scratch);
  char why[512];
  int rc = pp_option_set(opt, &scratch, value, why, sizeof(why));
  pp_opts_free(&scratch);
  if (rc != 0) {
    snprintf(err, errlen, "%s: %s", where, why);
    return -1;
  }
  pp_default *items = realloc(d->items, (d->n + 1) * sizeof(*items));
  if (items == NULL || (items[d->n].value = strdup(value)) == NULL) {
    if (items != NULL)
      d->items = items;
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  d->items = items;
  items[d->n].opt = opt;
  d->n++;
  return 0;
}

void pp_defaults_free(pp_defaults *d) {
  for (size_t i = 0; i < d->n; i++)
    free(d->items[i].value);
  free(d->items);
  d->items = NULL;
  d->n = 0;
}

/* --- a set of targets with unique names --- */

static uint64_t name_hash(const char *s) {
  uint64_t h = 1469598103934665603ULL; /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

/* The index slot where name is, or the empty one where it would go. */
static size_t *slot_of(const pp_targets *s, const char *name) {
  size_t mask = s->nindex - 1, i = (size_t)name_hash(name) & mask;
  while (s->index[i] != 0 &&
         strcmp(pp_target_name(s->items[s->index[i] - 1]), name) != 0)
    i = (i + 1) & mask;
  return &s->index[i];
}

static int reindex(pp_targets *s, size_t nindex) {
  size_t *index = calloc(nindex, sizeof(*index));
  if (index == NULL)
    return -1;
  free(s->index);
  s->index = index;
  s->nindex = nindex;
  for (size_t i = 0; i < s->n; i++)
    *slot_of(s, pp_target_name(s->items[i])) = i + 1;
  return 0;
}

bool pp_targets_has(const pp_targets *s, const char *name) {
  return s->nindex > 0 && *slot_of(s, name) != 0;
}

/* Room for extra more targets, so that adding them cannot fail. */
static int reserve(pp_targets *s, size_t extra) {
  if (s->n + extra > s->cap) {
    size_t cap = s->cap ? s->cap : 16;
    while (cap < s->n + extra)
      cap *= 2;
    pp_target **items = realloc(s->items, cap * sizeof(*items));
    if (items == NULL)
      return -1;
    s->items = items;
    s->cap = cap;
  }
  if ((s->n + extra) * 2 > s->nindex && reindex(s, s->cap * 4) != 0)
    return -1;
  return 0;
}

static void targets_add(pp_targets *s, pp_target *t) {
  s->items[s->n++] = t;
  *slot_of(s, pp_target_name(t)) = s->n;
}

void pp_targets_free(pp_targets *s) {
  for (size_t i = 0; i < s->n; i++)
    pp_target_free(s->items[i]);
  free(s->items);
  free(s->index);
  memset(s, 0, sizeof(*s));
}

static int duplicate(const char *name, char *err, size_t errlen) {
  snprintf(err, errlen,
           "target \"%s\" is defined twice (names must be unique: they name "
           "the target's values and its state; give each a name)",
           name);
  return -1;
}

pp_target *pp_build_start(const char *url, const char *name,
                          const pp_defaults *const *layers, size_t nlayers,
                          char *err, size_t errlen) {
  pp_target *t = pp_target_new(url, err, errlen);
  if (t == NULL)
    return NULL;
  if (name != NULL && pp_target_set(t, "name", name, err, errlen) != 0)
    goto fail;
  for (size_t l = 0; l < nlayers; l++) {
    const pp_defaults *d = layers[l];
    for (size_t i = 0; d != NULL && i < d->n; i++) {
      if (!pp_target_option_applies(t, d->items[i].opt))
        continue;
      if (pp_target_set(t, d->items[i].opt->key, d->items[i].value, err,
                        errlen) != 0)
        goto fail;
    }
  }
  return t;
fail:
  pp_target_free(t);
  return NULL;
}

int pp_build_finish(pp_targets *s, pp_target *t, char *err, size_t errlen) {
  if (pp_target_finalize(t, err, errlen) != 0) {
    pp_target_free(t);
    return -1;
  }
  if (pp_targets_has(s, pp_target_name(t))) {
    duplicate(pp_target_name(t), err, errlen);
    pp_target_free(t);
    return -1;
  }
  if (reserve(s, 1) != 0) {
    snprintf(err, errlen, "out of memory");
    pp_target_free(t);
    return -1;
  }
  targets_add(s, t);
  return 0;
}

int pp_targets_merge(pp_targets *to, pp_targets *from, char *err,
                     size_t errlen) {
  for (size_t i = 0; i < from->n; i++)
    if (pp_targets_has(to, pp_target_name(from->items[i])))
      return duplicate(pp_target_name(from->items[i]), err, errlen);
  if (reserve(to, from->n) != 0) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  for (size_t i = 0; i < from->n; i++)
    targets_add(to, from->items[i]);
  from->n = 0; /* the targets are to's now */
  pp_targets_free(from);
  return 0;
}

/* --- engine settings --- */

typedef enum { SET_TEXT, SET_COUNT } setting_type;

typedef struct {
  const char *key;
  setting_type type;
  size_t offset;
  const char *what; /* a count's meaning, for messages */
  long long max;    /* a count's largest value; 0: 1000000 */
} setting;

static const setting settings[] = {
    {"resolver", SET_TEXT, offsetof(pp_engine_settings, resolver), NULL, 0},
    {"concurrency", SET_COUNT, offsetof(pp_engine_settings, concurrency),
     "checks in flight at once", 0},
    {"http_concurrency", SET_COUNT,
     offsetof(pp_engine_settings, http_concurrency),
     "HTTP(S) checks in flight at once", 0},
    {"threads", SET_COUNT, offsetof(pp_engine_settings, threads),
     "event loops, each on a thread of its own", PP_THREADS_MAX},
};

/* Keys compare as option keys do: case, '_' and '-' ignored. */
static bool same_key(const char *a, const char *b) {
  for (;;) {
    while (*a == '_' || *a == '-')
      a++;
    while (*b == '_' || *b == '-')
      b++;
    if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
      return false;
    if (*a == 0)
      return true;
    a++;
    b++;
  }
}

static const setting *setting_find(const char *key) {
  for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++)
    if (same_key(settings[i].key, key))
      return &settings[i];
  return NULL;
}

bool pp_engine_setting_known(const char *key) {
  return setting_find(key) != NULL;
}

static int set_count(const setting *st, size_t *field, const char *value,
                     char *err, size_t errlen) {
  char *end;
  errno = 0;
  long long n = strtoll(value, &end, 10), max = st->max ? st->max : 1000000;
  if (end == value || *end != 0 || errno != 0 || n < 1 || n > max) {
    snprintf(err, errlen,
             "expected a whole number from 1 to %lld (%s), got \"%s\"", max,
             st->what, value);
    return -1;
  }
  *field = (size_t)n;
  return 0;
}

static int set_resolver(char **field, const char *value, char *err,
                        size_t errlen) {
  pp_engine_config ec = {.resolver = value, .threads = 1};
  pp_engine *e = pp_engine_new(&ec, err, errlen);
  if (e == NULL)
    return -1;
  pp_engine_free(e);
  char *dup = strdup(value);
  if (dup == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  free(*field);
  *field = dup;
  return 0;
}

int pp_engine_setting_set(pp_engine_settings *s, const char *key,
                          const char *value, char *err, size_t errlen) {
  const setting *st = setting_find(key);
  if (st == NULL) {
    snprintf(err, errlen, "unknown engine setting \"%s\"", key);
    return -1;
  }
  void *field = (char *)s + st->offset;
  if (st->type == SET_COUNT)
    return set_count(st, field, value, err, errlen);
  return set_resolver(field, value, err, errlen);
}

void pp_engine_settings_apply(const pp_engine_settings *s,
                              pp_engine_config *cfg) {
  cfg->resolver = s->resolver;
  cfg->max_concurrent = s->concurrency;
  cfg->max_concurrent_http = s->http_concurrency;
  cfg->threads = s->threads;
}

void pp_engine_settings_free(pp_engine_settings *s) {
  free(s->resolver);
  memset(s, 0, sizeof(*s));
}
