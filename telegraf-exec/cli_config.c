/* The command's configuration: INI files through inih, and words after each
 * URL on the command line. Defaults, names and validation are the core's
 * (builder.c): this file only reads the syntax. */
#include "cli_config.h"

#include <errno.h>
#include <stdbool.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* --- INI files --- */

typedef struct {
  char *section, *key, *value;
  int line;
  int header_line; /* of the section's [header], 0 if not seen */
} entry;

typedef struct {
  char *name;
  int line;
  bool has_entries;
} header;

typedef struct {
  FILE *f;
  int line; /* inih reads one line per reader call */
  entry *e;
  size_t n, cap;
  header *h; /* [section] lines, in file order */
  size_t nh, caph;
  int too_long; /* line number of a line longer than inih's buffer */
  int nul;      /* line number of a NUL byte */
  int max_line;
  int oom;
} ini_state;

/* inih's section names hold 49 characters; a longer one would be cut. */
#define SECTION_MAX 49

/* Records a [section] line. inih parses it too; this copy is for the checks
 * inih does not make (check_headers). */
static void note_header(ini_state *s, const char *line) {
  const char *p = line;
  if ((unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
      (unsigned char)p[2] == 0xBF)
    p += 3; /* UTF-8 byte order mark, which inih skips too */
  if (*p != '[')
    return; /* indented lines may continue a value: inih decides */
  const char *end = strchr(p, ']');
  if (end == NULL)
    return; /* inih reports the error */
  if (s->nh == s->caph) {
    size_t cap = s->caph ? s->caph * 2 : 16;
    header *h = realloc(s->h, cap * sizeof(*h));
    if (h == NULL) {
      s->oom = 1;
      return;
    }
    s->h = h;
    s->caph = cap;
  }
  header *h = &s->h[s->nh];
  if ((h->name = strndup(p + 1, (size_t)(end - p - 1))) == NULL) {
    s->oom = 1;
    return;
  }
  h->line = s->line;
  h->has_entries = false;
  s->nh++;
}

/* One line for inih, read a byte at a time: a NUL byte (a binary file, or
 * a truncated write) would end the line early for fgets and inih alike, so
 * it stops the parse with the line's number instead. */
static char *reader(char *str, int num, void *stream) {
  ini_state *s = stream;
  if (s->too_long || s->nul)
    return NULL;
  int n = 0, c;
  while (n < num - 1 && (c = getc_unlocked(s->f)) != EOF) {
    if (c == 0) {
      s->nul = s->line + 1;
      return NULL;
    }
    str[n++] = (char)c;
    if (c == '\n')
      break;
  }
  if (n == 0)
    return NULL; /* end of the file, or a read error (pp_config_load_stream) */
  str[n] = 0;
  s->line++;
  /* a line that does not fit would be read as two: refuse it instead */
  if (str[n - 1] != '\n' && n == num - 1) {
    s->too_long = s->line;
    s->max_line = num - 2;
    return NULL;
  }
  note_header(s, str);
  return str;
}

static int on_entry(void *user, const char *section, const char *name,
                    const char *value) {
  ini_state *s = user;
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    entry *e = realloc(s->e, cap * sizeof(*e));
    if (e == NULL) {
      s->oom = 1;
      return 0;
    }
    s->e = e;
    s->cap = cap;
  }
  entry *e = &s->e[s->n];
  e->section = strdup(section);
  e->key = strdup(name);
  e->value = strdup(value);
  e->line = s->line;
  e->header_line = 0;
  if (s->nh > 0 && strcmp(s->h[s->nh - 1].name, section) == 0) {
    s->h[s->nh - 1].has_entries = true;
    e->header_line = s->h[s->nh - 1].line;
  }
  if (!e->section || !e->key || !e->value) {
    free(e->section);
    free(e->key);
    free(e->value);
    s->oom = 1;
    return 0;
  }
  s->n++;
  return 1;
}

static void free_entries(ini_state *s) {
  for (size_t i = 0; i < s->n; i++) {
    free(s->e[i].section);
    free(s->e[i].key);
    free(s->e[i].value);
  }
  free(s->e);
  for (size_t i = 0; i < s->nh; i++)
    free(s->h[i].name);
  free(s->h);
}

