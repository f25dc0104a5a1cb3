/* The protocols portprobe speaks, as step tables for the dialog engine.
 * Adding a protocol is adding a table here and a scheme in target.c. */
#include "dialog.h"

#include <stdio.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* --- SMTP (RFC 5321, 3207 STARTTLS, 4954 AUTH): smtp, submission, smtps */

static const pp_dstep smtp_steps[] = {
    {PP_DOP_GREETING, NULL, "greeting", PP_FRAME_SMTP, PP_RS_OK, NULL,
     PP_R_BANNER_MISMATCH, PP_PHASE_BANNER, 0},
    {PP_DOP_COMMAND, "EHLO %e\r\n", "EHLO", PP_FRAME_SMTP, PP_RS_OK, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, PP_DF_CAPS},
    {PP_DOP_STARTTLS, "STARTTLS\r\n", "STARTTLS", PP_FRAME_SMTP, PP_RS_OK, NULL,
     PP_R_STARTTLS_UNAVAILABLE, PP_PHASE_STARTTLS, 0},
    {PP_DOP_COMMAND, "EHLO %e\r\n", "EHLO", PP_FRAME_SMTP, PP_RS_OK, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, PP_DF_CAPS | PP_DF_AFTER_TLS},
    {PP_DOP_LOGIN, NULL, "login", PP_FRAME_SMTP, PP_RS_OK, NULL,
     PP_R_AUTH_FAILED, PP_PHASE_AUTH, 0},
    {PP_DOP_USER, NULL, "expect", PP_FRAME_SMTP, PP_RS_UNKNOWN, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, 0},
    {PP_DOP_QUIT, "QUIT\r\n", "QUIT", PP_FRAME_SMTP, PP_RS_OK, NULL, PP_R_OK,
     PP_PHASE_DIALOG, 0},
};

static const pp_dstep smtp_auth_plain[] = {
    {PP_DOP_COMMAND, "AUTH PLAIN %A\r\n", "AUTH PLAIN", PP_FRAME_SMTP, PP_RS_OK,
     NULL, PP_R_AUTH_FAILED, PP_PHASE_AUTH, PP_DF_SECRET},
};

static const pp_dstep smtp_auth_login[] = {
    {PP_DOP_COMMAND, "AUTH LOGIN\r\n", "AUTH LOGIN", PP_FRAME_SMTP, PP_RS_MORE,
     NULL, PP_R_AUTH_FAILED, PP_PHASE_AUTH, 0},
    {PP_DOP_COMMAND, "%U\r\n", "AUTH LOGIN user name", PP_FRAME_SMTP,
     PP_RS_MORE, NULL, PP_R_AUTH_FAILED, PP_PHASE_AUTH, 0},
    {PP_DOP_COMMAND, "%P\r\n", "AUTH LOGIN password", PP_FRAME_SMTP, PP_RS_OK,
     NULL, PP_R_AUTH_FAILED, PP_PHASE_AUTH, PP_DF_SECRET},
};

static const pp_login smtp_logins[] = {
    {"plain", PP_NEED_AUTH_PLAIN, smtp_auth_plain, N(smtp_auth_plain)},
    {"login", PP_NEED_AUTH_LOGIN, smtp_auth_login, N(smtp_auth_login)},
};

/* --- IMAP (RFC 3501): imap, imaps */

static const pp_dstep imap_steps[] = {
    {PP_DOP_GREETING, NULL, "greeting", PP_FRAME_IMAP_GREETING, PP_RS_OK, NULL,
     PP_R_BANNER_MISMATCH, PP_PHASE_BANNER, PP_DF_CAPS},
    {PP_DOP_COMMAND, "%t CAPABILITY\r\n", "CAPABILITY", PP_FRAME_IMAP_TAGGED,
     PP_RS_OK, NULL, PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, PP_DF_CAPS},
    {PP_DOP_STARTTLS, "%t STARTTLS\r\n", "STARTTLS", PP_FRAME_IMAP_TAGGED,
     PP_RS_OK, NULL, PP_R_STARTTLS_UNAVAILABLE, PP_PHASE_STARTTLS, 0},
    {PP_DOP_COMMAND, "%t CAPABILITY\r\n", "CAPABILITY", PP_FRAME_IMAP_TAGGED,
     PP_RS_OK, NULL, PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG,
     PP_DF_CAPS | PP_DF_AFTER_TLS},
    {PP_DOP_LOGIN, NULL, "login", PP_FRAME_IMAP_TAGGED, PP_RS_OK, NULL,
     PP_R_AUTH_FAILED, PP_PHASE_AUTH, 0},
    {PP_DOP_USER, NULL, "expect", PP_FRAME_RAW, PP_RS_UNKNOWN, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, 0},
    {PP_DOP_QUIT, "%t LOGOUT\r\n", "LOGOUT", PP_FRAME_IMAP_TAGGED, PP_RS_OK,
     NULL, PP_R_OK, PP_PHASE_DIALOG, 0},
};

