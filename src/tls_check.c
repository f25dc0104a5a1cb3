/* TLS facts and judgements shared by every kind that speaks TLS. The
 * handshake always runs with SSL_VERIFY_NONE, so it completes whatever the
 * certificate is, and what OpenSSL found (the verify result, the presented
 * chain, the stapled OCSP response) is read afterwards here: a bad
 * certificate is reported with all its facts, the same way for a dialog's
 * TLS layer and for libcurl's https. */
#include "tls_check.h"
#include "check_core.h"

#include "files.h"
#include "tls.h"
#include "tls_probe.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#define PEM_MAX (1 << 20)
#define PASSPHRASE_MAX 1024
#define PIN_PREFIX "sha256//"

/* tls_min_version's choices, in the option's order */
static const int versions[] = {0, TLS1_VERSION, TLS1_1_VERSION, TLS1_2_VERSION,
                               TLS1_3_VERSION};

int pp_tls_version_number(int choice) {
  if (choice < 0 || choice >= (int)(sizeof(versions) / sizeof(versions[0])))
    return 0;
  return versions[choice];
}

static const char *version_name(int v) {
  switch (v) {
  case TLS1_VERSION:
    return "TLSv1";
  case TLS1_1_VERSION:
    return "TLSv1.1";
  case TLS1_2_VERSION:
    return "TLSv1.2";
  case TLS1_3_VERSION:
    return "TLSv1.3";
  default:
    return "?";
  }
}

/* --- preparing a context or a session --- */

/* OpenSSL's passphrase callback: the file's passphrase, never a prompt on
 * a terminal (which the default callback would do). */
static int passphrase(char *buf, int size, int rwflag, void *u) {
  (void)rwflag;
  const char *pass = u;
  if (pass == NULL)
    return -1;
  size_t l = strlen(pass);
  if (l > (size_t)size)
    return -1;
  memcpy(buf, pass, l);
  return (int)l;
}

static void reason(char *buf, size_t len) {
  unsigned long e = ERR_peek_last_error();
  const char *r = e ? ERR_reason_error_string(e) : NULL;
  snprintf(buf, len, "%s", r ? r : "unreadable");
  ERR_clear_error();
}

