/* Reply framing: SMTP/FTP multi-line replies, POP3 +OK/-ERR (and its
 * dot-terminated lists), IMAP greetings and tagged completions with their
 * literals, single lines. Every parser judges each byte once it arrives, so
 * a wrong first byte is a malformed reply without waiting for a line end,
 * and resumes where it stopped (pp_reply_cursor): bytes are looked at once. */
#include "reply.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

/* An IMAP literal larger than this is not a capability or login reply. */
#define LITERAL_MAX (1u << 20)

static bool bad_byte(unsigned char c) {
  return (c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f;
}

bool pp_reply_is_binary(const char *buf, size_t len) {
  for (size_t i = 0; i < len; i++)
    if (bad_byte((unsigned char)buf[i]))
      return true;
  return false;
}

static pp_reply_state malformed(pp_reply *out, const char *why, bool binary) {
  out->why = why;
  out->binary = binary;
  return PP_REPLY_MALFORMED;
}

static pp_reply_state complete(pp_reply *out, size_t len, size_t last_off,
                               pp_reply_status status) {
  out->len = len;
  out->last_off = last_off;
  out->status = status;
  return PP_REPLY_COMPLETE;
}

/* The end of the line at cur->off (its '\n', or len when not yet there).
 * Only bytes not looked at before are searched, and checked for bytes no
 * text line has: false when there is one. */
static bool next_line(const char *buf, size_t len, pp_reply_cursor *cur,
                      size_t *end) {
  size_t from = cur->scan > cur->off ? cur->scan : cur->off;
  const char *nl = memchr(buf + from, '\n', len - from);
  *end = nl ? (size_t)(nl - buf) : len;
  if (pp_reply_is_binary(buf + from, *end - from))
    return false;
  cur->scan = *end;
  return true;
}

/* Compares the available part of buf[off..end) with word, ignoring case:
 * 1 when it is all there and equal, 0 while still a prefix, -1 otherwise.
 * A line that has ended (end < len: its '\n' is there) and holds only the
 * start of word is not word: -1. */
static int prefix_cmp(const char *buf, size_t off, size_t end, size_t len,
                      const char *word) {
  size_t wl = strlen(word), have = end - off;
  size_t n = have < wl ? have : wl;
  for (size_t i = 0; i < n; i++)
    if (toupper((unsigned char)buf[off + i]) != toupper((unsigned char)word[i]))
      return -1;
  if (have >= wl)
    return 1;
  return end < len ? -1 : 0;
}

/* After a keyword: a word boundary (space, line end) or nothing yet. */
static bool word_ends(const char *buf, size_t pos, size_t end) {
  return pos >= end || buf[pos] == ' ' || buf[pos] == '\r' || buf[pos] == '\n';
}

static pp_reply_status status_of_code(int code) {
  switch (code / 100) {
  case 1:
    return PP_RS_PRELIM;
  case 2:
    return PP_RS_OK;
  case 3:
    return PP_RS_MORE;
  case 4:
    return PP_RS_TEMPFAIL;
  default:
    return PP_RS_PERMFAIL;
  }
}

/* "ddd" then ' ', '-' or the line end ("220\n" is a code alone). Returns 1
 * with *code and *sep once known, 0 while incomplete, -1 when the line
 * cannot be one. */
static int code_prefix(const char *buf, size_t off, size_t end, size_t len,
                       int *code, char *sep) {
  size_t have = end - off;
  for (size_t i = 0; i < 3 && i < have; i++)
    if (!isdigit((unsigned char)buf[off + i]))
      return -1;
  if (have < 3 || (have == 3 && end == len))
    return end < len ? -1 : 0;
  char s = have == 3 ? '\n' : buf[off + 3];
  if (s != ' ' && s != '-' && s != '\r' && s != '\n')
    return -1;
  *code =
      (buf[off] - '0') * 100 + (buf[off + 1] - '0') * 10 + (buf[off + 2] - '0');
  *sep = s;
  return 1;
}

static pp_reply_state parse_smtp(const char *buf, size_t len, bool ftp,
                                 pp_reply_cursor *cur, pp_reply *out) {
  while (cur->off < len) {
    size_t off = cur->off, end;
    if (!next_line(buf, len, cur, &end))
      return malformed(out, "binary data in reply", true);
    int first = cur->code, code = 0;
    char sep = 0;
    int st = code_prefix(buf, off, end, len, &code, &sep);
    if (first != 0 && ftp && st <= 0) {
      /* FTP: lines inside a multi-line reply may be any text */
      if (end == len)
        return PP_REPLY_INCOMPLETE;
      cur->off = end + 1;
      continue;
    }
    if (st < 0)
      return malformed(out,
                       first ? "continuation line without a reply code"
                             : "not a reply: no three-digit code",
                       false);
    if (st == 0)
      return PP_REPLY_INCOMPLETE;
    if (code < 100 || code > 599)
      return malformed(out, "reply code out of range", false);
    if (first != 0 && code != first) {
      if (!ftp)
        return malformed(out, "reply code changed inside a multi-line reply",
                         false);
      /* FTP: text that happens to start with digits */
      if (end == len)
        return PP_REPLY_INCOMPLETE;
      cur->off = end + 1;
      continue;
    }
    out->code = code;
    if (end == len)
      return PP_REPLY_INCOMPLETE;
    if (sep != '-')
      return complete(out, end + 1, off, status_of_code(code));
    cur->code = code;
    cur->off = end + 1;
  }
  return PP_REPLY_INCOMPLETE;
}

static pp_reply_state parse_line(const char *buf, size_t len,
                                 pp_reply_cursor *cur, pp_reply *out) {
  size_t end;
  if (!next_line(buf, len, cur, &end))
    return malformed(out, "binary data in reply", true);
  if (end == len)
    return PP_REPLY_INCOMPLETE;
  return complete(out, end + 1, 0, PP_RS_UNKNOWN);
}

/* The POP3 status at the start of the line buf[off..end): 1 with *ok set,
 * 0 while incomplete, -1 when it is neither +OK nor -ERR. */
static int pop3_status(const char *buf, size_t len, size_t off, size_t end,
                       bool *ok) {
  static const char *const words[] = {"+OK", "-ERR"};
  for (int i = 0; i < 2; i++) {
    int c = prefix_cmp(buf, off, end, len, words[i]);
    if (c < 0)
      continue;
    if (c == 0)
      return 0;
    size_t after = off + strlen(words[i]);
    if (after == end && end == len)
      return 0;
    if (after < end && !word_ends(buf, after, end))
      return -1; /* "+OKAY", "-ERROR": not a status */
    *ok = i == 0;
    return 1;
  }
  return -1;
}

static pp_reply_state parse_pop3(const char *buf, size_t len, bool multi,
                                 pp_reply_cursor *cur, pp_reply *out) {
  size_t end;
  if (!cur->body) {
    if (!next_line(buf, len, cur, &end))
      return malformed(out, "binary data in reply", true);
    bool ok = false;
    int st = pop3_status(buf, len, 0, end, &ok);
    if (st < 0)
      return malformed(out, "not a POP3 reply: no +OK or -ERR", false);
    if (st == 0 || end == len)
      return PP_REPLY_INCOMPLETE;
    if (!multi || !ok)
      return complete(out, end + 1, 0, ok ? PP_RS_OK : PP_RS_PERMFAIL);
    cur->body = true;
    cur->off = end + 1;
  }
  while (cur->off < len) {
    size_t off = cur->off;
    if (!next_line(buf, len, cur, &end))
      return malformed(out, "binary data in reply", true);
    if (end == len)
      return PP_REPLY_INCOMPLETE;
    size_t l = end - off;
    if (l > 0 && buf[end - 1] == '\r')
      l--;
    if (l == 1 && buf[off] == '.')
      return complete(out, end + 1, 0, PP_RS_OK);
    cur->off = end + 1;
  }
  return PP_REPLY_INCOMPLETE;
}

/* The IMAP status word at pos: OK, NO, BAD (tagged) or also PREAUTH, BYE
 * (untagged). Returns 1 with *st, 0 incomplete, -1 none of them. */
static int imap_word(const char *buf, size_t pos, size_t end, bool greeting,
                     pp_reply_status *st) {
  static const struct {
    const char *w;
    pp_reply_status st;
    bool greeting; /* allowed in a greeting */
    bool tagged;   /* allowed in a tagged line */
  } words[] = {
      {"OK", PP_RS_OK, true, true},    {"NO", PP_RS_PERMFAIL, false, true},
      {"BAD", PP_RS_BAD, false, true}, {"PREAUTH", PP_RS_PREAUTH, true, false},
      {"BYE", PP_RS_BYE, true, false},
  };
  bool maybe = false;
  for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
    if (greeting ? !words[i].greeting : !words[i].tagged)
      continue;
    /* end is the line end, or one past it: the word may end there */
    int c = prefix_cmp(buf, pos, end, end, words[i].w);
    size_t after = pos + strlen(words[i].w);
    if (c == 1 && after < end && word_ends(buf, after, end)) {
      *st = words[i].st;
      return 1;
    }
    if (c == 0 || (c == 1 && after >= end))
      maybe = true;
  }
  return maybe ? 0 : -1;
}

