/* The mail round trip: an smtp target with mail_to and fetch sends a message
 * with a unique token (the SMTP leg: the target's own dialog, with MAIL
 * FROM, RCPT TO, DATA and the message), then opens a mailbox session on the
 * fetch target, again and again, until one finds the token or
 * delivery_timeout has passed since SMTP accepted the message. Each session
 * deletes what it found, and probe messages left behind long ago. */
#include "mail_trip.h"

#include <openssl/rand.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FIRST_POLL_US 200000 /* local delivery takes a few hundred ms */
#define MAX_POLL_US 5000000  /* then at most this between sessions */
#define STALE_INTERVALS 3    /* a stale message: this many intervals past */

pp_mail_trip *pp_mail_of(const pp_check *c) {
  return c->parent != NULL && c->parent->ops == &pp_mailtrip_ops
             ? c->parent->priv
             : NULL;
}

int64_t pp_mail_token_expiry(const char *token) {
  size_t pl = strlen(PP_MAIL_TOKEN_PREFIX);
  if (strncmp(token, PP_MAIL_TOKEN_PREFIX, pl) != 0)
    return -1;
  char *end;
  errno = 0;
  long long v = strtoll(token + pl, &end, 10);
  if (end == token + pl || *end != '-' || errno != 0 || v < 0)
    return -1;
  return v;
}

pp_msg_state pp_mail_judge_expiry(const pp_mail_trip *m, int64_t expiry) {
  if (expiry < 0)
    return PP_MSG_KEEP;
  return expiry + m->grace_s < (int64_t)time(NULL) ? PP_MSG_STALE : PP_MSG_KEEP;
}

pp_msg_state pp_mail_judge(const pp_mail_trip *m, const char *token) {
  if (token == NULL)
    return PP_MSG_KEEP;
  if (strcmp(token, m->token) == 0)
    return PP_MSG_OURS;
  return pp_mail_judge_expiry(m, pp_mail_token_expiry(token));
}

/* --- the message --- */

/* RFC 5322's date, without the locale's names. */
static void mail_date(char *buf, size_t len) {
  static const char *const days[] = {"Sun", "Mon", "Tue", "Wed",
                                     "Thu", "Fri", "Sat"};
  static const char *const months[] = {"Jan", "Feb", "Mar", "Apr",
                                       "May", "Jun", "Jul", "Aug",
                                       "Sep", "Oct", "Nov", "Dec"};
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  snprintf(buf, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
           tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour,
           tm.tm_min, tm.tm_sec);
}

/* "pp1-<when this check gives up>-<24 hex digits>". */
static int make_token(pp_mail_trip *m) {
  unsigned char rnd[12];
  if (RAND_bytes(rnd, sizeof(rnd)) != 1)
    return -1;
  pp_check *c = m->c;
  uint64_t left_us = c->deadline_us - pp_now_us();
  long long expiry = (long long)time(NULL) + (long long)(left_us / 1000000) + 1;
  int n = snprintf(m->token, sizeof(m->token), PP_MAIL_TOKEN_PREFIX "%lld-",
                   expiry);
  for (size_t i = 0; i < sizeof(rnd) && n > 0; i++)
    n += snprintf(m->token + n, sizeof(m->token) - (size_t)n, "%02x", rnd[i]);
  return 0;
}

/* The DATA text: headers with the token, a short body, the final dot. Our
 * lines never start with a dot, so nothing needs dot-stuffing. */
static int make_message(pp_mail_trip *m) {
  char date[64];
  mail_date(date, sizeof(date));
  const char *domain = strchr(m->from, '@');
  domain = domain ? domain + 1 : "portprobe.invalid";
  static const char fmt[] =
      "Date: %s\r\n"
      "From: <%s>\r\n"
      "To: <%s>\r\n"
      "Subject: portprobe round trip %s\r\n"
      "Message-ID: <%s@%s>\r\n" PP_MAIL_HEADER ": %s\r\n"
      "MIME-Version: 1.0\r\n"
      "Content-Type: text/plain; charset=us-ascii\r\n"
      "\r\n"
      "portprobe sent this message to check that mail is delivered.\r\n"
      "It deletes the message from the mailbox once it has found it.\r\n"
      ".\r\n";
  int n = snprintf(NULL, 0, fmt, date, m->from, m->to, m->token, m->token,
                   domain, m->token);
  if (n < 0 || (m->message = malloc((size_t)n + 1)) == NULL)
    return -1;
  snprintf(m->message, (size_t)n + 1, fmt, date, m->from, m->to, m->token,
           m->token, domain, m->token);
  m->message_len = (size_t)n;
  return 0;
}

/* --- the legs --- */

static void fetch_done(void *ud, pp_check *leg);

/* What the SMTP leg measured and saw (address, timings, TLS facts, the
 * 250's words) becomes the round trip's record; its start stays. */
static void take_smtp_leg(pp_result *r, const pp_result *leg) {
  int64_t started = r->time_ns;
  *r = *leg;
  r->time_ns = started;
  r->t_smtp = leg->t_total;
}

static void start_session(pp_loop *loop, pp_timer *t, void *ud) {
  (void)loop;
  (void)t;
  pp_mail_trip *m = ud;
  memcpy(m->prev, m->msgs, m->nmsgs * sizeof(m->msgs[0]));
  m->nprev = m->nmsgs;
  m->nmsgs = m->cursor = 0;
  m->found = m->refused = false;
  m->arg[0] = 0;
  pp_child_spec spec = {.target = m->c->target->fetch,
                        .res = &m->leg_res,
                        .done = fetch_done,
                        .ud = m};
  pp_check_start_child(m->c, &m->leg, &spec);
}

