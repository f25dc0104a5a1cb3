/* The command's messages on standard error. For a person they read
 * "portprobe: warning: ..."; under Telegraf's inputs.execd they carry its
 * level prefixes ("W! portprobe: ..."), so Telegraf logs each at its level
 * instead of as an error. */
#ifndef PP_CMD_LOG_H
#define PP_CMD_LOG_H

#include "portprobe.h"

#include <stdbool.h>

/* telegraf: write Telegraf's prefixes; most: the least severe level shown
 * (PP_LOG_WARNING by default, PP_LOG_DEBUG with -v). */
void pp_cmd_log_setup(bool telegraf, pp_log_level most);

/* One message at level, dropped when less severe than the setup allows. */
void pp_cmd_log(pp_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* An error that ends the command or an action ("portprobe: MESSAGE", or
 * "E! portprobe: MESSAGE" under Telegraf): always shown. */
void pp_cmd_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* pp_cmd_log as the core's log callback (pp_log_fn); ud is unused. */
void pp_cmd_log_core(void *ud, pp_log_level level, const char *msg);

#endif
