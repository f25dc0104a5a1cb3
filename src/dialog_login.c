/* Credentials in a dialog: the password file, the choice of a login
 * mechanism, command templates that carry a user or password, and the one
 * scrub every byte passes before it reaches a log line or an excerpt. */
#include "dialog_int.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --- secrets: wiped when freed, scrubbed from what is shown --- */

static void wipe_free(char *s) {
  if (s) {
    OPENSSL_cleanse(s, strlen(s));
    free(s);
  }
}

static char *b64(const char *in, size_t len) {
  char *out = malloc(4 * ((len + 2) / 3) + 1);
  if (out)
    EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)len);
  return out;
}

/* The inside of an IMAP quoted string (RFC 3501): '"' and '\' escaped. */
static char *quoted_inside(const char *s, size_t n) {
  char *q = malloc(2 * n + 1), *o = q;
  if (q == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '"' || s[i] == '\\')
      *o++ = '\\';
    *o++ = s[i];
  }
  *o = 0;
  return q;
}

/* Masks every whole occurrence of s in buf, and a start of s (two bytes or
 * more) that buf ends with: the rest may be still to come. */
static void mask_form(char *buf, size_t len, const char *s) {
  size_t sl = s ? strlen(s) : 0;
  if (sl == 0)
    return;
  for (size_t i = 0; i + sl <= len; i++)
    if (memcmp(buf + i, s, sl) == 0) {
      memset(buf + i, '*', sl);
      i += sl - 1;
    }
  for (size_t k = sl - 1 < len ? sl - 1 : len; k >= 2; k--)
    if (memcmp(buf + len - k, s, k) == 0) {
      memset(buf + len - k, '*', k);
      break;
    }
}

static size_t form_len(const dlg *d, int k) {
  return d->secret[k] ? strlen(d->secret[k]) : 0;
}

/* Replaces each form of the secret in buf, the longest first, so that a
 * shorter form inside a longer one leaves no piece of it behind. */
static void scrub(const dlg *d, char *buf, size_t len) {
  int order[SECRET_FORMS];
  for (int k = 0; k < SECRET_FORMS; k++) {
    int j = k;
    for (; j > 0 && form_len(d, order[j - 1]) < form_len(d, k); j--)
      order[j] = order[j - 1];
    order[j] = k;
  }
  for (int k = 0; k < SECRET_FORMS; k++)
    mask_form(buf, len, d->secret[order[k]]);
}

/* What an excerpt or a trace line may show of data: scrubbed over more
 * bytes than it shows, so that a secret across the cut is found whole. */
static void shown(const dlg *d, const char *data, size_t len, pp_result *out) {
  char tmp[EXCERPT_SCAN + SECRET_FORM_MAX];
  size_t n = len < sizeof(tmp) ? len : sizeof(tmp);
  memcpy(tmp, data, n);
  scrub(d, tmp, n);
  /* the excerpt is shorter than the scan: set_excerpt marks the cut */
  pp_result_set_excerpt(out, tmp, n);
  OPENSSL_cleanse(tmp, n);
}

void pp_dlg_excerpt_from(dlg *d, const char *data, size_t len) {
  shown(d, data, len, d->c->res);
  d->excerpt_set = true;
}

void pp_dlg_trace(dlg *d, const char *who, const char *data, size_t len) {
  if (d->c->engine->log == NULL)
    return;
  pp_result tmp;
  shown(d, data, len, &tmp);
  pp_log(d->c->engine, PP_LOG_DEBUG, "target \"%s\": %s: %s",
         pp_target_name(d->t), who, tmp.excerpt);
}

void pp_dlg_trace_read(dlg *d, size_t from, bool all) {
  if (d->c->engine->log == NULL)
    return;
  size_t end = d->rlen;
  if (!all) {
    /* only the new bytes are searched: a long line costs nothing per read */
    size_t start = from > d->traced ? from : d->traced;
    const char *nl = start < d->rlen
                         ? memrchr(d->rbuf + start, '\n', d->rlen - start)
                         : NULL;
    if (nl == NULL)
      return;
    end = (size_t)(nl - d->rbuf) + 1;
  }
  if (end > d->traced)
    pp_dlg_trace(d, "S", d->rbuf + d->traced, end - d->traced);
  d->traced = end;
}

void pp_dlg_wipe_secrets(dlg *d) {
  for (int k = 0; k < SECRET_FORMS; k++) {
    wipe_free(d->secret[k]);
    d->secret[k] = NULL;
  }
}

/* --- commands: templates with credentials in them --- */

/* s as an IMAP quoted string. */
static char *quoted(const char *s) {
  char *in = quoted_inside(s, strlen(s));
  char *q = in ? malloc(strlen(in) + 3) : NULL;
  if (q)
    snprintf(q, strlen(in) + 3, "\"%s\"", in);
  free(in);
  return q;
}

