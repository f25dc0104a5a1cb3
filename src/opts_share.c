/* Targets with the same options share one pp_opts (options.h): a round of
 * ten thousand ports with the same timeout and defaults keeps one copy of
 * the 800-byte block, not ten thousand. The block is compared, hashed and
 * copied through the option table: its text, lists and steps by content,
 * every other byte as it is (so a scalar field the table forgot would still
 * tell two blocks apart). Shared blocks are never written: a target that
 * sets an option after sharing gets its own copy first (target.c). */
#include "options.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct shared {
  pp_opts o; /* first: a shared block's address is its entry's */
  uint64_t hash;
  size_t refs;
  struct shared *next;
} shared;

static struct {
  pthread_mutex_t lock;
  shared **buckets;
  size_t nbuckets, n;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER};

static bool same_text(const void *a, const void *b) {
  const char *x = *(char *const *)a, *y = *(char *const *)b;
  return x == y || (x && y && strcmp(x, y) == 0);
}

static bool same_list(const void *a, const void *b) {
  const pp_strlist *x = a, *y = b;
  if (x->n != y->n)
    return false;
  for (size_t i = 0; i < x->n; i++)
    if (strcmp(x->items[i], y->items[i]) != 0)
      return false;
  return true;
}

static bool same_steps(const void *a, const void *b) {
  const pp_steplist *x = a, *y = b;
  if (x->n != y->n)
    return false;
  for (size_t i = 0; i < x->n; i++)
    if (x->items[i].kind != y->items[i].kind ||
        x->items[i].len != y->items[i].len ||
        memcmp(x->items[i].text, y->items[i].text, x->items[i].len) != 0)
      return false;
  return true;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ s[i]) * 0x100000001b3ULL;
  return h;
}

static uint64_t hash_string(uint64_t h, const char *s) {
  return s ? fnv(h, s, strlen(s) + 1) : fnv(h, "", 0) * 31;
}

static uint64_t hash_text(uint64_t h, const void *f) {
  return hash_string(h, *(char *const *)f);
}

static uint64_t hash_list(uint64_t h, const void *f) {
  const pp_strlist *l = f;
  for (size_t i = 0; i < l->n; i++)
    h = hash_string(h, l->items[i]);
  return fnv(h, &l->n, sizeof(l->n));
}

static uint64_t hash_steps(uint64_t h, const void *f) {
  const pp_steplist *l = f;
  for (size_t i = 0; i < l->n; i++)
    h = fnv(h, l->items[i].text, l->items[i].len);
  return fnv(h, &l->n, sizeof(l->n));
}

static int copy_text(void *to, const void *from) {
  const char *f = *(char *const *)from;
  return f == NULL || (*(char **)to = strdup(f)) != NULL ? 0 : -1;
}

static int copy_list(void *t, const void *f) {
  pp_strlist *to = t;
  const pp_strlist *from = f;
  if (from->n == 0)
    return 0;
  if ((to->items = calloc(from->n, sizeof(char *))) == NULL)
    return -1;
  for (; to->n < from->n; to->n++)
    if ((to->items[to->n] = strdup(from->items[to->n])) == NULL)
      return -1;
  return 0;
}

static int copy_steps(void *t, const void *f) {
  pp_steplist *to = t;
  const pp_steplist *from = f;
  if (from->n == 0)
    return 0;
  if ((to->items = calloc(from->n, sizeof(pp_step))) == NULL)
    return -1;
  for (; to->n < from->n; to->n++) {
    const pp_step *s = &from->items[to->n];
    char *text = malloc(s->len + 1);
    if (text == NULL)
      return -1;
    memcpy(text, s->text, s->len + 1);
    to->items[to->n] = (pp_step){s->kind, text, s->len};
  }
  return 0;
}

/* The stored types that own memory, and how their fields are compared,
 * hashed and copied (a regex is its pattern, a char * first in pp_regex).
 * Every other type is plain bytes. A new type that owns memory (one with a
 * free function in options.c) needs its row here. */
typedef struct {
  size_t size;
  bool (*same)(const void *a, const void *b);
  uint64_t (*hash)(uint64_t h, const void *field);
  int (*copy)(void *to, const void *from); /* into a zeroed field */
} field_kind;

static const field_kind kinds[] = {
    [PP_OPT_STRING] = {sizeof(char *), same_text, hash_text, copy_text},
    [PP_OPT_REGEX] = {sizeof(pp_regex), same_text, hash_text, copy_text},
    [PP_OPT_LIST] = {sizeof(pp_strlist), same_list, hash_list, copy_list},
    [PP_OPT_LABEL] = {sizeof(pp_strlist), same_list, hash_list, copy_list},
    [PP_OPT_STEP] = {sizeof(pp_steplist), same_steps, hash_steps, copy_steps},
};

static const field_kind *kind_of(const pp_option *opt) {
  size_t t = (size_t)opt->type;
  return t < sizeof(kinds) / sizeof(kinds[0]) && kinds[t].size ? &kinds[t]
                                                               : NULL;
}

/* The block with every field that owns memory zeroed: what is left compares
 * byte for byte. */
