/* Protocol dialogs as data: a protocol is a table of steps (greeting,
 * command, STARTTLS, login, the user's send/expect, quit) that the dialog
 * engine (dialog.c) runs over a non-blocking socket, with TLS under it.
 * The tables live in protocols.c. Internal to the core. */
#ifndef PP_DIALOG_H
#define PP_DIALOG_H

#include "reply.h"
#include "result.h"
#include "target.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum {
  PP_DOP_GREETING, /* read the server's first reply */
  PP_DOP_COMMAND,  /* send, read one reply, judge it */
  PP_DOP_STARTTLS, /* if wanted and offered: command, then TLS handshake */
  PP_DOP_LOGIN,    /* the protocol's login steps, when username is set */
  PP_DOP_USER,     /* the user's send / expect steps, in order */
  PP_DOP_QUIT,     /* send, wait briefly for the reply; never a failure */
  /* the mail round trip's steps (dialog_mail.c): */
  PP_DOP_MESSAGE, /* after DATA: the message, then its reply */
  PP_DOP_LIST,    /* list the probe messages (IMAP SEARCH, POP3 UIDL) */
  PP_DOP_INSPECT, /* read the tokens of those not known yet (FETCH, TOP) */
  PP_DOP_DELETE,  /* delete ours and the stale ones (STORE, EXPUNGE, DELE) */
} pp_dop;

enum {
  PP_DF_CAPS = 1 << 0,       /* record capabilities from the reply */
  PP_DF_AFTER_TLS = 1 << 1,  /* only after a STARTTLS upgrade */
  PP_DF_TOLERANT = 1 << 2,   /* a negative reply is not a failure */
  PP_DF_SECRET = 1 << 3,     /* the command carries a credential */
  PP_DF_IF_BANNER = 1 << 4,  /* only when expect_banner is set */
  PP_DF_IF_REFUSED = 1 << 5, /* DELETE: only when the one before was refused */
  PP_DF_VERSION = 1 << 6,    /* expect's first group: the server's version */
};

/* One step. Command templates expand: %t a fresh IMAP tag, %e the EHLO
 * name, %u / %p the user and password, %q / %Q both as IMAP quoted strings,
 * %U / %P both in base64, %A the SASL PLAIN blob in base64, %% a '%'; in a
 * mail round trip %f / %r the sender and recipient, and %s the messages a
 * LIST, INSPECT or DELETE step is about: a UID set (IMAP, one command) or
 * one message number (POP3, a command per message). */
typedef struct {
  pp_dop op;
  const char *send;     /* command template, NULL: nothing sent */
  const char *what;     /* its name in messages: "EHLO", "LOGIN" */
  pp_frame frame;       /* how the reply is framed */
  pp_reply_status want; /* the status that goes on (UNKNOWN: any) */
  const char *expect;   /* regex the reply must match too, or NULL */
  pp_result_code fail;  /* the result when it does not */
  pp_phase phase;
  unsigned flags; /* PP_DF_* */
} pp_dstep;

typedef enum {
  PP_NEED_NOTHING,
  PP_NEED_AUTH_PLAIN, /* the capabilities offer AUTH PLAIN */
  PP_NEED_AUTH_LOGIN,
} pp_login_need;

/* A way to log in: its steps and what the server must offer for it. */
typedef struct {
  const char *mechanism; /* "plain", "login"; matches auth_mechanism */
  pp_login_need need;
  const pp_dstep *steps;
  size_t nsteps;
} pp_login;

typedef struct pp_protocol {
  const char *scheme;
  const pp_dstep *steps;
  size_t nsteps;
  const pp_login *logins; /* tried in order when auth_mechanism is auto */
  size_t nlogins;
  pp_frame user_frame; /* how the user's expect steps read a reply */
  bool has_ehlo;       /* the ehlo option means something */
} pp_protocol;

/* The header that carries a mail round trip's token. Every token starts
 * "pp1-<unix time its sender gives up>-", so that any probe can tell a
 * message still awaited from one left behind. */
#define PP_MAIL_HEADER "X-Portprobe-Token"
#define PP_MAIL_TOKEN_PREFIX "pp1-"

/* The step table target t runs: its scheme's, or a mail round trip's leg
 * (the SMTP one with the message, the mailbox one that finds it). */
const pp_protocol *pp_protocol_of(const pp_target *t);

/* Checks the dialog options of a target against its protocol (login only
 * where there is one, never a password in clear text unless allowed...).
 * The dialog kind's validate hook; -1 with a message naming the target. */
int pp_dialog_validate(const pp_target *t, char *err, size_t errlen);

#endif
