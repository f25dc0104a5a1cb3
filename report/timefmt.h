/* timefmt.h — times of portprobe-report: ISO 8601 in and out, durations
 * such as "24h" or "7d", and the window's days in the report's time zone
 * (the TZ environment variable, as for date(1)). */
#ifndef PR_TIMEFMT_H
#define PR_TIMEFMT_H

#include "report.h"

#include <stddef.h>

/* "2026-10-01", "2026-10-01T12:00", "...:30", "...Z", "...+02:00"; no zone
 * means the report's time zone. Returns 0, or -1 on anything else. */
int pr_parse_time(const char *s, double *out);
/* "90s", "15m", "24h", "7d", "2w" in seconds; -1 on anything else. */
double pr_parse_duration(const char *s);
/* Fills w->ndays and w->day_start from w->from and w->to; -1 when the
 * window is empty or longer than PR_MAX_DAYS days. */
int pr_window_days(pr_window *w);
/* "2026-10-01T12:00:00+02:00" in the report's time zone. */
void pr_format_time(double t, char *buf, size_t len);
/* "2026-10-01" of the day that starts at t. */
void pr_format_day(double t, char *buf, size_t len);
/* The zone's name and offset now, for example "CEST (+0200)". */
void pr_zone_name(double t, char *buf, size_t len);

#endif
