/* The CA stores of one engine's HTTPS checks. libcurl 7.88 with OpenSSL
 * builds a store for every connection: with a CA path set (Debian's build
 * sets one by default) it parses the whole system bundle each time (~150
 * certificates), and its own cache keeps one store per multi handle, keyed
 * by file name, for a day. Here each ca_file is parsed once per engine and
 * again only when the file changes, as tls.c does for its contexts. */
#include "http_ca.h"

#include <curl/curl.h>
#include <openssl/err.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
  struct timespec mtime;
  ino_t ino;
  off_t size;
} stamp;

typedef struct ca_entry {
  struct ca_entry *next;
  char *ca_file; /* NULL: the system's */
  stamp file, dir;
  X509_STORE *store;
} ca_entry;

struct pp_http_cas {
  ca_entry *list;
};

pp_http_cas *pp_http_cas_new(void) {
  return calloc(1, sizeof(pp_http_cas));
}

void pp_http_cas_free(pp_http_cas *cas) {
  if (cas == NULL)
    return;
  while (cas->list) {
    ca_entry *e = cas->list;
    cas->list = e->next;
    X509_STORE_free(e->store);
    free(e->ca_file);
    free(e);
  }
  free(cas);
}

/* Where libcurl would look with no ca_file: its built-in defaults. */
static void system_paths(const char **file, const char **dir) {
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  *file = v->age >= CURLVERSION_SEVENTH ? v->cainfo : NULL;
  *dir = v->age >= CURLVERSION_SEVENTH ? v->capath : NULL;
}

static int stamp_of(const char *path, stamp *s) {
  struct stat st;
  memset(s, 0, sizeof(*s));
  if (path == NULL)
    return 0;
  if (stat(path, &st) != 0)
    return -1;
  s->mtime = st.st_mtim;
  s->ino = st.st_ino;
  s->size = st.st_size;
  return 0;
}

static bool same_stamp(const stamp *a, const stamp *b) {
  return a->ino == b->ino && a->size == b->size &&
         a->mtime.tv_sec == b->mtime.tv_sec &&
         a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void ssl_reason(char *buf, size_t len) {
  unsigned long e = ERR_get_error();
  const char *r = e ? ERR_reason_error_string(e) : NULL;
  snprintf(buf, len, "%s", r ? r : "cannot load");
  ERR_clear_error();
}

/* A store as libcurl's populate step makes one: the file alone when the
 * target names one, else libcurl's bundle and directory; issuers from the
 * store first, and an intermediate there is a trust anchor. */
static X509_STORE *load(const char *ca_file, char *why, size_t whylen) {
  const char *file = ca_file, *dir = NULL;
  if (ca_file == NULL)
    system_paths(&file, &dir);
  ERR_clear_error();
  X509_STORE *st = X509_STORE_new();
  bool ok = st != NULL;
  if (ok && file == NULL && dir == NULL)
    ok = X509_STORE_set_default_paths(st) == 1;
  if (ok && file != NULL)
    ok = X509_STORE_load_file(st, file) == 1;
  if (ok && dir != NULL)
    ok = X509_STORE_load_path(st, dir) == 1;
  if (ok)
    ok = X509_STORE_set_flags(st, X509_V_FLAG_TRUSTED_FIRST |
                                      X509_V_FLAG_PARTIAL_CHAIN) == 1;
  if (!ok) {
    char r[120];
    ssl_reason(r, sizeof(r));
    snprintf(why, whylen, "ca_file %s: %s", ca_file ? ca_file : "(system)", r);
    X509_STORE_free(st);
    return NULL;
  }
  return st;
}

static ca_entry *find(pp_http_cas *cas, const char *ca_file) {
  for (ca_entry *e = cas->list; e; e = e->next)
    if ((e->ca_file == NULL) == (ca_file == NULL) &&
        (ca_file == NULL || strcmp(e->ca_file, ca_file) == 0))
      return e;
  return NULL;
}

X509_STORE *pp_http_cas_get(pp_http_cas *cas, const char *ca_file, char *why,
                            size_t whylen) {
  const char *file = ca_file, *dir = NULL;
  if (ca_file == NULL)
    system_paths(&file, &dir);
  stamp fs, ds;
  if (stamp_of(file, &fs) != 0 || stamp_of(dir, &ds) != 0) {
    snprintf(why, whylen, "ca_file %s: %s", ca_file ? ca_file : "(system)",
             strerror(errno));
    return NULL;
  }
  ca_entry *e = find(cas, ca_file);
  if (e == NULL || !same_stamp(&e->file, &fs) || !same_stamp(&e->dir, &ds)) {
    X509_STORE *st = load(ca_file, why, whylen);
    if (st == NULL)
      return NULL;
    if (e == NULL) {
      e = calloc(1, sizeof(*e));
      if (e == NULL || (ca_file && (e->ca_file = strdup(ca_file)) == NULL)) {
        free(e);
        X509_STORE_free(st);
        snprintf(why, whylen, "out of memory");
        return NULL;
      }
      e->next = cas->list;
      cas->list = e;
    }
    X509_STORE_free(e->store); /* connections still using it hold a ref */
    e->store = st;
    e->file = fs;
    e->dir = ds;
  }
  if (X509_STORE_up_ref(e->store) != 1) {
    snprintf(why, whylen, "out of memory");
    return NULL;
  }
  return e->store;
}