static void smtp_done(void *ud, pp_check *leg) {
  (void)leg;
  pp_mail_trip *m = ud;
  pp_check *c = m->c;
  const pp_result *lr = &m->leg_res;
  take_smtp_leg(c->res, lr);
  if (!lr->up) {
    c->phase = lr->phase;
    pp_check_finish(c, lr->code, "SMTP: %s",
                    lr->detail[0] ? lr->detail : pp_result_describe(lr->code));
    return;
  }
  m->delivery_deadline_us =
      m->accepted_us + (uint64_t)c->target->opts->delivery_timeout_ms * 1000u;
  m->next_delay_us = FIRST_POLL_US;
  c->phase = PP_PHASE_DELIVERY;
  pp_timer_start(c->engine->loop, &m->poll, m->next_delay_us);
}

static size_t count_stale(const pp_mail_trip *m) {
  size_t n = 0;
  for (size_t i = 0; i < m->nmsgs; i++)
    n += m->msgs[i].state == PP_MSG_STALE;
  return n;
}

/* Found, not there yet (another session later, or not_delivered), or the
 * mailbox failed: the fetch leg's result in its own phase. */
static void fetch_done(void *ud, pp_check *leg) {
  (void)leg;
  pp_mail_trip *m = ud;
  pp_check *c = m->c;
  const pp_result *lr = &m->leg_res;
  const char *url = c->target->fetch->url;
  m->sessions++;
  c->res->t_fetch = lr->t_total;
  if (!lr->up) {
    c->phase = PP_PHASE_FETCH;
    c->res->sys_errno = lr->sys_errno;
    memcpy(c->res->excerpt, lr->excerpt, sizeof(c->res->excerpt));
    pp_check_finish(c, lr->code, "fetch %s: %s", url,
                    lr->detail[0] ? lr->detail : pp_result_describe(lr->code));
    return;
  }
  m->removed_stale += count_stale(m);
  char stale[64] = "";
  if (m->removed_stale > 0)
    snprintf(stale, sizeof(stale), "; %zu stale probe message%s removed",
             m->removed_stale, m->removed_stale == 1 ? "" : "s");
  uint64_t now = pp_now_us();
  if (m->found) {
    c->res->t_delivery = (double)(m->seen_us - m->accepted_us) / 1e6;
    pp_check_finish(c, PP_R_OK,
                    "delivered to %s in %.3gs (mailbox session %u)%s", url,
                    c->res->t_delivery, m->sessions, stale);
    return;
  }
  if (now >= m->delivery_deadline_us) {
    c->phase = PP_PHASE_DELIVERY;
    pp_check_finish(c, PP_R_NOT_DELIVERED,
                    "SMTP accepted it, but it was not in %s %.3gs later (%u "
                    "mailbox sessions)%s",
                    url, (double)(now - m->accepted_us) / 1e6, m->sessions,
                    stale);
    return;
  }
  uint64_t delay = m->next_delay_us;
  if (now + delay > m->delivery_deadline_us)
    delay = m->delivery_deadline_us - now; /* one last look at the deadline */
  m->next_delay_us = m->next_delay_us * 3 / 2;
  if (m->next_delay_us > MAX_POLL_US)
    m->next_delay_us = MAX_POLL_US;
  pp_timer_start(c->engine->loop, &m->poll, delay);
}

/* --- the hooks --- */

/* portprobe@ the EHLO name, else this machine's name. */
static void default_from(const pp_target *t, char *buf, size_t len) {
  char host[256] = "";
  if (t->opts->ehlo != NULL)
    snprintf(host, sizeof(host), "%s", t->opts->ehlo);
  else if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == 0)
    snprintf(host, sizeof(host), "localhost");
  snprintf(buf, len, "portprobe@%s", host);
}

static void trip_start(pp_check *c) {
  const pp_target *t = c->target;
  pp_mail_trip *m = calloc(1, sizeof(*m));
  if (m == NULL) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  c->priv = m;
  m->c = c;
  pp_timer_init(&m->poll, start_session, m);
  /* each session has timeout; the mailbox is watched for delivery_timeout
   * after the SMTP session, and the last look may take a session more */
  const pp_opts *o = t->opts;
  c->deadline_us = c->t_start_us + (uint64_t)pp_target_longest_ms(t) * 1000u;
  pp_check_phase(c, PP_PHASE_NONE);
  m->grace_s = STALE_INTERVALS *
               (o->interval_ms ? o->interval_ms : o->delivery_timeout_ms) /
               1000;
  m->to = o->mail_to;
  if (o->mail_from != NULL)
    snprintf(m->from_buf, sizeof(m->from_buf), "%s", o->mail_from);
  else
    default_from(t, m->from_buf, sizeof(m->from_buf));
  m->from = m->from_buf;
  if (make_token(m) != 0 || make_message(m) != 0) {
    pp_check_finish(c, PP_R_SOCKET_ERROR,
                    "cannot make the round trip's message (no randomness or "
                    "memory)");
    return;
  }
  pp_child_spec spec = {
      .target = t, .res = &m->leg_res, .done = smtp_done, .ud = m};
  pp_check_start_child(c, &m->leg, &spec);
}

static void trip_cleanup(pp_check *c) {
  pp_mail_trip *m = c->priv;
  if (m == NULL)
    return;
  pp_timer_stop(c->engine->loop, &m->poll);
  pp_check_end_child(&m->leg, c->res->code, c->res->detail);
  free(m->message);
  free(m);
  c->priv = NULL;
}

const pp_check_ops pp_mailtrip_ops = {
    .name = "mail round trip",
    .start = trip_start,
    .cleanup = trip_cleanup,
};
