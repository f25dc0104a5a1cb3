/* portprobe: runs one round of checks and prints the results, for a person
 * at a terminal, for Telegraf's exec input or as a Nagios-style plugin; with
 * --execd, a round per line on standard input, for Telegraf's execd input. */
#include "cli_config.h"
#include "cli_round.h"
#include "execd.h"
#include "log.h"
#include "nagios.h"
#include "output.h"
#include "statefile.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

enum { EXIT_ALL_UP = 0, EXIT_SOME_DOWN = 1, EXIT_USAGE = 2 };

#define STR_(x) #x
#define STR(x) STR_(x)

static void usage(FILE *f) {
  fputs(
      "usage: portprobe [options] [URL [key=value ...] ...]\n"
      "\n"
      "Checks that hosts and service ports answer, and prints one result per\n"
      "target. Each key=value after a URL sets an option for that target,\n"
      "for example: portprobe tcp://db.example.com:5432 timeout=2s name=db\n"
      "\n"
      "options:\n"
      "  -f, --format FMT     text (default), influx (line protocol), json,\n"
      "                       or nagios (a plugin status line, exit 0-3)\n"
      "  -c, --config FILE    read targets from an INI file\n"
      "      --once           run one round and exit (the default)\n"
      "      --execd          run a round for each line on standard input,\n"
      "                       until end of input or SIGTERM (Telegraf's\n"
      "                       inputs.execd with signal = \"STDIN\"); SIGHUP\n"
      "                       reads --config again\n"
      "      --resolver LIST  DNS servers addr[:port],... (default: "
      "resolv.conf)\n"
      "      --concurrency N  checks in flight at once (default: fits the\n"
      "                       descriptor limit)\n"
      "      --http-concurrency N\n"
      "                       of those, HTTP(S) checks (default: " STR(
          PP_HTTP_CONCURRENCY_DEFAULT) ")\n"
                                       "      --state-file F   keep target "
                                       "state in F between runs: alerts\n"
                                       "                       on confirmed "
                                       "changes (DOWN, UP again, ...)\n"
                                       "      --list-options   print every "
                                       "target option with its default\n"
                                       "  -v, --verbose        log each "
                                       "failure to standard error\n"
                                       "  -h, --help           this text\n"
                                       "  -V, --version        print the "
                                       "version\n"
                                       "\n"
                                       "exit status: 0 every target up, 1 some "
                                       "target down, 2 usage or\n"
                                       "configuration error. With --format "
                                       "influx a down target is in the\n"
                                       "data, and the status is 0 once the "
                                       "round ran: Telegraf's inputs.exec\n"
                                       "drops the output of a command that "
                                       "fails. With --execd: 0 at end of\n"
                                       "input or SIGTERM. With --format "
                                       "nagios: 0 OK, 1 WARNING,\n"
                                       "2 CRITICAL, 3 UNKNOWN (usage or "
                                       "configuration error).\n",
      f);
}

static void list_options(void) {
  int width = 16; /* the key column, as wide as the longest key */
  for (size_t i = 0; i < pp_options_count; i++)
    if ((int)strlen(pp_options[i].key) > width)
      width = (int)strlen(pp_options[i].key);
  for (size_t i = 0; i < pp_options_count; i++) {
    const pp_option *o = &pp_options[i];
    printf("%-*s %-22s %-10s %s\n", width, o->key, pp_option_type_name(o),
           o->def ? o->def : "-", o->help);
  }
}

/* Each check holds a descriptor: let a large round use what the hard limit
 * allows rather than the soft default of 1024. */