static pp_reply_state parse_imap_greeting(const char *buf, size_t len,
                                          pp_reply_cursor *cur, pp_reply *out) {
  size_t end;
  if (!next_line(buf, len, cur, &end))
    return malformed(out, "binary data in reply", true);
  if (prefix_cmp(buf, 0, end, len, "* ") < 0)
    return malformed(out, "not an IMAP greeting: no \"* \"", false);
  if (end < 2)
    return PP_REPLY_INCOMPLETE;
  pp_reply_status st;
  int w = imap_word(buf, 2, end, true, &st);
  if (w < 0)
    return malformed(out, "not an IMAP greeting: no OK, PREAUTH or BYE", false);
  if (end == len)
    return PP_REPLY_INCOMPLETE;
  if (w == 0) /* "* OK\r\n": the word ended at the line end */
    w = imap_word(buf, 2, end + 1, true, &st);
  if (w <= 0)
    return malformed(out, "not an IMAP greeting: no OK, PREAUTH or BYE", false);
  return complete(out, end + 1, 0, st);
}

/* A literal announced at the end of the line buf[off..end): "{n}" or
 * "{n+}" before the CR LF. Returns its size, or -1 when there is none, -2
 * when it is too large. */
static long literal_at_end(const char *buf, size_t off, size_t end) {
  size_t e = end;
  if (e > off && buf[e - 1] == '\r')
    e--;
  if (e == off || buf[e - 1] != '}')
    return -1;
  e--;
  if (e > off && buf[e - 1] == '+')
    e--;
  size_t d = e;
  while (d > off && isdigit((unsigned char)buf[d - 1]))
    d--;
  if (d == e || d == off || buf[d - 1] != '{')
    return -1;
  if (e - d > 7)
    return -2;
  long n = 0;
  for (size_t i = d; i < e; i++)
    n = n * 10 + (buf[i] - '0');
  return n > (long)LITERAL_MAX ? -2 : n;
}

