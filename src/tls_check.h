/* What every TLS-speaking check shares, whoever drives the handshake (the
 * dialog's own TLS layer, or libcurl for https): the context or session it
 * prepares (client identity, OCSP request, the name to verify), the facts
 * it records once the handshake is done, and how they are judged against
 * the target's options. So every kind reports TLS the same way.
 * Internal to the core. */
#ifndef PP_TLS_CHECK_H
#define PP_TLS_CHECK_H

#include "options.h"
#include "portprobe.h"
#include "result.h"
#include "target.h"

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>

/* Prepares a client context (libcurl's, one per connection) or a session
 * (ssl, when ctx is NULL) for a target: the client certificate and key,
 * the request for a stapled OCSP response, and the name or address the
 * certificate must be for (name NULL: none). Returns 0, or -1 with a
 * message in why (a client certificate that cannot be used). */
int pp_tls_prepare(SSL_CTX *ctx, SSL *ssl, const pp_opts *o, const char *name,
                   bool name_is_ip, char *why, size_t whylen);

/* Records what ssl's finished handshake established into r: tls_used,
 * version, cipher, the leaf's facts, the chain's earliest expiry, the
 * stapled OCSP response, and the certificate grade. The certificate's
 * words (r->cert) are taken from e's memory for the round; without memory
 * they are left out, the rest recorded. */
void pp_tls_record(SSL *ssl, const pp_opts *o, pp_result *r, pp_engine *e);

/* Judges a recorded handshake: PP_R_OK, or the failure (cert_revoked,
 * tls_verify_failed, pin_mismatch, ocsp_missing, tls_weak_protocol) with
 * why. On PP_R_OK why holds a note ("not verified (verify=no): ...") or "".
 * verify_name is the name the certificate was checked against. */
pp_result_code pp_tls_judge(SSL *ssl, const pp_opts *o, const pp_result *r,
                            const char *verify_name, char *why, size_t whylen);

/* Whether the chain and name verify, as pp_tls_judge judges it, for a
 * redirect's connection (whose facts are not the target's). */
pp_result_code pp_tls_judge_verify(SSL *ssl, const char *verify_name, char *why,
                                   size_t whylen);

/* Checks the TLS options of a target once all are set: none of them on a
 * scheme without TLS (http), pins well formed, key and passphrase with a
 * certificate. Called by pp_target_finalize; -1 with a message that names
 * the target and the key. */
int pp_tls_validate(const pp_target *t, char *err, size_t errlen);

/* "TLSv1.2" -> TLS1_2_VERSION; the tls_min_version choices' numbers. */
int pp_tls_version_number(int choice);

#endif