static void raise_fd_limit(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* What a run holds: with --execd, across rounds. */
typedef struct {
  const char *config;
  const char *state_file;
  pp_statefile sf;
  int argc; /* the URL words after the options */
  char **argv;
  pp_format fmt;
  bool execd;
  pp_log_level verbosity;
  pp_engine_settings settings; /* --resolver, --concurrency, ... */
  pp_engine *engine;
  pp_targets targets;
  pp_hosts *hosts;       /* the targets' host groups, for diagnoses */
  pp_state_table *state; /* NULL: one round without --state-file */
} app;

/* Targets from --config, then from the command line, into out. */
static int load_targets(const app *a, pp_targets *out, char *err,
                        size_t errlen) {
  if (a->config != NULL && pp_config_load(a->config, out, err, errlen) != 0)
    return -1;
  if (pp_config_from_args(a->argc, a->argv, out, err, errlen) != 0)
    return -1;
  if (out->n == 0 && a->config != NULL) {
    snprintf(err, errlen,
             "%s: no targets: each target is a [section] with a url = line",
             a->config);
    return -1;
  }
  if (out->n == 0) {
    snprintf(err, errlen, "no targets: give a URL or --config FILE");
    return -1;
  }
  return 0;
}

/* Replaces the targets (their state is kept by name and URL). */
static void set_targets(app *a, pp_targets *fresh) {
  pp_hosts_free(a->hosts);
  pp_targets_free(&a->targets);
  a->targets = *fresh;
  *fresh = (pp_targets){0};
  a->hosts = pp_hosts_new(a->targets.items, a->targets.n); /* NULL: none */
}

/* One round, printed with the alerts of its state changes, and the state
 * saved when there is a --state-file. Returns EXIT_ALL_UP or EXIT_SOME_DOWN
 * (with --format nagios, the plugin's state), or -1 if the round did not
 * run (interrupted) or its output is gone. */
static int run_round(app *a) {
  int rc = pp_run_round(a->engine, a->targets.items, a->targets.n, a->hosts,
                        a->fmt, a->state, stdout);
  if (rc < 0)
    return -1;
  if (a->state_file != NULL)
    pp_statefile_save(&a->sf, a->state, stdout, a->fmt);
  if (ferror(stdout)) {
    pp_cmd_error("writing the results: %s", strerror(errno));
    return -1;
  }
  if (a->fmt == PP_FMT_NAGIOS)
    return rc; /* the plugin's state */
  return rc ? EXIT_SOME_DOWN : EXIT_ALL_UP;
}

static int execd_round(void *ud) {
  return run_round(ud) < 0 ? -1 : 0;
}

static void execd_reload(void *ud) {
  app *a = ud;
  pp_targets fresh = {0};
  char err[1024];
  if (load_targets(a, &fresh, err, sizeof(err)) != 0) {
    pp_cmd_error("%s; keeping the previous targets", err);
    pp_targets_free(&fresh);
    return;
  }
  set_targets(a, &fresh);
  pp_cmd_log(PP_LOG_INFO, "%zu target%s from %s", a->targets.n,
             a->targets.n == 1 ? "" : "s",
             a->config ? a->config : "the command line");
}

/* A usage or configuration error: status 2, or with --format nagios the
 * plugin state UNKNOWN (3), its words on standard output where Nagios and
 * its kin read them. */
static int usage_error(const app *a, const char *msg) {
  if (a->fmt != PP_FMT_NAGIOS) {
    pp_cmd_error("%s", msg);
    return EXIT_USAGE;
  }
  pp_nagios_unknown(stdout, msg);
  return PP_NAGIOS_UNKNOWN;
}

/* What getopt found wrong with word: c is ':' for a missing value. */
static void bad_option(int c, const char *word, char *err, size_t errlen) {
  if (c == ':')
    snprintf(err, errlen, "option \"%s\" needs a value", word);
  else if (strncmp(word, "--", 2) == 0 || optopt == 0)
    snprintf(err, errlen, "unknown option \"%s\"", word);
  else
    snprintf(err, errlen, "unknown option \"-%c\"", optopt);
}

/* --resolver, --concurrency, --http-concurrency: the core's engine
 * settings, checked there. */
static int engine_arg(pp_engine_settings *s, const char *name, const char *arg,
                      char *err, size_t errlen) {
  char why[512];
  if (pp_engine_setting_set(s, name, arg, why, sizeof(why)) == 0)
    return 0;
  snprintf(err, errlen, "--%s: %s", name, why);
  return -1;
}

/* Reads one option into a. Returns -1 to go on, an exit status to stop
 * at once (--help, --version, --list-options), or -2 for a usage error
 * (err says which). */
static int one_option(app *a, int c, const char *name, char **argv, char *err,
                      size_t errlen) {
  switch (c) {
  case 'f':
    if (pp_format_parse(optarg, &a->fmt) != 0) {
      snprintf(err, errlen,
               "--format: expected text, influx, json or nagios, got \"%s\"",
               optarg);
      return -2;
    }
    return -1;
  case 'c':
    a->config = optarg;
    return -1;
  case 'O':
  case 'E':
    a->execd = c == 'E';
    return -1;
  case 'R':
  case 'C':
  case 'H':
    return engine_arg(&a->settings, name, optarg, err, errlen) ? -2 : -1;
  case 'S':
    a->state_file = optarg;
    return -1;
  case 'L':
    list_options();
    return EXIT_ALL_UP;
  case 'v':
    a->verbosity = PP_LOG_DEBUG;
    return -1;
  case 'h':
    usage(stdout);
    return EXIT_ALL_UP;
  case 'V':
    printf("portprobe %s\n", PACKAGE_VERSION);
    return EXIT_ALL_UP;
  default:
    bad_option(c, argv[optind - 1], err, errlen);
    return -2;
  }
}

/* The options before the first URL. A usage error is reported once every
 * option is read, so that --format nagios turns it into UNKNOWN. Returns
 * -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, app *a) {
  static const struct option longopts[] = {
      {"format", required_argument, NULL, 'f'},
      {"config", required_argument, NULL, 'c'},
      {"once", no_argument, NULL, 'O'},
      {"execd", no_argument, NULL, 'E'},
      {"resolver", required_argument, NULL, 'R'},
      {"concurrency", required_argument, NULL, 'C'},
      {"http-concurrency", required_argument, NULL, 'H'},
      {"state-file", required_argument, NULL, 'S'},
      {"list-options", no_argument, NULL, 'L'},
      {"verbose", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0},
  };
  char err[1024] = "";
  bool bad_usage = false;
  int c, li = 0;
  opterr = 0;
  /* '+': stop at the first URL; key=value words are ours, not options */
  while ((c = getopt_long(argc, argv, "+:f:c:vhV", longopts, &li)) != -1) {
    char why[1024];
    int rc = one_option(a, c, longopts[li].name, argv, why, sizeof(why));
    if (rc >= 0)
      return rc;
    if (rc == -2 && !bad_usage) {
      snprintf(err, sizeof(err), "%s", why);
      bad_usage = true;
    }
  }
  a->argc = argc - optind;
  a->argv = argv + optind;
  /* Telegraf's execd reads the level of each line of standard error from
   * its prefix, and logs a line without one as an error */
  pp_cmd_log_setup(a->execd, a->verbosity);
  if (!bad_usage && a->execd && a->fmt == PP_FMT_NAGIOS) {
    snprintf(err, sizeof(err),
             "--format nagios prints one round and its exit status; "
             "--execd wants influx, json or text");
    bad_usage = true;
  }
  if (!bad_usage)
    return -1;
  int status = usage_error(a, err);
  if (a->fmt != PP_FMT_NAGIOS)
    usage(stderr);
  return status;
}

