/* Targets from a config file and from command-line words, with the same
 * option keys as the collectd plugin (the core's option table). */
#ifndef PP_CLI_CONFIG_H
#define PP_CLI_CONFIG_H

#include "builder.h"
#include "portprobe.h"

#include <stdio.h>

/* The targets go into the core's set of finalized, uniquely named targets
 * (builder.h). */

/* Reads an INI file: one [section] per target with a url key, and an
 * optional [defaults] section whose options apply to every target they fit.
 * Errors name the file, the line, the target and the key. */
int pp_config_load(const char *path, pp_targets *out, char *err, size_t errlen);

/* The same from an open stream; path names it in messages. */
int pp_config_load_stream(FILE *f, const char *path, pp_targets *out, char *err,
                          size_t errlen);

/* Command-line words: URL [key=value ...] URL ... */
int pp_config_from_args(int argc, char **argv, pp_targets *out, char *err,
                        size_t errlen);

#endif
