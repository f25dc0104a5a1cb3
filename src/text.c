/* text.c — appending to a bounded text buffer (text.h). */
#include "text.h"

#include <stdarg.h>
#include <stdio.h>

void pp_text_add(pp_text *t, const char *fmt, ...) {
  if (t->buf == NULL || t->used + 1 >= t->len)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(t->buf + t->used, t->len - t->used, fmt, ap);
  va_end(ap);
  if (n > 0)
    t->used += (size_t)n < t->len - t->used ? (size_t)n : t->len - t->used - 1;
}