static void scalars(const pp_opts *o, pp_opts *out) {
  memcpy(out, o, sizeof(*out));
  for (size_t i = 0; i < pp_options_count; i++) {
    const field_kind *k = kind_of(&pp_options[i]);
    if (k != NULL)
      memset((char *)out + pp_options[i].offset, 0, k->size);
  }
}

bool pp_opts_equal(const pp_opts *a, const pp_opts *b) {
  pp_opts sa, sb;
  scalars(a, &sa);
  scalars(b, &sb);
  if (memcmp(&sa, &sb, sizeof(sa)) != 0)
    return false;
  for (size_t i = 0; i < pp_options_count; i++) {
    const field_kind *k = kind_of(&pp_options[i]);
    size_t off = pp_options[i].offset;
    if (k != NULL && !k->same((const char *)a + off, (const char *)b + off))
      return false;
  }
  return true;
}

/* The block's bytes eight at a time: every target is hashed once. A field
 * two keys store into (send and expect's steps) is hashed twice, the same
 * way for every block. */
static uint64_t opts_hash(const pp_opts *o) {
  pp_opts s;
  scalars(o, &s);
  uint64_t h = 0xcbf29ce484222325ULL;
  const unsigned char *b = (const unsigned char *)&s;
  for (size_t i = 0; i + 8 <= sizeof(s); i += 8) {
    uint64_t w;
    memcpy(&w, b + i, 8);
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
  }
  h = fnv(h, b + (sizeof(s) & ~(size_t)7), sizeof(s) & 7);
  for (size_t i = 0; i < pp_options_count; i++) {
    const field_kind *k = kind_of(&pp_options[i]);
    if (k != NULL)
      h = k->hash(h, (const char *)o + pp_options[i].offset);
  }
  return h;
}

/* Whether an earlier table entry stores into the same field: it is copied
 * once. */
static bool copied_already(size_t i) {
  for (size_t j = 0; j < i; j++)
    if (pp_options[j].offset == pp_options[i].offset)
      return true;
  return false;
}

int pp_opts_copy(pp_opts *to, const pp_opts *from) {
  scalars(from, to);
  for (size_t i = 0; i < pp_options_count; i++) {
    const field_kind *k = kind_of(&pp_options[i]);
    size_t off = pp_options[i].offset;
    if (k != NULL && !copied_already(i) &&
        k->copy((char *)to + off, (const char *)from + off) != 0) {
      pp_opts_free(to);
      return -1;
    }
  }
  return 0;
}

static int grow(void) {
  size_t n = pool.nbuckets ? pool.nbuckets * 2 : 64;
  shared **b = calloc(n, sizeof(*b));
  if (b == NULL)
    return -1;
  for (size_t i = 0; i < pool.nbuckets; i++)
    for (shared *s = pool.buckets[i], *next; s != NULL; s = next) {
      next = s->next;
      s->next = b[s->hash & (n - 1)];
      b[s->hash & (n - 1)] = s;
    }
  free(pool.buckets);
  pool.buckets = b;
  pool.nbuckets = n;
  return 0;
}

const pp_opts *pp_opts_share(pp_opts *o) {
  uint64_t h = opts_hash(o);
  pthread_mutex_lock(&pool.lock);
  if (pool.nbuckets > 0)
    for (shared *s = pool.buckets[h & (pool.nbuckets - 1)]; s; s = s->next)
      if (s->hash == h && pp_opts_equal(&s->o, o)) {
        s->refs++;
        pthread_mutex_unlock(&pool.lock);
        pp_opts_free(o);
        free(o);
        return &s->o;
      }
  shared *s = NULL;
  if ((pool.n < pool.nbuckets || grow() == 0) &&
      (s = malloc(sizeof(*s))) != NULL) {
    memcpy(&s->o, o, sizeof(s->o)); /* takes over what o owns */
    s->hash = h;
    s->refs = 1;
    s->next = pool.buckets[h & (pool.nbuckets - 1)];
    pool.buckets[h & (pool.nbuckets - 1)] = s;
    pool.n++;
  }
  pthread_mutex_unlock(&pool.lock);
  if (s == NULL)
    return NULL; /* out of memory: o stays the caller's */
  free(o);
  return &s->o;
}

void pp_opts_unshare(const pp_opts *o) {
  if (o == NULL)
    return;
  shared *s = (shared *)o;
  pthread_mutex_lock(&pool.lock);
  bool last = --s->refs == 0;
  if (last) {
    shared **p = &pool.buckets[s->hash & (pool.nbuckets - 1)];
    while (*p != s)
      p = &(*p)->next;
    *p = s->next;
    if (--pool.n == 0) {
      free(pool.buckets);
      pool.buckets = NULL;
      pool.nbuckets = 0;
    }
  }
  pthread_mutex_unlock(&pool.lock);
  if (last) {
    pp_opts_free(&s->o);
    free(s);
  }
}

size_t pp_opts_shared_count(void) {
  pthread_mutex_lock(&pool.lock);
  size_t n = pool.n;
  pthread_mutex_unlock(&pool.lock);
  return n;
}
