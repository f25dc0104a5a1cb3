/* PostgreSQL authentication requests and the answers to them: without a
 * login, what the server asks for is reported and the check ends there
 * (the server is alive and guarding); with username and password_file,
 * SCRAM-SHA-256 (its signature checked), md5, or a clear-text password
 * inside TLS only (unless auth_plaintext). The secret is never traced. */
#include "wire_postgres.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdio.h>
#include <string.h>

enum {
  AUTH_OK = 0,
  AUTH_KERBEROS = 2,
  AUTH_CLEARTEXT = 3,
  AUTH_MD5 = 5,
  AUTH_GSS = 7,
  AUTH_SSPI = 9,
  AUTH_SASL = 10,
  AUTH_SASL_CONTINUE = 11,
  AUTH_SASL_FINAL = 12,
};

static const char *auth_name(uint32_t code) {
  switch (code) {
  case AUTH_CLEARTEXT:
    return "password";
  case AUTH_MD5:
    return "md5";
  case AUTH_SASL:
    return "scram-sha-256";
  case AUTH_KERBEROS:
  case AUTH_GSS:
    return "gss";
  case AUTH_SSPI:
    return "sspi";
  default:
    return "unknown";
  }
}

/* A PasswordMessage ('p') with text in it; a secret either way. */
static pp_wire_next send_password(pp_wire *w, const char *text) {
  size_t at = pg_begin_msg(w, 'p');
  pp_wbuf_cstr(&w->out, text);
  pg_end_msg(w, at);
  w->out_secret = true;
  pp_wire_trace(w, "C", "PasswordMessage ****");
  return PP_WIRE_SEND;
}

static pp_wire_next cleartext(pp_wire *w) {
  if (!w->tls_on && !w->t->opts->auth_plaintext)
    return pp_wire_fail(w, PP_R_STARTTLS_UNAVAILABLE,
                        "server asks for the password in clear text without "
                        "TLS (auth_plaintext=yes allows it)");
  const char *pw = pp_wire_password(w);
  return pw ? send_password(w, pw) : PP_WIRE_END;
}

static void md5_hex(const void *a, size_t alen, const void *b, size_t blen,
                    char *hex) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_md5(), NULL) != 1 ||
      EVP_DigestUpdate(ctx, a, alen) != 1 ||
      EVP_DigestUpdate(ctx, b, blen) != 1 ||
      EVP_DigestFinal_ex(ctx, md, &n) != 1)
    n = 0;
  EVP_MD_CTX_free(ctx);
  for (unsigned i = 0; i < n; i++)
    snprintf(hex + 2 * i, 3, "%02x", md[i]);
  hex[2 * n] = 0;
}

/* "md5" + md5(md5(password + user) + salt), as hex */
static pp_wire_next md5_answer(pp_wire *w, pp_rbuf *r) {
  const uint8_t *salt = pp_rbuf_bytes(r, 4);
  if (salt == NULL)
    return pp_wire_fail(w, PP_R_PROTOCOL_ERROR, "md5 request without a salt");
  const char *pw = pp_wire_password(w);
  if (pw == NULL)
    return PP_WIRE_END;
  const char *user = pg_user(w);
  char inner[33], out[36] = "md5";
  md5_hex(pw, strlen(pw), user, strlen(user), inner);
  md5_hex(inner, 32, salt, 4, out + 3);
  pp_wire_next next = send_password(w, out);
  OPENSSL_cleanse(inner, sizeof(inner));
  OPENSSL_cleanse(out, sizeof(out));
  return next;
}

static pp_wire_next sasl_start(pp_wire *w, pp_rbuf *r) {
  pg_state *st = w->st;
  bool scram = false;
  size_t n;
  const char *mech;
  while ((mech = pp_rbuf_cstr(r, &n)) != NULL && n > 0)
    if (strcmp(mech, "SCRAM-SHA-256") == 0)
      scram = true;
  if (!scram)
    return pp_wire_fail(w, PP_R_AUTH_FAILED,
                        "server offers no SASL mechanism portprobe speaks "
                        "(SCRAM-SHA-256)");
  char first[400];
  /* the user is the StartupMessage's: PostgreSQL ignores this one */
  if (pp_scram_first(&st->scram, "", NULL, first, sizeof(first)) != 0)
    return pp_wire_fail(w, PP_R_SOCKET_ERROR, "SCRAM: no random nonce");
  size_t at = pg_begin_msg(w, 'p');
  pp_wbuf_cstr(&w->out, "SCRAM-SHA-256");
  pp_wbuf_u32be(&w->out, (uint32_t)strlen(first));
  pp_wbuf_put(&w->out, first, strlen(first));
  pg_end_msg(w, at);
  pp_wire_trace(w, "C", "SASLInitialResponse SCRAM-SHA-256");
  return PP_WIRE_SEND;
}