/* The encodings of user and password a template asks for, made once. */
typedef struct {
  const char *user, *pass;
  char *qu, *qp, *bu; /* quoted user, quoted password, base64 user */
} encodings;

static void encodings_free(encodings *en) {
  free(en->qu);
  wipe_free(en->qp);
  free(en->bu);
}

/* What "%c" stands for; with mask, credentials are "****". NULL: out of
 * memory (or a credential that was never read). */
static const char *placeholder(dlg *d, char c, bool mask, encodings *en) {
  switch (c) {
  case 't':
    return d->tag;
  case 'e':
    return d->ehlo;
  case 'u':
    return en->user;
  case 'q':
    return en->qu = en->qu ? en->qu : quoted(en->user);
  case 'U':
    return en->bu = en->bu ? en->bu : b64(en->user, strlen(en->user));
  case 'p':
    return mask ? "****" : en->pass;
  case 'Q':
    return mask ? "****" : (en->qp = en->qp ? en->qp : quoted(en->pass));
  case 'P':
    return mask ? "****" : d->secret[SECRET_B64];
  case 'A':
    return mask ? "****" : d->secret[SECRET_PLAIN];
  case 'f':
  case 'r':
  case 's':
    return pp_dlg_mail_text(d, c);
  default:
    return "%";
  }
}

/* Expands a command template; with mask, credentials become "****". */
static char *expand(dlg *d, const char *tpl, bool mask, size_t *len) {
  encodings en = {.user = d->t->opts->username ? d->t->opts->username : "",
                  .pass = d->secret[SECRET_RAW] ? d->secret[SECRET_RAW] : ""};
  size_t ul = strlen(en.user), pl = strlen(en.pass);
  /* sizes first: every expansion is bounded by these */
  size_t cap = strlen(tpl) + 1 + strlen(d->ehlo) + strlen(d->tag) + 2 * ul +
               4 * (ul + pl + 2) + 2 * pl + 16;
  if (strstr(tpl, "%A"))
    cap += 4 * (ul + pl + 4) / 3 + 8;
  cap += pp_dlg_mail_len(d);
  char *out = malloc(cap), *o = out;
  if (out == NULL)
    return NULL;
  for (const char *p = tpl; *p; p++) {
    if (*p != '%' || p[1] == 0) {
      *o++ = *p;
      continue;
    }
    const char *v = placeholder(d, *++p, mask, &en);
    if (v == NULL) { /* out of memory */
      encodings_free(&en);
      free(out);
      return NULL;
    }
    size_t vl = strlen(v);
    memcpy(o, v, vl);
    o += vl;
  }
  *o = 0;
  encodings_free(&en);
  *len = (size_t)(o - out);
  return out;
}

