/* consensus_bench: the core's consensus alone, as a central collectd drives
 * it: T targets seen from L locations, one check each per round (1 s), a
 * tick per round; every 10th round a tenth of the targets goes down from
 * one location (a regional alert, then its recovery). Prints CPU time per
 * check and per tick, and the memory the consensus holds per target.
 *
 *   cc -O2 -include build/config.h -Isrc bench/consensus_bench.c \
 *      build/src/.libs/libportprobe.a -lcares -lssl -lcrypto -lcurl \
 *      -lpcre2-8 -ljson-c -lm -o consensus_bench
 *   ./consensus_bench TARGETS LOCATIONS ROUNDS
 */
#include "consensus.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#define S 1000000000LL

static long alerts;

static void count(void *ud, const pp_consensus_alert *a) {
  (void)ud;
  (void)a;
  alerts++;
}

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (f == NULL || fscanf(f, "%ld %ld", &pages, &resident) != 2)
    resident = 0;
  if (f != NULL)
    fclose(f);
  return resident * 4;
}

int main(int argc, char **argv) {
  int targets = argc > 1 ? atoi(argv[1]) : 10000;
  int locations = argc > 2 ? atoi(argv[2]) : 3;
  int rounds = argc > 3 ? atoi(argv[3]) : 30;
  pp_consensus_config c = {.quorum = 2, .timeout = 2};
  pp_consensus *cs = pp_consensus_new(&c);
  char(*tname)[32] = malloc((size_t)targets * sizeof(*tname));
  char lname[64][16];
  for (int t = 0; t < targets; t++)
    snprintf(tname[t], sizeof(tname[t]), "target-%d", t);
  for (int l = 0; l < locations && l < 64; l++)
    snprintf(lname[l], sizeof(lname[l]), "loc%d", l);
  long rss0 = rss_kib();
  double check_s = 0, tick_s = 0;
  long checks = 0;
  for (int r = 0; r < rounds; r++) {
    double c0 = cpu_now();
    for (int t = 0; t < targets; t++)
      for (int l = 0; l < locations; l++) {
        int64_t at = (int64_t)r * S + (int64_t)l * S / (locations + 1);
        int down = (r / 10) % 2 == 1 && t % 10 == 0 && l == 0;
        pp_consensus_check(cs, tname[t], lname[l], !down, at, S, at + S / 50,
                           count, NULL);
        checks++;
      }
    double c1 = cpu_now();
    pp_consensus_tick(cs, (int64_t)(r + 1) * S, count, NULL);
    tick_s += cpu_now() - c1;
    check_s += c1 - c0;
  }
  long rss1 = rss_kib();
  printf("%d targets x %d locations, %d rounds: %.0f ns per check, %.2f ms "
         "per tick, %.0f bytes per target (RSS), %ld alerts\n",
         targets, locations, rounds, check_s / (double)checks * 1e9,
         tick_s / rounds * 1e3, (double)(rss1 - rss0) * 1024 / targets, alerts);
  pp_consensus_free(cs);
  free(tname);
  return 0;
}
