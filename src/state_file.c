/* The state file: the state table written as text between runs and read
 * back without trusting a byte of it (docs/state.md). One row per field in
 * `fields` makes both the writer and the reader of an entry. */
#include "state_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* portprobe-state 1
 * target url=smtp://mail.example.com state=down announced=down fails=3 ...
 * end 1
 *
 * Values are percent-encoded (space, '%', control and non-ASCII bytes).
 * Keys a reader does not know are skipped, so a later version may add some
 * without a new format number; the end line tells a truncated file. */

#define STATE_MAGIC "portprobe-state"
#define STATE_VERSION 1
#define STATE_FILE_MAX (64L << 20) /* bytes */
#define STATE_LINE_MAX 8192
#define STATE_ENTRIES_MAX 1000000
#define STATE_EXPIRE_NS (7LL * 86400 * 1000000000LL)
#define KEY_CHARS "abcdefghijklmnopqrstuvwxyz_0123456789"

/* --- an entry's fields after url= and name=, in the order written --- */

typedef enum {
  F_TSTATE,
  F_INT,
  F_TIME,
  F_HISTORY,
  F_FLAG,
  F_GRADE,
  F_HEX, /* hex digits into a char array of hi bytes; "-" when empty */
} field_kind;

typedef struct {
  const char *key;
  field_kind kind;
  size_t off;      /* in entry */
  int lo, hi;      /* bounds of an F_INT */
  const char *bad; /* the message for a bad value; NULL: "bad value" */
} field;

#define EOFF(f) offsetof(entry, f)
static const field fields[] = {
    {"state", F_TSTATE, EOFF(state), 0, 0, "bad state"},
    {"announced", F_TSTATE, EOFF(announced), 0, 0, NULL},
    {"fails", F_INT, EOFF(fails), 0, COUNT_CAP, NULL},
    {"oks", F_INT, EOFF(oks), 0, COUNT_CAP, NULL},
    {"streak", F_TIME, EOFF(streak_ns), 0, 0, NULL},
    {"since", F_TIME, EOFF(since_ns), 0, 0, NULL},
    {"last", F_TIME, EOFF(last_ns), 0, 0, NULL},
    {"history", F_HISTORY, EOFF(hist), 0, 0, "bad history"},
    {"flapping", F_FLAG, EOFF(flapping), 0, 1, NULL},
    {"quality", F_GRADE, EOFF(quality), 0, 0, NULL},
    {"cert", F_GRADE, EOFF(cert), 0, 0, NULL},
    {"slow", F_INT, EOFF(slow), SLOW_NO, SLOW_CRIT, NULL},
    {"slow_hi", F_INT, EOFF(slow_hi), 0, COUNT_CAP, NULL},
    {"slow_hi_level", F_INT, EOFF(slow_hi_level), SLOW_NO, SLOW_CRIT, NULL},
    {"slow_lo", F_INT, EOFF(slow_lo), 0, COUNT_CAP, NULL},
    {"slow_lo_level", F_INT, EOFF(slow_lo_level), SLOW_NO, SLOW_CRIT, NULL},
    {"cert_sha256", F_HEX, EOFF(cert_sha256), 0, 65, NULL},
    {"cert_serial", F_HEX, EOFF(cert_serial), 0, 64, NULL},
    {"rrsig", F_GRADE, EOFF(rrsig), 0, 0, NULL},
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* --- saving --- */

static void put_encoded(FILE *f, const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p <= 0x20 || *p >= 0x7f || *p == '%')
      fprintf(f, "%%%02X", *p);
    else
      fputc(*p, f);
  }
}

static void put_history(FILE *f, const pp_flap_history *h) {
  /* oldest first, as people read */
  for (int k = h->n - 1; k >= 0; k--)
    fputc((h->bits >> k) & 1u ? 'u' : 'd', f);
  if (h->n == 0)
    fputc('-', f);
}

