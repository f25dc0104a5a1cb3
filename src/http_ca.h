/* The trusted CAs of one engine's HTTPS checks: one X509_STORE per ca_file
 * (NULL: the system's, where libcurl looks by default), loaded once and
 * reloaded when the file changes. check_http.c sets the store on each
 * connection's SSL_CTX. Internal to the core. */
#ifndef PP_HTTP_CA_H
#define PP_HTTP_CA_H

#include <openssl/x509.h>

#include <stddef.h>

typedef struct pp_http_cas pp_http_cas;

pp_http_cas *pp_http_cas_new(void);
void pp_http_cas_free(pp_http_cas *cas);

/* The store for ca_file (NULL: the system's), with a reference the caller
 * owns (X509_STORE_free when done), so that a reload does not free it from
 * under a connection. NULL with a reason in why when the file cannot be
 * read or memory runs out. */
X509_STORE *pp_http_cas_get(pp_http_cas *cas, const char *ca_file, char *why,
                            size_t whylen);

#endif
