/* TLS over a check's descriptor with OpenSSL. The session reads and writes
 * through a small BIO of our own (send with MSG_NOSIGNAL: a library must
 * not raise SIGPIPE in its host), and the handshake runs with
 * SSL_VERIFY_NONE: the verification result is read afterwards, so a bad
 * certificate is reported with its facts instead of a bare failure. */
#include "tls.h"
#include "tls_check.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

typedef struct ctx_entry {
  struct ctx_entry *next;
  char *ca_file; /* NULL: the system's store */
  struct timespec mtime;
  ino_t ino;
  off_t size;
  SSL_CTX *ctx;
} ctx_entry;

struct pp_tls_ctxs {
  ctx_entry *list;
  BIO_METHOD *meth;
};

struct pp_tls {
  SSL *ssl;
  int fd;
  int sys_errno; /* from the socket under the session */
  bool eof;      /* the socket read 0 */
  bool handshaken;
  bool failed;
  char verify_name[256];
  char why[160];
};

/* --- the BIO: the socket, without SIGPIPE --- */

static int bio_write(BIO *b, const char *buf, int len) {
  pp_tls *t = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  ssize_t n = send(t->fd, buf, (size_t)len, MSG_NOSIGNAL);
  if (n >= 0)
    return (int)n;
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
    BIO_set_retry_write(b);
  else
    t->sys_errno = errno;
  return -1;
}

static int bio_read(BIO *b, char *buf, int len) {
  pp_tls *t = BIO_get_data(b);
  BIO_clear_retry_flags(b);
  ssize_t n = recv(t->fd, buf, (size_t)len, 0);
  if (n > 0)
    return (int)n;
  if (n == 0) {
    t->eof = true;
    return 0;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
    BIO_set_retry_read(b);
  else
    t->sys_errno = errno;
  return -1;
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
  (void)b;
  (void)num;
  (void)ptr;
  return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int bio_create(BIO *b) {
  BIO_set_init(b, 1);
  return 1;
}

/* --- contexts --- */

pp_tls_ctxs *pp_tls_ctxs_new(void) {
  pp_tls_ctxs *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return NULL;
  c->meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                         "portprobe socket");
  if (c->meth == NULL || !BIO_meth_set_write(c->meth, bio_write) ||
      !BIO_meth_set_read(c->meth, bio_read) ||
      !BIO_meth_set_ctrl(c->meth, bio_ctrl) ||
      !BIO_meth_set_create(c->meth, bio_create)) {
    BIO_meth_free(c->meth);
    free(c);
    return NULL;
  }
  return c;
}

void pp_tls_ctxs_free(pp_tls_ctxs *c) {
  if (c == NULL)
    return;
  while (c->list) {
    ctx_entry *e = c->list;
    c->list = e->next;
    SSL_CTX_free(e->ctx);
    free(e->ca_file);
    free(e);
  }
  BIO_meth_free(c->meth);
  free(c);
}

/* OpenSSL's reason for the oldest queued error, and clears the queue. */
static void ssl_reason(char *buf, size_t len, const char *fallback) {
  unsigned long e = ERR_get_error();
  const char *r = e ? ERR_reason_error_string(e) : NULL;
  if (r != NULL)
    snprintf(buf, len, "%s", r);
  else if (e != 0)
    snprintf(buf, len, "OpenSSL error %lx", e);
  else
    snprintf(buf, len, "%s", fallback);
  ERR_clear_error();
}

#define CA_FILE_MAX (16 << 20) /* a bundle of every public CA is 200 kB */

/* The file's bytes, read from a descriptor opened without blocking: a FIFO
 * (or a device) as ca_file would hold the engine's loop until a writer
 * came, so only a regular file of bounded size is read. */
static BIO *read_ca_file(const char *path, char *why, size_t whylen) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    snprintf(why, whylen, "ca_file %s: %s", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  char *buf = NULL;
  size_t n = 0;
  if (!S_ISREG(st.st_mode))
    snprintf(why, whylen, "ca_file %s: %s, not a regular file", path,
             S_ISDIR(st.st_mode)    ? "a directory"
             : S_ISFIFO(st.st_mode) ? "a FIFO"
                                    : "a device or socket");
  else if (st.st_size > CA_FILE_MAX)
    snprintf(why, whylen, "ca_file %s: larger than %d MiB", path,
             CA_FILE_MAX >> 20);
  else if ((buf = malloc((size_t)st.st_size + 1)) == NULL)
    snprintf(why, whylen, "out of memory");
  for (ssize_t r = 1; buf != NULL && r > 0 && n < (size_t)st.st_size;) {
    r = read(fd, buf + n, (size_t)st.st_size - n);
    if (r > 0)
      n += (size_t)r;
    else if (r < 0 && errno == EINTR)
      r = 1;
    else if (r < 0) {
      snprintf(why, whylen, "ca_file %s: %s", path, strerror(errno));
      free(buf);
      buf = NULL;
    }
  }
  close(fd);
  BIO *bio = buf ? BIO_new(BIO_s_mem()) : NULL;
  if (bio != NULL && BIO_write(bio, buf, (int)n) != (int)n) {
    BIO_free(bio);
    bio = NULL;
  }
  if (buf != NULL && bio == NULL)
    snprintf(why, whylen, "out of memory");
  free(buf);
  return bio;
}

/* The certificates and CRLs of a PEM file into ctx's store, as
 * SSL_CTX_load_verify_locations reads them. */
static int load_ca_file(SSL_CTX *ctx, const char *path, char *why,
                        size_t whylen) {
  BIO *bio = read_ca_file(path, why, whylen);
  if (bio == NULL) {
    SSL_CTX_free(ctx);
    return -1;
  }
  STACK_OF(X509_INFO) *infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL);
  BIO_free(bio);
  X509_STORE *store = SSL_CTX_get_cert_store(ctx);
  int added = 0;
  for (int i = 0; infos && i < sk_X509_INFO_num(infos); i++) {
    X509_INFO *info = sk_X509_INFO_value(infos, i);
    if (info->x509 && X509_STORE_add_cert(store, info->x509))
      added++;
    if (info->crl && X509_STORE_add_crl(store, info->crl))
      added++;
  }
  sk_X509_INFO_pop_free(infos, X509_INFO_free);
  if (added == 0) {
    char r[120];
    ssl_reason(r, sizeof(r), "no certificate in it");
    snprintf(why, whylen, "ca_file %s: %s", path, r);
    SSL_CTX_free(ctx);
    return -1;
  }
  ERR_clear_error(); /* the end of the file reads as an error */
  return 0;
}

