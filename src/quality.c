/* The path quality grade: sliding window of echo outcomes, thresholds per
 * grade, and hysteresis on the way back (see quality.h). */
#include "quality.h"

#include <math.h>
#include <stdlib.h>

void pp_quality_limits_from_opts(pp_quality_limits *l, const pp_opts *o) {
  l->loss_pct[0] = o->loss_warn;
  l->loss_pct[1] = o->loss_bad;
  l->loss_pct[2] = o->loss_crit;
  l->rtt[0] = (double)o->rtt_warn_ms / 1000.0;
  l->rtt[1] = (double)o->rtt_bad_ms / 1000.0;
  l->rtt[2] = (double)o->rtt_crit_ms / 1000.0;
  l->jitter[0] = (double)o->jitter_warn_ms / 1000.0;
  l->jitter[1] = (double)o->jitter_bad_ms / 1000.0;
  l->jitter[2] = (double)o->jitter_crit_ms / 1000.0;
}

int pp_quality_init(pp_quality *q, int window) {
  q->cap = window < 1 ? 1 : window;
  q->rtt = calloc((size_t)q->cap, sizeof(*q->rtt));
  q->len = q->head = q->calm = 0;
  q->grade = PP_GRADE_NONE;
  return q->rtt ? 0 : -1;
}

void pp_quality_free(pp_quality *q) {
  free(q->rtt);
  q->rtt = NULL;
  q->cap = q->len = 0;
}

void pp_quality_add(pp_quality *q, double rtt) {
  q->rtt[q->head] = rtt < 0 ? -1.0f : (float)rtt;
  q->head = (q->head + 1) % q->cap;
  if (q->len < q->cap)
    q->len++;
}

void pp_quality_measure(const pp_quality *q, pp_quality_stats *s) {
  int start = (q->head - q->len + q->cap) % q->cap;
  int got = 0;
  double sum = 0, diffs = 0, prev = -1;
  s->echoes = q->len;
  s->lost = 0;
  for (int i = 0; i < q->len; i++) {
    double r = q->rtt[(start + i) % q->cap];
    if (r < 0) {
      s->lost++;
      continue;
    }
    if (got > 0)
      diffs += fabs(r - prev);
    sum += r;
    prev = r;
    got++;
  }
  int judged_lost = s->lost;
  if (q->len < q->cap && s->lost == 1 && got > 0)
    judged_lost = 0; /* one loss while filling: noise, not a rate */
  s->loss_pct = q->len ? 100.0 * judged_lost / q->len : 0;
  s->rtt_avg = got ? sum / got : -1;
  s->jitter = got >= 2 ? diffs / (got - 1) : -1;
}

static pp_grade level(double v, const double lim[3], double scale) {
  if (v < 0)
    return PP_GRADE_GOOD; /* not measured: judged by the other metrics */
  if (v > lim[2] * scale)
    return PP_GRADE_CRITICAL;
  if (v > lim[1] * scale)
    return PP_GRADE_BAD;
  if (v > lim[0] * scale)
    return PP_GRADE_WARNING;
  return PP_GRADE_GOOD;
}

static pp_grade worst(pp_grade a, pp_grade b) {
  return a > b ? a : b;
}

pp_grade pp_quality_judge(const pp_quality_stats *s, const pp_quality_limits *l,
                          double scale) {
  if (s->echoes == 0)
    return PP_GRADE_NONE;
  pp_grade g = level(s->loss_pct, l->loss_pct, scale);
  g = worst(g, level(s->rtt_avg, l->rtt, scale));
  return worst(g, level(s->jitter, l->jitter, scale));
}

pp_grade pp_quality_update(pp_quality *q, const pp_quality_limits *l,
                           pp_quality_stats *stats) {
  pp_quality_stats s;
  pp_quality_measure(q, &s);
  if (stats)
    *stats = s;
  pp_grade raw = pp_quality_judge(&s, l, 1.0);
  if (q->grade == PP_GRADE_NONE || raw == PP_GRADE_NONE || raw > q->grade) {
    q->grade = raw;
    q->calm = 0;
  } else if (raw < q->grade) {
    pp_grade clear = pp_quality_judge(&s, l, PP_QUALITY_MARGIN);
    if (++q->calm >= PP_QUALITY_CALM_ROUNDS) {
      q->grade = raw;
      q->calm = 0;
    } else if (clear < q->grade) {
      q->grade = clear;
      q->calm = 0;
    }
  } else {
    q->calm = 0;
  }
  return q->grade;
}
