/* Host groups: targets sorted once by their group key, so that finding a
 * target's host and its siblings costs O(n log n) per target set, not
 * O(n) per DOWN message. */
#include "hosts.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
  size_t first, count; /* its members: order[first .. first+count-1] */
  size_t ping;         /* index of its ICMP check, or PP_HOSTS_NONE */
  bool block;          /* a <Host> block */
} group;

struct pp_hosts {
  pp_target *const *targets;
  size_t n;
  size_t *order;    /* target indices by group key, the ICMP check first */
  size_t *group_of; /* per target: its diagnosable group or PP_HOSTS_NONE */
  group *groups;
  size_t ngroups;
};

/* Blocks by name, others by host without case; blocks before hosts. */
static int key_cmp(const pp_target *a, const pp_target *b) {
  if ((a->group != NULL) != (b->group != NULL))
    return a->group != NULL ? -1 : 1;
  if (a->group != NULL)
    return strcmp(a->group, b->group);
  return strcasecmp(a->host, b->host);
}

static int by_key(const void *x, const void *y, void *ud) {
  pp_target *const *t = ud;
  size_t i = *(const size_t *)x, j = *(const size_t *)y;
  int c = key_cmp(t[i], t[j]);
  if (c != 0)
    return c;
  bool pi = t[i]->kind == PP_KIND_ICMP, pj = t[j]->kind == PP_KIND_ICMP;
  if (pi != pj)
    return pi ? -1 : 1;
  return (i > j) - (i < j);
}

/* Records the group order[first..first+count-1] if it has a diagnosis. */
static void add_group(pp_hosts *h, size_t first, size_t count) {
  const pp_target *lead = h->targets[h->order[first]];
  bool ping = lead->kind == PP_KIND_ICMP; /* sorted first */
  bool block = lead->group != NULL;
  size_t ports = 0;
  for (size_t k = first; k < first + count; k++)
    ports += h->targets[h->order[k]]->kind != PP_KIND_ICMP;
  if (!block && (!ping || ports == 0))
    return;
  group *g = &h->groups[h->ngroups];
  *g = (group){first, count, ping ? h->order[first] : PP_HOSTS_NONE, block};
  for (size_t k = first; k < first + count; k++)
    h->group_of[h->order[k]] = h->ngroups;
  h->ngroups++;
}

pp_hosts *pp_hosts_new(pp_target *const *targets, size_t n) {
  pp_hosts *h = calloc(1, sizeof(*h));
  size_t m = n ? n : 1;
  if (h == NULL || (h->order = malloc(m * sizeof(size_t))) == NULL ||
      (h->group_of = malloc(m * sizeof(size_t))) == NULL ||
      (h->groups = malloc(m * sizeof(group))) == NULL) {
    pp_hosts_free(h);
    return NULL;
  }
  h->targets = targets;
  h->n = n;
  for (size_t i = 0; i < n; i++) {
    h->order[i] = i;
    h->group_of[i] = PP_HOSTS_NONE;
  }
  qsort_r(h->order, n, sizeof(size_t), by_key, (void *)targets);
  for (size_t g = 0; g < n;) {
    size_t end = g + 1;
    while (end < n &&
           key_cmp(targets[h->order[end]], targets[h->order[g]]) == 0)
      end++;
    add_group(h, g, end - g);
    g = end;
  }
  return h;
}

void pp_hosts_free(pp_hosts *h) {
  if (h == NULL)
    return;
  free(h->order);
  free(h->group_of);
  free(h->groups);
  free(h);
}

size_t pp_hosts_count(const pp_hosts *h) {
  return h->ngroups;
}

size_t pp_hosts_of(const pp_hosts *h, size_t i) {
  return i < h->n ? h->group_of[i] : PP_HOSTS_NONE;
}

const char *pp_hosts_name(const pp_hosts *h, size_t g) {
  return h->targets[h->order[h->groups[g].first]]->host;
}

int pp_hosts_is_ping(const pp_hosts *h, size_t i) {
  size_t g = pp_hosts_of(h, i);
  return g != PP_HOSTS_NONE && h->groups[g].ping == i;
}

pp_diagnosis pp_hosts_diagnose(const pp_hosts *h, size_t g,
                               const pp_result *results, char *text,
                               size_t len) {
  const group *gr = &h->groups[g];
  pp_diag_input *ports = malloc(gr->count * sizeof(*ports));
  if (ports == NULL) {
    if (text && len)
      text[0] = 0;
    return PP_DIAG_UNKNOWN;
  }
  size_t np = 0;
  for (size_t k = gr->first; k < gr->first + gr->count; k++) {
    size_t i = h->order[k];
    if (i != gr->ping && h->targets[i]->kind != PP_KIND_ICMP)
      ports[np++] = (pp_diag_input){h->targets[i], &results[i]};
  }
  pp_diag_input ping = {0};
  if (gr->ping != PP_HOSTS_NONE)
    ping = (pp_diag_input){h->targets[gr->ping], &results[gr->ping]};
  pp_diagnosis d = pp_diagnose(gr->ping != PP_HOSTS_NONE ? &ping : NULL, ports,
                               np, text, len);
  free(ports);
  return d;
}

void pp_hosts_diagnose_target(const pp_hosts *h, size_t i,
                              const pp_result *results, char *buf, size_t len) {
  buf[0] = 0;
  size_t g = pp_hosts_of(h, i);
  if (g == PP_HOSTS_NONE || results[i].up ||
      h->targets[i]->kind == PP_KIND_ICMP)
    return;
  pp_hosts_diagnose(h, g, results, buf, len);
}
