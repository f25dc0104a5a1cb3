/* The quality grade of a network path (good / warning / bad / critical) from
 * loss, latency and jitter over a sliding window of recent echoes, with
 * hysteresis so that a grade does not flap. Pure logic: no sockets, no
 * clock; the ICMP check feeds it once per round. */
#ifndef PP_QUALITY_H
#define PP_QUALITY_H

#include "options.h"
#include "result.h"

/* Improving needs every metric below its threshold by this margin
 * (0.8: 20 % below), or PP_QUALITY_CALM_ROUNDS rounds in a row whose grade
 * (with plain thresholds) is better than the current one. Worsening is
 * immediate: the window already smooths single losses. */
#define PP_QUALITY_MARGIN 0.8
#define PP_QUALITY_CALM_ROUNDS 3

/* Thresholds per grade: [0] warning, [1] bad, [2] critical. A metric above
 * a threshold (strictly) reaches that grade. Loss in percent, times in
 * seconds. */
typedef struct {
  double loss_pct[3];
  double rtt[3];
  double jitter[3];
} pp_quality_limits;

void pp_quality_limits_from_opts(pp_quality_limits *l, const pp_opts *o);

/* What the window holds. */
typedef struct {
  int echoes;      /* echoes in the window */
  int lost;        /* of which unanswered */
  double loss_pct; /* as judged (see pp_quality_measure) */
  double rtt_avg;  /* seconds over the answered echoes; -1: none answered */
  double jitter;   /* mean |difference| of consecutive RTTs; -1: < 2 */
} pp_quality_stats;

/* The window of one target; owned by the caller (the ICMP check keeps it
 * in the target's check_data across rounds). */
typedef struct {
  float *rtt;     /* ring of cap entries: seconds, negative for a loss */
  int cap, len;   /* capacity (quality_window) and entries held */
  int head;       /* where the next entry goes */
  pp_grade grade; /* current grade, with hysteresis */
  int calm;       /* consecutive rounds judged better than grade */
} pp_quality;

/* Allocates a window of `window` echoes (>= 1). 0, or -1 out of memory. */
int pp_quality_init(pp_quality *q, int window);
void pp_quality_free(pp_quality *q);

/* Appends one echo's outcome: its RTT in seconds, or a negative value for
 * a lost echo. The oldest entry drops out of a full window. */
void pp_quality_add(pp_quality *q, double rtt);

/* Loss, average RTT and jitter over the window. While the window is still
 * filling, a single lost echo among replies is not counted (a round of
 * five with one loss is not "20 % loss"); once it is full, loss is plainly
 * lost / window. */
void pp_quality_measure(const pp_quality *q, pp_quality_stats *s);

/* The grade stats reach against limits scaled by `scale` (1 for the plain
 * thresholds): the worst of loss, RTT and jitter. PP_GRADE_NONE when the
 * window is empty. */
pp_grade pp_quality_judge(const pp_quality_stats *s, const pp_quality_limits *l,
                          double scale);

/* Re-grades after a round's echoes were added, applying hysteresis, and
 * returns the new q->grade. Call once per round. stats may be NULL. */
pp_grade pp_quality_update(pp_quality *q, const pp_quality_limits *l,
                           pp_quality_stats *stats);

#endif
