/* The mail round trip's own dialog steps: the message after DATA, and in a
 * mailbox session the listing of probe messages, the reading of their
 * tokens and the deletion of ours and of stale ones. The tables that use
 * them are in protocols.c, the round trip itself in mail_trip.c. */
#include "dialog_int.h"
#include "mail_trip.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *pp_dlg_mail_text(dlg *d, char c) {
  const pp_mail_trip *m = pp_mail_of(d->c);
  if (m == NULL)
    return "";
  return c == 'f' ? m->from : c == 'r' ? m->to : m->arg;
}

size_t pp_dlg_mail_len(dlg *d) {
  const pp_mail_trip *m = pp_mail_of(d->c);
  return m ? strlen(m->from) + strlen(m->to) + strlen(m->arg) : 0;
}

static bool is_imap(const pp_dstep *s) {
  return s->frame == PP_FRAME_IMAP_TAGGED;
}

/* Whether r says yes. A refusal ends the check in the server's words; of a
 * tolerant step it is noted (m->refused) and the dialog goes on: with the
 * next step, or (POP3) the step's next message, for this one is gone (a
 * message another probe deleted meanwhile). */
static bool said_yes(dlg *d, pp_mail_trip *m, const pp_reply *r) {
  const pp_dstep *s = d->step;
  if (r->status == s->want)
    return true;
  if (s->flags & PP_DF_TOLERANT) {
    m->refused = true;
    pp_dlg_consume(d, r->len);
    if (is_imap(s) || s->op == PP_DOP_LIST) {
      pp_dlg_next(d);
      return false;
    }
    m->msgs[m->cursor++].state = PP_MSG_KEEP;
    pp_dlg_run(d);
    return false;
  }
  char sw[24];
  pp_dlg_status_words(s->frame, r, sw, sizeof(sw));
  pp_dlg_fail_with(d, d->rbuf, r->len, s->fail, "%s refused (%s)", s->what, sw);
  return false;
}

/* --- SMTP: the message after DATA's 354 --- */

static void on_message_reply(dlg *d, const pp_reply *r) {
  pp_mail_trip *m = pp_mail_of(d->c);
  if (r->status != PP_RS_OK) {
    char sw[24];
    pp_dlg_status_words(d->step->frame, r, sw, sizeof(sw));
    pp_dlg_fail_with(d, d->rbuf, r->len, d->step->fail,
                     "message refused after DATA (%s)", sw);
    return;
  }
  m->accepted_us = pp_now_us();
  /* "250 2.0.0 Ok: queued as 4Tx...": what an administrator greps for */
  pp_dlg_excerpt_from(d, d->rbuf, r->len);
  d->excerpt_final = true;
  pp_dlg_consume(d, r->len);
  pp_dlg_next(d);
}

static void after_message(dlg *d) {
  pp_dlg_begin_read(d, d->step->frame, NULL, NULL, on_message_reply);
}

static step_rc message_step(dlg *d, pp_mail_trip *m, const pp_dstep *s) {
  pp_check_phase(d->c, s->phase);
  char *buf = malloc(m->message_len);
  if (buf == NULL) {
    pp_check_finish(d->c, PP_R_SOCKET_ERROR, "out of memory");
    return STEP_WAIT;
  }
  memcpy(buf, m->message, m->message_len);
  pp_dlg_trace(d, "C", buf, m->message_len);
  pp_dlg_begin_write(d, buf, m->message_len, false, after_message);
  return STEP_WAIT;
}

/* --- reading replies --- */

/* The end of the line at off (past its '\n', or len). */
static size_t next_line(const char *buf, size_t len, size_t off) {
  const char *nl = memchr(buf + off, '\n', len - off);
  return nl ? (size_t)(nl - buf) + 1 : len;
}

/* The token of the first PP_MAIL_HEADER line in buf[0..len), into out;
 * false when there is none. */
static bool find_token(const char *buf, size_t len, char *out, size_t cap) {
  size_t hl = strlen(PP_MAIL_HEADER);
  for (size_t off = 0; off < len; off = next_line(buf, len, off)) {
    if (len - off <= hl || strncasecmp(buf + off, PP_MAIL_HEADER, hl) != 0 ||
        buf[off + hl] != ':')
      continue;
    size_t p = off + hl + 1, n = 0;
    while (p < len && (buf[p] == ' ' || buf[p] == '\t'))
      p++;
    while (p < len && n + 1 < cap && !isspace((unsigned char)buf[p]))
      out[n++] = buf[p++];
    out[n] = 0;
    return n > 0;
  }
  return false;
}