/* The certificate (and the chain after it) of client_cert. */
static int use_certificates(SSL_CTX *ctx, SSL *ssl, const pp_opts *o, char *why,
                            size_t whylen) {
  char *pem, r[120];
  size_t len;
  if (pp_file_read("client_cert", o->client_cert, PEM_MAX, &pem, &len, why,
                   whylen) != 0)
    return -1;
  BIO *b = BIO_new_mem_buf(pem, (int)len);
  X509 *cert = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
  int ok = cert && (ctx ? SSL_CTX_use_certificate(ctx, cert)
                        : SSL_use_certificate(ssl, cert)) == 1;
  X509_free(cert);
  X509 *ca;
  while (ok && (ca = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
    if ((ctx ? SSL_CTX_add0_chain_cert(ctx, ca)
             : SSL_add0_chain_cert(ssl, ca)) != 1) {
      X509_free(ca);
      ok = 0;
    }
  BIO_free(b);
  free(pem);
  if (!ok) {
    reason(r, sizeof(r));
    snprintf(why, whylen, "client_cert %s: no usable PEM certificate (%s)",
             o->client_cert, r);
    return -1;
  }
  ERR_clear_error(); /* the end of the PEM stream */
  return 0;
}

/* The private key of client_key (else client_cert's file), decrypted with
 * client_key_password_file's first line. The passphrase is never shown. */
static int use_key(SSL_CTX *ctx, SSL *ssl, const pp_opts *o, char *why,
                   size_t whylen) {
  const char *path = o->client_key ? o->client_key : o->client_cert;
  const char *key = o->client_key ? "client_key" : "client_cert";
  char *pem, *pass = NULL, r[120];
  size_t len, plen = 0;
  if (pp_file_read(key, path, PEM_MAX, &pem, &len, why, whylen) != 0)
    return -1;
  if (o->client_key_password_file &&
      pp_secret_read("client_key_password_file", o->client_key_password_file,
                     PASSPHRASE_MAX, &pass, &plen, why, whylen) != 0) {
    pp_secret_free(pem, len);
    return -1;
  }
  BIO *b = BIO_new_mem_buf(pem, (int)len);
  EVP_PKEY *pk = b ? PEM_read_bio_PrivateKey(b, NULL, passphrase, pass) : NULL;
  BIO_free(b);
  pp_secret_free(pem, len);
  pp_secret_free(pass, plen);
  if (pk == NULL) {
    reason(r, sizeof(r));
    snprintf(why, whylen, "%s %s: no usable private key (%s%s)", key, path, r,
             o->client_key_password_file ? ""
                                         : "; encrypted keys need "
                                           "client_key_password_file");
    return -1;
  }
  int ok =
      (ctx ? SSL_CTX_use_PrivateKey(ctx, pk) : SSL_use_PrivateKey(ssl, pk));
  EVP_PKEY_free(pk);
  if (ok != 1 || (ctx ? SSL_CTX_check_private_key(ctx)
                      : SSL_check_private_key(ssl)) != 1) {
    ERR_clear_error();
    snprintf(why, whylen, "%s %s: the key does not match client_cert %s", key,
             path, o->client_cert);
    return -1;
  }
  return 0;
}

int pp_tls_prepare(SSL_CTX *ctx, SSL *ssl, const pp_opts *o, const char *name,
                   bool name_is_ip, char *why, size_t whylen) {
  ERR_clear_error();
  if (name != NULL) {
    X509_VERIFY_PARAM *p = ctx ? SSL_CTX_get0_param(ctx) : SSL_get0_param(ssl);
    X509_VERIFY_PARAM_set_hostflags(p, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    int ok = name_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(p, name)
                        : X509_VERIFY_PARAM_set1_host(p, name, 0);
    if (ok != 1) {
      ERR_clear_error();
      snprintf(why, whylen, "cannot verify a certificate for %.200s", name);
      return -1;
    }
  }
  if (o->ocsp != PP_OCSP_OPT_NO &&
      (ctx ? SSL_CTX_set_tlsext_status_type(ctx, TLSEXT_STATUSTYPE_ocsp)
           : SSL_set_tlsext_status_type(ssl, TLSEXT_STATUSTYPE_ocsp)) != 1) {
    ERR_clear_error(); /* no stapling then: reported as none */
  }
  if (o->client_cert != NULL && (use_certificates(ctx, ssl, o, why, whylen) ||
                                 use_key(ctx, ssl, o, why, whylen)))
    return -1;
  return 0;
}

/* --- facts --- */

/* A certificate name in one line of printable ASCII (RFC 2253 escapes the
 * rest). */
static void name_text(const X509_NAME *n, char *buf, size_t len) {
  buf[0] = 0;
  BIO *b = BIO_new(BIO_s_mem());
  if (b == NULL)
    return;
  if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253) >= 0) {
    char *p;
    long l = BIO_get_mem_data(b, &p);
    size_t o = 0;
    for (long i = 0; i < l && o + 1 < len; i++)
      buf[o++] = (p[i] >= 0x20 && p[i] < 0x7f) ? p[i] : '?';
    buf[o] = 0;
  }
  BIO_free(b);
}

static bool expiry(const X509 *c, int64_t *secs) {
  int d = 0, s = 0;
  if (!ASN1_TIME_diff(&d, &s, NULL, X509_get0_notAfter(c)))
    return false;
  *secs = (int64_t)d * 86400 + s;
  return true;
}

static void hex(const unsigned char *p, size_t n, char *out) {
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * n] = 0;
}

/* The pin of a public key: base64 of SHA-256 over its SubjectPublicKeyInfo,
 * as curl's --pinnedpubkey and HPKP write it. The certificate's own
 * SubjectPublicKeyInfo, as curl takes it: i2d_PUBKEY would re-encode the
 * key through OpenSSL 3's encoders, 6 % of an HTTPS check's CPU. */
static void spki_pin(X509 *c, char *out, size_t len) {
  unsigned char *der = NULL, md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  out[0] = 0;
  int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(c), &der);
  if (n > 0 && EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL)) {
    unsigned char b64[64];
    EVP_EncodeBlock(b64, md, (int)mdlen);
    snprintf(out, len, PIN_PREFIX "%s", b64);
  }
  OPENSSL_free(der);
}

