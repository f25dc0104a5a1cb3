/* Test driver: runs several rounds of the same targets on one engine (so
 * state kept across rounds, like the ICMP quality window, is exercised)
 * and prints one JSON line per result, then per host the diagnosis of its
 * ICMP target and port targets. Not installed; the integration tests use
 * it where the portprobe command's single round is not enough.
 *
 *   rounds [--rounds N] [--pause MS] [--diagnose] URL [key=value ...] ...
 */
#include "alert.h"
#include "hosts.h"
#include "portprobe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void log_stderr(void *ud, pp_log_level level, const char *msg) {
  (void)ud;
  (void)level;
  fprintf(stderr, "rounds: %s\n", msg);
}

static void json_str(const char *s) {
  putchar('"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      printf("\\%c", c);
    else if (c < 0x20)
      printf("\\u%04x", c);
    else
      putchar(c);
  }
  putchar('"');
}

static void print_result(int round, const pp_target *t, const pp_result *r) {
  printf("{\"round\":%d,\"target\":", round);
  json_str(pp_target_name(t));
  printf(",\"host\":");
  json_str(t->host);
  printf(",\"result\":\"%s\",\"up\":%d,\"phase\":\"%s\",\"detail\":",
         pp_result_name(r->code), r->up, pp_phase_name(r->phase));
  json_str(r->detail);
  printf(",\"address\":");
  json_str(r->address);
  printf(",\"time\":%.6f", r->t_total);
  if (t->kind == PP_KIND_ICMP)
    printf(",\"sent\":%d,\"received\":%d,\"loss\":%.4f,\"rtt_min\":%.6f,"
           "\"rtt_avg\":%.6f,\"rtt_max\":%.6f,\"rtt_stddev\":%.6f,"
           "\"jitter\":%.6f,\"quality\":\"%s\"",
           r->icmp_sent, r->icmp_received, r->loss_pct, r->rtt_min, r->rtt_avg,
           r->rtt_max, r->rtt_stddev, r->jitter, pp_grade_name(r->quality));
  printf("}\n");
}

/* The core's host groups (hosts.c), as the command's HOST lines. */
static void print_diagnoses(int round, const pp_hosts *hosts,
                            const pp_result *rs) {
  for (size_t g = 0; hosts != NULL && g < pp_hosts_count(hosts); g++) {
    char text[PP_DIAGNOSIS_MAX];
    pp_diagnosis d = pp_hosts_diagnose(hosts, g, rs, text, sizeof(text));
    printf("{\"round\":%d,\"host\":", round);
    json_str(pp_hosts_name(hosts, g));
    printf(",\"diagnosis\":\"%s\",\"text\":", pp_diagnosis_name(d));
    json_str(text);
    printf("}\n");
  }
}

int main(int argc, char **argv) {
  int rounds = 1, pause_ms = 0;
  bool diagnose = false;
  int i = 1;
  for (; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
    if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
      rounds = atoi(argv[++i]);
    else if (strcmp(argv[i], "--pause") == 0 && i + 1 < argc)
      pause_ms = atoi(argv[++i]);
    else if (strcmp(argv[i], "--diagnose") == 0)
      diagnose = true;
    else {
      fprintf(stderr, "rounds: unknown option %s\n", argv[i]);
      return 2;
    }
  }
  size_t n = 0;
  pp_target **ts = calloc((size_t)argc, sizeof(*ts));
  char err[512];
  for (; i < argc; i++) {
    char *eq = strchr(argv[i], '=');
    if (eq && !strstr(argv[i], "://") && n > 0) {
      *eq = 0;
      if (pp_target_set(ts[n - 1], argv[i], eq + 1, err, sizeof(err)) != 0) {
        fprintf(stderr, "rounds: %s\n", err);
        return 2;
      }
      continue;
    }
    if ((ts[n] = pp_target_new(argv[i], err, sizeof(err))) == NULL) {
      fprintf(stderr, "rounds: %s\n", err);
      return 2;
    }
    n++;
  }
  for (size_t k = 0; k < n; k++)
    if (pp_target_finalize(ts[k], err, sizeof(err)) != 0) {
      fprintf(stderr, "rounds: %s\n", err);
      return 2;
    }
  pp_engine_config cfg = {.log = log_stderr};
  pp_engine *e = pp_engine_new(&cfg, err, sizeof(err));
  if (e == NULL) {
    fprintf(stderr, "rounds: %s\n", err);
    return 2;
  }
  pp_result *rs = calloc(n ? n : 1, sizeof(*rs));
  pp_hosts *hosts = pp_hosts_new(ts, n);
  for (int r = 1; r <= rounds; r++) {
    if (pp_engine_run(e, ts, n, rs) != 0)
      return 2;
    for (size_t k = 0; k < n; k++)
      print_result(r, ts[k], &rs[k]);
    if (diagnose)
      print_diagnoses(r, hosts, rs);
    fflush(stdout);
    if (pause_ms > 0 && r < rounds) {
      struct timespec ts_pause = {pause_ms / 1000,
                                  (long)(pause_ms % 1000) * 1000000L};
      nanosleep(&ts_pause, NULL);
    }
  }
  free(rs);
  pp_hosts_free(hosts);
  pp_engine_free(e);
  for (size_t k = 0; k < n; k++)
    pp_target_free(ts[k]);
  free(ts);
  return 0;
}