/* Whether the start of the IMAP line buf[line..end) can still be untagged
 * ("* ", "+") or tagged with tag. */
static bool imap_line_start_ok(const char *buf, size_t line, size_t end,
                               size_t len, const char *tag, size_t taglen) {
  bool untagged = prefix_cmp(buf, line, end, len, "* ") >= 0 ||
                  prefix_cmp(buf, line, end, len, "+") >= 0;
  int t = taglen ? prefix_cmp(buf, line, end, len, tag) : -1;
  if (t == 1 && line + taglen < end && buf[line + taglen] != ' ')
    t = -1; /* "a10" is not tag "a1" */
  return untagged || t >= 0;
}

static pp_reply_state parse_imap_tagged(const char *buf, size_t len,
                                        const char *tag, pp_reply_cursor *cur,
                                        pp_reply *out) {
  size_t taglen = strlen(tag);
  while (cur->off < len) {
    /* a logical line: physical lines joined by literals; cur->line is
       where it began */
    size_t end;
    for (;;) {
      size_t off = cur->off;
      if (!next_line(buf, len, cur, &end))
        return malformed(out, "binary data in reply", true);
      /* judge the start of the line as soon as it is there */
      if (off == cur->line &&
          !imap_line_start_ok(buf, off, end, len, tag, taglen))
        return malformed(out, "not an IMAP reply: neither untagged nor tagged",
                         false);
      if (end == len)
        return PP_REPLY_INCOMPLETE;
      long lit = literal_at_end(buf, off, end);
      if (lit == -2)
        return malformed(out, "IMAP literal too large", false);
      if (lit < 0)
        break;
      if (len - (end + 1) < (size_t)lit)
        return PP_REPLY_INCOMPLETE;
      cur->off = end + 1 + (size_t)lit; /* the line goes on after it */
    }
    size_t line = cur->line;
    if (buf[line] == '+') /* continuation request: the server wants more */
      return complete(out, end + 1, line, PP_RS_MORE);
    if (taglen && prefix_cmp(buf, line, end, len, tag) == 1 &&
        line + taglen < end && buf[line + taglen] == ' ') {
      pp_reply_status st;
      if (imap_word(buf, line + taglen + 1, end + 1, false, &st) != 1)
        return malformed(out, "tagged reply without OK, NO or BAD", false);
      return complete(out, end + 1, line, st);
    }
    cur->off = cur->line = end + 1;
  }
  return PP_REPLY_INCOMPLETE;
}

