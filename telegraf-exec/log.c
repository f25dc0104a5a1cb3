/* The command's messages on standard error, with Telegraf's level prefixes
 * when Telegraf reads them (see log.h). */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static bool telegraf_style;
static pp_log_level most_shown = PP_LOG_WARNING;

void pp_cmd_log_setup(bool telegraf, pp_log_level most) {
  telegraf_style = telegraf;
  most_shown = most;
}

/* Telegraf's inputs.execd and inputs.exec read "E! ", "W! ", "I! " and
 * "D! " as levels, and log any other line as an error. */
static const char *prefix(pp_log_level level) {
  switch (level) {
  case PP_LOG_ERR:
    return telegraf_style ? "E! " : "error: ";
  case PP_LOG_WARNING:
    return telegraf_style ? "W! " : "warning: ";
  case PP_LOG_NOTICE:
    return telegraf_style ? "I! " : "notice: ";
  case PP_LOG_INFO:
    return telegraf_style ? "I! " : "info: ";
  case PP_LOG_DEBUG:
    break;
  }
  return telegraf_style ? "D! " : "debug: ";
}

static void put(pp_log_level level, bool plain_level, const char *fmt,
                va_list ap) {
  char msg[1024];
  vsnprintf(msg, sizeof(msg), fmt, ap);
  if (telegraf_style)
    fprintf(stderr, "%sportprobe: %s\n", prefix(level), msg);
  else
    fprintf(stderr, "portprobe: %s%s\n", plain_level ? prefix(level) : "", msg);
}

void pp_cmd_log(pp_log_level level, const char *fmt, ...) {
  if (level > most_shown)
    return;
  va_list ap;
  va_start(ap, fmt);
  put(level, true, fmt, ap);
  va_end(ap);
}

void pp_cmd_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  put(PP_LOG_ERR, false, fmt, ap);
  va_end(ap);
}

void pp_cmd_log_core(void *ud, pp_log_level level, const char *msg) {
  (void)ud;
  pp_cmd_log(level, "%s", msg);
}
