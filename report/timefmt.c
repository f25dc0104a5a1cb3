/* timefmt.c — see timefmt.h. Local times go through mktime/localtime_r, so
 * days follow the zone's daylight saving changes (a day may be 23 or 25
 * hours long). */
#include "timefmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Seconds east of UTC in a zone suffix ("Z", "+02:00", "-0530"); 1 = none,
 * -1 = malformed. */
static int zone_offset(const char *z, long *off) {
  if (*z == '\0')
    return 1;
  if (strcmp(z, "Z") == 0) {
    *off = 0;
    return 0;
  }
  int h, m = 0;
  char sign;
  if ((sscanf(z, "%c%2d:%2d", &sign, &h, &m) == 3 ||
       sscanf(z, "%c%2d%2d", &sign, &h, &m) >= 2) &&
      (sign == '+' || sign == '-') && strlen(z) >= 3 && h <= 23 && m <= 59) {
    *off = (sign == '-' ? -1 : 1) * (h * 3600L + m * 60L);
    return 0;
  }
  return -1;
}

int pr_parse_time(const char *s, double *out) {
  struct tm tm = {0};
  int n = 0;
  if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3)
    return -1;
  const char *rest = s + n;
  if (*rest == 'T' || *rest == ' ') {
    int m = 0;
    if (sscanf(rest + 1, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &m) != 2)
      return -1;
    rest += 1 + m;
    if (*rest == ':') {
      if (sscanf(rest + 1, "%2d%n", &tm.tm_sec, &m) != 1)
        return -1;
      rest += 1 + m;
    }
  }
  long off = 0;
  int zone = zone_offset(rest, &off);
  if (zone < 0 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
      tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  time_t t = zone == 0 ? timegm(&tm) - off : mktime(&tm);
  if (t == (time_t)-1)
    return -1;
  *out = (double)t;
  return 0;
}

double pr_parse_duration(const char *s) {
  char *end;
  double v = strtod(s, &end);
  if (end == s || !(v > 0) || !isfinite(v))
    return -1;
  static const struct {
    const char *unit;
    double seconds;
  } units[] = {{"s", 1}, {"m", 60}, {"h", 3600}, {"d", 86400}, {"w", 604800}};
  for (size_t i = 0; i < sizeof(units) / sizeof(*units); i++)
    if (strcmp(end, units[i].unit) == 0)
      return v * units[i].seconds;
  return -1;
}

/* Local midnight of the day holding t, then of the next days. */
static double local_midnight(double t, int add_days) {
  time_t tt = (time_t)floor(t);
  struct tm tm;
  localtime_r(&tt, &tm);
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  tm.tm_mday += add_days;
  tm.tm_isdst = -1;
  return (double)mktime(&tm);
}

int pr_window_days(pr_window *w) {
  if (!(w->to > w->from))
    return -1;
  w->ndays = 0;
  double start = local_midnight(w->from, 0);
  while (start < w->to) {
    if (w->ndays == PR_MAX_DAYS)
      return -1;
    w->day_start[w->ndays++] = fmax(start, w->from);
    start = local_midnight(start, 1);
  }
  w->day_start[w->ndays] = w->to;
  return 0;
}

void pr_format_time(double t, char *buf, size_t len) {
  time_t tt = (time_t)floor(t);
  struct tm tm;
  localtime_r(&tt, &tm);
  char z[8];
  strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
  strftime(z, sizeof(z), "%z", &tm); /* +0200 */
  size_t n = strlen(buf);
  if (strcmp(z, "+0000") == 0)
    snprintf(buf + n, len - n, "Z");
  else
    snprintf(buf + n, len - n, "%.3s:%.2s", z, z + 3);
}

void pr_format_day(double t, char *buf, size_t len) {
  time_t tt = (time_t)floor(t);
  struct tm tm;
  localtime_r(&tt, &tm);
  strftime(buf, len, "%Y-%m-%d", &tm);
}

void pr_zone_name(double t, char *buf, size_t len) {
  time_t tt = (time_t)floor(t);
  struct tm tm;
  localtime_r(&tt, &tm);
  strftime(buf, len, "%Z (%z)", &tm);
}
