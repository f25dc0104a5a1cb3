/* SCRAM-SHA-256 client messages (RFC 5802, 7677) with OpenSSL's PBKDF2,
 * HMAC and SHA-256. The password is not normalised with SASLprep: ASCII
 * passwords (the common case) are unaffected. */
#include "scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEY 32

static void b64(const unsigned char *in, size_t len, char *out) {
  EVP_EncodeBlock((unsigned char *)out, in, (int)len);
}

/* base64 into out (room for outlen); the decoded length, -1 if bad */
static int unb64(const char *in, size_t len, unsigned char *out,
                 size_t outlen) {
  if (len == 0 || len % 4 != 0 || len / 4 * 3 > outlen)
    return -1;
  int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
  if (n < 0)
    return -1;
  for (size_t i = len; i > 0 && in[i - 1] == '='; i--)
    n--; /* EVP_DecodeBlock counts the padding as zero bytes */
  return n;
}

/* The value of attribute a= in a comma-separated message. */
static const char *attr(const char *msg, size_t len, char a, size_t *vlen) {
  const char *p = msg, *end = msg + len;
  while (p < end) {
    const char *comma = memchr(p, ',', (size_t)(end - p));
    const char *stop = comma ? comma : end;
    if (stop - p >= 2 && p[0] == a && p[1] == '=') {
      *vlen = (size_t)(stop - p - 2);
      return p + 2;
    }
    p = stop + 1;
  }
  return NULL;
}

static void hmac(const unsigned char *key, const void *data, size_t len,
                 unsigned char *out) {
  unsigned int n = KEY;
  HMAC(EVP_sha256(), key, KEY, data, len, out, &n);
}

