/* text.h — a bounded text buffer that sentences are appended to: what does
 * not fit is cut, never overrun; the buffer stays NUL-terminated. */
#ifndef PP_TEXT_H
#define PP_TEXT_H

#include <stddef.h>

typedef struct {
  char *buf; /* NULL: nothing is written */
  size_t len, used;
} pp_text;

/* Appends printf-style to t, cut at its end. */
void pp_text_add(pp_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
