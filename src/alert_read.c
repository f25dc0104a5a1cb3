/* Reads back what pp_alert_init and state.c write: the subject's service and
 * a DOWN message's reason. Only names from the result and phase tables are
 * accepted, so a message from elsewhere never yields a made-up reason. */
#include "alert_read.h"
#include "result.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int pp_alert_read_service(const char *message, const char *host, char *service,
                          size_t len) {
  const char *p = message;
  size_t hl = strlen(host);
  bool bracket = strchr(host, ':') != NULL;
  if (hl == 0 || (bracket && *p++ != '['))
    return -1;
  if (strncmp(p, host, hl) != 0)
    return -1;
  p += hl;
  if ((bracket && *p++ != ']') || *p++ != ' ')
    return -1;
  size_t n = strcspn(p, ": ");
  if (n == 0 || n >= len)
    return -1;
  memcpy(service, p, n);
  service[n] = '\0';
  return 0;
}

/* Length of the lower-case word at p ([a-z_]+). */
static size_t word_len(const char *p) {
  return strspn(p, "abcdefghijklmnopqrstuvwxyz_");
}

static bool is_result_name(const char *p, size_t n) {
  for (int c = 0; c < PP_R_COUNT; c++) {
    const char *name = pp_result_name((pp_result_code)c);
    if (strlen(name) == n && strncmp(name, p, n) == 0)
      return true;
  }
  return false;
}

static bool is_phase_name(const char *p, size_t n) {
  for (int ph = 0; ph < PP_PHASE_COUNT; ph++) {
    const char *name = pp_phase_name((pp_phase)ph);
    if (strlen(name) == n && strncmp(name, p, n) == 0)
      return true;
  }
  return false;
}

/* How far the summary's tail after the result name reaches: a timeout's
 * " (phase)", an HTTP status's " 503"; 0 when there is none. */
static size_t tail_len(const char *name, size_t n, const char *p) {
  if (n == 7 && strncmp(name, "timeout", 7) == 0 && strncmp(p, " (", 2) == 0) {
    size_t w = word_len(p + 2);
    if (w > 0 && p[2 + w] == ')' && is_phase_name(p + 2, w))
      return w + 3;
  }
  if (n == 11 && strncmp(name, "http_status", 11) == 0 && p[0] == ' ') {
    size_t d = strspn(p + 1, "0123456789");
    if (d > 0)
      return d + 1;
  }
  return 0;
}

int pp_alert_read_reason(const char *message, char *reason, size_t len) {
  const char *p = strstr(message, " DOWN: ");
  if (p == NULL)
    return -1;
  p += strlen(" DOWN: ");
  size_t n = word_len(p);
  if (!is_result_name(p, n) || (n == 2 && strncmp(p, "ok", 2) == 0))
    return -1;
  n += tail_len(p, n, p + n);
  if (n >= len)
    return -1;
  memcpy(reason, p, n);
  reason[n] = '\0';
  return 0;
}