static void leaf_facts(X509 *c, pp_result *r, pp_cert_facts *f) {
  name_text(X509_get_subject_name(c), f->cert_subject, sizeof(f->cert_subject));
  BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(c), NULL);
  char *sn = bn ? BN_bn2hex(bn) : NULL;
  snprintf(f->cert_serial, sizeof(f->cert_serial), "%s", sn ? sn : "");
  OPENSSL_free(sn);
  BN_free(bn);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;
  if (X509_digest(c, EVP_sha256(), md, &mdlen) && mdlen == 32)
    hex(md, mdlen, f->cert_sha256);
  spki_pin(c, f->cert_pin, sizeof(f->cert_pin));
  EVP_PKEY *pk = X509_get0_pubkey(c);
  if (pk != NULL) {
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
    const char *type = EVP_PKEY_get0_type_name(pk);
#else
    const char *type = OBJ_nid2sn(EVP_PKEY_base_id(pk));
#endif
    snprintf(f->cert_key_type, sizeof(f->cert_key_type), "%s",
             type ? type : "?");
    f->cert_key_bits = EVP_PKEY_bits(pk);
  }
  int sig = X509_get_signature_nid(c);
  snprintf(f->cert_signature, sizeof(f->cert_signature), "%s",
           sig != NID_undef ? OBJ_nid2ln(sig) : "?");
  int64_t s;
  if (expiry(c, &s)) {
    r->cert_seen = true;
    r->cert_expiry_s = s;
  }
}

/* The earliest expiry in the chain the server presented (leaf included). */
static void chain_facts(STACK_OF(X509) * chain, pp_result *r,
                        pp_cert_facts *f) {
  for (int i = 0; chain && i < sk_X509_num(chain); i++) {
    X509 *c = sk_X509_value(chain, i);
    int64_t s;
    if (expiry(c, &s) && (!r->chain_seen || s < r->chain_expiry_s)) {
      r->chain_seen = true;
      r->chain_expiry_s = s;
      name_text(X509_get_subject_name(c), f->chain_expiry_subject,
                sizeof(f->chain_expiry_subject));
    }
  }
}

/* Who issued leaf: in the presented chain, else in the trusted store's
 * verified chain. */
static X509 *issuer_of(SSL *ssl, X509 *leaf, STACK_OF(X509) * chain) {
  for (int i = 0; chain && i < sk_X509_num(chain); i++)
    if (X509_check_issued(sk_X509_value(chain, i), leaf) == X509_V_OK)
      return sk_X509_value(chain, i);
  STACK_OF(X509) *v = SSL_get0_verified_chain(ssl);
  for (int i = 0; v && i < sk_X509_num(v); i++)
    if (X509_check_issued(sk_X509_value(v, i), leaf) == X509_V_OK)
      return sk_X509_value(v, i);
  return NULL;
}

/* The stapled response: its status only when it verifies (signed by a
 * responder the trusted store vouches for, for this certificate, current);
 * anything else is invalid. */
static void ocsp_facts(SSL *ssl, X509 *leaf, STACK_OF(X509) * chain,
                       pp_result *r) {
  const unsigned char *p = NULL;
  long len = SSL_get_tlsext_status_ocsp_resp(ssl, &p);
  r->ocsp_status = PP_OCSP_NONE;
  if (len <= 0 || p == NULL)
    return;
  r->ocsp_status = PP_OCSP_INVALID;
  OCSP_RESPONSE *resp = d2i_OCSP_RESPONSE(NULL, &p, len);
  OCSP_BASICRESP *bs = NULL;
  OCSP_CERTID *id = NULL;
  X509 *issuer = issuer_of(ssl, leaf, chain);
  int status = -1, why = 0;
  ASN1_GENERALIZEDTIME *rev = NULL, *this_upd = NULL, *next_upd = NULL;
  X509_STORE *store = SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl));
  if (resp == NULL ||
      OCSP_response_status(resp) != OCSP_RESPONSE_STATUS_SUCCESSFUL ||
      (bs = OCSP_response_get1_basic(resp)) == NULL || issuer == NULL ||
      (id = OCSP_cert_to_id(NULL, leaf, issuer)) == NULL ||
      OCSP_resp_find_status(bs, id, &status, &why, &rev, &this_upd,
                            &next_upd) != 1 ||
      OCSP_basic_verify(bs, chain, store, 0) <= 0)
    goto done;
  int d, s;
  if (next_upd && ASN1_TIME_diff(&d, &s, NULL, next_upd))
    r->ocsp_next_update_s = (int64_t)d * 86400 + s;
  if (!OCSP_check_validity(this_upd, next_upd, 300, -1))
    goto done;
  r->ocsp_status = status == V_OCSP_CERTSTATUS_GOOD      ? PP_OCSP_GOOD
                   : status == V_OCSP_CERTSTATUS_REVOKED ? PP_OCSP_REVOKED
                                                         : PP_OCSP_UNKNOWN;
