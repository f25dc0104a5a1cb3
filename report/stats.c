/* stats.c — what a report row adds up: seconds up, down and unknown from
 * samples (with the window's days and the HTML timeline's buckets), outages
 * from state events, and distributions in a fixed log histogram, so that a
 * row's memory does not grow with the number of samples. */
#include "report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIST_MIN 1e-6 /* seconds; smaller values share the first bin */
#define HIST_STEP 0.01

pr_row *pr_row_new(const pr_window *w, const char *target,
                   const char *location) {
  pr_row *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return NULL;
  r->w = w;
  r->locations = 1;
  snprintf(r->target, sizeof(r->target), "%s", target);
  snprintf(r->location, sizeof(r->location), "%s", location ? location : "");
  r->days = calloc(w->ndays ? w->ndays : 1, sizeof(*r->days));
  r->buckets = calloc(PR_BUCKETS, sizeof(*r->buckets));
  r->outages = calloc(PR_MAX_OUTAGES, sizeof(*r->outages));
  r->response.bins = calloc(PR_HIST_BINS, sizeof(uint32_t));
  if (!r->days || !r->buckets || !r->outages || !r->response.bins) {
    pr_row_free(r);
    return NULL;
  }
  r->response.min = r->loss.min = r->jitter.min = INFINITY;
  return r;
}

void pr_row_free(pr_row *r) {
  if (r == NULL)
    return;
  free(r->days);
  free(r->buckets);
  free(r->outages);
  free(r->response.bins);
  free(r);
}

/* Adds [a, b) in state st, clipped to the window, to the total, the days
 * and the timeline buckets. */
static void add_span(pr_row *r, pr_state st, double a, double b) {
  const pr_window *w = r->w;
  a = fmax(a, w->from);
  b = fmin(b, w->to);
  if (b <= a)
    return;
  r->total.s[st] += b - a;
  for (size_t d = 0; d < w->ndays; d++) {
    double lo = fmax(a, w->day_start[d]), hi = fmin(b, w->day_start[d + 1]);
    if (hi > lo)
      r->days[d].s[st] += hi - lo;
  }
  double width = (w->to - w->from) / PR_BUCKETS;
  size_t first = (size_t)((a - w->from) / width);
  for (size_t k = first; k < PR_BUCKETS; k++) {
    double lo = fmax(a, w->from + k * width);
    double hi = fmin(b, w->from + (k + 1) * width);
    if (hi <= lo)
      break;
    r->buckets[k].s[st] += hi - lo;
  }
}

/* From the previous sample to `until`: its state for up to two intervals,
 * else one interval of its state and unknown after it. */
static void account(pr_avail *a, double until) {
  if (!a->have) {
    add_span(a->row, PR_UNKNOWN, a->row->w->from, until);
    return;
  }
  double gap = until - a->t;
  if (gap <= 2 * a->iv) {
    add_span(a->row, a->st, a->t, until);
  } else {
    add_span(a->row, a->st, a->t, a->t + a->iv);
    add_span(a->row, PR_UNKNOWN, a->t + a->iv, until);
  }
}

static void step(pr_avail *a, double t, pr_state st, double iv) {
  if (a->have && t < a->t)
    return; /* out of order: a duplicate from a retried insert */
  account(a, t);
  a->have = true;
  a->t = t;
  a->st = st;
  a->iv = iv;
}

void pr_avail_begin(pr_avail *a, pr_row *row, double interval) {
  memset(a, 0, sizeof(*a));
  a->row = row;
  a->interval = interval;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return (a > b) - (a < b);
}

/* The interval of a series without one: the median of its first gaps. */
static void flush_pending(pr_avail *a) {
  double gaps[16];
  size_t n = 0;
  for (size_t i = 1; i < a->npend; i++)
    if (a->pend_t[i] > a->pend_t[i - 1])
      gaps[n++] = a->pend_t[i] - a->pend_t[i - 1];
  qsort(gaps, n, sizeof(*gaps), cmp_double);
  a->interval = n > 0 ? gaps[n / 2] : 60;
  for (size_t i = 0; i < a->npend; i++)
    step(a, a->pend_t[i], a->pend_st[i],
         a->pend_iv[i] > 0 ? a->pend_iv[i] : a->interval);
  a->npend = 0;
}

void pr_avail_sample(pr_avail *a, double t, double value, double interval) {
  pr_state st = isnan(value) ? PR_UNKNOWN : value >= 0.5 ? PR_UP : PR_DOWN;
  if (t >= a->row->w->from)
    a->row->samples++;
  if (interval <= 0 && a->interval <= 0) {
    size_t i = a->npend++;
    a->pend_t[i] = t;
    a->pend_st[i] = st;
    a->pend_iv[i] = interval;
    if (a->npend == sizeof(a->pend_t) / sizeof(*a->pend_t))
      flush_pending(a);
    return;
  }
  step(a, t, st, interval > 0 ? interval : a->interval);
}

