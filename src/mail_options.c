/* The mail round trip's options, checked when an smtp target is finalized,
 * and the mailbox target its fetch URL makes (owned by the smtp target,
 * with the smtp target's timeouts, TLS trust and the fetch login). */
#include "mail_trip.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool speaks(const pp_scheme *s, const char *protocol) {
  return s->protocol != NULL && strcmp(s->protocol->scheme, protocol) == 0;
}

static bool is_smtp(const pp_scheme *s) {
  return speaks(s, "smtp");
}

static bool is_mailbox(const pp_scheme *s) {
  return speaks(s, "imap") || speaks(s, "pop3");
}

/* An address as SMTP's MAIL FROM / RCPT TO take it: local@domain, no
 * spaces, no angle brackets. */
static bool mail_address(const char *a) {
  const char *at = strrchr(a, '@');
  if (at == NULL || at == a || at[1] == 0)
    return false;
  for (const char *p = a; *p; p++)
    if (*p == ' ' || *p == '<' || *p == '>' || (unsigned char)*p >= 0x7f)
      return false;
  return true;
}

static int fail(char *err, size_t errlen, const pp_target *t, const char *why) {
  snprintf(err, errlen, "target \"%s\": %s", pp_target_name(t), why);
  return -1;
}

/* The round trip's options against each other and the target. */
static int check(const pp_target *t, char *err, size_t errlen) {
  const pp_opts *o = t->opts;
  char why[400], list[128];
  if (!is_smtp(t->scheme)) {
    pp_scheme_names(list, sizeof(list), is_smtp);
    snprintf(why, sizeof(why),
             "the mail round trip (mail_to, fetch) applies to %s targets",
             list);
    return fail(err, errlen, t, why);
  }
  if (o->mail_to == NULL)
    return fail(err, errlen, t,
                "fetch, mail_from, fetch_username and fetch_password_file "
                "belong to a mail round trip: set mail_to too");
  if (o->fetch == NULL)
    return fail(err, errlen, t,
                "option \"mail_to\" needs fetch = "
                "imap|imaps|pop3|pop3s://host[:port], the mailbox the message "
                "is found in");
  bool to_ok = mail_address(o->mail_to);
  if (!to_ok || (o->mail_from && !mail_address(o->mail_from))) {
    snprintf(why, sizeof(why),
             "option \"%s\": expected an address such as "
             "probe@example.com, got \"%s\"",
             to_ok ? "mail_from" : "mail_to",
             to_ok ? o->mail_from : o->mail_to);
    return fail(err, errlen, t, why);
  }
  if (o->addresses == PP_ADDRESSES_ALL || o->mx)
    return fail(err, errlen, t,
                "a mail round trip sends one message: it does not go with "
                "addresses=all or mx=yes");
  if (o->steps.n > 0)
    return fail(err, errlen, t,
                "send and expect do not go with a mail round trip");
  return 0;
}

static int copy_string(char **to, const char *from) {
  if (from == NULL)
    return 0;
  free(*to);
  return (*to = strdup(from)) == NULL ? -1 : 0;
}

/* The mailbox target: the fetch URL with the smtp target's timeouts, family,
 * source address and TLS trust, and the fetch login. */
static pp_target *mailbox(const pp_target *t, char *why, size_t len) {
  const pp_opts *o = t->opts;
  pp_target *f = pp_target_new(o->fetch, why, len);
  if (f == NULL)
    return NULL;
  char name[300];
  snprintf(name, sizeof(name), "%s (fetch)", pp_target_name(t));
  pp_opts *fo = f->opts;
  fo->timeout_ms = o->timeout_ms;
  fo->connect_timeout_ms = o->connect_timeout_ms;
  fo->address_family = o->address_family;
  fo->verify = o->verify;
  fo->auth_plaintext = o->auth_plaintext;
  fo->max_reply = o->max_reply;
  if (copy_string(&fo->name, name) || copy_string(&fo->ca_file, o->ca_file) ||
      copy_string(&fo->source_address, o->source_address) ||
      copy_string(&fo->username,
                  o->fetch_username ? o->fetch_username : o->username) ||
      copy_string(&fo->password_file, o->fetch_password_file
                                          ? o->fetch_password_file
                                          : o->password_file)) {
    snprintf(why, len, "out of memory");
    pp_target_free(f);
    return NULL;
  }
  f->fetch_leg = true;
  return f;
}

int pp_mail_prepare(pp_target *t, char *err, size_t errlen) {
  const pp_opts *o = t->opts;
  pp_target_free(t->fetch); /* finalized again: made anew */
  t->fetch = NULL;
  if (t->fetch_leg || (!o->mail_to && !o->fetch && !o->mail_from &&
                       !o->fetch_username && !o->fetch_password_file))
    return 0;
  if (check(t, err, errlen) != 0)
    return -1;
  char why[512];
  pp_target *f = mailbox(t, why, sizeof(why));
  if (f == NULL) {
    snprintf(err, errlen, "target \"%s\": option \"fetch\": %s",
             pp_target_name(t), why);
    return -1;
  }
  if (!is_mailbox(f->scheme)) {
    snprintf(err, errlen,
             "target \"%s\": option \"fetch\": expected an imap, imaps, pop3 "
             "or pop3s URL, got \"%s\"",
             pp_target_name(t), o->fetch);
    pp_target_free(f);
    return -1;
  }
  if (f->opts->username == NULL || f->opts->password_file == NULL) {
    pp_target_free(f);
    return fail(err, errlen, t,
                "the fetch mailbox needs a login: fetch_username and "
                "fetch_password_file (or username and password_file)");
  }
  if (pp_target_finalize(f, why, sizeof(why)) != 0) {
    snprintf(err, errlen, "%s", why);
    pp_target_free(f);
    return -1;
  }
  t->fetch = f;
  return 0;
}