done:
  OCSP_CERTID_free(id);
  OCSP_BASICRESP_free(bs);
  OCSP_RESPONSE_free(resp);
  ERR_clear_error();
}

void pp_tls_record(SSL *ssl, const pp_opts *o, pp_result *r, pp_engine *e) {
  /* new each time: a copy of the record may share the last one */
  pp_cert_facts scratch, *f = pp_engine_round_alloc(e, sizeof(*f));
  r->cert = f;
  if (f == NULL) { /* out of memory: the words are left out */
    memset(&scratch, 0, sizeof(scratch));
    f = &scratch;
  }
  r->tls_used = true;
  snprintf(r->tls_version, sizeof(r->tls_version), "%s", SSL_get_version(ssl));
  const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
  const char *cn = cipher ? SSL_CIPHER_standard_name(cipher) : NULL;
  snprintf(f->tls_cipher, sizeof(f->tls_cipher), "%s", cn ? cn : "");
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
  X509 *leaf = SSL_get1_peer_certificate(ssl);
#else
  X509 *leaf = SSL_get_peer_certificate(ssl);
#endif
  if (leaf == NULL)
    return;
  STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
  leaf_facts(leaf, r, f);
  chain_facts(chain, r, f);
  if (o->ocsp != PP_OCSP_OPT_NO)
    ocsp_facts(ssl, leaf, chain, r);
  X509_free(leaf);
  int64_t earliest = r->cert_expiry_s;
  if (r->chain_seen && r->chain_expiry_s < earliest)
    earliest = r->chain_expiry_s;
  if (r->cert_seen)
    r->cert_grade =
        pp_tls_cert_grade(earliest, o->cert_warn_days, o->cert_crit_days);
}

/* --- judging --- */

pp_result_code pp_tls_judge_verify(SSL *ssl, const char *verify_name, char *why,
                                   size_t whylen) {
  if (SSL_get_peer_cert_chain(ssl) == NULL) {
    snprintf(why, whylen, "server sent no certificate");
    return PP_R_TLS_VERIFY_FAILED;
  }
  long v = SSL_get_verify_result(ssl);
  if (v == X509_V_OK)
    return PP_R_OK;
  if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH)
    snprintf(why, whylen, "%s: certificate is not for %.100s",
             X509_verify_cert_error_string(v), verify_name);
  else
    snprintf(why, whylen, "%s", X509_verify_cert_error_string(v));
  return PP_R_TLS_VERIFY_FAILED;
}

static bool pinned(const pp_opts *o, const char *pin) {
  for (size_t i = 0; i < o->pins.n; i++)
    if (strcmp(o->pins.items[i], pin) == 0)
      return true;
  return false;
}

