/* The small files options name (a password, a token, a request body, a
 * client key): read whole, bounded, never blocking the loop. Internal to
 * the core. */
#ifndef PP_FILES_H
#define PP_FILES_H

#include <stddef.h>

/* Reads path, a regular file of at most max bytes, into a new buffer
 * (NUL-terminated; *len without it). Opens without blocking, so a FIFO or a
 * device is refused instead of hanging the round. Returns 0, or -1 with
 * "KEY PATH: why" in why. The caller frees *buf (pp_file_free for a
 * secret). */
int pp_file_read(const char *key, const char *path, size_t max, char **buf,
                 size_t *len, char *why, size_t whylen);

/* As pp_file_read, keeping only the first line (without CR/LF), which must
 * not be empty: a password or a token. */
int pp_secret_read(const char *key, const char *path, size_t max, char **buf,
                   size_t *len, char *why, size_t whylen);

/* Wipes and frees a buffer that held a secret. NULL is fine. */
void pp_secret_free(char *buf, size_t len);

#endif
