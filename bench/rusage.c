/* Runs a command and writes its CPU time, wall time and peak RSS to stderr,
 * precisely (microseconds), measured from a process small enough not to add
 * its own pages to the child's peak RSS the way a forked interpreter would.
 *
 *   rusage OUTFILE COMMAND [ARGS...]   -> "cpu_s wall_s maxrss_kib status"
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: rusage OUTFILE COMMAND [ARGS...]\n");
    return 2;
  }
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  pid_t pid = fork();
  if (pid == 0) {
    execvp(argv[2], argv + 2);
    _exit(127);
  }
  int status;
  struct rusage ru;
  wait4(pid, &status, 0, &ru);
  clock_gettime(CLOCK_MONOTONIC, &b);
  FILE *f = fopen(argv[1], "w");
  if (f == NULL)
    return 2;
  fprintf(f, "%.6f %.6f %ld %d\n",
          (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
              (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6,
          (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9,
          ru.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  fclose(f);
  return 0;
}
