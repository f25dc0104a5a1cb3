/* Reply framing for the dialog engine: where a server's reply ends, whether
 * it says yes or no, and what it offers (STARTTLS, AUTH). Pure functions over
 * a byte buffer, with no I/O, so they are unit-tested and fuzzed alone. */
#ifndef PP_REPLY_H
#define PP_REPLY_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
  PP_FRAME_RAW,           /* no framing: the caller matches a regex */
  PP_FRAME_LINE,          /* one text line */
  PP_FRAME_SMTP,          /* RFC 5321: "250-..." continues, "250 ..." ends */
  PP_FRAME_FTP,           /* RFC 959: "220-" opens, any text, "220 " ends */
  PP_FRAME_POP3,          /* one line: +OK or -ERR */
  PP_FRAME_POP3_MULTI,    /* +OK then lines up to "."; -ERR is one line */
  PP_FRAME_IMAP_GREETING, /* one untagged line: * OK, * PREAUTH or * BYE */
  PP_FRAME_IMAP_TAGGED,   /* untagged lines, then "<tag> OK|NO|BAD" */
} pp_frame;

typedef enum {
  PP_REPLY_INCOMPLETE, /* more bytes needed */
  PP_REPLY_COMPLETE,
  PP_REPLY_MALFORMED, /* not this protocol: binary, bad syntax */
} pp_reply_state;

typedef enum {
  PP_RS_UNKNOWN = 0, /* LINE and RAW frames say neither yes nor no */
  PP_RS_OK,          /* 2xx, +OK, OK */
  PP_RS_MORE,        /* 3xx (SMTP AUTH's 334), IMAP "+" */
  PP_RS_TEMPFAIL,    /* 4xx */
  PP_RS_PERMFAIL,    /* 5xx, -ERR, IMAP NO */
  PP_RS_BAD,         /* IMAP BAD */
  PP_RS_BYE,         /* IMAP BYE greeting */
  PP_RS_PREAUTH,     /* IMAP PREAUTH greeting */
  PP_RS_PRELIM,      /* 1xx (FTP "120 ready in n minutes") */
} pp_reply_status;

typedef struct {
  size_t len; /* bytes of the whole reply, line ends included */
  int code;   /* SMTP/FTP reply code, 0 otherwise */
  pp_reply_status status;
  size_t last_off; /* where the deciding line starts (SMTP's last line,
                      IMAP's tagged line) */
  const char *why; /* MALFORMED: what is wrong, static text */
  bool binary;     /* MALFORMED because of bytes no text protocol sends */
} pp_reply;

/* Looks for one complete reply at the start of buf[0..len). tag is the IMAP
 * command tag for PP_FRAME_IMAP_TAGGED (ignored otherwise). A malformed
 * reply is reported as soon as its first wrong byte arrives, so a server
 * that sends binary or an endless non-protocol line is caught at once.
 * Bounding the buffer (max_reply) is the caller's job. */
pp_reply_state pp_reply_parse(pp_frame frame, const char *buf, size_t len,
                              const char *tag, pp_reply *out);

/* Where an incomplete reply's parse stopped, so that the next one resumes
 * there. Zeroed, it starts at the beginning of the buffer. */
typedef struct {
  size_t off;  /* the line being judged: the reply's lines before are */
  size_t scan; /* buf[off..scan) holds no line end and no binary byte */
  size_t line; /* IMAP: where the logical line (literals joined) began */
  int code;    /* SMTP, FTP: the first line's code, once that line ended */
  bool body;   /* POP3 lists: the +OK line is behind */
} pp_reply_cursor;

/* pp_reply_parse for a reply that arrives a read at a time: buf[0..len)
 * extends what the last call with this cursor saw (same frame, same tag),
 * and only the new bytes are looked at, so a long reply costs O(len) in
 * all instead of O(len) per read. The result is pp_reply_parse's. */
pp_reply_state pp_reply_parse_more(pp_frame frame, const char *buf, size_t len,
                                   const char *tag, pp_reply_cursor *cur,
                                   pp_reply *out);

/* What a capability reply offers (EHLO, IMAP CAPABILITY, POP3 CAPA). */
typedef struct {
  bool starttls;      /* SMTP/IMAP STARTTLS, POP3 STLS */
  bool auth_plain;    /* SMTP AUTH PLAIN, IMAP AUTH=PLAIN, POP3 SASL PLAIN */
  bool auth_login;    /* SMTP AUTH LOGIN */
  bool auth_any;      /* any AUTH / SASL line at all */
  bool logindisabled; /* IMAP LOGINDISABLED */
  bool user;          /* POP3 USER */
} pp_caps;

/* Adds what the complete reply buf[0..len) of the given frame offers to
 * caps (fields already set stay set). */
void pp_caps_parse(pp_frame frame, const char *buf, size_t len, pp_caps *caps);

/* Whether buf[0..len) holds bytes no text protocol sends: NUL and control
 * characters other than tab, CR, LF. */
bool pp_reply_is_binary(const char *buf, size_t len);

#endif