static pp_wire_next sasl_continue(pp_wire *w, pp_rbuf *r) {
  pg_state *st = w->st;
  if (!st->scram.nonce[0])
    return pp_wire_fail(w, PP_R_PROTOCOL_ERROR,
                        "SASLContinue without a SASL exchange");
  const char *pw = pp_wire_password(w);
  if (pw == NULL)
    return PP_WIRE_END;
  size_t n = pp_rbuf_left(r);
  const char *server = (const char *)pp_rbuf_bytes(r, n);
  char final[400], why[PP_DETAIL_MAX];
  if (pp_scram_final(&st->scram, pw, server ? server : "", n, final,
                     sizeof(final), why, sizeof(why)) != 0)
    return pp_wire_fail(w, PP_R_AUTH_FAILED, "%s", why);
  size_t at = pg_begin_msg(w, 'p');
  pp_wbuf_put(&w->out, final, strlen(final));
  pg_end_msg(w, at);
  w->out_secret = true;
  OPENSSL_cleanse(final, sizeof(final));
  pp_wire_trace(w, "C", "SASLResponse (proof)");
  return PP_WIRE_SEND;
}

static pp_wire_next sasl_final(pp_wire *w, pp_rbuf *r) {
  pg_state *st = w->st;
  size_t n = pp_rbuf_left(r);
  const char *server = (const char *)pp_rbuf_bytes(r, n);
  char why[PP_DETAIL_MAX];
  if (pp_scram_verify(&st->scram, server ? server : "", n, why, sizeof(why)) !=
      0)
    return pp_wire_fail(w, PP_R_AUTH_FAILED, "%s", why);
  return PP_WIRE_READ; /* AuthenticationOk follows */
}

/* Without a login: what the server asks for is all there is to know. */
static pp_wire_next asked(pp_wire *w, uint32_t code, pp_rbuf *r) {
  char said[PP_EXCERPT_MAX];
  int n = snprintf(said, sizeof(said), "Authentication request %s",
                   auth_name(code));
  if (code == AUTH_SASL) {
    const char *mech;
    size_t ml;
    while ((mech = pp_rbuf_cstr(r, &ml)) != NULL && ml > 0 && n > 0 &&
           (size_t)n < sizeof(said))
      n += snprintf(said + n, sizeof(said) - (size_t)n, " %s", mech);
  }
  pp_wire_excerpt(w, said, strlen(said));
  pp_wire_info(w, "auth %s", auth_name(code));
  pp_wire_note(w, "server asks for %s authentication", auth_name(code));
  return pp_wire_ok(w);
}

pp_wire_next pg_auth_request(pp_wire *w, pp_rbuf *r) {
  pg_state *st = w->st;
  uint32_t code = pp_rbuf_u32be(r);
  if (r->bad)
    return pp_wire_fail(w, PP_R_PROTOCOL_ERROR, "short authentication request");
  pp_wire_trace(w, "S", "Authentication request %u", (unsigned)code);
  if (code == AUTH_OK) {
    st->authed = true;
    if (!st->login)
      pp_wire_info(w, "auth trust");
    return PP_WIRE_READ; /* ParameterStatus ... ReadyForQuery */
  }
  if (!st->login)
    return asked(w, code, r);
  pp_wire_step(w, PP_PHASE_AUTH, "authentication");
  switch (code) {
  case AUTH_CLEARTEXT:
    pp_wire_info(w, "auth password");
    return cleartext(w);
  case AUTH_MD5:
    pp_wire_info(w, "auth md5");
    return md5_answer(w, r);
  case AUTH_SASL:
    pp_wire_info(w, "auth scram-sha-256");
    return sasl_start(w, r);
  case AUTH_SASL_CONTINUE:
    return sasl_continue(w, r);
  case AUTH_SASL_FINAL:
    return sasl_final(w, r);
  default:
    return pp_wire_fail(w, PP_R_AUTH_FAILED,
                        "server asks for %s authentication, which portprobe "
                        "does not speak",
                        auth_name(code));
  }
}