static void put_field(FILE *f, const field *fd, const entry *e) {
  const void *p = (const char *)e + fd->off;
  switch (fd->kind) {
  case F_TSTATE:
    fputs(pp_tstate_name(*(const pp_tstate *)p), f);
    break;
  case F_INT:
    fprintf(f, "%d", *(const int *)p);
    break;
  case F_TIME:
    fprintf(f, "%lld", (long long)*(const int64_t *)p);
    break;
  case F_HISTORY:
    put_history(f, p);
    break;
  case F_FLAG:
    fputc(*(const bool *)p ? '1' : '0', f);
    break;
  case F_GRADE:
    fputs(pp_grade_name(*(const pp_grade *)p), f);
    break;
  case F_HEX:
    fputs(*(const char *)p ? (const char *)p : "-", f);
    break;
  }
}

static void put_entry(FILE *f, const entry *e) {
  fputs("target url=", f);
  put_encoded(f, e->url);
  if (e->name[0]) {
    fputs(" name=", f);
    put_encoded(f, e->name);
  }
  for (size_t i = 0; i < NFIELDS; i++) {
    fprintf(f, " %s=", fields[i].key);
    put_field(f, &fields[i], e);
  }
  fputc('\n', f);
}

static int cmp_entries(const void *a, const void *b) {
  const entry *x = *(const entry *const *)a, *y = *(const entry *const *)b;
  int c = strcmp(x->url, y->url);
  return c ? c : strcmp(x->name, y->name);
}

/* Every entry, in a stable order that makes the file easy to read and to
 * diff; *newest is the latest update. NULL when out of memory. */
static entry **sorted_entries(const pp_state_table *st, size_t *n,
                              int64_t *newest) {
  entry **list = calloc(st->count ? st->count : 1, sizeof(*list));
  if (list == NULL)
    return NULL;
  *newest = 0;
  *n = 0;
  for (size_t i = 0; i < st->nbuckets; i++)
    for (entry *e = st->buckets[i]; e; e = e->next) {
      list[(*n)++] = e;
      if (e->last_ns > *newest)
        *newest = e->last_ns;
    }
  qsort(list, *n, sizeof(*list), cmp_entries);
  return list;
}

static void put_file(FILE *f, entry **list, size_t n, int64_t newest) {
  fprintf(f, "%s %d\n", STATE_MAGIC, STATE_VERSION);
  fputs("# portprobe's memory of its targets between runs; safe to delete\n",
        f);
  size_t written = 0;
  for (size_t i = 0; i < n; i++) {
    /* targets gone from the configuration fade out after a week */
    if (newest - list[i]->last_ns > STATE_EXPIRE_NS)
      continue;
    put_entry(f, list[i]);
    written++;
  }
  fprintf(f, "end %zu\n", written);
}

/* Writes the file to tmp (made by mkstemp), then renames it to path. */
static int write_renamed(const char *path, char *tmp, entry **list, size_t n,
                         int64_t newest, char *err, size_t errlen) {
  int fd = mkstemp(tmp);
  if (fd < 0) {
    snprintf(err, errlen, "state file %s: cannot create %s: %s", path, tmp,
             strerror(errno));
    return -1;
  }
  FILE *f = fdopen(fd, "w");
  if (f == NULL) {
    snprintf(err, errlen, "state file %s: %s", path, strerror(errno));
    close(fd);
    goto fail;
  }
  put_file(f, list, n, newest);
  if (fflush(f) != 0 || fsync(fileno(f)) != 0 || ferror(f)) {
    snprintf(err, errlen, "state file %s: writing %s: %s", path, tmp,
             strerror(errno));
    fclose(f);
    goto fail;
  }
  if (fclose(f) != 0) {
    snprintf(err, errlen, "state file %s: writing %s: %s", path, tmp,
             strerror(errno));
    goto fail;
  }
  if (rename(tmp, path) != 0) {
    snprintf(err, errlen, "state file %s: rename from %s: %s", path, tmp,
             strerror(errno));
    goto fail;
  }
  return 0;

fail:
  unlink(tmp);
  return -1;
}

