/* A round over several engines: the targets divided by expected cost
 * (pp_spread), each part run by its own engine on its own thread, started
 * for the round and joined before it returns, so that the state and alert
 * pass after it (round.c) stays on the caller's thread, in target order. */
#include "spread.h"

#include "check_core.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

/* --- expected cost --- */

enum {
  COST_TCP = 4,
  COST_DIALOG = 6,
  COST_HTTP = 8,
  COST_DNS = 3,         /* one query and its answer */
  COST_DNSSEC = 20,     /* validating the answer's signatures */
  COST_TLS = 80,        /* a handshake with verification */
  FANOUT_EXPECTED = 2,  /* addresses = all, mx = yes: children per target */
  ROUND_TRIP_POLLS = 2, /* a mail round trip's mailbox logins */
};

static bool expects_tls(const pp_target *t) {
  if (t->kind == PP_KIND_DNS)
    return t->opts->transport == PP_DNS_TLS;
  if (t->scheme->tls == PP_TLS_IMPLICIT)
    return true;
  return t->scheme->tls == PP_TLS_STARTTLS && t->starttls != PP_STARTTLS_NO;
}

static unsigned one_check(const pp_target *t) {
  switch (t->kind) {
  case PP_KIND_TCP:
    return COST_TCP;
  case PP_KIND_DIALOG:
    return COST_DIALOG;
  case PP_KIND_HTTP:
    return COST_HTTP;
  case PP_KIND_ICMP: /* paced, not CPU-bound: its echoes */
    return t->opts->count > 0 ? (unsigned)t->opts->count : 1;
  case PP_KIND_DNS:
    return COST_DNS + (t->opts->dnssec != PP_DNSSEC_OFF ? COST_DNSSEC : 0);
  case PP_KIND_WIRE: /* a binary protocol's handshake: a dialog's cost */
    return COST_DIALOG;
  case PP_KIND_UDP:
    return COST_DNS;
  }
  return COST_TCP;
}

unsigned pp_target_cost(const pp_target *t) {
  unsigned c = one_check(t) + (expects_tls(t) ? COST_TLS : 0);
  if (t->opts->addresses == PP_ADDRESSES_ALL || t->opts->mx)
    c *= FANOUT_EXPECTED;
  if (t->fetch != NULL && !t->fetch_leg)
    c += ROUND_TRIP_POLLS * pp_target_cost(t->fetch);
  return c;
}

/* --- the division --- */

#define NONE ((size_t)-1)

/* The group a target is read with (hosts), or NONE. */
static size_t unit_of(const pp_hosts *hosts, size_t i) {
  size_t g = hosts ? pp_hosts_of(hosts, i) : PP_HOSTS_NONE;
  return g == PP_HOSTS_NONE ? NONE : g;
}

static size_t lightest(const unsigned long *load, size_t parts) {
  size_t best = 0;
  for (size_t p = 1; p < parts; p++)
    if (load[p] < load[best])
      best = p;
  return best;
}

/* Per host group: its cost, whether it has an ICMP check, and its part. */
typedef struct {
  unsigned long cost;
  bool icmp;
  size_t part;
} unit;

static size_t parts_for(unsigned long total, size_t parts) {
  unsigned long fit = total / PP_SPREAD_MIN_COST;
  if (fit < 1)
    fit = 1;
  return fit < parts ? (size_t)fit : parts;
}

static void place(pp_target *const *targets, size_t n, const pp_hosts *hosts,
                  unit *units, bool pinned_pass, bool icmp_first,
                  unsigned long *load, size_t parts, size_t *part_of) {
  for (size_t i = 0; i < n; i++) {
    size_t g = unit_of(hosts, i);
    bool icmp = g != NONE ? units[g].icmp : targets[i]->kind == PP_KIND_ICMP;
    if ((icmp_first && icmp) != pinned_pass)
      continue;
    if (g != NONE && units[g].part != NONE) {
      part_of[i] = units[g].part;
      continue;
    }
    size_t p = pinned_pass ? 0 : lightest(load, parts);
    part_of[i] = p;
    load[p] += g != NONE ? units[g].cost : pp_target_cost(targets[i]);
    if (g != NONE)
      units[g].part = p;
  }
}

size_t pp_spread(pp_target *const *targets, size_t n, const pp_hosts *hosts,
                 unsigned flags, size_t parts, size_t *part_of) {
  size_t ngroups = hosts ? pp_hosts_count(hosts) : 0;
  unit *units = calloc(ngroups ? ngroups : 1, sizeof(*units));
  unsigned long *load = calloc(parts ? parts : 1, sizeof(*load));
  unsigned long total = 0;
  for (size_t i = 0; i < n; i++)
    total += pp_target_cost(targets[i]);
  size_t used = parts_for(total, parts);
  if (units == NULL || load == NULL || used <= 1) {
    for (size_t i = 0; i < n; i++)
      part_of[i] = 0;
    free(units);
    free(load);
    return 1;
  }
  for (size_t g = 0; g < ngroups; g++)
    units[g].part = NONE;
  for (size_t i = 0; i < n; i++) {
    size_t g = unit_of(hosts, i);
    if (g == NONE)
      continue;
    units[g].cost += pp_target_cost(targets[i]);
    units[g].icmp |= targets[i]->kind == PP_KIND_ICMP;
  }
  bool icmp_first = flags & PP_SPREAD_ICMP_FIRST;
  place(targets, n, hosts, units, true, icmp_first, load, used, part_of);
  place(targets, n, hosts, units, false, icmp_first, load, used, part_of);
  free(units);
  free(load);
  return used;
}

