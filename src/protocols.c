/* The protocols portprobe speaks, as step tables for the dialog engine, and
 * the scheme table that names them. Adding a protocol is adding its table
 * and a scheme row here. */
#include "dialog.h"
#include "wire.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

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

/* memcached's text protocol: "version" answers "VERSION 1.6.18" */
static const pp_dstep memcached_steps[] = {
    {PP_DOP_COMMAND, "version\r\n", "version", PP_FRAME_LINE, PP_RS_UNKNOWN,
     "^VERSION ([!-~]+)", PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, PP_DF_VERSION},
    {PP_DOP_USER, NULL, "expect", PP_FRAME_RAW, PP_RS_UNKNOWN, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, 0},
    {PP_DOP_QUIT, "quit\r\n", "quit", PP_FRAME_LINE, PP_RS_UNKNOWN, NULL,
     PP_R_OK, PP_PHASE_DIALOG, 0},
};

/* tcp (with send/expect) and tls: the user's steps are the dialog */
static const pp_dstep raw_steps[] = {
    {PP_DOP_GREETING, NULL, "banner", PP_FRAME_RAW, PP_RS_UNKNOWN, NULL,
     PP_R_BANNER_MISMATCH, PP_PHASE_BANNER, PP_DF_IF_BANNER},
    {PP_DOP_USER, NULL, "expect", PP_FRAME_RAW, PP_RS_UNKNOWN, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, 0},
};

/* One protocol per step table; schemes that differ only in TLS share one. */
static const pp_protocol smtp = {"smtp",      smtp_steps,     N(smtp_steps),
                                 smtp_logins, N(smtp_logins), PP_FRAME_SMTP,
                                 true};
static const pp_protocol imap = {"imap",      imap_steps,     N(imap_steps),
                                 imap_logins, N(imap_logins), PP_FRAME_RAW,
                                 false};
static const pp_protocol pop3 = {"pop3",      pop3_steps,     N(pop3_steps),
                                 pop3_logins, N(pop3_logins), PP_FRAME_RAW,
                                 false};
static const pp_protocol ssh = {"ssh", ssh_steps,    N(ssh_steps), NULL,
                                0,     PP_FRAME_RAW, false};
static const pp_protocol ftp = {"ftp", ftp_steps,    N(ftp_steps), NULL,
                                0,     PP_FRAME_FTP, false};
static const pp_protocol redis = {"redis", redis_steps,  N(redis_steps), NULL,
                                  0,       PP_FRAME_RAW, false};
static const pp_protocol raw = {"tcp", raw_steps,    N(raw_steps), NULL,
                                0,     PP_FRAME_RAW, false};
static const pp_protocol memcached = {
    "memcached", memcached_steps, N(memcached_steps), NULL, 0, PP_FRAME_RAW,
    false};

/* --- the schemes: a URL's scheme names its kind, TLS mode and protocol */

#define NONE PP_TLS_NONE
#define IMPL PP_TLS_IMPLICIT
#define STLS PP_TLS_STARTTLS
#define TRY PP_STARTTLS_TRY
#define REQ PP_STARTTLS_REQUIRE