static const pp_dstep imap_login_steps[] = {
    {PP_DOP_COMMAND, "%t LOGIN %q %Q\r\n", "LOGIN", PP_FRAME_IMAP_TAGGED,
     PP_RS_OK, NULL, PP_R_AUTH_FAILED, PP_PHASE_AUTH, PP_DF_SECRET},
};

static const pp_login imap_logins[] = {
    {"login", PP_NEED_NOTHING, imap_login_steps, N(imap_login_steps)},
};

/* --- POP3 (RFC 1939, 2449 CAPA, 2595 STLS): pop3, pop3s */

static const pp_dstep pop3_steps[] = {
    {PP_DOP_GREETING, NULL, "greeting", PP_FRAME_POP3, PP_RS_OK, NULL,
     PP_R_BANNER_MISMATCH, PP_PHASE_BANNER, 0},
    /* servers before RFC 2449 answer CAPA with -ERR: they offer no STLS */
    {PP_DOP_COMMAND, "CAPA\r\n", "CAPA", PP_FRAME_POP3_MULTI, PP_RS_OK, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, PP_DF_CAPS | PP_DF_TOLERANT},
    {PP_DOP_STARTTLS, "STLS\r\n", "STLS", PP_FRAME_POP3, PP_RS_OK, NULL,
     PP_R_STARTTLS_UNAVAILABLE, PP_PHASE_STARTTLS, 0},
    {PP_DOP_COMMAND, "CAPA\r\n", "CAPA", PP_FRAME_POP3_MULTI, PP_RS_OK, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG,
     PP_DF_CAPS | PP_DF_TOLERANT | PP_DF_AFTER_TLS},
    {PP_DOP_LOGIN, NULL, "login", PP_FRAME_POP3, PP_RS_OK, NULL,
     PP_R_AUTH_FAILED, PP_PHASE_AUTH, 0},
    {PP_DOP_USER, NULL, "expect", PP_FRAME_RAW, PP_RS_UNKNOWN, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, 0},
    {PP_DOP_QUIT, "QUIT\r\n", "QUIT", PP_FRAME_POP3, PP_RS_OK, NULL, PP_R_OK,
     PP_PHASE_DIALOG, 0},
};

static const pp_dstep pop3_login_steps[] = {
    {PP_DOP_COMMAND, "USER %u\r\n", "USER", PP_FRAME_POP3, PP_RS_OK, NULL,
     PP_R_AUTH_FAILED, PP_PHASE_AUTH, 0},
    {PP_DOP_COMMAND, "PASS %p\r\n", "PASS", PP_FRAME_POP3, PP_RS_OK, NULL,
     PP_R_AUTH_FAILED, PP_PHASE_AUTH, PP_DF_SECRET},
};

static const pp_login pop3_logins[] = {
    {"user", PP_NEED_NOTHING, pop3_login_steps, N(pop3_login_steps)},
};

/* --- presets --- */

/* RFC 4253: "SSH-protoversion-softwareversion" */
static const pp_dstep ssh_steps[] = {
    {PP_DOP_GREETING, NULL, "banner", PP_FRAME_LINE, PP_RS_UNKNOWN,
     "^SSH-[0-9]+\\.[0-9]+-", PP_R_BANNER_MISMATCH, PP_PHASE_BANNER, 0},
    {PP_DOP_USER, NULL, "expect", PP_FRAME_RAW, PP_RS_UNKNOWN, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, 0},
};

static const pp_dstep ftp_steps[] = {
    {PP_DOP_GREETING, NULL, "greeting", PP_FRAME_FTP, PP_RS_OK, NULL,
     PP_R_BANNER_MISMATCH, PP_PHASE_BANNER, 0},
    {PP_DOP_USER, NULL, "expect", PP_FRAME_FTP, PP_RS_UNKNOWN, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, 0},
    {PP_DOP_QUIT, "QUIT\r\n", "QUIT", PP_FRAME_FTP, PP_RS_OK, NULL, PP_R_OK,
     PP_PHASE_DIALOG, 0},
};

