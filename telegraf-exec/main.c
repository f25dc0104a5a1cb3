/* portprobe: runs one round of checks and prints the results, for a person
 * at a terminal or for Telegraf's exec input. */
#include "config.h"
#include "output.h"
#include "round.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

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
      "      --resolver LIST  DNS servers addr[:port],... (default: "
      "resolv.conf)\n"
      "      --concurrency N  checks in flight at once (default: fits the\n"
      "                       descriptor limit)\n"
      "      --state-file F   keep target state in F between runs: alerts\n"
      "                       on confirmed changes (DOWN, UP again, ...)\n"
      "      --list-options   print every target option with its default\n"
      "  -v, --verbose        log each failure to standard error\n"
      "  -h, --help           this text\n"
      "  -V, --version        print the version\n"
      "\n"
      "exit status: 0 every target up, 1 some target down, 2 usage or\n"
      "configuration error\n",
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

int main(int argc, char **argv) {
  static const struct option longopts[] = {
      {"format", required_argument, NULL, 'f'},
      {"config", required_argument, NULL, 'c'},
      {"resolver", required_argument, NULL, 'R'},
      {"concurrency", required_argument, NULL, 'C'},
      {"state-file", required_argument, NULL, 'S'},
      {"list-options", no_argument, NULL, 'L'},
      {"verbose", no_argument, NULL, 'v'},
      {"help", no_argument, NULL, 'h'},
      {"version", no_argument, NULL, 'V'},
      {NULL, 0, NULL, 0},
  };
  pp_format fmt = PP_FMT_TEXT;
  const char *config = NULL;
  const char *state_file = NULL;
  pp_engine_config ecfg = {.log = log_stderr};
  int c;
  /* '+': stop at the first URL; key=value words are ours, not options */
  while ((c = getopt_long(argc, argv, "+f:c:vhV", longopts, NULL)) != -1) {
    switch (c) {
    case 'f':
      if (pp_format_parse(optarg, &fmt) != 0) {
        fprintf(stderr,
                "portprobe: --format: expected text, influx or json, got "
                "\"%s\"\n",
                optarg);
        return EXIT_USAGE;
      }
      break;
    case 'c':
      config = optarg;
      break;
    case 'R':
      ecfg.resolver = optarg;
      break;
    case 'C': {
      char *end;
      long n = strtol(optarg, &end, 10);
      if (*end != 0 || n < 1 || n > 1000000) {
        fprintf(stderr,
                "portprobe: --concurrency: expected a number from 1 to "
                "1000000, got \"%s\"\n",
                optarg);
        return EXIT_USAGE;
      }
      ecfg.max_concurrent = (size_t)n;
      break;
    }
    case 'S':
      state_file = optarg;
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

  pp_target_list targets = {0};
  char err[1024];
  if (config != NULL && pp_config_load(config, &targets, err, sizeof(err))) {
    fprintf(stderr, "portprobe: %s\n", err);
    pp_target_list_free(&targets);
    return EXIT_USAGE;
  }
  if (pp_config_from_args(argc - optind, argv + optind, &targets, err,
                          sizeof(err)) != 0) {
    fprintf(stderr, "portprobe: %s\n", err);
    pp_target_list_free(&targets);
    return EXIT_USAGE;
  }
  if (targets.n == 0) {
    fprintf(stderr, "portprobe: no targets: give a URL or --config FILE\n");
    usage(stderr);
    return EXIT_USAGE;
  }

  raise_fd_limit();
  pp_engine *engine = pp_engine_new(&ecfg, err, sizeof(err));
  if (engine == NULL) {
    fprintf(stderr, "portprobe: %s\n", err);
    pp_target_list_free(&targets);
    return EXIT_USAGE;
  }
  pp_state_table *state = NULL;
  if (state_file != NULL) {
    if ((state = pp_state_table_new()) == NULL) {
      fprintf(stderr, "portprobe: out of memory\n");
      pp_engine_free(engine);
      pp_target_list_free(&targets);
      return EXIT_USAGE;
    }
    pp_state_file_load(state, state_file);
  }
  int rc = pp_run_round(engine, targets.items, targets.n, fmt, state, stdout);
  int status = rc < 0 ? EXIT_USAGE : rc ? EXIT_SOME_DOWN : EXIT_ALL_UP;
  if (state != NULL && rc >= 0)
    pp_state_file_save(state, state_file);
  pp_state_table_free(state);
  pp_engine_free(engine);
  pp_target_list_free(&targets);
  return status;
}
