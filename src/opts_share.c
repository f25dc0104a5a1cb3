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

static bool owns_memory(pp_opt_type t) {
  return t == PP_OPT_STRING || t == PP_OPT_REGEX || t == PP_OPT_LIST ||
         t == PP_OPT_LABEL || t == PP_OPT_STEP;
}

/* Table entries after the first for the same stored field (send and
 * expect share the steps): a field is hashed and copied once. */
static bool again[512];
static pthread_once_t again_once = PTHREAD_ONCE_INIT;

static void find_again(void) {
  for (size_t i = 0; i < pp_options_count && i < sizeof(again); i++)
    for (size_t j = 0; j < i; j++)
      if (pp_options[j].offset == pp_options[i].offset)
        again[i] = true;
}

static bool first_at_offset(size_t i) {
  if (i < sizeof(again)) {
    pthread_once(&again_once, find_again);
    return !again[i];
  }
  for (size_t j = 0; j < i; j++) /* a table longer than again[] */
    if (pp_options[j].offset == pp_options[i].offset)
      return false;
  return true;
}

static bool same_text(const char *a, const char *b) {
  return a == b || (a && b && strcmp(a, b) == 0);
}

static bool same_list(const pp_strlist *a, const pp_strlist *b) {
  if (a->n != b->n)
    return false;
  for (size_t i = 0; i < a->n; i++)
    if (strcmp(a->items[i], b->items[i]) != 0)
      return false;
  return true;
}

static bool same_steps(const pp_steplist *a, const pp_steplist *b) {
  if (a->n != b->n)
    return false;
  for (size_t i = 0; i < a->n; i++)
    if (a->items[i].kind != b->items[i].kind ||
        a->items[i].len != b->items[i].len ||
        memcmp(a->items[i].text, b->items[i].text, a->items[i].len) != 0)
      return false;
  return true;
}

static bool same_field(const pp_option *opt, const pp_opts *a,
                       const pp_opts *b) {
  const void *fa = (const char *)a + opt->offset;
  const void *fb = (const char *)b + opt->offset;
  switch (opt->type) {
  case PP_OPT_STRING:
    return same_text(*(char *const *)fa, *(char *const *)fb);
  case PP_OPT_REGEX:
    return same_text(((const pp_regex *)fa)->pattern,
                     ((const pp_regex *)fb)->pattern);
  case PP_OPT_LIST:
  case PP_OPT_LABEL:
    return same_list(fa, fb);
  case PP_OPT_STEP:
    return same_steps(fa, fb);
  default:
    return true; /* compared with the other bytes */
  }
}

/* The block with every field that owns memory zeroed: what is left compares
 * byte for byte. */
static void scalars(const pp_opts *o, pp_opts *out) {
  memcpy(out, o, sizeof(*out));
  for (size_t i = 0; i < pp_options_count; i++) {
    const pp_option *opt = &pp_options[i];
    if (!owns_memory(opt->type))
      continue;
    size_t size = opt->type == PP_OPT_STRING  ? sizeof(char *)
                  : opt->type == PP_OPT_REGEX ? sizeof(pp_regex)
                  : opt->type == PP_OPT_STEP  ? sizeof(pp_steplist)
                                              : sizeof(pp_strlist);
    memset((char *)out + opt->offset, 0, size);
  }
}

bool pp_opts_equal(const pp_opts *a, const pp_opts *b) {
  pp_opts sa, sb;
  scalars(a, &sa);
  scalars(b, &sb);
  if (memcmp(&sa, &sb, sizeof(sa)) != 0)
    return false;
  for (size_t i = 0; i < pp_options_count; i++)
    if (owns_memory(pp_options[i].type) && !same_field(&pp_options[i], a, b))
      return false;
  return true;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ s[i]) * 0x100000001b3ULL;
  return h;
}

static uint64_t hash_text(uint64_t h, const char *s) {
  return s ? fnv(h, s, strlen(s) + 1) : fnv(h, "", 0) * 31;
}

static uint64_t hash_field(uint64_t h, const pp_option *opt, const pp_opts *o) {
  const void *f = (const char *)o + opt->offset;
  switch (opt->type) {
  case PP_OPT_STRING:
    return hash_text(h, *(char *const *)f);
  case PP_OPT_REGEX:
    return hash_text(h, ((const pp_regex *)f)->pattern);
  case PP_OPT_LIST:
  case PP_OPT_LABEL: {
    const pp_strlist *l = f;
    for (size_t i = 0; i < l->n; i++)
      h = hash_text(h, l->items[i]);
    return fnv(h, &l->n, sizeof(l->n));
  }
  case PP_OPT_STEP: {
    const pp_steplist *l = f;
    for (size_t i = 0; i < l->n; i++)
      h = fnv(h, l->items[i].text, l->items[i].len);
    return fnv(h, &l->n, sizeof(l->n));
  }
  default:
    return h;
  }
}

/* The block's bytes eight at a time: every target is hashed once. */
static uint64_t hash_words(const void *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  const unsigned char *b = p;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, b + i, 8);
    h = (h ^ w) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 29;
  }
  return fnv(h, b + (n & ~(size_t)7), n & 7);
}

static uint64_t opts_hash(const pp_opts *o) {
  pp_opts s;
  scalars(o, &s);
  uint64_t h = hash_words(&s, sizeof(s));
  for (size_t i = 0; i < pp_options_count; i++)
    if (owns_memory(pp_options[i].type) && first_at_offset(i))
      h = hash_field(h, &pp_options[i], o);
  return h;
}

static int copy_text(char **to, const char *from) {
  return from == NULL || (*to = strdup(from)) != NULL ? 0 : -1;
}

static int copy_list(pp_strlist *to, const pp_strlist *from) {
  to->items = NULL;
  to->n = 0;
  if (from->n == 0)
    return 0;
  if ((to->items = calloc(from->n, sizeof(char *))) == NULL)
    return -1;
  for (; to->n < from->n; to->n++)
    if ((to->items[to->n] = strdup(from->items[to->n])) == NULL)
      return -1;
  return 0;
}

static int copy_steps(pp_steplist *to, const pp_steplist *from) {
  to->items = NULL;
  to->n = 0;
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

static int copy_field(const pp_option *opt, pp_opts *to, const pp_opts *from) {
  void *t = (char *)to + opt->offset;
  const void *f = (const char *)from + opt->offset;
  switch (opt->type) {
  case PP_OPT_STRING:
    return copy_text(t, *(char *const *)f);
  case PP_OPT_REGEX:
    return copy_text(&((pp_regex *)t)->pattern, ((const pp_regex *)f)->pattern);
  case PP_OPT_LIST:
  case PP_OPT_LABEL:
    return copy_list(t, f);
  case PP_OPT_STEP:
    return copy_steps(t, f);
  default:
    return 0;
  }
}

int pp_opts_copy(pp_opts *to, const pp_opts *from) {
  scalars(from, to);
  for (size_t i = 0; i < pp_options_count; i++)
    if (owns_memory(pp_options[i].type) && first_at_offset(i) &&
        copy_field(&pp_options[i], to, from) != 0) {
      pp_opts_free(to);
      return -1;
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