pp_reply_state pp_reply_parse_more(pp_frame frame, const char *buf, size_t len,
                                   const char *tag, pp_reply_cursor *cur,
                                   pp_reply *out) {
  memset(out, 0, sizeof(*out));
  if (len == 0)
    return PP_REPLY_INCOMPLETE;
  switch (frame) {
  case PP_FRAME_RAW:
    return complete(out, len, 0, PP_RS_UNKNOWN);
  case PP_FRAME_LINE:
    return parse_line(buf, len, cur, out);
  case PP_FRAME_SMTP:
    return parse_smtp(buf, len, false, cur, out);
  case PP_FRAME_FTP:
    return parse_smtp(buf, len, true, cur, out);
  case PP_FRAME_POP3:
    return parse_pop3(buf, len, false, cur, out);
  case PP_FRAME_POP3_MULTI:
    return parse_pop3(buf, len, true, cur, out);
  case PP_FRAME_IMAP_GREETING:
    return parse_imap_greeting(buf, len, cur, out);
  case PP_FRAME_IMAP_TAGGED:
    return parse_imap_tagged(buf, len, tag ? tag : "", cur, out);
  }
  return malformed(out, "unknown framing", false);
}

pp_reply_state pp_reply_parse(pp_frame frame, const char *buf, size_t len,
                              const char *tag, pp_reply *out) {
  pp_reply_cursor cur = {0};
  return pp_reply_parse_more(frame, buf, len, tag, &cur, out);
}

/* --- capabilities --- */

/* The end of the line at off: its '\n', or len. */
static size_t line_end(const char *buf, size_t len, size_t off) {
  const char *nl = memchr(buf + off, '\n', len - off);
  return nl ? (size_t)(nl - buf) : len;
}

