/* html.c — portprobe-report as one self-contained HTML page: per target a
 * table, a state timeline (up, down, unknown) and a response-time chart, both
 * inline SVG drawn from the row's PR_BUCKETS buckets. No script, no link. */
#include "format.h"
#include "timefmt.h"

#include <math.h>

#define W 720 /* drawing width */
#define TL_H 18
#define CH_H 80

static void esc(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '<')
      fputs("&lt;", f);
    else if (*s == '>')
      fputs("&gt;", f);
    else if (*s == '&')
      fputs("&amp;", f);
    else if (*s == '"')
      fputs("&quot;", f);
    else
      fputc(*s, f);
  }
}

static void put_time(FILE *f, double t) {
  char buf[64];
  pr_format_time(t, buf, sizeof(buf));
  fputs(buf, f);
}

void pr_html_begin(pr_writer *wr) {
  FILE *f = wr->out;
  char zone[64];
  pr_zone_name(wr->w->to, zone, sizeof(zone));
  fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
        "<title>portprobe report</title><style>"
        "body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;"
        "text-align:right}th{text-align:left}.up{fill:#2a9d3a}.down{fill:"
        "#d62828}.unknown{fill:#bbb}dt{font-weight:bold}"
        "</style></head><body>\n<h1>portprobe report</h1>\n<p>",
        f);
  put_time(f, wr->w->from);
  fputs(" to ", f);
  put_time(f, wr->w->to);
  fputs(", time zone ", f);
  esc(f, zone);
  fputs("<br>source ", f);
  esc(f, wr->uri);
  fputs(", database ", f);
  esc(f, wr->database);
  fprintf(f, ", schema %s</p>\n<dl>", wr->schema);
  for (size_t i = 0; i < pr_definitions_count; i++) {
    fprintf(f, "<dt>%s</dt><dd>", pr_definitions[i][0]);
    esc(f, pr_definitions[i][1]);
    fputs("</dd>", f);
  }
  fputs("</dl>\n", f);
}

static const char *bucket_class(const pr_secs *b) {
  if (b->s[PR_DOWN] > 0)
    return "down";
  if (b->s[PR_UP] >= b->s[PR_UNKNOWN] && b->s[PR_UP] > 0)
    return "up";
  return "unknown";
}

/* Runs of buckets of one class as one rect each. */
static void timeline(FILE *f, const pr_row *r) {
  fprintf(f,
          "<svg width=\"%d\" height=\"%d\" role=\"img\" aria-label=\""
          "state timeline\">",
          W, TL_H);
  double bw = (double)W / PR_BUCKETS;
  size_t k = 0;
  while (k < PR_BUCKETS) {
    const char *cls = bucket_class(&r->buckets[k]);
    size_t end = k + 1;
    while (end < PR_BUCKETS && bucket_class(&r->buckets[end]) == cls)
      end++;
    fprintf(f,
            "<rect class=\"%s\" x=\"%.1f\" y=\"0\" width=\"%.1f\" "
            "height=\"%d\"><title>%s</title></rect>",
            cls, k * bw, (end - k) * bw, TL_H, cls);
    k = end;
  }
  fputs("</svg>\n", f);
}

static void polyline(FILE *f, const pr_row *r, double top, bool max,
                     const char *colour) {
  fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" points=\"", colour);
  double bw = (double)W / PR_BUCKETS;
  for (size_t k = 0; k < PR_BUCKETS; k++) {
    if (r->rt_n[k] == 0)
      continue;
    double v = max ? r->rt_max[k] : r->rt_sum[k] / r->rt_n[k];
    fprintf(f, "%.1f,%.1f ", (k + 0.5) * bw, CH_H - CH_H * v / top);
  }
  fputs("\"/>", f);
}

static void chart(FILE *f, const pr_row *r) {
  if (r->response.n == 0)
    return;
  double top = r->response.max > 0 ? r->response.max : 1;
  fprintf(f,
          "<p>response time, mean (dark) and max (light) per %.0f s, "
          "top %.3f ms</p><svg width=\"%d\" height=\"%d\" role=\"img\" "
          "aria-label=\"response time\"><rect width=\"%d\" height=\"%d\""
          " fill=\"#f4f4f4\"/>",
          (r->w->to - r->w->from) / PR_BUCKETS, top * 1000, W, CH_H, W, CH_H);
  polyline(f, r, top, true, "#9ab");
  polyline(f, r, top, false, "#124");
  fputs("</svg>\n", f);
}

static void cell(FILE *f, double v, int decimals) {
  fputs("<td>", f);
  pr_put_num(f, v, decimals, "-");
  fputs("</td>", f);
}

void pr_html_row(pr_writer *wr, const pr_row *r) {
  FILE *f = wr->out;
  fputs("<h2>", f);
  esc(f, r->target);
  if (*r->location || r->locations > 1) {
    if (r->locations > 1)
      fprintf(f, " <small>worst of %zu locations: ", r->locations);
    else
      fputs(" <small>at ", f);
    esc(f, r->location);
    fputs("</small>", f);
  }
  fputs("</h2>\n<table><tr><th>availability</th><th>up s</th><th>down s"
        "</th><th>unknown s</th><th>outages</th><th>MTTR s</th><th>MTBF s"
        "</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th></tr><tr>",
        f);
  double av = pr_availability(&r->total);
  fputs("<td>", f);
  pr_put_num(f, av, 3, "no data");
  fputs(isnan(av) ? "" : " %", f);
  fputs("</td>", f);
  for (int s = 0; s < PR_STATES; s++)
    cell(f, r->total.s[s], 0);
  fprintf(f, "<td>%zu</td>", r->noutages);
  cell(f, pr_mttr(r), 0);
  cell(f, pr_mtbf(r), 0);
  cell(f, pr_dist_quantile(&r->response, 0.50) * 1000, 3);
  cell(f, pr_dist_quantile(&r->response, 0.95) * 1000, 3);
  cell(f, pr_dist_quantile(&r->response, 0.99) * 1000, 3);
  fputs("</tr></table>\n", f);
  timeline(f, r);
  chart(f, r);
  for (size_t i = 0; i < r->outages_listed; i++) {
    const pr_outage *o = &r->outages[i];
    fputs(i ? "<br>" : "<p>", f);
    put_time(f, o->start);
    fprintf(f, ", %.0f s%s: ", o->duration, o->end < 0 ? " (ongoing)" : "");
    esc(f, o->message);
  }
  if (r->outages_listed)
    fputs("</p>\n", f);
}

void pr_html_end(pr_writer *wr, const char *failed) {
  if (failed != NULL) {
    fputs("<p><strong>Report incomplete: ", wr->out);
    esc(wr->out, failed);
    fputs("</strong></p>\n", wr->out);
  } else if (wr->rows == 0) {
    fputs("<p>No portprobe data in this window.</p>\n", wr->out);
  }
  fputs("</body></html>\n", wr->out);
}