int pp_state_save(const pp_state_table *st, const char *path, char *err,
                  size_t errlen) {
  size_t n;
  int64_t newest;
  entry **list = sorted_entries(st, &n, &newest);
  size_t plen = strlen(path);
  char *tmp = list ? malloc(plen + 16) : NULL;
  if (tmp == NULL) {
    free(list);
    snprintf(err, errlen, "state file %s: out of memory", path);
    return -1;
  }
  snprintf(tmp, plen + 16, "%s.tmpXXXXXX", path);
  int rc = write_renamed(path, tmp, list, n, newest, err, errlen);
  free(tmp);
  free(list);
  return rc;
}

/* --- loading: trust nothing --- */

static int hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Undoes put_encoded into a new string. A bad escape or %00 is an error. */
static int decode(const char *in, char **out) {
  char *s = malloc(strlen(in) + 1), *o = s;
  if (s == NULL)
    return -1;
  for (const char *p = in; *p; p++) {
    if (*p != '%') {
      *o++ = *p;
      continue;
    }
    int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
    if (hi < 0 || lo < 0 || (hi | lo) == 0) {
      free(s);
      return -1;
    }
    *o++ = (char)(hi * 16 + lo);
    p += 2;
  }
  *o = 0;
  *out = s;
  return 0;
}

static int parse_ll(const char *s, long long lo, long long hi, long long *v) {
  if (*s == 0 || strspn(s, "-0123456789") != strlen(s))
    return -1;
  errno = 0;
  char *end;
  long long x = strtoll(s, &end, 10);
  if (errno || *end || x < lo || x > hi)
    return -1;
  *v = x;
  return 0;
}

static int parse_int(const char *s, int lo, int hi, int *v) {
  long long x;
  if (parse_ll(s, lo, hi, &x))
    return -1;
  *v = (int)x;
  return 0;
}

static int parse_time(const char *s, int64_t *ns) {
  long long x;
  if (parse_ll(s, 0, INT64_MAX, &x))
    return -1;
  *ns = x;
  return 0;
}

static int parse_tstate(const char *s, pp_tstate *v) {
  for (int i = PP_TSTATE_UNKNOWN; i <= PP_TSTATE_DOWN; i++)
    if (strcmp(s, pp_tstate_name((pp_tstate)i)) == 0) {
      *v = (pp_tstate)i;
      return 0;
    }
  return -1;
}

static int parse_grade(const char *s, pp_grade *v) {
  for (int i = PP_GRADE_NONE; i <= PP_GRADE_CRITICAL; i++)
    if (strcmp(s, pp_grade_name((pp_grade)i)) == 0) {
      *v = (pp_grade)i;
      return 0;
    }
  return -1;
}

static int parse_history(const char *s, pp_flap_history *h) {
  h->bits = 0;
  h->n = 0;
  if (strcmp(s, "-") == 0)
    return 0;
  size_t len = strlen(s);
  if (len > PP_FLAP_WINDOW)
    return -1;
  for (size_t i = 0; i < len; i++) {
    if (s[i] != 'u' && s[i] != 'd')
      return -1;
    pp_flap_record(h, s[i] == 'u');
  }
  return 0;
}

/* Hex digits (a fingerprint, a serial) into out, of size bytes. */
static int parse_hex(const char *s, char *out, size_t size) {
  if (strcmp(s, "-") == 0) {
    out[0] = 0;
    return 0;
  }
  size_t len = strlen(s);
  if (len == 0 || len >= size || strspn(s, "0123456789abcdefABCDEF") != len)
    return -1;
  memcpy(out, s, len + 1);
  return 0;
}

