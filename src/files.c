/* Reading the small files options name. A regular file only (stat after an
 * O_NONBLOCK open: a FIFO cannot make the open or a read wait), at most a
 * bound, and secrets wiped when done. */
#include "files.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int pp_file_read(const char *key, const char *path, size_t max, char **buf,
                 size_t *len, char *why, size_t whylen) {
  *buf = NULL;
  *len = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    snprintf(why, whylen, "%s %s: %s", key, path, strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(why, whylen, "%s %s: not a regular file", key, path);
    close(fd);
    return -1;
  }
  if ((size_t)st.st_size > max) {
    snprintf(why, whylen, "%s %s: longer than %zu bytes", key, path, max);
    close(fd);
    return -1;
  }
  char *b = malloc((size_t)st.st_size + 1);
  size_t n = 0;
  int err = 0;
  while (b != NULL && n < (size_t)st.st_size) {
    ssize_t r = read(fd, b + n, (size_t)st.st_size - n);
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      err = errno;
    if (r <= 0)
      break; /* an error, or a file that shrank while read: what was there */
    n += (size_t)r;
  }
  close(fd);
  if (b == NULL) {
    snprintf(why, whylen, "%s %s: out of memory", key, path);
    return -1;
  }
  if (err != 0) {
    snprintf(why, whylen, "%s %s: %s", key, path, strerror(err));
    pp_secret_free(b, (size_t)st.st_size + 1);
    return -1;
  }
  b[n] = 0;
  *buf = b;
  *len = n;
  return 0;
}

int pp_secret_read(const char *key, const char *path, size_t max, char **buf,
                   size_t *len, char *why, size_t whylen) {
  char *b;
  size_t n;
  /* the first line counts; a few more (a comment) are allowed */
  if (pp_file_read(key, path, max < 65536 ? 65536 : max, &b, &n, why, whylen) !=
      0)
    return -1;
  size_t l = 0;
  while (l < n && b[l] != '\n' && b[l] != '\r' && b[l] != 0)
    l++;
  if (l == 0 || l > max) {
    if (l == 0)
      snprintf(why, whylen, "%s %s: the first line is empty", key, path);
    else
      snprintf(why, whylen, "%s %s: longer than %zu bytes", key, path, max);
    pp_secret_free(b, n);
    return -1;
  }
  OPENSSL_cleanse(b + l, n - l);
  b[l] = 0;
  *buf = b;
  *len = l;
  return 0;
}

void pp_secret_free(char *buf, size_t len) {
  if (buf == NULL)
    return;
  OPENSSL_cleanse(buf, len);
  free(buf);
}