static int by_name_then_line(const void *a, const void *b) {
  const header *x = a, *y = b;
  int c = strcmp(x->name, y->name);
  return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* What inih accepts but would surprise: a section name cut short, a target
 * with no keys at all, a section opened twice (its keys would merge into
 * one target). Sorts the headers: O(n log n). */
static int check_headers(const char *path, ini_state *s, char *err,
                         size_t errlen) {
  for (size_t i = 0; i < s->nh; i++) {
    const header *h = &s->h[i];
    if (strlen(h->name) > SECTION_MAX) {
      snprintf(err, errlen,
               "%s:%d: [%.20s...]: a section name has at most %d "
               "characters; name a long target with name = ...",
               path, h->line, h->name, SECTION_MAX);
      return -1;
    }
    if (!h->has_entries && strcmp(h->name, "defaults") != 0) {
      snprintf(err, errlen, "%s:%d: [%s]: missing key \"url\"", path, h->line,
               h->name);
      return -1;
    }
  }
  if (s->nh > 1) /* qsort wants a non-null base, even for 0 */
    qsort(s->h, s->nh, sizeof(*s->h), by_name_then_line);
  int dup = 0;
  for (size_t i = 1; i < s->nh; i++)
    if (strcmp(s->h[i].name, s->h[i - 1].name) == 0 &&
        (dup == 0 || s->h[i].line < s->h[dup].line))
      dup = (int)i; /* report the earliest repeat in the file */
  if (dup > 0) {
    snprintf(err, errlen,
             "%s:%d: [%s] was already opened at line %d; each target needs "
             "a section of its own",
             path, s->h[dup].line, s->h[dup].name, s->h[dup - 1].line);
    return -1;
  }
  return 0;
}

/* A section's entries, contiguous after sorting (see group_sections). */
typedef struct {
  const char *name;
  entry **e;
  size_t n;
  size_t first; /* file position of its first entry: targets keep file order */
} section;

/* Where a target's own keys go, for messages about keys that do not fit
 * [defaults]. */
#define OWN_PLACE "a target's [section]"

static int build_target(const char *path, const pp_defaults *defaults,
                        const section *sec, pp_targets *out, char *err,
                        size_t errlen) {
  const entry *url = NULL;
  for (size_t i = 0; i < sec->n; i++)
    if (strcmp(sec->e[i]->key, "url") == 0)
      url = sec->e[i];
  int first_line =
      sec->e[0]->header_line ? sec->e[0]->header_line : sec->e[0]->line;
  if (url == NULL) {
    snprintf(err, errlen, "%s:%d: [%s]: missing key \"url\"", path, first_line,
             sec->name);
    return -1;
  }
  char why[512];
  const pp_defaults *layers[] = {defaults};
  pp_target *t =
      pp_build_start(url->value, sec->name, layers, 1, why, sizeof(why));
  if (t == NULL) {
    snprintf(err, errlen, "%s:%d: [%s]: key \"url\": %s", path, url->line,
             sec->name, why);
    return -1;
  }
  for (size_t i = 0; i < sec->n; i++) {
    const entry *e = sec->e[i];
    if (e != url && pp_target_set(t, e->key, e->value, why, sizeof(why)) != 0) {
      snprintf(err, errlen, "%s:%d: %s", path, e->line, why);
      pp_target_free(t);
      return -1;
    }
  }
  if (pp_build_finish(out, t, why, sizeof(why)) != 0) {
    snprintf(err, errlen, "%s:%d: %s", path, first_line, why);
    return -1;
  }
  return 0;
}

static int by_section_then_position(const void *a, const void *b) {
  const entry *x = *(entry *const *)a, *y = *(entry *const *)b;
  int c = strcmp(x->section, y->section);
  if (c != 0)
    return c;
  return (x < y) ? -1 : (x > y);
}

static int by_first_position(const void *a, const void *b) {
  const section *x = a, *y = b;
  return (x->first > y->first) - (x->first < y->first);
}

/* Groups entries by section with one sort, so that a file of thousands of
 * targets loads in O(n log n). (check_headers refuses a reopened section.) */
static section *group_sections(ini_state *s, entry **order, size_t *nsec) {
  for (size_t i = 0; i < s->n; i++)
    order[i] = &s->e[i];
  qsort(order, s->n, sizeof(*order), by_section_then_position);
  section *secs = calloc(s->n ? s->n : 1, sizeof(*secs));
  if (secs == NULL)
    return NULL;
  size_t n = 0;
  for (size_t i = 0; i < s->n; i++) {
    if (i == 0 || strcmp(order[i]->section, order[i - 1]->section) != 0) {
      secs[n].name = order[i]->section;
      secs[n].e = &order[i];
      secs[n].first = (size_t)(order[i] - s->e);
      n++;
    }
    secs[n - 1].n++;
  }
  qsort(secs, n, sizeof(*secs), by_first_position);
  *nsec = n;
  return secs;
}

/* The [defaults] section, each key checked now (builder.c). */
static int read_defaults(const char *path, const section *sec, pp_defaults *out,
                         char *err, size_t errlen) {
  for (size_t i = 0; sec != NULL && i < sec->n; i++) {
    const entry *e = sec->e[i];
    char where[300];
    snprintf(where, sizeof(where), "%s:%d: [defaults]", path, e->line);
    if (pp_defaults_add(out, where, OWN_PLACE, e->key, e->value, err, errlen) !=
        0)
      return -1;
  }
  return 0;
}

int pp_config_load(const char *path, pp_targets *out, char *err,
                   size_t errlen) {
  FILE *f = fopen(path, "r");
  struct stat st;
  if (f == NULL) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
    snprintf(err, errlen, "%s: is a directory, not a configuration file", path);
    fclose(f);
    return -1;
  }
  int rc = pp_config_load_stream(f, path, out, err, errlen);
  fclose(f);
  return rc;
}