void pr_avail_end(pr_avail *a) {
  if (a->npend > 0)
    flush_pending(a);
  account(a, a->row->w->to);
}

/* ------------------------------------------------------------- outages */

void pr_outages_begin(pr_outages *o, pr_row *row, const char *location) {
  memset(o, 0, sizeof(*o));
  o->row = row;
  o->location = location ? location : "";
}

static void close_outage(pr_outages *o, double end, bool ongoing) {
  pr_row *r = o->row;
  double start = fmax(o->start, r->w->from);
  double duration = fmax(0, fmin(end, r->w->to) - start);
  r->noutages++;
  r->down_sum += duration;
  r->longest = fmax(r->longest, duration);
  if (r->outages_listed < PR_MAX_OUTAGES) {
    pr_outage *x = &r->outages[r->outages_listed++];
    x->start = o->start;
    x->end = ongoing ? -1 : end;
    x->duration = duration;
    snprintf(x->location, sizeof(x->location), "%s", o->location);
    snprintf(x->message, sizeof(x->message), "%s", o->message);
  }
  o->open = false;
}

void pr_outages_event(pr_outages *o, double t, bool down, const char *msg) {
  if (down && !o->open) {
    o->open = true;
    o->start = t;
    snprintf(o->message, sizeof(o->message), "%s", msg ? msg : "");
  } else if (!down && o->open) {
    if (t <= o->row->w->from)
      o->open = false; /* over before the window began */
    else
      close_outage(o, t, false);
  }
}

void pr_outages_end(pr_outages *o) {
  if (o->open)
    close_outage(o, o->row->w->to, true);
}

/* ------------------------------------------------------- distributions */

static size_t bin_of(double v) {
  if (v <= HIST_MIN)
    return 0;
  double b = log(v / HIST_MIN) / log1p(HIST_STEP);
  return b >= PR_HIST_BINS - 1 ? PR_HIST_BINS - 1 : (size_t)b + 1;
}

/* The middle (geometric) of bin b's range. */
static double bin_value(size_t b) {
  if (b == 0)
    return HIST_MIN;
  return HIST_MIN * pow(1 + HIST_STEP, (double)b - 0.5);
}

void pr_dist_add(pr_dist *d, double v) {
  if (isnan(v))
    return;
  d->n++;
  d->sum += v;
  d->max = d->n == 1 ? v : fmax(d->max, v);
  d->min = fmin(d->min, v);
  if (d->bins != NULL)
    d->bins[bin_of(v)]++;
}

double pr_dist_mean(const pr_dist *d) {
  return d->n ? d->sum / (double)d->n : NAN;
}

double pr_dist_quantile(const pr_dist *d, double p) {
  if (d->n == 0 || d->bins == NULL)
    return NAN;
  uint64_t rank = (uint64_t)ceil(p * (double)d->n), seen = 0;
  if (rank < 1)
    rank = 1;
  for (size_t b = 0; b < PR_HIST_BINS; b++) {
    seen += d->bins[b];
    if (seen >= rank)
      return fmin(d->max, fmax(d->min, bin_value(b)));
  }
  return d->max;
}

void pr_row_response(pr_row *r, double t, double seconds) {
  if (isnan(seconds) || t < r->w->from || t >= r->w->to)
    return;
  pr_dist_add(&r->response, seconds);
  size_t k = (size_t)((t - r->w->from) / (r->w->to - r->w->from) * PR_BUCKETS);
  if (k >= PR_BUCKETS)
    k = PR_BUCKETS - 1;
  r->rt_sum[k] += seconds;
  r->rt_n[k]++;
  r->rt_max[k] = fmax(r->rt_max[k], seconds);
}

double pr_availability(const pr_secs *s) {
  double known = s->s[PR_UP] + s->s[PR_DOWN];
  return known > 0 ? 100.0 * s->s[PR_UP] / known : NAN;
}

double pr_mttr(const pr_row *r) {
  return r->noutages ? r->down_sum / (double)r->noutages : NAN;
}

double pr_mtbf(const pr_row *r) {
  return r->noutages ? r->total.s[PR_UP] / (double)r->noutages : NAN;
}

bool pr_row_worse(const pr_row *a, const pr_row *b) {
  double x = pr_availability(&a->total), y = pr_availability(&b->total);
  if (isnan(x) != isnan(y))
    return isnan(y);
  if (!isnan(x) && x != y)
    return x < y;
  if (a->total.s[PR_DOWN] != b->total.s[PR_DOWN])
    return a->total.s[PR_DOWN] > b->total.s[PR_DOWN];
  return a->total.s[PR_UNKNOWN] > b->total.s[PR_UNKNOWN];
}