const pp_scheme pp_schemes[] = {
    /* name, port, TLS, STARTTLS default, kind, service, protocol, alias,
       codec */
    {"tcp", 0, NONE, 0, PP_KIND_TCP, "tcp", &raw, NULL, NULL},
    {"tls", 0, IMPL, 0, PP_KIND_DIALOG, "tls", &raw, NULL, NULL},
    {"smtp", 25, STLS, TRY, PP_KIND_DIALOG, "smtp", &smtp, NULL, NULL},
    {"submission", 587, STLS, REQ, PP_KIND_DIALOG, "submission", &smtp, NULL,
     NULL},
    {"smtps", 465, IMPL, 0, PP_KIND_DIALOG, "smtps", &smtp, NULL, NULL},
    {"imap", 143, STLS, TRY, PP_KIND_DIALOG, "imap", &imap, NULL, NULL},
    {"imaps", 993, IMPL, 0, PP_KIND_DIALOG, "imaps", &imap, NULL, NULL},
    {"pop3", 110, STLS, TRY, PP_KIND_DIALOG, "pop3", &pop3, NULL, NULL},
    {"pop3s", 995, IMPL, 0, PP_KIND_DIALOG, "pop3s", &pop3, NULL, NULL},
    {"http", 80, NONE, 0, PP_KIND_HTTP, "http", NULL, NULL, NULL},
    {"https", 443, IMPL, 0, PP_KIND_HTTP, "https", NULL, NULL, NULL},
    {"ssh", 22, NONE, 0, PP_KIND_DIALOG, "ssh", &ssh, NULL, NULL},
    {"ftp", 21, NONE, 0, PP_KIND_DIALOG, "ftp", &ftp, NULL, NULL},
    {"redis", 6379, NONE, 0, PP_KIND_DIALOG, "redis", &redis, NULL, NULL},
    {"icmp", 0, NONE, 0, PP_KIND_ICMP, "icmp", NULL, "ping", NULL},
    {"dns", 53, NONE, 0, PP_KIND_DNS, "dns", NULL, NULL, NULL},
    /* databases, directories and other services (wire.h codecs) */
    {"postgres", 5432, STLS, TRY, PP_KIND_WIRE, "postgres", NULL, "postgresql",
     &pp_wire_postgres},
    {"mysql", 3306, STLS, TRY, PP_KIND_WIRE, "mysql", NULL, "mariadb",
     &pp_wire_mysql},
    {"mongodb", 27017, NONE, 0, PP_KIND_WIRE, "mongodb", NULL, NULL,
     &pp_wire_mongodb},
    {"mongodbs", 27017, IMPL, 0, PP_KIND_WIRE, "mongodbs", NULL, NULL,
     &pp_wire_mongodb},
    {"ldap", 389, STLS, TRY, PP_KIND_WIRE, "ldap", NULL, NULL, &pp_wire_ldap},
    {"ldaps", 636, IMPL, 0, PP_KIND_WIRE, "ldaps", NULL, NULL, &pp_wire_ldap},
    {"mssql", 1433, NONE, 0, PP_KIND_WIRE, "mssql", NULL, NULL, &pp_wire_mssql},
    {"memcached", 11211, NONE, 0, PP_KIND_DIALOG, "memcached", &memcached, NULL,
     NULL},
    {"udp", 0, NONE, 0, PP_KIND_UDP, "udp", NULL, NULL, NULL},
    {"ntp", 123, NONE, 0, PP_KIND_UDP, "ntp", NULL, NULL, &pp_wire_ntp},
};
const size_t pp_schemes_count = N(pp_schemes);

const pp_scheme *pp_scheme_find(const char *name) {
  for (size_t i = 0; i < pp_schemes_count; i++)
    if (strcasecmp(pp_schemes[i].name, name) == 0 ||
        (pp_schemes[i].alias && strcasecmp(pp_schemes[i].alias, name) == 0))
      return &pp_schemes[i];
  return NULL;
}

size_t pp_scheme_names(char *buf, size_t len,
                       bool (*want)(const pp_scheme *s)) {
  size_t n = 0, used = 0;
  if (len > 0)
    buf[0] = 0;
  for (size_t i = 0; i < pp_schemes_count; i++) {
    const pp_scheme *s = &pp_schemes[i];
    if (want != NULL && !want(s))
      continue;
    int w = snprintf(buf + used, len - used, "%s%s", n ? ", " : "", s->name);
    if (w > 0 && s->alias && (size_t)w < len - used)
      w += snprintf(buf + used + w, len - used - (size_t)w, " (or %s)",
                    s->alias);
    if (w < 0 || (size_t)w >= len - used)
      break;
    used += (size_t)w;
    n++;
  }
  return n;
}

/* --- what the dialog options need of a protocol --- */

bool pp_scheme_takes_login(const pp_scheme *s) {
  return (s->kind == PP_KIND_DIALOG && s->protocol &&
          s->protocol->nlogins > 0) ||
         (s->wire != NULL && (s->wire->takes & PP_WIRE_TAKES_LOGIN));
}

