/* portprobe: runs one round of checks and prints the results, for a person
 * at a terminal or for Telegraf's exec input; with --execd, a round per line
 * on standard input, for Telegraf's execd input. */
#include "cli_config.h"
#include "execd.h"
#include "output.h"
#include "cli_round.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

enum { EXIT_ALL_UP = 0, EXIT_SOME_DOWN = 1, EXIT_USAGE = 2 };

static int verbosity = PP_LOG_WARNING;

static void log_stderr(void *ud, pp_log_level level, const char *msg) {
  (void)ud;
  if ((int)level > verbosity)
    return;
  static const char *const names[] = {"",        "",       "",     "error",
                                      "warning", "notice", "info", "debug"};
  fprintf(stderr, "portprobe: %s: %s\n", names[level], msg);
}

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
      "  -f, --format FMT     text (default), influx (line protocol) or json\n"
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
                                       "input or SIGTERM.\n",
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
  int width = 16;
  for (size_t i = 0; i < pp_options_count; i++)
    if ((int)strlen(pp_options[i].key) > width)
      width = (int)strlen(pp_options[i].key);
  for (size_t i = 0; i < pp_options_count; i++) {
    const pp_option *o = &pp_options[i];
    printf("%-*s %-22s %-10s %s\n", width, o->key, types[o->type],
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
  int argc; /* the URL words after the options */
  char **argv;
  pp_format fmt;
  bool execd;
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
 * saved when there is a --state-file. Returns EXIT_ALL_UP or EXIT_SOME_DOWN,
 * or -1 if the round did not run (interrupted) or its output is gone. */
static int run_round(app *a) {
  int rc = pp_run_round(a->engine, a->targets.items, a->targets.n, a->hosts,
                        a->fmt, a->state, stdout);
  if (rc < 0)
    return -1;
  if (ferror(stdout)) {
    fprintf(stderr, "portprobe: writing the results: %s\n", strerror(errno));
    return -1;
  }
  if (a->state_file != NULL)
    pp_state_file_save(a->state, a->state_file);
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
    fprintf(stderr, "portprobe: %s; keeping the previous targets\n", err);
    pp_targets_free(&fresh);
    return;
  }
  set_targets(a, &fresh);
  char msg[256];
  snprintf(msg, sizeof(msg), "%zu targets from %s", a->targets.n,
           a->config ? a->config : "the command line");
  log_stderr(NULL, PP_LOG_INFO, msg);
}

/* --resolver, --concurrency, --http-concurrency: the core's engine
 * settings, checked there. */
static int engine_arg(pp_engine_settings *s, const char *name,
                      const char *arg) {
  char err[512];
  if (pp_engine_setting_set(s, name, arg, err, sizeof(err)) != 0) {
    fprintf(stderr, "portprobe: --%s: %s\n", name, err);
    return -1;
  }
  return 0;
}

/* The options before the first URL. Returns -1 to go on, else the exit
 * status (--help, --version, a usage error). */
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
  int c, li;
  /* '+': stop at the first URL; key=value words are ours, not options */
  while ((c = getopt_long(argc, argv, "+f:c:vhV", longopts, &li)) != -1) {
    switch (c) {
    case 'f':
      if (pp_format_parse(optarg, &a->fmt) != 0) {
        fprintf(stderr,
                "portprobe: --format: expected text, influx or json, got "
                "\"%s\"\n",
                optarg);
        return EXIT_USAGE;
      }
      break;
    case 'c':
      a->config = optarg;
      break;
    case 'O':
    case 'E':
      a->execd = c == 'E';
      break;
    case 'R':
    case 'C':
    case 'H':
      if (engine_arg(&a->settings, longopts[li].name, optarg) != 0)
        return EXIT_USAGE;
      break;
    case 'S':
      a->state_file = optarg;
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
      usage(stderr);
      return EXIT_USAGE;
    }
  }
  a->argc = argc - optind;
  a->argv = argv + optind;
  return -1;
}

/* The engine, and the state when rounds keep it: --execd in memory, a
 * --state-file across runs. Returns 0, or -1 with a message printed. */
static int start_engine(app *a) {
  char err[1024];
  raise_fd_limit();
  pp_engine_config ecfg = {.log = log_stderr};
  pp_engine_settings_apply(&a->settings, &ecfg);
  if ((a->engine = pp_engine_new(&ecfg, err, sizeof(err))) == NULL) {
    fprintf(stderr, "portprobe: %s\n", err);
    return -1;
  }
  if (!a->execd && a->state_file == NULL)
    return 0;
  if ((a->state = pp_state_table_new()) == NULL) {
    fprintf(stderr, "portprobe: out of memory\n");
    return -1;
  }
  if (a->state_file != NULL)
    pp_state_file_load(a->state, a->state_file);
  return 0;
}

static int run(app *a) {
  pp_targets targets = {0};
  char err[1024];
  if (load_targets(a, &targets, err, sizeof(err)) != 0) {
    fprintf(stderr, "portprobe: %s\n", err);
    if (targets.n == 0 && a->config == NULL && a->argc == 0)
      usage(stderr);
    pp_targets_free(&targets);
    return EXIT_USAGE;
  }
  set_targets(a, &targets);
  if (start_engine(a) != 0)
    return EXIT_USAGE;
  if (a->execd) {
    pp_execd x = {.round = execd_round,
                  .reload = execd_reload,
                  .ud = a,
                  .engine = a->engine,
                  .log = log_stderr};
    return pp_execd_serve(STDIN_FILENO, &x);
  }
  int status = run_round(a);
  if (status < 0)
    return EXIT_USAGE;
  /* with influx, inputs.exec would drop every line of a failed command */
  return a->fmt == PP_FMT_INFLUX ? EXIT_ALL_UP : status;
}

int main(int argc, char **argv) {
  app a = {.fmt = PP_FMT_TEXT};
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