int pp_config_load_stream(FILE *f, const char *path, pp_targets *out, char *err,
                          size_t errlen) {
  ini_state s = {0};
  s.f = f;
  int rc = ini_parse_stream(reader, &s, on_entry, &s);
  int read_errno = ferror(f) ? errno : 0;
  if (rc != 0 || s.oom || s.too_long || s.nul || read_errno) {
    if (s.oom)
      snprintf(err, errlen, "%s: out of memory", path);
    else if (s.nul && (rc <= 0 || rc > s.nul))
      snprintf(err, errlen,
               "%s:%d: a NUL byte: a configuration file is text (is this "
               "one binary, or cut short?)",
               path, s.nul);
    else if (read_errno)
      snprintf(err, errlen, "%s: cannot read: %s", path, strerror(read_errno));
    else if (s.too_long && (rc <= 0 || rc > s.too_long))
      snprintf(err, errlen,
               "%s:%d: line longer than %d characters, the most a line may "
               "have",
               path, s.too_long, s.max_line);
    else if (rc > 0)
      snprintf(err, errlen,
               "%s:%d: expected [section] or key = value, such as "
               "timeout = 3s",
               path, rc);
    else
      snprintf(err, errlen, "%s: cannot read", path);
    free_entries(&s);
    return -1;
  }
  int result = check_headers(path, &s, err, errlen);
  size_t nsec = 0;
  entry **order = malloc((s.n ? s.n : 1) * sizeof(*order));
  section *secs = order ? group_sections(&s, order, &nsec) : NULL;
  if (secs == NULL && result == 0) {
    snprintf(err, errlen, "%s: out of memory", path);
    result = -1;
  }
  const section *defaults = NULL;
  for (size_t i = 0; result == 0 && i < nsec; i++) {
    if (*secs[i].name == 0) {
      snprintf(err, errlen, "%s:%d: \"%s\" is outside any [section]", path,
               secs[i].e[0]->line, secs[i].e[0]->key);
      result = -1;
    } else if (strcmp(secs[i].name, "defaults") == 0) {
      defaults = &secs[i];
    }
  }
  pp_defaults defs = {0};
  if (result == 0)
    result = read_defaults(path, defaults, &defs, err, errlen);
  for (size_t i = 0; result == 0 && i < nsec; i++)
    if (&secs[i] != defaults)
      result = build_target(path, &defs, &secs[i], out, err, errlen);
  pp_defaults_free(&defs);
  free(secs);
  free(order);
  free_entries(&s);
  return result;
}

/* --- command-line words --- */

/* "scheme://...": a URL, whatever '=' its query may hold. */
static bool looks_like_url(const char *w) {
  const char *p = w;
  while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
         (*p >= '0' && *p <= '9') || *p == '+' || *p == '.' || *p == '-')
    p++;
  return p > w && strncmp(p, "://", 3) == 0;
}

int pp_config_from_args(int argc, char **argv, pp_targets *out, char *err,
                        size_t errlen) {
  pp_target *t = NULL;
  for (int i = 0; i < argc; i++) {
    const char *w = argv[i];
    if (looks_like_url(w)) {
      if (t != NULL && pp_build_finish(out, t, err, errlen) != 0)
        return -1;
      if ((t = pp_build_start(w, NULL, NULL, 0, err, errlen)) == NULL)
        return -1;
      continue;
    }
    const char *eq = strchr(w, '=');
    if (eq == NULL || eq == w) {
      char shown[512]; /* "alice:pw@host" is a URL without its scheme */
      pp_url_shown(w, shown, sizeof(shown));
      snprintf(err, errlen,
               "\"%s\": expected a URL such as tcp://host:port, or key=value "
               "after one",
               shown);
      if (t)
        pp_target_free(t);
      return -1;
    }
    if (t == NULL) {
      snprintf(err, errlen, "\"%s\": an option must follow the URL it is for",
               w);
      return -1;
    }
    char key[64];
    size_t klen = (size_t)(eq - w);
    if (klen >= sizeof(key))
      klen = sizeof(key) - 1;
    memcpy(key, w, klen);
    key[klen] = 0;
    if (pp_target_set(t, key, eq + 1, err, errlen) != 0) {
      pp_target_free(t);
      return -1;
    }
  }
  if (t != NULL)
    return pp_build_finish(out, t, err, errlen);
  return 0;
}
