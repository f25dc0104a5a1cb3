/* The command's configuration: INI files through inih, and words after each
 * URL on the command line. Validation is the core's. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pp_target_list_free(pp_target_list *l) {
  for (size_t i = 0; i < l->n; i++)
    pp_target_free(l->items[i]);
  free(l->items);
  l->items = NULL;
  l->n = l->cap = 0;
}

int pp_target_list_add(pp_target_list *l, pp_target *t) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    pp_target **items = realloc(l->items, cap * sizeof(*items));
    if (items == NULL)
      return -1;
    l->items = items;
    l->cap = cap;
  }
  l->items[l->n++] = t;
  return 0;
}

/* --- INI files --- */

typedef struct {
  char *section, *key, *value;
  int line;
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
  header *h; /* [section] lines, in order */
  size_t nh, caph;
  int too_long; /* line number of a line longer than inih's buffer */
  int max_line;
  int oom;
} ini_state;

/* inih's section names hold 49 characters; a longer one would be cut. */
#define SECTION_MAX 49

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

static char *reader(char *str, int num, void *stream) {
  ini_state *s = stream;
  if (s->too_long)
    return NULL;
  char *r = fgets(str, num, s->f);
  if (r == NULL)
    return NULL;
  s->line++;
  /* a line that does not fit would be read as two: refuse it instead */
  if (strchr(str, '\n') == NULL && !feof(s->f)) {
    s->too_long = s->line;
    s->max_line = num - 2;
    return NULL;
  }
  note_header(s, str);
  return r;
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
  if (s->nh > 0 && strcmp(s->h[s->nh - 1].name, section) == 0)
    s->h[s->nh - 1].has_entries = true;
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

/* The line of a section's [header], or of its first key. */
static int section_line(const ini_state *s, const char *section) {
  for (size_t i = 0; i < s->nh; i++)
    if (strcmp(s->h[i].name, section) == 0)
      return s->h[i].line;
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->e[i].section, section) == 0)
      return s->e[i].line;
  return 0;
}

/* What inih accepts but would surprise: a section cut short, a section
 * written twice (its keys would merge), a target with no keys at all. */
static int check_headers(const char *path, const ini_state *s, char *err,
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
    for (size_t j = 0; j < i; j++)
      if (strcmp(s->h[j].name, h->name) == 0) {
        snprintf(err, errlen,
                 "%s:%d: [%s] was already opened at line %d; each target "
                 "needs a section of its own",
                 path, h->line, h->name, s->h[j].line);
        return -1;
      }
    if (!h->has_entries && strcmp(h->name, "defaults") != 0) {
      snprintf(err, errlen, "%s:%d: [%s]: missing key \"url\"", path, h->line,
               h->name);
      return -1;
    }
  }
  return 0;
}

static int build_target(const char *path, ini_state *s, const char *section,
                        pp_target_list *out, char *err, size_t errlen) {
  const entry *url = NULL;
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->e[i].section, section) == 0 &&
        strcmp(s->e[i].key, "url") == 0)
      url = &s->e[i];
  int first_line = section_line(s, section);
  if (url == NULL) {
    snprintf(err, errlen, "%s:%d: [%s]: missing key \"url\"", path, first_line,
             section);
    return -1;
  }
  char why[512];
  pp_target *t = pp_target_new(url->value, why, sizeof(why));
  if (t == NULL) {
    snprintf(err, errlen, "%s:%d: [%s]: key \"url\": %s", path, url->line,
             section, why);
    return -1;
  }
  if (pp_target_set(t, "name", section, why, sizeof(why)) != 0)
    goto fail_at_section;
  /* defaults first, where they fit the target; then its own keys */
  for (int pass = 0; pass < 2; pass++) {
    for (size_t i = 0; i < s->n; i++) {
      const entry *e = &s->e[i];
      bool is_default = strcmp(e->section, "defaults") == 0;
      if (pass == 0 ? !is_default : strcmp(e->section, section) != 0)
        continue;
      if (strcmp(e->key, "url") == 0)
        continue;
      if (pass == 0) {
        /* unknown keys in [defaults] are reported as such, below */
        const pp_option *opt = pp_option_find(e->key);
        if (opt == NULL || !pp_target_option_applies(t, opt))
          continue;
      }
      if (pp_target_set(t, e->key, e->value, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "%s:%d: %s", path, e->line, why);
        pp_target_free(t);
        return -1;
      }
    }
  }
  if (pp_target_finalize(t, why, sizeof(why)) != 0)
    goto fail_at_section;
  if (pp_target_list_add(out, t) != 0) {
    snprintf(err, errlen, "out of memory");
    pp_target_free(t);
    return -1;
  }
  return 0;

fail_at_section:
  snprintf(err, errlen, "%s:%d: %s", path, first_line, why);
  pp_target_free(t);
  return -1;
}

int pp_config_load(const char *path, pp_target_list *out, char *err,
                   size_t errlen) {
  ini_state s = {0};
  s.f = fopen(path, "r");
  if (s.f == NULL) {
    snprintf(err, errlen, "%s: %s", path, strerror(errno));
    return -1;
  }
  int rc = ini_parse_stream(reader, &s, on_entry, &s);
  fclose(s.f);
  if (rc != 0 || s.oom || s.too_long) {
    if (s.oom)
      snprintf(err, errlen, "%s: out of memory", path);
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
  for (size_t i = 0; i < s.n && result == 0; i++) {
    const char *sec = s.e[i].section;
    if (*sec == 0) {
      snprintf(err, errlen, "%s:%d: \"%s\" is outside any [section]", path,
               s.e[i].line, s.e[i].key);
      result = -1;
      break;
    }
    if (strcmp(sec, "defaults") == 0)
      continue;
    bool seen = false; /* build each section once, at its first entry */
    for (size_t j = 0; j < i && !seen; j++)
      seen = strcmp(s.e[j].section, sec) == 0;
    if (!seen)
      result = build_target(path, &s, sec, out, err, errlen);
  }
  if (result == 0) {
    /* unknown keys in [defaults] would otherwise go unnoticed */
    for (size_t i = 0; i < s.n; i++) {
      if (strcmp(s.e[i].section, "defaults") != 0)
        continue;
      if (pp_option_find(s.e[i].key) == NULL) {
        const char *hint = pp_option_suggest(s.e[i].key);
        snprintf(err, errlen, "%s:%d: [defaults]: unknown option \"%s\"%s%s%s",
                 path, s.e[i].line, s.e[i].key, hint ? " (did you mean \"" : "",
                 hint ? hint : "", hint ? "\"?)" : "");
        result = -1;
        break;
      }
    }
  }
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

static int finish_arg_target(pp_target *t, pp_target_list *out, char *err,
                             size_t errlen) {
  if (pp_target_finalize(t, err, errlen) != 0 ||
      pp_target_list_add(out, t) != 0) {
    pp_target_free(t);
    return -1;
  }
  return 0;
}

int pp_config_from_args(int argc, char **argv, pp_target_list *out, char *err,
                        size_t errlen) {
  pp_target *t = NULL;
  for (int i = 0; i < argc; i++) {
    const char *w = argv[i];
    if (looks_like_url(w)) {
      if (t != NULL && finish_arg_target(t, out, err, errlen) != 0)
        return -1;
      if ((t = pp_target_new(w, err, errlen)) == NULL)
        return -1;
      continue;
    }
    const char *eq = strchr(w, '=');
    if (eq == NULL || eq == w) {
      snprintf(err, errlen,
               "\"%s\": expected a URL such as tcp://host:port, or key=value "
               "after one",
               w);
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
    return finish_arg_target(t, out, err, errlen);
  return 0;
}