static void judge(pp_mail_trip *m, pp_mail_msg *msg, const char *token) {
  msg->expiry = token ? pp_mail_token_expiry(token) : -1;
  msg->state = pp_mail_judge(m, token);
  if (msg->state == PP_MSG_OURS && !m->found) {
    m->found = true;
    m->seen_us = pp_now_us();
  }
}

static pp_mail_msg *add_msg(pp_mail_trip *m, const char *uid, size_t len,
                            unsigned num) {
  if (m->nmsgs == PP_MAIL_MAX_MSGS || len == 0 || len >= sizeof(m->msgs[0].uid))
    return NULL;
  pp_mail_msg *msg = &m->msgs[m->nmsgs++];
  memcpy(msg->uid, uid, len);
  msg->uid[len] = 0;
  msg->num = num;
  msg->expiry = -1;
  msg->state = PP_MSG_UNKNOWN;
  return msg;
}

/* IMAP: "* SEARCH 4 17 18" lines. */
static void parse_search(pp_mail_trip *m, const char *buf, size_t len) {
  for (size_t off = 0, end; off < len; off = end) {
    end = next_line(buf, len, off);
    if (end - off < 8 || strncasecmp(buf + off, "* SEARCH", 8) != 0)
      continue;
    for (size_t p = off + 8; p < end;) {
      size_t q = p;
      while (q < end && isdigit((unsigned char)buf[q]))
        q++;
      if (q > p)
        add_msg(m, buf + p, q - p, (unsigned)strtoul(buf + p, NULL, 10));
      p = q + 1;
    }
  }
}

/* POP3: "+OK" then "1 uid" lines then ".": the newest PP_MAIL_MAX_MSGS
 * (ours is among the last); what an earlier session of this round read of
 * a message is kept (one TOP per message and round). */
static void parse_uidl(pp_mail_trip *m, const char *buf, size_t len) {
  size_t lines = 0, skip;
  for (size_t off = next_line(buf, len, 0); off < len;
       off = next_line(buf, len, off))
    lines += isdigit((unsigned char)buf[off]) != 0;
  skip = lines > PP_MAIL_MAX_MSGS ? lines - PP_MAIL_MAX_MSGS : 0;
  for (size_t off = next_line(buf, len, 0), end; off < len; off = end) {
    end = next_line(buf, len, off);
    char *sp = memchr(buf + off, ' ', end - off);
    if (sp == NULL || !isdigit((unsigned char)buf[off]))
      continue;
    if (skip > 0) {
      skip--;
      continue;
    }
    size_t ul = (size_t)(buf + end - (sp + 1));
    while (ul > 0 && isspace((unsigned char)sp[ul]))
      ul--;
    pp_mail_msg *msg =
        add_msg(m, sp + 1, ul, (unsigned)strtoul(buf + off, NULL, 10));
    for (size_t i = 0; msg && i < m->nprev; i++)
      if (strcmp(m->prev[i].uid, msg->uid) == 0 &&
          m->prev[i].state != PP_MSG_UNKNOWN) {
        msg->expiry = m->prev[i].expiry;
        msg->state = m->prev[i].state == PP_MSG_OURS
                         ? PP_MSG_OURS
                         : pp_mail_judge_expiry(m, msg->expiry);
      }
  }
}

/* IMAP: each "* n FETCH (UID u BODY[...] {len} <header>)": u's token. */
static void parse_fetch(pp_mail_trip *m, const char *buf, size_t len) {
  size_t off = 0;
  while (off < len) {
    size_t end = next_line(buf, len, off), stop = end;
    /* the block runs to the next untagged line */
    while (stop < len &&
           !(buf[stop] == '*' && stop + 1 < len && buf[stop + 1] == ' '))
      stop = next_line(buf, len, stop);
    const char *u = memmem(buf + off, end - off, "UID ", 4);
    if (buf[off] == '*' && u != NULL) {
      size_t ul = 0;
      while (u + 4 + ul < buf + end && isdigit((unsigned char)u[4 + ul]))
        ul++;
      char token[PP_MAIL_TOKEN_MAX];
      bool has = find_token(buf + end, stop - end, token, sizeof(token));
      for (size_t i = 0; has && i < m->nmsgs; i++)
        if (strlen(m->msgs[i].uid) == ul &&
            memcmp(m->msgs[i].uid, u + 4, ul) == 0)
          judge(m, &m->msgs[i], token);
    }
    off = stop;
  }
}

/* --- LIST: the probe messages (IMAP) or every message (POP3) --- */