/* --- threads --- */

size_t pp_cpu_count(void) {
  cpu_set_t set;
  long n = 0;
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    n = CPU_COUNT(&set);
  if (n < 1)
    n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1)
    n = 1;
  return n > PP_THREADS_MAX ? PP_THREADS_MAX : (size_t)n;
}

/* One engine's part of the round. */
typedef struct {
  pp_engine *e;
  pp_target *const *targets;
  size_t *idx, n;
  pp_result *results;
  size_t max, max_http;
  int rc;
  pthread_t thread;
  bool started;
} job;

static void run_job(job *j) {
  j->rc = pp_engine_run_part(j->e, j->targets, j->idx, j->n, j->results, j->max,
                             j->max_http);
}

static void *job_thread(void *arg) {
  run_job(arg);
  return NULL;
}

/* jobs[p] gets the indexes of part p's targets, in target order, from idx
 * (room for n). */
static void fill_jobs(job *jobs, size_t used, const size_t *part_of, size_t n,
                      size_t *idx) {
  for (size_t i = 0; i < n; i++)
    jobs[part_of[i]].n++;
  size_t off = 0;
  for (size_t p = 0; p < used; p++) {
    jobs[p].idx = idx + off;
    off += jobs[p].n;
    jobs[p].n = 0;
  }
  for (size_t i = 0; i < n; i++) {
    job *j = &jobs[part_of[i]];
    j->idx[j->n++] = i;
  }
}

/* A loop's thread needs little stack (no recursion; OpenSSL, libcurl and
 * c-ares are shallow): 1 MiB instead of the default 8, which under an
 * address-space limit (RLIMIT_AS) leaves the checks their memory. */
#define THREAD_STACK (1u << 20)

/* Parts 1.. on threads of their own, which take no signal: the caller's
 * thread handles them, and pp_engine_interrupt wakes every engine. */
static void start_threads(job *jobs, size_t used) {
  pthread_attr_t attr;
  bool sized = pthread_attr_init(&attr) == 0;
  if (sized && pthread_attr_setstacksize(&attr, THREAD_STACK) != 0) {
    pthread_attr_destroy(&attr);
    sized = false;
  }
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  for (size_t p = 1; p < used; p++)
    if (jobs[p].n > 0)
      jobs[p].started = pthread_create(&jobs[p].thread, sized ? &attr : NULL,
                                       job_thread, &jobs[p]) == 0;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (sized)
    pthread_attr_destroy(&attr);
}

static int run_jobs(job *jobs, size_t used) {
  start_threads(jobs, used);
  run_job(&jobs[0]);
  int rc = jobs[0].rc;
  for (size_t p = 1; p < used; p++) {
    if (jobs[p].started)
      pthread_join(jobs[p].thread, NULL);
    else if (jobs[p].n > 0) /* no thread to be had: run it here */
      run_job(&jobs[p]);
    if (jobs[p].rc != 0)
      rc = jobs[p].rc;
  }
  return rc;
}

static size_t share(size_t total, size_t used) {
  return total / used > 0 ? total / used : 1;
}

int pp_spread_run(pp_engine *e, pp_target *const *targets, size_t n,
                  pp_result *results) {
  size_t max = pp_engine_concurrency(e), parts = 1 + e->nhelpers;
  if (parts > max) /* a part runs at least one check at once */
    parts = max;
  size_t *part_of = malloc((n ? n : 1) * sizeof(*part_of));
  size_t *idx = malloc((n ? n : 1) * sizeof(*idx));
  job *jobs = calloc(parts, sizeof(*jobs));
  size_t used = 1;
  if (part_of != NULL && idx != NULL && jobs != NULL)
    used = pp_spread(targets, n, NULL, PP_SPREAD_ICMP_FIRST, parts, part_of);
  int rc;
  if (used <= 1) { /* a small round (or no memory to divide it): one loop */
    rc = pp_engine_run_part(e, targets, NULL, n, results, max,
                            e->max_concurrent_http);
  } else {
    fill_jobs(jobs, used, part_of, n, idx);
    /* the descriptor limit and HTTP's memory bound are the process's: a
     * check that finds no descriptor waits for one its own loop frees, so
     * each loop gets its share of what fits, whatever was asked for */
    size_t fit = pp_descriptors_fit();
    for (size_t p = 0; p < used; p++) {
      jobs[p].e = p == 0 ? e : e->helpers[p - 1];
      jobs[p].targets = targets;
      jobs[p].results = results;
      jobs[p].max = share(max < fit ? max : fit, used);
      jobs[p].max_http = share(e->max_concurrent_http, used);
    }
    pp_log(e, PP_LOG_DEBUG, "round of %zu targets divided among %zu loops", n,
           used);
    rc = run_jobs(jobs, used);
  }
  free(part_of);
  free(idx);
  free(jobs);
  return rc;
}