static SSL_CTX *make_ctx(const char *ca_file, char *why, size_t whylen) {
  ERR_clear_error();
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == NULL) {
    ssl_reason(why, whylen, "cannot make a TLS context");
    return NULL;
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                            SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
  if (ca_file != NULL)
    return load_ca_file(ctx, ca_file, why, whylen) == 0 ? ctx : NULL;
  if (!SSL_CTX_set_default_verify_paths(ctx)) {
    char r[120];
    ssl_reason(r, sizeof(r), "cannot load");
    snprintf(why, whylen, "ca_file (system): %s", r);
    SSL_CTX_free(ctx);
    return NULL;
  }
  return ctx;
}

static bool same_file(const ctx_entry *e, const struct stat *st) {
  return e->ino == st->st_ino && e->size == st->st_size &&
         e->mtime.tv_sec == st->st_mtim.tv_sec &&
         e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* The context for ca_file, made or remade when the file changed. */
static SSL_CTX *get_ctx(pp_tls_ctxs *c, const char *ca_file, char *why,
                        size_t whylen) {
  struct stat st = {0};
  if (ca_file && stat(ca_file, &st) != 0) {
    snprintf(why, whylen, "ca_file %s: %s", ca_file, strerror(errno));
    return NULL;
  }
  ctx_entry *e;
  for (e = c->list; e; e = e->next)
    if ((e->ca_file == NULL) == (ca_file == NULL) &&
        (ca_file == NULL || strcmp(e->ca_file, ca_file) == 0))
      break;
  if (e && (ca_file == NULL || same_file(e, &st)))
    return e->ctx;
  SSL_CTX *ctx = make_ctx(ca_file, why, whylen);
  if (ctx == NULL)
    return NULL;
  if (e == NULL) {
    e = calloc(1, sizeof(*e));
    if (e == NULL || (ca_file && (e->ca_file = strdup(ca_file)) == NULL)) {
      free(e);
      SSL_CTX_free(ctx);
      snprintf(why, whylen, "out of memory");
      return NULL;
    }
    e->next = c->list;
    c->list = e;
  }
  SSL_CTX_free(e->ctx); /* sessions still using it hold a reference */
  e->ctx = ctx;
  e->ino = st.st_ino;
  e->size = st.st_size;
  e->mtime = st.st_mtim;
  return ctx;
}

/* --- sessions --- */

/* A session over fd with ctx (which the session holds a reference of). */
static pp_tls *session_new(pp_tls_ctxs *ctxs, SSL_CTX *ctx, int fd, char *why,
                           size_t whylen) {
  pp_tls *t = calloc(1, sizeof(*t));
  if (t == NULL) {
    snprintf(why, whylen, "out of memory");
    return NULL;
  }
  t->fd = fd;
  ERR_clear_error();
  BIO *bio = NULL;
  if ((t->ssl = SSL_new(ctx)) == NULL || (bio = BIO_new(ctxs->meth)) == NULL) {
    ssl_reason(why, whylen, "cannot make a TLS session");
    SSL_free(t->ssl);
    free(t);
    return NULL;
  }
  BIO_set_data(bio, t);
  SSL_set_bio(t->ssl, bio, bio);
  SSL_set_connect_state(t->ssl);
  return t;
}

pp_tls *pp_tls_new_offering(pp_tls_ctxs *ctxs, int fd, const char *sni,
                            int min_version, int max_version, char *why,
                            size_t whylen) {
  ERR_clear_error();
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  /* what the system's configuration forbids (old versions, SHA-1) is what
   * this session must be able to offer */
  if (ctx == NULL || !SSL_CTX_set_min_proto_version(ctx, min_version) ||
      !SSL_CTX_set_max_proto_version(ctx, max_version) ||
      !SSL_CTX_set_cipher_list(ctx, "ALL:@SECLEVEL=0")) {
    ssl_reason(why, whylen, "cannot make a TLS context");
    SSL_CTX_free(ctx);
    return NULL;
  }
  SSL_CTX_set_security_level(ctx, 0);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
  pp_tls *t = session_new(ctxs, ctx, fd, why, whylen);
  SSL_CTX_free(ctx);
  if (t && sni && SSL_set_tlsext_host_name(t->ssl, sni) != 1) {
    ssl_reason(why, whylen, "bad server name");
    pp_tls_free(t);
    return NULL;
  }
  return t;
}

int pp_tls_version(const pp_tls *t) {
  return SSL_version(t->ssl);
}

pp_tls *pp_tls_new(pp_tls_ctxs *ctxs, int fd, const pp_tls_peer *peer,
                   char *why, size_t whylen) {
  SSL_CTX *ctx = get_ctx(ctxs, peer->ca_file, why, whylen);
  if (ctx == NULL)
    return NULL;
  pp_tls *t = session_new(ctxs, ctx, fd, why, whylen);
  if (t == NULL)
    return NULL;

  /* SNI carries names only (RFC 6066); an IP literal is verified as one */
  const char *name =
      peer->sni ? peer->sni : (peer->host_is_ip ? NULL : peer->host);
  X509_VERIFY_PARAM *param = SSL_get0_param(t->ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  bool ok;
  if (name != NULL) {
    ok = SSL_set_tlsext_host_name(t->ssl, name) == 1 &&
         SSL_set1_host(t->ssl, name) == 1;
  } else {
    ok = X509_VERIFY_PARAM_set1_ip_asc(param, peer->host) == 1;
    name = peer->host;
  }
  snprintf(t->verify_name, sizeof(t->verify_name), "%s", name);
  if (!ok) {
    ssl_reason(why, whylen, "bad server name");
    pp_tls_free(t);
    return NULL;
  }
  if (peer->opts &&
      pp_tls_prepare(NULL, t->ssl, peer->opts, NULL, false, why, whylen) != 0) {
    pp_tls_free(t);
    return NULL;
  }
  return t;
}

void pp_tls_free(pp_tls *t) {
  if (t == NULL)
    return;
  if (t->handshaken && !t->failed && t->sys_errno == 0 && !t->eof) {
    /* close_notify, once, without waiting for the peer's */
    ERR_clear_error();
    SSL_shutdown(t->ssl);
    ERR_clear_error();
  }
  SSL_free(t->ssl);
  free(t);
}

static pp_tls_rc outcome(pp_tls *t, int ret) {
  int e = SSL_get_error(t->ssl, ret);
  switch (e) {
  case SSL_ERROR_WANT_READ:
    return PP_TLS_WANT_READ;
  case SSL_ERROR_WANT_WRITE:
    return PP_TLS_WANT_WRITE;
  case SSL_ERROR_ZERO_RETURN:
    snprintf(t->why, sizeof(t->why), "server closed the TLS session");
    return PP_TLS_EOF;
  case SSL_ERROR_SYSCALL:
    ERR_clear_error();
    if (t->sys_errno != 0) {
      snprintf(t->why, sizeof(t->why), "%s", strerror(t->sys_errno));
      t->failed = true;
      return PP_TLS_FAILED;
    }
    snprintf(t->why, sizeof(t->why), "server closed the connection");
    return PP_TLS_EOF;
  default:
    ssl_reason(t->why, sizeof(t->why), "TLS error");
    t->failed = true;
    if (t->eof && !t->handshaken)
      return PP_TLS_EOF;
    return PP_TLS_FAILED;
  }
}

pp_tls_rc pp_tls_handshake(pp_tls *t) {
  ERR_clear_error();
  int ret = SSL_do_handshake(t->ssl);
  if (ret == 1) {
    t->handshaken = true;
    return PP_TLS_DONE;
  }
  return outcome(t, ret);
}

pp_tls_rc pp_tls_read(pp_tls *t, char *buf, size_t len, size_t *n) {
  ERR_clear_error();
  size_t got = 0;
  int ret = SSL_read_ex(t->ssl, buf, len, &got);
  if (ret == 1) {
    *n = got;
    return PP_TLS_DONE;
  }
  return outcome(t, ret);
}

pp_tls_rc pp_tls_write(pp_tls *t, const char *buf, size_t len, size_t *n) {
  ERR_clear_error();
  size_t put = 0;
  int ret = SSL_write_ex(t->ssl, buf, len, &put);
  if (ret == 1) {
    *n = put;
    return PP_TLS_DONE;
  }
  return outcome(t, ret);
}

bool pp_tls_pending(const pp_tls *t) {
  return SSL_pending(t->ssl) > 0;
}

const char *pp_tls_why(const pp_tls *t) {
  return t->why;
}

int pp_tls_errno(const pp_tls *t) {
  return t->sys_errno;
}

pp_grade pp_tls_cert_grade(long long expiry_s, int warn_days, int crit_days) {
  if (expiry_s < (long long)crit_days * 86400)
    return PP_GRADE_CRITICAL;
  if (expiry_s < (long long)warn_days * 86400)
    return PP_GRADE_WARNING;
  return PP_GRADE_GOOD;
}

pp_result_code pp_tls_check(pp_tls *t, const pp_opts *o, pp_result *r,
                            pp_engine *e, char *why, size_t whylen) {
  pp_tls_record(t->ssl, o, r, e);
  return pp_tls_judge(t->ssl, o, r, t->verify_name, why, whylen);
}

X509_STORE *pp_tls_store(pp_tls_ctxs *ctxs, const char *ca_file, char *why,
                         size_t whylen) {
  SSL_CTX *ctx = get_ctx(ctxs, ca_file, why, whylen);
  return ctx ? SSL_CTX_get_cert_store(ctx) : NULL;
}

struct ssl_st *pp_tls_ssl(pp_tls *t) {
  return t->ssl;
}
