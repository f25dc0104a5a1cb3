/* What the dialog engine's three files share: the state of a dialog per
 * engine, per target and per check, and what each file offers the others.
 * dialog.c runs the steps, dialog_io.c moves bytes (and TLS) under them,
 * dialog_login.c handles credentials. Internal to the dialog engine. */
#ifndef PP_DIALOG_INT_H
#define PP_DIALOG_INT_H

#include "check_core.h"
#include "dialog.h"
#include "tls.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JUDGE_MARGIN_US 2000 /* a raw expect is judged before timeout */
#define EXCERPT_SCAN 512     /* bytes looked at for an excerpt */
#define PASSWORD_MAX 1024    /* bytes of a password file's first line */
/* The longest form of a secret: the quoted password, each byte escaped. */
#define SECRET_FORM_MAX (2 * PASSWORD_MAX)

/* The forms a password is sent in, each scrubbed from what is shown. */
enum {
  SECRET_RAW,    /* the password (POP3 PASS) */
  SECRET_B64,    /* its base64 (SMTP AUTH LOGIN) */
  SECRET_PLAIN,  /* base64 of the SASL PLAIN blob (SMTP AUTH PLAIN) */
  SECRET_QUOTED, /* IMAP quoted string, without its quotes (IMAP LOGIN) */
  SECRET_FORMS
};

/* --- per engine: what every dialog target shares ---
 * The protocols' own regexes (compiled once per protocol, not per target),
 * one match context and one match data (matching is synchronous, on the
 * engine's thread), the EHLO name from gethostname, the TLS contexts. */

typedef struct proto_res {
  const pp_protocol *proto;
  pcre2_code **re; /* per protocol step; NULL where none */
  struct proto_res *next;
} proto_res;

typedef struct {
  pp_tls_ctxs *tls; /* made at the first handshake */
  pcre2_match_context *mctx;
  pcre2_match_data *md;
  proto_res *protos;
  char hostname[256];
} dlg_engine;

/* --- per target: what the target itself adds, kept across rounds --- */

typedef struct {
  const pp_protocol *proto;
  pcre2_code *banner;   /* expect_banner */
  pcre2_code **user_re; /* per user step, NULL for sends; NULL if no steps */
  size_t nuser;
  bool warned_password_mode; /* said once that password_file is not private */
} plan;

/* --- per check --- */

typedef enum { IO_IDLE, IO_HANDSHAKE, IO_WRITE, IO_READ } io_state;
typedef enum { STEP_SKIP, STEP_WAIT, STEP_AGAIN } step_rc;

typedef struct dlg dlg;
typedef void (*reply_fn)(dlg *d, const pp_reply *r);

struct dlg {
  pp_check *c;
  const pp_target *t;
  plan *pl;
  dlg_engine *de;
  pcre2_code **proto_re; /* the protocol's step regexes (engine's) */
  const char *ehlo;
  /* where the dialog is: the main table, or a login's steps */
  const pp_dstep *steps;
  size_t nsteps, i;
  size_t main_i; /* the LOGIN step to resume after */
  bool in_login, quitting;
  size_t ui; /* the next user step */
  const pp_dstep *step;
  /* I/O */
  io_state io;
  unsigned gen; /* changes whenever a read, write or handshake begins */
  unsigned watching;
  pp_tls *tls;
  bool tls_on, upgraded;
  uint64_t t0_us, hs_start_us;
  int sys_errno;
  char *rbuf;
  size_t rlen, rcap; /* rcap: max_reply, the most rbuf may grow to */
  size_t rsize;      /* bytes allocated at rbuf: grows up to rcap */
  size_t rhigh;      /* most of rbuf ever written: what cleanup must wipe */
  char *wbuf;
  size_t wlen, woff;
  bool wsecret;
  void (*after_write)(dlg *d);
  pp_frame frame;
  pp_reply_cursor cur; /* where the reply's parse stopped */
  size_t re_from;      /* RAW: no match can start before this */
  size_t re_seen;      /* RAW: rlen when the regex last ran */
  pcre2_code *re;      /* what a RAW read waits for */
  const char *re_text;
  reply_fn on_reply;
  bool got_byte;
  pp_timer judge;
  /* what the server offered and said */
  pp_caps caps;
  bool preauth;
  char tag[16];
  unsigned tagn;
  char *last; /* the last complete reply, for failures (EXCERPT_SCAN) */
  size_t lastlen, lastcap;
  bool excerpt_set, excerpt_final;
  char note[PP_DETAIL_MAX];
  /* credentials and their encodings, wiped when the check ends */
  char *secret[SECRET_FORMS];
  size_t traced; /* rbuf[0..traced) is in the trace already */
  /* a binary protocol over this I/O (check_wire.c): its framing, what
   * follows a TLS handshake, and its state; NULL for text dialogs */
  pp_reply_state (*framer)(dlg *d, pp_reply *out);
  void (*after_tls)(dlg *d);
  void *wire;
};

