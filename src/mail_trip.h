/* The mail round trip: what its parent check (mail_trip.c: the SMTP leg,
 * then mailbox sessions until the message is found) shares with the dialog
 * steps that send the message and look for it (dialog_mail.c). Internal to
 * the core. */
#ifndef PP_MAIL_TRIP_H
#define PP_MAIL_TRIP_H

#include "check_core.h"
#include "dialog.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PP_MAIL_TOKEN_MAX 64

/* Messages one mailbox session looks at, at most. */
#define PP_MAIL_MAX_MSGS 256

typedef enum {
  PP_MSG_UNKNOWN, /* listed, its token not read yet */
  PP_MSG_OURS,    /* this round's message: found */
  PP_MSG_STALE,   /* a probe message its sender gave up on long ago */
  PP_MSG_KEEP,    /* another probe's message still awaited, or no probe's */
} pp_msg_state;

/* A message of the mailbox: IMAP by UID, POP3 by its UIDL unique-id and
 * its number in this session. */
typedef struct {
  char uid[72];
  unsigned num;
  int64_t expiry; /* from its token: when its sender gave up */
  pp_msg_state state;
} pp_mail_msg;

typedef struct pp_mail_trip {
  pp_check *c; /* the round trip's own check */
  pp_check leg;
  pp_result leg_res;
  pp_timer poll; /* the next mailbox session */
  char token[PP_MAIL_TOKEN_MAX];
  const char *from, *to;
  char from_buf[300];
  char *message; /* DATA: headers, body, dot-stuffed, ending CRLF.CRLF */
  size_t message_len;
  uint64_t accepted_us; /* the 250 to the message */
  uint64_t seen_us;     /* the session that read our token */
  uint64_t delivery_deadline_us;
  uint64_t next_delay_us;
  int64_t grace_s; /* a stale message: its sender's give-up time + this */
  unsigned sessions;
  size_t removed_stale;
  /* the current mailbox session */
  bool found;
  bool refused; /* a tolerant step (UID EXPUNGE) was refused */
  pp_mail_msg msgs[PP_MAIL_MAX_MSGS], prev[PP_MAIL_MAX_MSGS];
  size_t nmsgs, nprev;
  size_t cursor;  /* POP3: the message a per-message step is at */
  char arg[4096]; /* what %s stands for in the step being sent */
} pp_mail_trip;

/* Checks a target's round trip options (mail_to, fetch, ...) and makes
 * t->fetch, the mailbox target, when it has them; when finalized. -1 with
 * a message naming the target and the key. */
int pp_mail_prepare(pp_target *t, char *err, size_t errlen);

/* The round trip check c is a leg of, or NULL. */
pp_mail_trip *pp_mail_of(const pp_check *c);

/* What a token says: its sender's give-up time; -1 when it is no probe
 * token. */
int64_t pp_mail_token_expiry(const char *token);

/* Judges a message's token: ours, stale (its sender gave up more than the
 * grace ago) or to be kept (NULL: no token, no probe's message). */
pp_msg_state pp_mail_judge(const pp_mail_trip *m, const char *token);
/* The same for another probe's message whose give-up time is known. */
pp_msg_state pp_mail_judge_expiry(const pp_mail_trip *m, int64_t expiry);

#endif
