/* Building finalized targets from any front end's syntax: the rules of
 * defaults, names and engine settings live here once; a front end only
 * walks its own configuration and calls these. */
#ifndef PP_BUILDER_H
#define PP_BUILDER_H

#include "portprobe.h"

#include <stdbool.h>
#include <stddef.h>

/* --- defaults: options set above the targets (collectd's <Plugin> and
 * <Host> blocks, an INI file's [defaults]) --- */

typedef struct {
  const pp_option *opt;
  char *value; /* owned */
} pp_default;

typedef struct {
  pp_default *items;
  size_t n;
} pp_defaults;

/* Adds key = value as a default. It is validated now, whether or not a
 * target ends up using it; keys that belong to one target (name, url, the
 * send/expect steps) are refused. where starts the message ("<Plugin
 * portprobe>", "demo.conf:3: [defaults]"); own_place says where such a key
 * goes instead ("a <Target> block", "a target's [section]"). */
int pp_defaults_add(pp_defaults *d, const char *where, const char *own_place,
                    const char *key, const char *value, char *err,
                    size_t errlen);
void pp_defaults_free(pp_defaults *d);

/* --- targets --- */

/* Finalized targets with unique names: the names are the series of values
 * and the keys of the state, so two targets may not share one. */
typedef struct {
  pp_target **items; /* owned */
  size_t n, cap;
  size_t *index; /* open addressing over names: item + 1, 0 empty */
  size_t nindex;
} pp_targets;

void pp_targets_free(pp_targets *s);

/* Whether s holds a target of that name. */
bool pp_targets_has(const pp_targets *s, const char *name);

/* Starts a target: its URL, its name (NULL: the URL), and the defaults of
 * each layer, outermost first, that apply to its kind. Then the front end
 * sets the target's own keys with pp_target_set. NULL with a message (the
 * URL's, or the failing default's) on error. */
pp_target *pp_build_start(const char *url, const char *name,
                          const pp_defaults *const *layers, size_t nlayers,
                          char *err, size_t errlen);

/* Finalizes t and adds it to s, refusing a name s already holds. On error
 * t is freed and the message names the target. */
int pp_build_finish(pp_targets *s, pp_target *t, char *err, size_t errlen);

/* Moves every target of from to the end of to, refusing (and moving
 * nothing) when a name is in both. On success from is left empty. */
int pp_targets_merge(pp_targets *to, pp_targets *from, char *err,
                     size_t errlen);

/* --- engine settings: the few keys that configure the engine, not a
 * target (resolver, concurrency, http_concurrency, threads) --- */

typedef struct {
  char *resolver; /* owned; NULL: resolv.conf */
  size_t concurrency;
  size_t http_concurrency;
  size_t threads; /* 0: unset (one per CPU) */
} pp_engine_settings;

/* Whether key (case and '_' ignored: "HTTPConcurrency") is an engine
 * setting. */
bool pp_engine_setting_known(const char *key);

/* Sets one; -1 with a message naming the key and what was expected. A
 * resolver list is checked by making an engine with it, so that a typo is
 * refused at start rather than failing every name later. */
int pp_engine_setting_set(pp_engine_settings *s, const char *key,
                          const char *value, char *err, size_t errlen);

/* The engine configuration these settings describe (borrowing s's
 * strings); log and log_ud are left to the caller. */
void pp_engine_settings_apply(const pp_engine_settings *s,
                              pp_engine_config *cfg);

void pp_engine_settings_free(pp_engine_settings *s);

#endif