/* --- the step loop (dialog.c) --- */

/* The dialog state every dialog check of engine e shares; NULL when out of
 * memory. Made at first use, freed with the engine. */
dlg_engine *pp_dlg_engine(pp_engine *e);
/* The I/O state of a check whose c->fd is connected (the reply buffer
 * bounded by max_reply); NULL when out of memory. Freed by pp_dlg_free,
 * which wipes what was read and the credentials. */
dlg *pp_dlg_new(pp_check *c);
void pp_dlg_free(dlg *d);
/* A regular expression as dialogs match them: multi-line, CR LF line ends,
 * raw bytes. NULL and *ok false when it does not compile. */
pcre2_code *pp_dlg_compile(const char *pattern, bool *ok);

/* Runs steps from d->i until one waits for I/O or the check ends. */
void pp_dlg_run(dlg *d);
/* The current step is done: runs the next. */
void pp_dlg_next(dlg *d);
/* Adds a remark to the detail of a successful check ("; " between). */
void pp_dlg_note(dlg *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void pp_dlg_finish_ok(dlg *d);
/* Ends the check; data (may be NULL) becomes the excerpt. */
void pp_dlg_fail_with(dlg *d, const char *data, size_t len, pp_result_code code,
                      const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* After a step's command is sent: read and judge its reply. */
void pp_dlg_after_command_sent(dlg *d);
/* A reply's status as the server wrote it: "554", "-ERR", "NO". */
const char *pp_dlg_status_words(pp_frame frame, const pp_reply *r, char *buf,
                                size_t len);

/* --- I/O and TLS (dialog_io.c) --- */

/* Sends buf (taken over, wiped after if secret), then calls after. */
void pp_dlg_begin_write(dlg *d, char *buf, size_t len, bool secret,
                        void (*after)(dlg *d));
void pp_dlg_drop_wbuf(dlg *d);
/* Reads a reply of the given frame (or, for RAW, until re matches), then
 * calls fn with the reply still at the start of rbuf. */
void pp_dlg_begin_read(dlg *d, pp_frame frame, pcre2_code *re,
                       const char *re_text, reply_fn fn);
/* Drops len bytes (a judged reply) from the start of rbuf. */
void pp_dlg_consume(dlg *d, size_t len);
/* 1 matched (end of match in *end), 0 not, -1 the match limit was hit. */
int pp_dlg_re_match(dlg *d, pcre2_code *re, const char *s, size_t len,
                    size_t *end);
/* The judge timer: a RAW expect that heard words but no match. */
void pp_dlg_on_judge(pp_loop *loop, pp_timer *t, void *ud);
/* TLS on the connection (implicit, or after STARTTLS); runs the dialog on
 * when the handshake is done and verified. */
void pp_dlg_begin_handshake(dlg *d);
/* The engine's TLS contexts, made at first use; NULL when out of memory. */
pp_tls_ctxs *pp_dlg_tls_ctxs(dlg_engine *de);
/* The STARTTLS step: skipped, refused or sent as the options say. */
step_rc pp_dlg_starttls_begin(dlg *d, const pp_dstep *s);
void pp_dlg_starttls_reply(dlg *d, const pp_reply *r, bool positive);

/* --- credentials and what may show them (dialog_login.c) --- */

/* Expands the step's command template and sends it, then calls after; the
 * trace shows it with credentials masked. */
void pp_dlg_send_command(dlg *d, const pp_dstep *s, void (*after)(dlg *d));
/* The LOGIN step: enters the chosen login's steps, or skips or fails. */
step_rc pp_dlg_login_begin(dlg *d);
/* Sets the result's excerpt from data, secrets scrubbed. */
void pp_dlg_excerpt_from(dlg *d, const char *data, size_t len);
/* Logs what the client ("C") or server ("S") said, secrets scrubbed. */
void pp_dlg_trace(dlg *d, const char *who, const char *data, size_t len);
/* Logs the server's complete lines not yet traced, rbuf[from..rlen) being
 * what the last read brought (with all, whatever is left of rbuf): a secret
 * never spans lines, so an echo split over reads is scrubbed whole. */
void pp_dlg_trace_read(dlg *d, size_t from, bool all);
/* Wipes and frees the credentials read for this check. */
void pp_dlg_wipe_secrets(dlg *d);
/* Reads the first line of password_file into d->secret[SECRET_RAW] (with
 * its other forms beside it, all scrubbed from what is shown). -1 with the
 * reason in why. */
int pp_dlg_read_password(dlg *d, char *why, size_t whylen);

/* --- the mail round trip's steps (dialog_mail.c) --- */

/* A MESSAGE, LIST, INSPECT or DELETE step. */
step_rc pp_dlg_mail_step(dlg *d, const pp_dstep *s);
/* What %f, %r and %s stand for ("" outside a round trip), and how long
 * they are together, for the template expansion. */
const char *pp_dlg_mail_text(dlg *d, char c);
size_t pp_dlg_mail_len(dlg *d);

#endif