static bool word_is(const char *w, size_t wl, const char *name) {
  return strlen(name) == wl && strncasecmp(w, name, wl) == 0;
}

/* Calls fn for each space-separated word of buf[off..end). */
typedef void (*word_fn)(const char *w, size_t wl, size_t index, void *ud);
static void each_word(const char *buf, size_t off, size_t end, word_fn fn,
                      void *ud) {
  size_t i = off, index = 0;
  while (i < end) {
    while (i < end && (buf[i] == ' ' || buf[i] == '\r' || buf[i] == '\t' ||
                       buf[i] == '[' || buf[i] == ']'))
      i++;
    size_t s = i;
    while (i < end && buf[i] != ' ' && buf[i] != '\r' && buf[i] != '\t' &&
           buf[i] != '[' && buf[i] != ']')
      i++;
    if (i > s)
      fn(buf + s, i - s, index++, ud);
  }
}

typedef struct {
  pp_caps *caps;
  bool in_auth; /* after SMTP's "AUTH" keyword or POP3's "SASL" */
  bool in_caps; /* after IMAP's "CAPABILITY" */
} caps_walk;

static void mech(pp_caps *caps, const char *w, size_t wl) {
  if (word_is(w, wl, "PLAIN"))
    caps->auth_plain = true;
  else if (word_is(w, wl, "LOGIN"))
    caps->auth_login = true;
}

/* SMTP "250-AUTH PLAIN LOGIN", "250-AUTH=LOGIN"; POP3 "SASL PLAIN". */
static void smtp_pop3_word(const char *w, size_t wl, size_t index, void *ud) {
  caps_walk *cw = ud;
  if (index == 0) {
    cw->in_auth = false;
    if (word_is(w, wl, "STARTTLS") || word_is(w, wl, "STLS"))
      cw->caps->starttls = true;
    else if (word_is(w, wl, "USER"))
      cw->caps->user = true;
    else if (word_is(w, wl, "AUTH") || word_is(w, wl, "SASL")) {
      cw->in_auth = true;
      cw->caps->auth_any = true;
    } else if (wl > 5 && strncasecmp(w, "AUTH=", 5) == 0) {
      cw->in_auth = true;
      cw->caps->auth_any = true;
      mech(cw->caps, w + 5, wl - 5);
    }
    return;
  }
  if (cw->in_auth)
    mech(cw->caps, w, wl);
}

static void imap_word_caps(const char *w, size_t wl, size_t index, void *ud) {
  (void)index;
  caps_walk *cw = ud;
  if (word_is(w, wl, "CAPABILITY")) {
    cw->in_caps = true;
    return;
  }
  if (!cw->in_caps)
    return;
  if (word_is(w, wl, "STARTTLS"))
    cw->caps->starttls = true;
  else if (word_is(w, wl, "LOGINDISABLED"))
    cw->caps->logindisabled = true;
  else if (wl > 5 && strncasecmp(w, "AUTH=", 5) == 0) {
    cw->caps->auth_any = true;
    mech(cw->caps, w + 5, wl - 5);
  }
}

void pp_caps_parse(pp_frame frame, const char *buf, size_t len, pp_caps *caps) {
  size_t off = 0;
  bool first = true;
  while (off < len) {
    size_t end = line_end(buf, len, off);
    caps_walk cw = {.caps = caps};
    if (frame == PP_FRAME_SMTP) {
      /* the first line is the server's name; keywords follow "250-" */
      if (!first && end - off > 4)
        each_word(buf, off + 4, end, smtp_pop3_word, &cw);
    } else if (frame == PP_FRAME_POP3_MULTI) {
      if (!first)
        each_word(buf, off, end, smtp_pop3_word, &cw);
    } else if (frame == PP_FRAME_IMAP_TAGGED ||
               frame == PP_FRAME_IMAP_GREETING) {
      each_word(buf, off, end, imap_word_caps, &cw);
    }
    first = false;
    off = end + 1;
  }
}