static void on_list_reply(dlg *d, const pp_reply *r) {
  pp_mail_trip *m = pp_mail_of(d->c);
  if (!said_yes(d, m, r))
    return;
  if (is_imap(d->step))
    parse_search(m, d->rbuf, r->len);
  else
    parse_uidl(m, d->rbuf, r->len);
  pp_dlg_consume(d, r->len);
  pp_dlg_next(d);
}

/* --- INSPECT and DELETE: a set at once (IMAP) or a message each (POP3) */

/* IMAP: the UIDs of the messages in one of two states, "4,17"; POP3: the
 * number of the next one from m->cursor. Returns false when there is none
 * (and rewinds the cursor for the next step). */
static bool pick(pp_mail_trip *m, bool imap, pp_msg_state a, pp_msg_state b) {
  size_t used = 0;
  m->arg[0] = 0;
  for (size_t i = imap ? 0 : m->cursor; i < m->nmsgs; i++) {
    const pp_mail_msg *msg = &m->msgs[i];
    if (msg->state != a && msg->state != b)
      continue;
    if (!imap) {
      m->cursor = i;
      snprintf(m->arg, sizeof(m->arg), "%u", msg->num);
      return true;
    }
    int w = snprintf(m->arg + used, sizeof(m->arg) - used, "%s%s",
                     used ? "," : "", msg->uid);
    if (w < 0 || (size_t)w >= sizeof(m->arg) - used)
      break; /* the rest waits for the next session */
    used += (size_t)w;
  }
  m->cursor = 0;
  return used > 0;
}

static void on_inspect_reply(dlg *d, const pp_reply *r) {
  pp_mail_trip *m = pp_mail_of(d->c);
  if (!said_yes(d, m, r))
    return;
  if (is_imap(d->step)) {
    parse_fetch(m, d->rbuf, r->len);
    for (size_t i = 0; i < m->nmsgs; i++)
      if (m->msgs[i].state == PP_MSG_UNKNOWN) /* listed, no token read */
        m->msgs[i].state = PP_MSG_KEEP;
  } else {
    char token[PP_MAIL_TOKEN_MAX];
    bool has = find_token(d->rbuf, r->len, token, sizeof(token));
    judge(m, &m->msgs[m->cursor++], has ? token : NULL);
  }
  pp_dlg_consume(d, r->len);
  if (is_imap(d->step))
    pp_dlg_next(d);
  else
    pp_dlg_run(d); /* the same step: the next message */
}

static void on_delete_reply(dlg *d, const pp_reply *r) {
  pp_mail_trip *m = pp_mail_of(d->c);
  if (!said_yes(d, m, r))
    return;
  pp_dlg_consume(d, r->len);
  if (is_imap(d->step)) {
    pp_dlg_next(d);
    return;
  }
  m->cursor++;
  pp_dlg_run(d);
}

static void after_inspect_sent(dlg *d) {
  pp_dlg_begin_read(d, d->step->frame, NULL, NULL, on_inspect_reply);
}

static void after_delete_sent(dlg *d) {
  pp_dlg_begin_read(d, d->step->frame, NULL, NULL, on_delete_reply);
}

static void after_list_sent(dlg *d) {
  pp_dlg_begin_read(d, d->step->frame, NULL, NULL, on_list_reply);
}

step_rc pp_dlg_mail_step(dlg *d, const pp_dstep *s) {
  pp_mail_trip *m = pp_mail_of(d->c);
  if (m == NULL) {
    pp_check_finish(d->c, PP_R_SOCKET_ERROR, "%s outside a mail round trip",
                    s->what);
    return STEP_WAIT;
  }
  bool imap = is_imap(s);
  switch (s->op) {
  case PP_DOP_MESSAGE:
    return message_step(d, m, s);
  case PP_DOP_LIST:
    m->arg[0] = 0;
    pp_check_phase(d->c, s->phase);
    pp_dlg_send_command(d, s, after_list_sent);
    return STEP_WAIT;
  case PP_DOP_INSPECT:
    if (!pick(m, imap, PP_MSG_UNKNOWN, PP_MSG_UNKNOWN))
      return STEP_SKIP;
    pp_check_phase(d->c, s->phase);
    pp_dlg_send_command(d, s, after_inspect_sent);
    return STEP_WAIT;
  case PP_DOP_DELETE:
    if (((s->flags & PP_DF_IF_REFUSED) && !m->refused) ||
        !pick(m, imap, PP_MSG_OURS, PP_MSG_STALE))
      return STEP_SKIP;
    pp_check_phase(d->c, s->phase);
    pp_dlg_send_command(d, s, after_delete_sent);
    return STEP_WAIT;
  default:
    return STEP_SKIP;
  }
}