void pp_dlg_send_command(dlg *d, const pp_dstep *s, void (*after)(dlg *d)) {
  if (strstr(s->send, "%t"))
    snprintf(d->tag, sizeof(d->tag), "a%u", ++d->tagn);
  size_t len = 0, mlen = 0;
  bool secret = (s->flags & PP_DF_SECRET) != 0;
  char *masked = expand(d, s->send, true, &mlen);
  char *cmd = expand(d, s->send, false, &len);
  if (cmd == NULL || masked == NULL) {
    free(masked);
    if (cmd && secret)
      OPENSSL_cleanse(cmd, len);
    free(cmd);
    pp_check_finish(d->c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  pp_dlg_trace(d, "C", masked, mlen);
  free(masked);
  pp_dlg_begin_write(d, cmd, len, secret, after);
}

/* --- login --- */

/* What a file that is not a regular one is, for the message. */
static const char *file_kind(mode_t m) {
  if (S_ISDIR(m))
    return "a directory";
  if (S_ISFIFO(m))
    return "a FIFO";
  if (S_ISSOCK(m))
    return "a socket";
  if (S_ISCHR(m) || S_ISBLK(m))
    return "a device";
  return "not a regular file";
}

/* Opens the password file without blocking (a FIFO would hold the whole
 * round until a writer came) and takes regular files only; says once per
 * target when others may read it, as ssh does of a private key. */
static int open_password(dlg *d, char *why, size_t whylen) {
  const char *path = d->t->opts->password_file;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    snprintf(why, whylen, "password_file %s: %s", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return -1;
  }
  if (!S_ISREG(st.st_mode)) {
    snprintf(why, whylen, "password_file %s: %s, not a regular file", path,
             file_kind(st.st_mode));
    close(fd);
    return -1;
  }
  if ((st.st_mode & S_IROTH) && !d->pl->warned_password_mode) {
    d->pl->warned_password_mode = true;
    pp_log(d->c->engine, PP_LOG_WARNING,
           "target \"%s\": password_file %s is readable by others (mode "
           "%04o); make it private: chmod o-rwx %s",
           pp_target_name(d->t), path, (unsigned)(st.st_mode & 07777), path);
  }
  return fd;
}

/* The forms of the password l bytes at pw that the dialog may send. */
static int make_forms(dlg *d, const char *pw, size_t l) {
  const char *user = d->t->opts->username;
  size_t ul = strlen(user);
  /* SASL PLAIN (RFC 4616): authzid NUL authcid NUL password */
  char *blob = malloc(ul + l + 2);
  d->secret[SECRET_RAW] = strndup(pw, l);
  d->secret[SECRET_B64] = b64(pw, l);
  d->secret[SECRET_QUOTED] = quoted_inside(pw, l);
  if (blob) {
    blob[0] = 0;
    memcpy(blob + 1, user, ul);
    blob[ul + 1] = 0;
    memcpy(blob + ul + 2, pw, l);
    d->secret[SECRET_PLAIN] = b64(blob, ul + l + 2);
    OPENSSL_cleanse(blob, ul + l + 2);
    free(blob);
  }
  for (int k = 0; k < SECRET_FORMS; k++)
    if (d->secret[k] == NULL)
      return -1;
  return 0;
}

int pp_dlg_read_password(dlg *d, char *why, size_t whylen) {
  const char *path = d->t->opts->password_file;
  int fd = open_password(d, why, whylen);
  if (fd < 0)
    return -1;
  char buf[PASSWORD_MAX + 2];
  size_t n = 0;
  while (n < sizeof(buf)) {
    ssize_t r = read(fd, buf + n, sizeof(buf) - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0) {
      snprintf(why, whylen, "password_file %s: %s", path, strerror(errno));
      close(fd);
      OPENSSL_cleanse(buf, sizeof(buf));
      return -1;
    }
    if (r == 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  size_t l = 0;
  while (l < n && buf[l] != '\n' && buf[l] != '\r' && buf[l] != 0)
    l++;
  int rc = 0;
  if (l == 0) {
    snprintf(why, whylen, "password_file %s: the first line is empty", path);
    rc = -1;
  } else if (l > PASSWORD_MAX) {
    snprintf(why, whylen, "password_file %s: longer than %d bytes", path,
             PASSWORD_MAX);
    rc = -1;
  } else if (make_forms(d, buf, l) != 0) {
    snprintf(why, whylen, "out of memory");
    rc = -1;
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  return rc;
}

static const pp_login *choose_login(dlg *d, char *why, size_t whylen) {
  const pp_protocol *p = d->pl->proto;
  static const char *const mech[] = {"auto", "plain", "login"};
  int want = d->t->opts->auth_mechanism;
  for (size_t i = 0; i < p->nlogins; i++) {
    const pp_login *l = &p->logins[i];
    if (want != PP_AUTH_AUTO && strcmp(l->mechanism, mech[want]) != 0)
      continue;
    bool offered = l->need == PP_NEED_NOTHING ||
                   (l->need == PP_NEED_AUTH_PLAIN && d->caps.auth_plain) ||
                   (l->need == PP_NEED_AUTH_LOGIN && d->caps.auth_login);
    if (offered)
      return l;
  }
  if (want != PP_AUTH_AUTO)
    snprintf(why, whylen, "server does not offer AUTH %s", mech[want]);
  else if (!d->caps.auth_any)
    snprintf(why, whylen, "server offers no AUTH%s",
             d->tls_on ? "" : " without TLS");
  else
    snprintf(why, whylen, "server offers neither AUTH PLAIN nor LOGIN");
  return NULL;
}

step_rc pp_dlg_login_begin(dlg *d) {
  const pp_opts *o = d->t->opts;
  if (o->username == NULL)
    return STEP_SKIP;
  if (d->preauth) {
    pp_dlg_note(d, "login skipped");
    return STEP_SKIP;
  }
  pp_check_phase(d->c, PP_PHASE_AUTH);
  if (!d->tls_on && !o->auth_plaintext) {
    pp_dlg_fail_with(d, d->last, d->lastlen, PP_R_STARTTLS_UNAVAILABLE,
                     "no TLS, and the password is sent only inside TLS "
                     "(auth_plaintext=yes allows clear text)");
    return STEP_WAIT;
  }
  if (d->caps.logindisabled) {
    pp_dlg_fail_with(d, d->last, d->lastlen, PP_R_AUTH_FAILED,
                     "server advertises LOGINDISABLED");
    return STEP_WAIT;
  }
  char why[PP_DETAIL_MAX];
  const pp_login *l = choose_login(d, why, sizeof(why));
  if (l == NULL) {
    pp_dlg_fail_with(d, d->last, d->lastlen, PP_R_AUTH_FAILED, "%s", why);
    return STEP_WAIT;
  }
  if (pp_dlg_read_password(d, why, sizeof(why)) != 0) {
    pp_check_finish(d->c, PP_R_SOCKET_ERROR, "%s", why);
    return STEP_WAIT;
  }
  d->main_i = d->i;
  d->in_login = true;
  d->steps = l->steps;
  d->nsteps = l->nsteps;
  d->i = 0;
  return STEP_AGAIN;
}