int pp_scram_first(pp_scram *s, const char *user, const char *nonce, char *out,
                   size_t outlen) {
  memset(s, 0, sizeof(*s));
  if (nonce != NULL) {
    snprintf(s->nonce, sizeof(s->nonce), "%s", nonce);
  } else {
    unsigned char raw[18];
    if (RAND_bytes(raw, sizeof(raw)) != 1)
      return -1;
    b64(raw, sizeof(raw), s->nonce); /* 24 characters, no ',' in base64 */
  }
  /* the user name with ',' and '=' escaped (RFC 5802 5.1) */
  size_t o = (size_t)snprintf(s->bare, sizeof(s->bare), "n=");
  for (const char *p = user; *p && o + 4 < sizeof(s->bare); p++) {
    if (*p == ',' || *p == '=') {
      memcpy(s->bare + o, *p == ',' ? "=2C" : "=3D", 3);
      o += 3;
    } else {
      s->bare[o++] = *p;
    }
  }
  s->bare[o] = 0;
  int n = snprintf(s->bare + o, sizeof(s->bare) - o, ",r=%s", s->nonce);
  if (n < 0 || (size_t)n >= sizeof(s->bare) - o)
    return -1;
  n = snprintf(out, outlen, "n,,%s", s->bare);
  return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int fail(char *why, size_t whylen, const char *text) {
  snprintf(why, whylen, "%s", text);
  return -1;
}

/* What the server sent: the nonce, salt and iterations, checked. */
static int read_server_first(pp_scram *s, const char *server, size_t slen,
                             unsigned char *salt, int *saltlen, long *iter,
                             char *why, size_t whylen) {
  size_t rl, sl, il, el;
  const char *e = attr(server, slen, 'e', &el);
  if (e != NULL) {
    snprintf(why, whylen, "SCRAM: server error %.*s", (int)el, e);
    return -1;
  }
  if (slen > 0 && server[0] == 'm')
    return fail(why, whylen, "SCRAM: server requires an unknown extension");
  const char *r = attr(server, slen, 'r', &rl);
  const char *sa = attr(server, slen, 's', &sl);
  const char *it = attr(server, slen, 'i', &il);
  size_t cl = strlen(s->nonce);
  if (r == NULL || sa == NULL || it == NULL)
    return fail(why, whylen, "SCRAM: server-first-message lacks r, s or i");
  if (rl <= cl || memcmp(r, s->nonce, cl) != 0)
    return fail(why, whylen, "SCRAM: server nonce does not extend ours");
  *saltlen = unb64(sa, sl, salt, 128);
  if (*saltlen <= 0)
    return fail(why, whylen, "SCRAM: bad salt");
  char num[16];
  if (il == 0 || il >= sizeof(num))
    return fail(why, whylen, "SCRAM: bad iteration count");
  memcpy(num, it, il);
  num[il] = 0;
  char *end;
  *iter = strtol(num, &end, 10);
  if (*end != 0 || *iter < 1)
    return fail(why, whylen, "SCRAM: bad iteration count");
  if (*iter > PP_SCRAM_ITERATIONS_MAX) {
    snprintf(why, whylen, "SCRAM: server asks for %ld iterations (at most %d)",
             *iter, PP_SCRAM_ITERATIONS_MAX);
    return -1;
  }
  return 0;
}

int pp_scram_final(pp_scram *s, const char *password, const char *server,
                   size_t slen, char *out, size_t outlen, char *why,
                   size_t whylen) {
  unsigned char salt[128], salted[KEY], ckey[KEY], stored[KEY], sig[KEY];
  int saltlen = 0;
  long iter = 0;
  size_t rl;
  if (read_server_first(s, server, slen, salt, &saltlen, &iter, why, whylen) !=
      0)
    return -1;
  const char *r = attr(server, slen, 'r', &rl);
  char without[300];
  int n = snprintf(without, sizeof(without), "c=biws,r=%.*s", (int)rl, r);
  int a = snprintf(s->auth, sizeof(s->auth), "%s,%.*s,%s", s->bare, (int)slen,
                   server, without);
  if (n < 0 || (size_t)n >= sizeof(without) || a < 0 ||
      (size_t)a >= sizeof(s->auth))
    return fail(why, whylen, "SCRAM: server-first-message too long");
  if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, saltlen,
                        (int)iter, EVP_sha256(), KEY, salted) != 1)
    return fail(why, whylen, "SCRAM: PBKDF2 failed");
  hmac(salted, "Client Key", 10, ckey);
  SHA256(ckey, KEY, stored);
  hmac(stored, s->auth, (size_t)a, sig);
  for (int i = 0; i < KEY; i++)
    ckey[i] ^= sig[i]; /* the proof */
  hmac(salted, "Server Key", 10, s->server_key);
  char proof[48];
  b64(ckey, KEY, proof);
  OPENSSL_cleanse(salted, sizeof(salted));
  OPENSSL_cleanse(ckey, sizeof(ckey));
  OPENSSL_cleanse(stored, sizeof(stored));
  OPENSSL_cleanse(sig, sizeof(sig));
  n = snprintf(out, outlen, "%s,p=%s", without, proof);
  if (n < 0 || (size_t)n >= outlen)
    return fail(why, whylen, "SCRAM: no room for the final message");
  s->have_final = true;
  return 0;
}

int pp_scram_verify(pp_scram *s, const char *server, size_t slen, char *why,
                    size_t whylen) {
  size_t el, vl;
  const char *e = attr(server, slen, 'e', &el);
  if (e != NULL) {
    snprintf(why, whylen, "SCRAM: server error %.*s", (int)el, e);
    return -1;
  }
  const char *v = attr(server, slen, 'v', &vl);
  unsigned char got[64], want[KEY];
  if (!s->have_final || v == NULL || unb64(v, vl, got, sizeof(got)) != KEY)
    return fail(why, whylen, "SCRAM: server-final-message has no signature");
  hmac(s->server_key, s->auth, strlen(s->auth), want);
  if (CRYPTO_memcmp(got, want, KEY) != 0)
    return fail(why, whylen,
                "SCRAM: the server's signature is wrong (it does not know "
                "the password)");
  return 0;
}

void pp_scram_wipe(pp_scram *s) {
  OPENSSL_cleanse(s, sizeof(*s));
}
