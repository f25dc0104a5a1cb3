/* SCRAM-SHA-256 (RFC 5802, RFC 7677), the client side, over OpenSSL: the
 * first message, the proof from the password and the server's challenge,
 * and the check of the server's signature (a server that accepts any
 * proof fails there). Pure functions over buffers, no I/O. */
#ifndef PP_SCRAM_H
#define PP_SCRAM_H

#include <stdbool.h>
#include <stddef.h>

#define PP_SCRAM_ITERATIONS_MAX 100000 /* PBKDF2 runs on the event loop */

typedef struct {
  char bare[320]; /* client-first-message-bare */
  char nonce[48]; /* ours */
  unsigned char server_key[32];
  char auth[1400]; /* AuthMessage */
  bool have_final; /* a proof was made: the signature can be checked */
} pp_scram;

/* Writes the client-first-message ("n,,n=USER,r=NONCE") into out. nonce
 * NULL: a fresh random one. -1 when out or the state is too small. */
int pp_scram_first(pp_scram *s, const char *user, const char *nonce, char *out,
                   size_t outlen);

/* From the server-first-message, writes the client-final-message (with
 * its proof) into out. -1 with the reason in why: a nonce that is not an
 * extension of ours, a bad salt, too many iterations, an error (e=). */
int pp_scram_final(pp_scram *s, const char *password, const char *server,
                   size_t slen, char *out, size_t outlen, char *why,
                   size_t whylen);

/* Checks the server-final-message: 0 when its signature proves the
 * server knows the password, -1 with the reason otherwise. */
int pp_scram_verify(pp_scram *s, const char *server, size_t slen, char *why,
                    size_t whylen);

/* Wipes the state (keys, the auth message). */
void pp_scram_wipe(pp_scram *s);

#endif
