/* report.h — portprobe-report's model: a window, one row per target (or per
 * target and location), and the accumulators that fill a row from streams of
 * samples and state events. Times are seconds since the epoch (double).
 * Nothing here talks to MongoDB or prints: see query.h and format.h. */
#ifndef PR_REPORT_H
#define PR_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PR_NAME_MAX 256
#define PR_CONSENSUS "consensus" /* the location of a consensus's rows */
#define PR_BUCKETS 240      /* timeline and chart resolution of the HTML page */
#define PR_MAX_DAYS 400     /* longest window with a per-day breakdown */
#define PR_MAX_OUTAGES 1000 /* listed per row; all are counted */
#define PR_HIST_BINS 2400   /* log bins of 1 %: 1 us .. beyond 10^4 s */

typedef enum { PR_UP = 0, PR_DOWN, PR_UNKNOWN, PR_STATES } pr_state;

typedef struct {
  double s[PR_STATES]; /* seconds up, down, unknown */
} pr_secs;

/* The window and its days, in the report's time zone. */
typedef struct {
  double from, to; /* [from, to) */
  size_t ndays;
  double day_start[PR_MAX_DAYS + 1]; /* day i is [day_start[i], [i+1]) */
} pr_window;

/* Count, mean, max and percentiles of positive values (bounded memory). */
typedef struct {
  uint64_t n;
  double sum, max, min;
  uint32_t *bins; /* PR_HIST_BINS, or NULL: mean and max only */
} pr_dist;

typedef struct {
  double start, end; /* end < 0: still down at the end of the window */
  double duration;   /* seconds inside the window */
  char location[PR_NAME_MAX];
  char message[512];
} pr_outage;

/* One row of the report and what fills it. */
typedef struct {
  char target[PR_NAME_MAX];
  char location[PR_NAME_MAX]; /* "" when not labelled */
  size_t locations; /* series of this target seen; > 1: the row is the worst */
  const pr_window *w;
  uint64_t samples;
  pr_secs total;
  pr_secs *days;    /* w->ndays */
  pr_secs *buckets; /* PR_BUCKETS over the window */
  pr_outage *outages;
  size_t noutages, outages_listed;
  double down_sum, longest;
  pr_dist response; /* seconds, up checks */
  pr_dist loss;     /* percent */
  pr_dist jitter;   /* seconds */
  double rt_sum[PR_BUCKETS], rt_max[PR_BUCKETS];
  uint32_t rt_n[PR_BUCKETS];
  bool has_cert;
  double cert_left, cert_time; /* seconds left at the window's end */
} pr_row;

/* A row for target (and location) over w; NULL when out of memory. */
pr_row *pr_row_new(const pr_window *w, const char *target,
                   const char *location);
void pr_row_free(pr_row *r);

/* Availability of one series (one location's up/down samples, in time
 * order). interval <= 0: taken from the samples (median of the first
 * gaps). A gap longer than two intervals is unknown after one interval. */
typedef struct {
  pr_row *row;
  double interval;   /* fixed by the caller, or 0 */
  bool have;         /* a previous sample */
  double t, iv;      /* its time and interval */
  pr_state st;       /* its state */
  double pend_t[16]; /* samples held until the interval is known */
  double pend_iv[16];
  pr_state pend_st[16];
  size_t npend;
} pr_avail;

void pr_avail_begin(pr_avail *a, pr_row *row, double interval);
/* value: 1 up, 0 down, NaN unknown; interval: the sample's, or <= 0 */
void pr_avail_sample(pr_avail *a, double t, double value, double interval);
void pr_avail_end(pr_avail *a);

/* Outages of one series from its state events in time order; the first
 * call may be the last event before the window (it opens an outage that
 * began earlier). */
typedef struct {
  pr_row *row;
  const char *location;
  bool open;
  double start;
  char message[512];
} pr_outages;

void pr_outages_begin(pr_outages *o, pr_row *row, const char *location);
void pr_outages_event(pr_outages *o, double t, bool down, const char *msg);
void pr_outages_end(pr_outages *o);

void pr_dist_add(pr_dist *d, double v);
/* The p-quantile (0 < p <= 1, nearest rank), or NAN without values. */
double pr_dist_quantile(const pr_dist *d, double p);
double pr_dist_mean(const pr_dist *d);
/* Response times also feed the chart buckets. */
void pr_row_response(pr_row *r, double t, double seconds);

/* Availability in percent of known time, NAN when nothing is known. */
double pr_availability(const pr_secs *s);
double pr_mttr(const pr_row *r); /* NAN without outages */
double pr_mtbf(const pr_row *r); /* up seconds per outage; NAN without */

/* True when a is worse than b, as one location's view of a target: lower
 * availability (a row with nothing known is never worse than one with
 * something known), then more seconds down, then more unknown. A target
 * seen from several locations is reported as its worst one, never as a
 * sum of them (that would count each second once per location). */
bool pr_row_worse(const pr_row *a, const pr_row *b);

#endif
