/* The TLS layer: non-blocking OpenSSL over a check's connected descriptor,
 * for implicit TLS and STARTTLS alike. The caller's event loop drives it:
 * each call says whether it needs the descriptor readable or writable.
 * Verification never aborts the handshake: it is judged afterwards, so the
 * TLS facts (version, certificate expiry) are known even when it fails. */
#ifndef PP_TLS_H
#define PP_TLS_H

#include "options.h"
#include "portprobe.h"
#include "result.h"

#include <stdbool.h>
#include <stddef.h>

/* SSL_CTX objects of one engine, one per ca_file (the system's store for
 * NULL), reloaded when the file changes. Owned by the engine's user. */
typedef struct pp_tls_ctxs pp_tls_ctxs;
pp_tls_ctxs *pp_tls_ctxs_new(void);
void pp_tls_ctxs_free(pp_tls_ctxs *ctxs);

typedef struct pp_tls pp_tls;

typedef enum {
  PP_TLS_DONE,       /* the call did its work */
  PP_TLS_WANT_READ,  /* retry once the descriptor is readable */
  PP_TLS_WANT_WRITE, /* retry once the descriptor is writable */
  PP_TLS_EOF,        /* the peer closed the connection */
  PP_TLS_FAILED,     /* see pp_tls_why() and pp_tls_errno() */
} pp_tls_rc;

typedef struct {
  const char *ca_file; /* NULL: the system's trusted CAs */
  const char *host;    /* the target's host: name or IP literal */
  bool host_is_ip;
  const char *sni;     /* name to send and verify instead of host; NULL */
  const pp_opts *opts; /* client identity, OCSP request; NULL: neither */
} pp_tls_peer;

/* A client session over fd (which stays the caller's). NULL with a reason
 * in why when the CA file or the client certificate cannot be used, or
 * memory runs out. */
pp_tls *pp_tls_new(pp_tls_ctxs *ctxs, int fd, const pp_tls_peer *peer,
                   char *why, size_t whylen);
/* A session that offers only the versions from min_version to
 * max_version (TLS1_VERSION...), with every cipher and no security level:
 * to learn whether a server still accepts what it should refuse. No
 * verification; sni NULL sends none. */
pp_tls *pp_tls_new_offering(pp_tls_ctxs *ctxs, int fd, const char *sni,
                            int min_version, int max_version, char *why,
                            size_t whylen);
/* The negotiated version (TLS1_2_VERSION...) after a handshake. */
int pp_tls_version(const pp_tls *t);

/* Ends the session: sends close_notify if it can without waiting, frees. */
void pp_tls_free(pp_tls *t);

pp_tls_rc pp_tls_handshake(pp_tls *t);
/* *n receives the bytes read or written when the result is PP_TLS_DONE. */
pp_tls_rc pp_tls_read(pp_tls *t, char *buf, size_t len, size_t *n);
pp_tls_rc pp_tls_write(pp_tls *t, const char *buf, size_t len, size_t *n);
/* Whether decrypted bytes wait inside the session (no event will say so). */
bool pp_tls_pending(const pp_tls *t);

/* Why the last call failed, in OpenSSL's words ("wrong version number",
 * "connection reset by peer", "server closed the connection"). */
const char *pp_tls_why(const pp_tls *t);
/* The errno behind a failure of the socket under TLS, 0 otherwise. */
int pp_tls_errno(const pp_tls *t);

/* After a handshake: records the TLS facts into r and judges them against
 * o (tls_check.h: pp_tls_record, pp_tls_judge), the certificate's words in
 * e's memory for the round. PP_R_OK with a note or "" in why, or the
 * failure with its reason. */
pp_result_code pp_tls_check(pp_tls *t, const pp_opts *o, pp_result *r,
                            pp_engine *e, char *why, size_t whylen);

/* The trusted store of ca_file (NULL: the system's), loaded once and again
 * when the file changes; owned by ctxs. NULL with a reason in why. For
 * libcurl's contexts, which verify against the same store as the dialogs. */
struct x509_store_st *pp_tls_store(pp_tls_ctxs *ctxs, const char *ca_file,
                                   char *why, size_t whylen);

/* The session's OpenSSL SSL object, for a check that reads more of the
 * peer's certificates than pp_tls_facts does (DANE). Owned by t. */
struct ssl_st *pp_tls_ssl(pp_tls *t);

/* The grade of a certificate that expires in expiry_s seconds. */
pp_grade pp_tls_cert_grade(long long expiry_s, int warn_days, int crit_days);

#endif
