/* format.h — portprobe-report's output: text for a person, CSV (a row per
 * target), JSON (one object) and a self-contained HTML page with inline SVG.
 * Rows are written as they are computed, so memory stays that of one row. */
#ifndef PR_FORMAT_H
#define PR_FORMAT_H

#include "report.h"

#include <stdio.h>

typedef enum { PR_FMT_TEXT, PR_FMT_CSV, PR_FMT_JSON, PR_FMT_HTML } pr_format;

typedef struct {
  pr_format format;
  FILE *out;
  const pr_window *w;
  const char *uri; /* redacted */
  const char *database, *schema;
  bool by_location;
  size_t rows; /* written so far */
} pr_writer;

/* -1 for an unknown name */
int pr_format_find(const char *name, pr_format *out);
void pr_write_begin(pr_writer *wr);
void pr_write_row(pr_writer *wr, const pr_row *r);
/* Ends the document; failed (not NULL): the query that failed midway, said
 * in it (json "error", a last text line, html) so that a partial report
 * is never taken for a whole one; csv has only its rows. */
void pr_write_end(pr_writer *wr, const char *failed);

/* The definitions every format states (also in the manual page). */
extern const char *const pr_definitions[][2];
extern const size_t pr_definitions_count;

/* For the formats' files: a number, or `none` when NaN; a JSON string. */
void pr_put_num(FILE *f, double v, int decimals, const char *none);
void pr_put_json_string(FILE *f, const char *s);
/* Writes the HTML page's parts (html.c). */
void pr_html_begin(pr_writer *wr);
void pr_html_row(pr_writer *wr, const pr_row *r);
void pr_html_end(pr_writer *wr, const char *failed);

#endif