static int parse_field(const field *fd, const char *v, entry *e) {
  void *p = (char *)e + fd->off;
  switch (fd->kind) {
  case F_TSTATE:
    return parse_tstate(v, p);
  case F_INT:
    return parse_int(v, fd->lo, fd->hi, p);
  case F_TIME:
    return parse_time(v, p);
  case F_HISTORY:
    return parse_history(v, p);
  case F_FLAG: {
    int flag = 0;
    int bad = parse_int(v, fd->lo, fd->hi, &flag);
    *(bool *)p = flag;
    return bad;
  }
  case F_GRADE:
    return parse_grade(v, p);
  case F_HEX:
    return parse_hex(v, p, (size_t)fd->hi);
  }
  return -1;
}

/* What a "target" line says, before it joins the table. */
typedef struct {
  entry e;
  char *url, *name;
  bool have_state;
} parsed;

/* One key=value word of a target line into pe. NULL or what is wrong. */
static const char *parse_word(parsed *pe, char *w) {
  char *eq = strchr(w, '=');
  if (eq == NULL || eq == w)
    return "expected key=value";
  *eq = 0;
  const char *k = w, *v = eq + 1;
  if (strcmp(k, "url") == 0) {
    free(pe->url);
    pe->url = NULL;
    return decode(v, &pe->url) || *pe->url == 0 ? "bad url" : NULL;
  }
  if (strcmp(k, "name") == 0) {
    free(pe->name);
    pe->name = NULL;
    return decode(v, &pe->name) ? "bad name" : NULL;
  }
  for (size_t i = 0; i < NFIELDS; i++) {
    const field *fd = &fields[i];
    if (strcmp(k, fd->key) != 0)
      continue;
    if (fd->off == EOFF(state))
      pe->have_state = true;
    if (parse_field(fd, v, &pe->e) == 0)
      return NULL;
    return fd->bad ? fd->bad : "bad value";
  }
  /* a later version's key is skipped; garbage is not */
  return strspn(k, KEY_CHARS) != strlen(k) ? "bad value" : NULL;
}

/* Puts a complete entry into st. NULL or what is wrong. */
static const char *add_parsed(pp_state_table *st, const parsed *pe) {
  if (pe->url == NULL || !pe->have_state)
    return "a target needs url= and state=";
  if (pe->e.fails && pe->e.oks)
    return "fails and oks cannot both be counting";
  const char *nm = pe->name ? pe->name : "";
  if (pp_state_find(st, nm, pe->url) != NULL)
    return "the same target twice";
  entry *e = pp_state_add(st, nm, pe->url);
  if (e == NULL)
    return "out of memory";
  entry *next = e->next;
  uint32_t hash = e->hash;
  char *en = e->name, *eu = e->url;
  *e = pe->e;
  e->next = next;
  e->hash = hash;
  e->name = en;
  e->url = eu;
  return NULL;
}

/* One "target key=value ..." line into st. Returns NULL or what is wrong. */
static const char *parse_entry(pp_state_table *st, char *line) {
  parsed pe = {0};
  const char *why = NULL;
  char *save = NULL;
  for (char *w = strtok_r(line, " ", &save); w && why == NULL;
       w = strtok_r(NULL, " ", &save))
    why = parse_word(&pe, w);
  if (why == NULL)
    why = add_parsed(st, &pe);
  free(pe.url);
  free(pe.name);
  return why;
}

/* The writer puts out printable ASCII lines only. */
static bool plain_text(const char *buf, size_t len) {
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)buf[i];
    if ((c < 0x20 && c != '\n') || c >= 0x7f)
      return false;
  }
  return true;
}

/* The whole of f (closed here) as a string in *out. NULL or what is wrong
 * with the file as a whole. */
static const char *read_file(FILE *f, char **out) {
  char *buf = malloc(STATE_FILE_MAX + 1);
  if (buf == NULL) {
    fclose(f);
    return "out of memory";
  }
  size_t len = fread(buf, 1, STATE_FILE_MAX + 1, f);
  int rerr = ferror(f);
  fclose(f);
  const char *why = NULL;
  if (rerr)
    why = "read error";
  else if (len > STATE_FILE_MAX)
    why = "larger than 64 MiB, not a state file";
  else if (len == 0)
    why = "empty (a truncated write?)";
  else if (len < sizeof(STATE_MAGIC) ||
           memcmp(buf, STATE_MAGIC " ", sizeof(STATE_MAGIC)) != 0)
    why = "not a portprobe state file";
  else if (!plain_text(buf, len))
    why = "damaged: bytes that are not text";
  if (why) {
    free(buf);
    return why;
  }
  buf[len] = 0;
  *out = buf;
  return NULL;
}

