/* portprobe: runs one round of checks and prints the results, for a person
 * at a terminal, for Telegraf's exec input or as a Nagios-style plugin; with
 * --execd, a round per line on standard input, for Telegraf's execd input. */
#include "config.h"
#include "execd.h"
#include "log.h"
#include "nagios.h"
#include "output.h"
#include "round.h"
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
  static const char *const types[] = {
      [PP_OPT_BOOL] = "bool",       [PP_OPT_INT] = "integer",
      [PP_OPT_DOUBLE] = "number",   [PP_OPT_DURATION] = "duration",
      [PP_OPT_SIZE] = "size",       [PP_OPT_STRING] = "text",
      [PP_OPT_ENUM] = "choice",     [PP_OPT_REGEX] = "regex",
      [PP_OPT_STATUS] = "statuses", [PP_OPT_LIST] = "text, repeatable",
      [PP_OPT_STEP] = "repeatable", [PP_OPT_LABEL] = "name=value, repeatable",
  };
  for (size_t i = 0; i < pp_options_count; i++) {
    const pp_option *o = &pp_options[i];
    printf("%-16s %-22s %-10s %s\n", o->key, types[o->type],
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
  pp_engine *engine;
  pp_target_list targets;
  pp_state_table *state; /* NULL: one round without --state-file */
} app;

/* Targets from --config, then from the command line, into out. */
static int load_targets(const app *a, pp_target_list *out, char *err,
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
static void set_targets(app *a, pp_target_list *fresh) {
  pp_target_list_free(&a->targets);
  a->targets = *fresh;
  *fresh = (pp_target_list){0};
}

/* One round, printed with the alerts of its state changes, and the state
 * saved when there is a --state-file. Returns EXIT_ALL_UP or EXIT_SOME_DOWN
 * (with --format nagios, the plugin's state), or -1 if the round did not
 * run (interrupted) or its output is gone. */
static int run_round(app *a) {
  int rc = pp_run_round(a->engine, a->targets.items, a->targets.n, a->fmt,
                        a->state, stdout);
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
  pp_target_list fresh = {0};
  char err[1024];
  if (load_targets(a, &fresh, err, sizeof(err)) != 0) {
    pp_cmd_error("%s; keeping the previous targets", err);
    pp_target_list_free(&fresh);
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

/* A count option: a whole number from 1 to 1000000. */
static int count_arg(const char *flag, const char *arg, size_t *out, char *err,
                     size_t errlen) {
  char *end;
  errno = 0;
  long n = strtol(arg, &end, 10);
  if (end == arg || *end != 0 || errno != 0 || n < 1 || n > 1000000) {
    snprintf(err, errlen, "%s: expected a number from 1 to 1000000, got \"%s\"",
             flag, arg);
    return -1;
  }
  *out = (size_t)n;
  return 0;
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

int main(int argc, char **argv) {
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
  app a = {.fmt = PP_FMT_TEXT};
  bool execd = false;
  pp_log_level verbosity = PP_LOG_WARNING;
  pp_engine_config ecfg = {.log = pp_cmd_log_core};
  char err[1024] = "";
  bool bad_usage = false; /* reported once every option is read, so that
                             --format nagios turns it into UNKNOWN */
  int c;
  opterr = 0;
  /* '+': stop at the first URL; key=value words are ours, not options */
  while ((c = getopt_long(argc, argv, "+:f:c:vhV", longopts, NULL)) != -1) {
    switch (c) {
    case 'f':
      if (pp_format_parse(optarg, &a.fmt) != 0 && !bad_usage) {
        snprintf(err, sizeof(err),
                 "--format: expected text, influx, json or nagios, got \"%s\"",
                 optarg);
        bad_usage = true;
      }
      break;
    case 'c':
      a.config = optarg;
      break;
    case 'O':
      execd = false;
      break;
    case 'E':
      execd = true;
      break;
    case 'R':
      ecfg.resolver = optarg;
      break;
    case 'C':
      if (!bad_usage && count_arg("--concurrency", optarg, &ecfg.max_concurrent,
                                  err, sizeof(err)) != 0)
        bad_usage = true;
      break;
    case 'H':
      if (!bad_usage &&
          count_arg("--http-concurrency", optarg, &ecfg.max_concurrent_http,
                    err, sizeof(err)) != 0)
        bad_usage = true;
      break;
    case 'S':
      a.state_file = optarg;
      break;
    case 'L':
      list_options();
      return EXIT_ALL_UP;
    case 'v':
      verbosity = PP_LOG_DEBUG;
      break;
    case 'h':
      usage(stdout);
      return EXIT_ALL_UP;
    case 'V':
      printf("portprobe %s\n", PACKAGE_VERSION);
      return EXIT_ALL_UP;
    default:
      if (!bad_usage)
        bad_option(c, argv[optind - 1], err, sizeof(err));
      bad_usage = true;
      break;
    }
  }
  a.argc = argc - optind;
  a.argv = argv + optind;
  /* Telegraf's execd reads the level of each line of standard error from
   * its prefix, and logs a line without one as an error */
  pp_cmd_log_setup(execd, verbosity);
  if (!bad_usage && execd && a.fmt == PP_FMT_NAGIOS) {
    snprintf(err, sizeof(err),
             "--format nagios prints one round and its exit status; "
             "--execd wants influx, json or text");
    bad_usage = true;
  }
  if (bad_usage) {
    int status = usage_error(&a, err);
    if (a.fmt != PP_FMT_NAGIOS)
      usage(stderr);
    return status;
  }

  pp_target_list targets = {0};
  if (load_targets(&a, &targets, err, sizeof(err)) != 0) {
    int status = usage_error(&a, err);
    if (targets.n == 0 && a.config == NULL && a.argc == 0 &&
        a.fmt != PP_FMT_NAGIOS)
      usage(stderr);
    pp_target_list_free(&targets);
    return status;
  }
  set_targets(&a, &targets);

  raise_fd_limit();
  a.engine = pp_engine_new(&ecfg, err, sizeof(err));
  /* --execd keeps state in memory; a --state-file carries it over runs */
  a.sf = (pp_statefile){.path = a.state_file, .execd = execd};
  if (a.engine != NULL && (execd || a.state_file != NULL)) {
    if ((a.state = pp_state_table_new()) != NULL && a.state_file != NULL)
      pp_statefile_load(&a.sf, a.state);
  }
  int status = EXIT_USAGE;
  if (a.engine == NULL) {
    status = usage_error(&a, err);
  } else if ((execd || a.state_file != NULL) && a.state == NULL) {
    status = usage_error(&a, "out of memory");
  } else if (execd) {
    pp_execd x = {.round = execd_round,
                  .reload = execd_reload,
                  .ud = &a,
                  .engine = a.engine,
                  .log = pp_cmd_log_core};
    status = pp_execd_serve(STDIN_FILENO, &x);
  } else {
    status = run_round(&a);
    if (status < 0 && a.fmt == PP_FMT_NAGIOS)
      status = usage_error(&a, "the round could not run");
    else if (status < 0)
      status = EXIT_USAGE;
    else if (a.fmt == PP_FMT_INFLUX)
      status = EXIT_ALL_UP; /* else inputs.exec would drop every line */
  }
  pp_state_table_free(a.state);
  pp_engine_free(a.engine);
  pp_target_list_free(&a.targets);
  return status;
}