pp_result_code pp_tls_judge(SSL *ssl, const pp_opts *o, const pp_result *r,
                            const char *verify_name, char *why, size_t whylen) {
  const pp_cert_facts *f = pp_result_cert(r);
  why[0] = 0;
  if (o->ocsp != PP_OCSP_OPT_NO && r->ocsp_status == PP_OCSP_REVOKED) {
    snprintf(why, whylen,
             "the stapled OCSP response says certificate %.40s is revoked",
             f->cert_serial);
    return PP_R_CERT_REVOKED;
  }
  char v[160] = "";
  pp_result_code code = pp_tls_judge_verify(ssl, verify_name, v, sizeof(v));
  if (code != PP_R_OK && o->verify) {
    snprintf(why, whylen, "%s", v);
    return code;
  }
  if (o->pins.n > 0 && !pinned(o, f->cert_pin)) {
    snprintf(why, whylen, "public key %s is not pinned (pin)", f->cert_pin);
    return PP_R_PIN_MISMATCH;
  }
  if (o->ocsp == PP_OCSP_OPT_REQUIRE && r->ocsp_status != PP_OCSP_GOOD) {
    snprintf(why, whylen, "stapled OCSP response: %s (ocsp=require)",
             pp_ocsp_name(r->ocsp_status));
    return PP_R_OCSP_MISSING;
  }
  int min = pp_tls_version_number(o->tls_min_version);
  if (min > 0 && SSL_version(ssl) < min) {
    snprintf(why, whylen, "negotiated %s, below tls_min_version %s",
             version_name(SSL_version(ssl)), version_name(min));
    return PP_R_TLS_WEAK_PROTOCOL;
  }
  if (code != PP_R_OK)
    snprintf(why, whylen, "not verified (verify=no): %s", v);
  return PP_R_OK;
}

/* --- options --- */

static bool pin_ok(const char *pin) {
  size_t pl = strlen(PIN_PREFIX);
  if (strncmp(pin, PIN_PREFIX, pl) != 0 || strlen(pin + pl) != 44)
    return false;
  unsigned char out[48];
  return EVP_DecodeBlock(out, (const unsigned char *)pin + pl, 44) == 33;
}

/* The TLS option of a scheme without TLS that is set, or NULL. Choices at
 * their default cannot be told from unset and pass. */
static const char *tls_option_set(const pp_opts *o) {
  if (o->pins.n > 0)
    return "pin";
  if (o->ocsp != PP_OCSP_OPT_CHECK)
    return "ocsp";
  if (o->tls_min_version != 0)
    return "tls_min_version";
  if (o->client_cert)
    return "client_cert";
  if (o->client_key)
    return "client_key";
  if (o->client_key_password_file)
    return "client_key_password_file";
  if (o->refuse_protocols)
    return "refuse_protocols";
  return NULL;
}

int pp_tls_validate(const pp_target *t, char *err, size_t errlen) {
  const pp_opts *o = t->opts;
  const char *target = pp_target_name(t);
  const char *set = t->scheme->tls == PP_TLS_NONE ? tls_option_set(o) : NULL;
  if (set != NULL) {
    snprintf(err, errlen,
             "target \"%s\": option \"%s\" applies to targets that speak TLS "
             "(https, tls, smtps, imaps, pop3s, and STARTTLS)",
             target, set);
    return -1;
  }
  for (size_t i = 0; i < o->pins.n; i++)
    if (!pin_ok(o->pins.items[i])) {
      snprintf(err, errlen,
               "target \"%s\": option \"pin\": expected sha256// and the "
               "base64 of a SHA-256 (44 characters, as the record's cert_pin "
               "shows it), got \"%.80s\"",
               target, o->pins.items[i]);
      return -1;
    }
  int min, max;
  if (o->refuse_protocols &&
      pp_tls_refused_range(o->refuse_protocols, &min, &max) != 0) {
    snprintf(err, errlen,
             "target \"%s\": option \"refuse_protocols\": expected a list of "
             "tls1.0, tls1.1 and tls1.2 such as tls1.0,tls1.1, got \"%.64s\"",
             target, o->refuse_protocols);
    return -1;
  }
  if (o->refuse_protocols && t->scheme->tls != PP_TLS_IMPLICIT) {
    snprintf(err, errlen,
             "target \"%s\": option \"refuse_protocols\" needs implicit TLS "
             "(https, tls, smtps, imaps, pop3s): a STARTTLS server is probed "
             "on its own port",
             target);
    return -1;
  }
  if ((o->client_key || o->client_key_password_file) && !o->client_cert) {
    snprintf(err, errlen, "target \"%s\": option \"%s\" needs client_cert",
             target, o->client_key ? "client_key" : "client_key_password_file");
    return -1;
  }
  return 0;
}