static bool has_ehlo(const pp_scheme *s) {
  return s->kind == PP_KIND_DIALOG && s->protocol && s->protocol->has_ehlo;
}

int pp_dialog_validate(const pp_target *t, char *err, size_t errlen) {
  const pp_opts *o = t->opts;
  const char *name = pp_target_name(t);
  const pp_protocol *p = t->scheme->protocol;
  char list[256];
  if (p == NULL) {
    snprintf(err, errlen, "target \"%s\": %s has no dialog", name,
             t->scheme->name);
    return -1;
  }
  if (o->username != NULL && p->nlogins == 0) {
    pp_scheme_names(list, sizeof(list), pp_scheme_takes_login);
    snprintf(err, errlen,
             "target \"%s\": username and password_file apply to %s targets",
             name, list);
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
  if ((o->auth_mechanism != PP_AUTH_AUTO || o->ehlo != NULL) && !p->has_ehlo) {
    pp_scheme_names(list, sizeof(list), has_ehlo);
    snprintf(err, errlen,
             "target \"%s\": option \"%s\" applies to %s targets only", name,
             o->ehlo != NULL ? "ehlo" : "auth_mechanism", list);
    return -1;
  }
  return 0;
}

/* --- the mail round trip's legs (mail_trip.c, dialog_mail.c) --- */

/* SMTP as usual, then the message: MAIL FROM, RCPT TO, DATA (354), the
 * message (250); every refusal in the server's words. */
static const pp_dstep smtp_trip_steps[] = {
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
    {PP_DOP_COMMAND, "MAIL FROM:<%f>\r\n", "MAIL FROM", PP_FRAME_SMTP, PP_RS_OK,
     NULL, PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, 0},
    {PP_DOP_COMMAND, "RCPT TO:<%r>\r\n", "RCPT TO", PP_FRAME_SMTP, PP_RS_OK,
     NULL, PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, 0},
    {PP_DOP_COMMAND, "DATA\r\n", "DATA", PP_FRAME_SMTP, PP_RS_MORE, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, 0},
    {PP_DOP_MESSAGE, NULL, "the message", PP_FRAME_SMTP, PP_RS_OK, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, 0},
    {PP_DOP_QUIT, "QUIT\r\n", "QUIT", PP_FRAME_SMTP, PP_RS_OK, NULL, PP_R_OK,
     PP_PHASE_DIALOG, 0},
};

/* IMAP: log in, select INBOX, list every probe message (RFC 3501 SEARCH
 * HEADER matches a substring), read their tokens, delete ours and the
 * stale ones (UID EXPUNGE is RFC 4315's; EXPUNGE where it is refused). */
static const pp_dstep imap_fetch_steps[] = {
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
    {PP_DOP_COMMAND, "%t SELECT INBOX\r\n", "SELECT INBOX",
     PP_FRAME_IMAP_TAGGED, PP_RS_OK, NULL, PP_R_EXPECT_MISMATCH,
     PP_PHASE_DIALOG, 0},
    {PP_DOP_LIST,
     "%t UID SEARCH HEADER " PP_MAIL_HEADER " " PP_MAIL_TOKEN_PREFIX "\r\n",
     "UID SEARCH", PP_FRAME_IMAP_TAGGED, PP_RS_OK, NULL, PP_R_EXPECT_MISMATCH,
     PP_PHASE_DIALOG, 0},
    {PP_DOP_INSPECT,
     "%t UID FETCH %s (BODY.PEEK[HEADER.FIELDS (" PP_MAIL_HEADER ")])\r\n",
     "UID FETCH", PP_FRAME_IMAP_TAGGED, PP_RS_OK, NULL, PP_R_EXPECT_MISMATCH,
     PP_PHASE_DIALOG, 0},
    {PP_DOP_DELETE, "%t UID STORE %s +FLAGS.SILENT (\\Deleted)\r\n",
     "UID STORE", PP_FRAME_IMAP_TAGGED, PP_RS_OK, NULL, PP_R_EXPECT_MISMATCH,
     PP_PHASE_DIALOG, 0},
    {PP_DOP_DELETE, "%t UID EXPUNGE %s\r\n", "UID EXPUNGE",
     PP_FRAME_IMAP_TAGGED, PP_RS_OK, NULL, PP_R_EXPECT_MISMATCH,
     PP_PHASE_DIALOG, PP_DF_TOLERANT},
    {PP_DOP_DELETE, "%t EXPUNGE\r\n", "EXPUNGE", PP_FRAME_IMAP_TAGGED, PP_RS_OK,
     NULL, PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, PP_DF_IF_REFUSED},
    {PP_DOP_QUIT, "%t LOGOUT\r\n", "LOGOUT", PP_FRAME_IMAP_TAGGED, PP_RS_OK,
     NULL, PP_R_OK, PP_PHASE_DIALOG, 0},
};

/* POP3: a session sees the mailbox as it was at login (RFC 1939), so each
 * poll is a session: UIDL, TOP of the messages not seen before, DELE of
 * ours and the stale ones, QUIT (which deletes them). */
static const pp_dstep pop3_fetch_steps[] = {
    {PP_DOP_GREETING, NULL, "greeting", PP_FRAME_POP3, PP_RS_OK, NULL,
     PP_R_BANNER_MISMATCH, PP_PHASE_BANNER, 0},
    {PP_DOP_COMMAND, "CAPA\r\n", "CAPA", PP_FRAME_POP3_MULTI, PP_RS_OK, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, PP_DF_CAPS | PP_DF_TOLERANT},
    {PP_DOP_STARTTLS, "STLS\r\n", "STLS", PP_FRAME_POP3, PP_RS_OK, NULL,
     PP_R_STARTTLS_UNAVAILABLE, PP_PHASE_STARTTLS, 0},
    {PP_DOP_COMMAND, "CAPA\r\n", "CAPA", PP_FRAME_POP3_MULTI, PP_RS_OK, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG,
     PP_DF_CAPS | PP_DF_TOLERANT | PP_DF_AFTER_TLS},
    {PP_DOP_LOGIN, NULL, "login", PP_FRAME_POP3, PP_RS_OK, NULL,
     PP_R_AUTH_FAILED, PP_PHASE_AUTH, 0},
    {PP_DOP_LIST, "UIDL\r\n", "UIDL", PP_FRAME_POP3_MULTI, PP_RS_OK, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, 0},
    /* a message another session deleted meanwhile says -ERR: let it be */
    {PP_DOP_INSPECT, "TOP %s 0\r\n", "TOP", PP_FRAME_POP3_MULTI, PP_RS_OK, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, PP_DF_TOLERANT},
    {PP_DOP_DELETE, "DELE %s\r\n", "DELE", PP_FRAME_POP3, PP_RS_OK, NULL,
     PP_R_EXPECT_MISMATCH, PP_PHASE_DIALOG, PP_DF_TOLERANT},
    {PP_DOP_QUIT, "QUIT\r\n", "QUIT", PP_FRAME_POP3, PP_RS_OK, NULL, PP_R_OK,
     PP_PHASE_DIALOG, 0},
};

static const pp_protocol smtp_trip = {
    "smtp",      smtp_trip_steps, N(smtp_trip_steps),
    smtp_logins, N(smtp_logins),  PP_FRAME_SMTP,
    true};
static const pp_protocol imap_fetch = {
    "imap",      imap_fetch_steps, N(imap_fetch_steps),
    imap_logins, N(imap_logins),   PP_FRAME_RAW,
    false};
static const pp_protocol pop3_fetch = {
    "pop3",      pop3_fetch_steps, N(pop3_fetch_steps),
    pop3_logins, N(pop3_logins),   PP_FRAME_RAW,
    false};

const pp_protocol *pp_protocol_of(const pp_target *t) {
  const pp_protocol *p = t->scheme->protocol;
  if (t->fetch_leg)
    return p == &imap ? &imap_fetch : p == &pop3 ? &pop3_fetch : p;
  if (t->opts->mail_to != NULL && p == &smtp)
    return &smtp_trip;
  return p;
}