/* Redis greets nobody: PING is its first word */
static const pp_dstep redis_steps[] = {
    {PP_DOP_COMMAND, "PING\r\n", "PING", PP_FRAME_LINE, PP_RS_UNKNOWN,
     "^\\+PONG$", PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, 0},
    {PP_DOP_USER, NULL, "expect", PP_FRAME_RAW, PP_RS_UNKNOWN, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, 0},
    {PP_DOP_QUIT, "QUIT\r\n", "QUIT", PP_FRAME_LINE, PP_RS_UNKNOWN, NULL,
     PP_R_OK, PP_PHASE_DIALOG, 0},
};

/* tcp (with send/expect) and tls: the user's steps are the dialog */
static const pp_dstep raw_steps[] = {
    {PP_DOP_GREETING, NULL, "banner", PP_FRAME_RAW, PP_RS_UNKNOWN, NULL,
     PP_R_BANNER_MISMATCH, PP_PHASE_BANNER, PP_DF_IF_BANNER},
    {PP_DOP_USER, NULL, "expect", PP_FRAME_RAW, PP_RS_UNKNOWN, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, 0},
};

#define SMTPISH(name)                                                          \
  {                                                                            \
    name, smtp_steps, N(smtp_steps), smtp_logins, N(smtp_logins),              \
        PP_FRAME_SMTP, true                                                    \
  }

static const pp_protocol protocols[] = {
    SMTPISH("smtp"),
    SMTPISH("submission"),
    SMTPISH("smtps"),
    {"imap", imap_steps, N(imap_steps), imap_logins, N(imap_logins),
     PP_FRAME_RAW, false},
    {"imaps", imap_steps, N(imap_steps), imap_logins, N(imap_logins),
     PP_FRAME_RAW, false},
    {"pop3", pop3_steps, N(pop3_steps), pop3_logins, N(pop3_logins),
     PP_FRAME_RAW, false},
    {"pop3s", pop3_steps, N(pop3_steps), pop3_logins, N(pop3_logins),
     PP_FRAME_RAW, false},
    {"ssh", ssh_steps, N(ssh_steps), NULL, 0, PP_FRAME_RAW, false},
    {"ftp", ftp_steps, N(ftp_steps), NULL, 0, PP_FRAME_FTP, false},
    {"redis", redis_steps, N(redis_steps), NULL, 0, PP_FRAME_RAW, false},
    {"tcp", raw_steps, N(raw_steps), NULL, 0, PP_FRAME_RAW, false},
    {"tls", raw_steps, N(raw_steps), NULL, 0, PP_FRAME_RAW, false},
};

const pp_protocol *pp_protocol_find(const char *scheme) {
  for (size_t i = 0; i < N(protocols); i++)
    if (strcmp(protocols[i].scheme, scheme) == 0)
      return &protocols[i];
  return NULL;
}

int pp_dialog_validate(const pp_target *t, char *err, size_t errlen) {
  const pp_opts *o = &t->opts;
  const char *name = pp_target_name(t);
  const pp_protocol *p = pp_protocol_find(t->scheme->name);
  if (p == NULL) {
    snprintf(err, errlen, "target \"%s\": %s has no dialog", name,
             t->scheme->name);
    return -1;
  }
  if (o->username != NULL && p->nlogins == 0) {
    snprintf(err, errlen,
             "target \"%s\": username and password_file apply to smtp, "
             "submission, smtps, imap, imaps, pop3 and pop3s targets",
             name);
    return -1;
  }
  if (o->username != NULL && t->scheme->tls == PP_TLS_STARTTLS &&
      t->starttls == PP_STARTTLS_NO && !o->auth_plaintext) {
    snprintf(err, errlen,
             "target \"%s\": with starttls=no the password would travel in "
             "clear text; use starttls=try or require, or set "
             "auth_plaintext=yes",
             name);
    return -1;
  }
  if (o->expect_banner.pattern != NULL && p->steps[0].op != PP_DOP_GREETING) {
    snprintf(err, errlen,
             "target \"%s\": option \"expect_banner\" does not apply: %s "
             "servers send no greeting",
             name, t->scheme->name);
    return -1;
  }
  if (o->auth_mechanism != PP_AUTH_AUTO && !p->has_ehlo) {
    snprintf(err, errlen,
             "target \"%s\": option \"auth_mechanism\" applies to SMTP "
             "targets only",
             name);
    return -1;
  }
  if (o->ehlo != NULL && !p->has_ehlo) {
    snprintf(err, errlen,
             "target \"%s\": option \"ehlo\" applies to smtp, submission and "
             "smtps targets only",
             name);
    return -1;
  }
  return 0;
}