/* The engine, and the state when rounds keep it: --execd in memory, a
 * --state-file across runs. Returns -1, or an exit status on failure. */
static int start_engine(app *a) {
  char err[1024];
  raise_fd_limit();
  pp_engine_config ecfg = {.log = pp_cmd_log_core};
  pp_engine_settings_apply(&a->settings, &ecfg);
  if ((a->engine = pp_engine_new(&ecfg, err, sizeof(err))) == NULL)
    return usage_error(a, err);
  a->sf = (pp_statefile){.path = a->state_file, .execd = a->execd};
  if (!a->execd && a->state_file == NULL)
    return -1;
  if ((a->state = pp_state_table_new()) == NULL)
    return usage_error(a, "out of memory");
  if (a->state_file != NULL)
    pp_statefile_load(&a->sf, a->state);
  return -1;
}

static int run(app *a) {
  pp_targets targets = {0};
  char err[1024];
  if (load_targets(a, &targets, err, sizeof(err)) != 0) {
    int status = usage_error(a, err);
    if (targets.n == 0 && a->config == NULL && a->argc == 0 &&
        a->fmt != PP_FMT_NAGIOS)
      usage(stderr);
    pp_targets_free(&targets);
    return status;
  }
  set_targets(a, &targets);
  int status = start_engine(a);
  if (status >= 0)
    return status;
  if (a->execd) {
    pp_execd x = {.round = execd_round,
                  .reload = execd_reload,
                  .ud = a,
                  .engine = a->engine,
                  .log = pp_cmd_log_core};
    return pp_execd_serve(STDIN_FILENO, &x);
  }
  status = run_round(a);
  if (status < 0 && a->fmt == PP_FMT_NAGIOS)
    return usage_error(a, "the round could not run");
  if (status < 0)
    return EXIT_USAGE;
  /* with influx, inputs.exec would drop every line of a failed command */
  return a->fmt == PP_FMT_INFLUX ? EXIT_ALL_UP : status;
}

int main(int argc, char **argv) {
  app a = {.fmt = PP_FMT_TEXT, .verbosity = PP_LOG_WARNING};
  int status = parse_args(argc, argv, &a);
  if (status < 0)
    status = run(&a);
  pp_state_table_free(a.state);
  pp_engine_free(a.engine);
  pp_engine_settings_free(&a.settings);
  pp_hosts_free(a.hosts);
  pp_targets_free(&a.targets);
  return status;
}
