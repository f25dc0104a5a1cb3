/* Building alert records: internal to the core (state.c). */
#ifndef PP_ALERT_BUILD_H
#define PP_ALERT_BUILD_H

#include "alert.h"

/* Fills the fields from t and r and starts the message with the subject,
 * "mail.example.com smtp:25" (or "host icmp" for targets without a port). */
void pp_alert_init(pp_alert *a, const pp_target *t, const pp_result *r,
                   pp_alert_kind kind, pp_severity sev);

/* Appends to the message, bounded; control bytes become spaces. */
void pp_alert_append(pp_alert *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Milliseconds the way people write them: "0.4", "5", "12", "80". */
void pp_format_ms(char *buf, size_t len, double seconds);

#endif