/* The first line, "portprobe-state 1". NULL or what is wrong (in msg when
 * it needs words of its own). */
static const char *check_header(const char *line, char *msg, size_t msglen) {
  long long version;
  if (strncmp(line, STATE_MAGIC " ", sizeof(STATE_MAGIC)) != 0 ||
      parse_ll(line + sizeof(STATE_MAGIC), 1, 1000000, &version) != 0)
    return "not a portprobe state file";
  if (version != STATE_VERSION) {
    snprintf(msg, msglen, "format %lld, this portprobe reads format %d",
             version, STATE_VERSION);
    return msg;
  }
  return NULL;
}

typedef struct {
  pp_state_table *st;
  size_t entries;
  bool ended;
} loader;

/* A line after the first. NULL or what is wrong with it. */
static const char *load_line(loader *ld, char *line) {
  if (ld->ended)
    return "text after the end line";
  if (line[0] == '#' || line[0] == 0)
    return NULL;
  if (strncmp(line, "target ", 7) == 0) {
    if (++ld->entries > STATE_ENTRIES_MAX)
      return "too many targets";
    return parse_entry(ld->st, line + 7);
  }
  long long count;
  if (strncmp(line, "end ", 4) == 0 &&
      parse_ll(line + 4, 0, STATE_ENTRIES_MAX, &count) == 0) {
    if ((size_t)count != ld->entries)
      return "the end line's count does not match (truncated?)";
    ld->ended = true;
    return NULL;
  }
  return "unknown line";
}

/* Every line of p (the whole file) into st. NULL, or what is wrong and in
 * *at the line it is on (0: the file as a whole). */
static const char *load_lines(pp_state_table *st, char *p, long *at, char *msg,
                              size_t msglen) {
  loader ld = {st, 0, false};
  const char *why = NULL;
  long lineno = 0;
  while (*p && why == NULL) {
    char *nl = strchr(p, '\n');
    lineno++;
    if (nl == NULL) {
      why = "last line cut short (truncated)";
      break;
    }
    *nl = 0;
    char *line = p;
    p = nl + 1;
    if ((size_t)(nl - line) > STATE_LINE_MAX)
      why = "line too long";
    else if (lineno > 1)
      why = load_line(&ld, line);
    else if ((why = check_header(line, msg, msglen)) != NULL)
      lineno = 0;
  }
  *at = lineno;
  if (why == NULL && !ld.ended) {
    *at = 0;
    why = "no end line (truncated write?)";
  }
  return why;
}

static int load_fail(pp_state_table *st, char *err, size_t errlen,
                     const char *path, long line, const char *why) {
  pp_state_clear(st);
  if (line > 0)
    snprintf(err, errlen, "state file %s line %ld: %s; starting afresh", path,
             line, why);
  else
    snprintf(err, errlen, "state file %s: %s; starting afresh", path, why);
  return -1;
}

int pp_state_load(pp_state_table *st, const char *path, char *err,
                  size_t errlen) {
  pp_state_clear(st);
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    if (errno == ENOENT)
      return 0; /* the first run */
    return load_fail(st, err, errlen, path, 0, strerror(errno));
  }
  char *buf = NULL;
  const char *why = read_file(f, &buf);
  if (why)
    return load_fail(st, err, errlen, path, 0, why);
  char msg[96];
  long at = 0;
  why = load_lines(st, buf, &at, msg, sizeof(msg));
  int rc = why ? load_fail(st, err, errlen, path, at, why) : 0;
  free(buf);
  return rc;
}
