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
#include <unistd.h>

#define PASSWORD_MAX 1024

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

/* Replaces each secret (password, its base64, the PLAIN blob) in buf. */
static void scrub(const dlg *d, char *buf, size_t len) {
  for (int k = 0; k < 3; k++) {
    const char *s = d->secret[k];
    size_t sl = s ? strlen(s) : 0;
    if (sl == 0 || sl > len)
      continue;
    for (size_t i = 0; i + sl <= len; i++)
      if (memcmp(buf + i, s, sl) == 0) {
        memset(buf + i, '*', sl);
        i += sl - 1;
      }
  }
}

void pp_dlg_excerpt_from(dlg *d, const char *data, size_t len) {
  char tmp[EXCERPT_SCAN];
  size_t n = len < sizeof(tmp) ? len : sizeof(tmp);
  memcpy(tmp, data, n);
  scrub(d, tmp, n);
  /* the excerpt is shorter than the scan: set_excerpt marks the cut */
  pp_result_set_excerpt(d->c->res, tmp, n);
  d->excerpt_set = true;
}

void pp_dlg_trace(dlg *d, const char *who, const char *data, size_t len) {
  if (d->c->engine->log == NULL)
    return;
  pp_result tmp;
  char buf[EXCERPT_SCAN];
  size_t n = len < sizeof(buf) ? len : sizeof(buf);
  memcpy(buf, data, n);
  scrub(d, buf, n);
  pp_result_set_excerpt(&tmp, buf, n);
  pp_log(d->c->engine, PP_LOG_DEBUG, "target \"%s\": %s: %s",
         pp_target_name(d->t), who, tmp.excerpt);
}

void pp_dlg_wipe_secrets(dlg *d) {
  for (int k = 0; k < 3; k++) {
    wipe_free(d->secret[k]);
    d->secret[k] = NULL;
  }
}

/* --- commands: templates with credentials in them --- */

static char *quoted(const char *s) {
  size_t n = strlen(s);
  char *q = malloc(2 * n + 3), *o = q;
  if (q == NULL)
    return NULL;
  *o++ = '"';
  for (; *s; s++) {
    if (*s == '"' || *s == '\\')
      *o++ = '\\';
    *o++ = *s;
  }
  *o++ = '"';
  *o = 0;
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
    return mask ? "****" : d->secret[1];
  case 'A':
    return mask ? "****" : d->secret[2];
  default:
    return "%";
  }
}

/* Expands a command template; with mask, credentials become "****". */
static char *expand(dlg *d, const char *tpl, bool mask, size_t *len) {
  encodings en = {.user = d->t->opts.username ? d->t->opts.username : "",
                  .pass = d->secret[0] ? d->secret[0] : ""};
  size_t ul = strlen(en.user), pl = strlen(en.pass);
  /* sizes first: every expansion is bounded by these */
  size_t cap = strlen(tpl) + 1 + strlen(d->ehlo) + strlen(d->tag) + 2 * ul +
               4 * (ul + pl + 2) + 2 * pl + 16;
  if (strstr(tpl, "%A"))
    cap += 4 * (ul + pl + 4) / 3 + 8;
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

int pp_dlg_read_password(dlg *d, char *why, size_t whylen) {
  const char *path = d->t->opts.password_file;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    snprintf(why, whylen, "password_file %s: %s", path, strerror(errno));
    return -1;
  }
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
  } else {
    const char *user = d->t->opts.username;
    size_t ul = strlen(user);
    /* SASL PLAIN (RFC 4616): authzid NUL authcid NUL password */
    char *blob = malloc(ul + l + 2);
    d->secret[0] = strndup(buf, l);
    d->secret[1] = b64(buf, l);
    if (blob) {
      blob[0] = 0;
      memcpy(blob + 1, user, ul);
      blob[ul + 1] = 0;
      memcpy(blob + ul + 2, buf, l);
      d->secret[2] = b64(blob, ul + l + 2);
      OPENSSL_cleanse(blob, ul + l + 2);
      free(blob);
    }
    if (!d->secret[0] || !d->secret[1] || !d->secret[2]) {
      snprintf(why, whylen, "out of memory");
      rc = -1;
    }
  }
  OPENSSL_cleanse(buf, sizeof(buf));
  return rc;
}

static const pp_login *choose_login(dlg *d, char *why, size_t whylen) {
  const pp_protocol *p = d->pl->proto;
  static const char *const mech[] = {"auto", "plain", "login"};
  int want = d->t->opts.auth_mechanism;
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
  const pp_opts *o = &d->t->opts;
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
