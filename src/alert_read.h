/* Reading an alert's words back: for a consumer that gets another probe's
 * alert as text only (collectd's network plugin carries a notification's
 * message, not its meta data), such as the consensus of several locations. */
#ifndef PP_ALERT_READ_H
#define PP_ALERT_READ_H

#include <stddef.h>

/* The service of a message that starts with the subject pp_alert_init
 * writes about host ("mail.example.com smtp:25 ...", "[::1] tcp:80 ...").
 * Returns 0 and writes the service ("smtp"), or -1 when the message does
 * not start with host's subject. */
int pp_alert_read_service(const char *message, const char *host, char *service,
                          size_t len);

/* The reason of a DOWN message (a state or flapping alert): the result's
 * summary after "DOWN: ", as pp_result_summary writes it ("refused",
 * "timeout (connect)", "http_status 503"). Returns 0 and writes it, or -1
 * when the message names no known reason. */
int pp_alert_read_reason(const char *message, char *reason, size_t len);

#endif
