/* A target checked on every address of its name (addresses=all) or on every
 * MX host of its mail domain (mx=yes): the names are resolved here, each
 * address or host becomes a child check of the target's own kind, all at
 * once, and the target's own record summarises them (fanout_words.c). */
#include "check_core.h"
#include "fanout.h"

#include <ares.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Children end by the target's timeout; the parent a little later, so that
 * each child reports its own phase rather than the parent's. */
#define PARENT_MARGIN_US 50000

typedef struct fanout fanout;

/* mx=yes: one MX host, and (addresses=all) its addresses. */
typedef struct {
  fanout *f;
  const char *host; /* round memory: parts point to it */
  int preference;   /* -1: no MX, the domain itself */
  pp_dns_query *q;  /* its lookup in flight */
  int status;
  char why[80];
  pp_sockaddr addrs[PP_DNS_MAX_ADDRS];
  size_t naddrs;
} mx_host;

struct fanout {
  pp_check *c;
  pp_part *parts;     /* round memory: the record's parts */
  pp_check *kids;     /* kids[i] runs parts[i]; engine NULL: never started */
  pp_sockaddr *addrs; /* addrs[i]: part i's address; family 0: resolve */
  size_t n, cap, left;
  mx_host *mx;
  size_t nmx, lookups;
  bool implicit_mx; /* no MX record: the domain itself (RFC 5321 5.1) */
  bool starting;    /* children being started: their quick ends wait */
};

bool pp_fanout_wanted(const pp_target *t) {
  return t->opts->addresses == PP_ADDRESSES_ALL || t->opts->mx;
}

/* --- the parts --- */

static pp_part *new_part(fanout *f, const mx_host *h) {
  if (f->n == f->cap)
    return NULL;
  pp_part *p = &f->parts[f->n++];
  pp_result_reset(&p->r);
  p->r.time_ns = f->c->res->time_ns;
  p->r.port = f->c->target->port;
  p->mx = h ? h->host : NULL;
  p->mx_preference = h ? h->preference : -1;
  p->one_address = false;
  return p;
}

static bool usable(const pp_check *c, const pp_sockaddr *sa) {
  int fam = pp_check_source_family(c->target);
  return fam == AF_UNSPEC || sa->sa.sa_family == fam;
}

/* A part per usable address (of h, or of the target's name). */
static void add_addresses(fanout *f, const mx_host *h, const pp_sockaddr *addrs,
                          size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (!usable(f->c, &addrs[i]))
      continue;
    pp_part *p = new_part(f, h);
    if (p == NULL)
      return;
    f->addrs[f->n - 1] = addrs[i];
    p->one_address = true;
    pp_format_address(&addrs[i].sa, p->r.address, sizeof(p->r.address));
  }
}

static bool alloc_parts(fanout *f, size_t cap) {
  pp_engine *e = f->c->engine;
  f->cap = cap < PP_FANOUT_MAX ? cap : PP_FANOUT_MAX;
  f->parts = pp_engine_round_alloc(e, (f->cap ? f->cap : 1) * sizeof(pp_part));
  f->kids = calloc(f->cap ? f->cap : 1, sizeof(pp_check));
  f->addrs = calloc(f->cap ? f->cap : 1, sizeof(pp_sockaddr));
  return f->parts != NULL && f->kids != NULL && f->addrs != NULL;
}

/* --- the children --- */

static void summarise(fanout *f) {
  pp_check *c = f->c;
  char detail[PP_DETAIL_MAX];
  pp_result *r = c->res;
  r->parts = f->parts;
  r->nparts = (uint16_t)f->n;
  pp_result_code code = pp_fanout_summary(
      c->target, f->parts, f->n, f->implicit_mx, r, detail, sizeof(detail));
  c->phase = r->phase;
  pp_check_finish(c, code, "%s", detail);
}

static void kid_done(void *ud, pp_check *kid) {
  (void)kid;
  fanout *f = ud;
  if (--f->left == 0 && !f->starting)
    summarise(f);
}

/* Starts a child per part that has something to check; parts that failed
 * already (an MX host without an address) have their record. */
static void start_kids(fanout *f) {
  pp_check *c = f->c;
  if (f->n == 0) { /* every address of the other family */
    pp_check_finish(c, PP_R_SOCKET_ERROR,
                    "source_address %s: %s has no address of its family",
                    c->target->opts->source_address, c->host);
    return;
  }
  c->phase = PP_PHASE_CONNECT;
  f->starting = true;
  for (size_t i = 0; i < f->n; i++)
    f->left += f->parts[i].r.code == PP_R_OK;
  size_t todo = f->left;
  for (size_t i = 0; i < f->n && todo > 0 && !c->done; i++) {
    pp_part *p = &f->parts[i];
    if (p->r.code != PP_R_OK)
      continue;
    pp_child_spec spec = {
        .target = c->target,
        .host = p->mx,
        .addr = f->addrs[i].sa.sa_family ? &f->addrs[i] : NULL,
        .res = &p->r,
        .done = kid_done,
        .ud = f,
        .deadline_us = c->deadline_us - PARENT_MARGIN_US,
    };
    todo--;
    pp_check_start_child(c, &f->kids[i], &spec);
  }
  f->starting = false;
  if (!c->done && f->left == 0)
    summarise(f);
}

/* --- addresses=all on the target's own name --- */

static void check_addresses(fanout *f, const pp_sockaddr *addrs, size_t n) {
  pp_check *c = f->c;
  if (!alloc_parts(f, n)) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  add_addresses(f, NULL, addrs, n);
  start_kids(f);
}

static void on_addresses(void *ud, int status, const pp_sockaddr *addrs,
                         size_t n, const char *why) {
  fanout *f = ud;
  pp_check *c = f->c;
  c->dnsq = NULL;
  c->res->t_dns = pp_check_phase_elapsed(c);
  if (status != 0) {
    pp_check_finish(c, PP_R_DNS_FAILED, "%s: %s", c->host, why);
    return;
  }
  check_addresses(f, addrs, n);
}

/* --- mx=yes --- */

/* The parts of every MX host, in preference order. */
static void mx_parts(fanout *f) {
  size_t cap = 0;
  bool all = f->c->target->opts->addresses == PP_ADDRESSES_ALL;
  for (size_t i = 0; i < f->nmx; i++)
    cap += all && f->mx[i].naddrs > 0 ? f->mx[i].naddrs : 1;
  if (!alloc_parts(f, cap)) {
    pp_check_finish(f->c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  for (size_t i = 0; i < f->nmx; i++) {
    mx_host *h = &f->mx[i];
    if (!all) {
      new_part(f, h);
    } else if (h->status == 0) {
      add_addresses(f, h, h->addrs, h->naddrs);
    } else {
      pp_part *p = new_part(f, h);
      if (p == NULL)
        break;
      p->r.code = PP_R_DNS_FAILED;
      p->r.phase = PP_PHASE_DNS;
      snprintf(p->r.detail, sizeof(p->r.detail), "%s: %s", h->host, h->why);
    }
  }
  start_kids(f);
}

static void on_host_addresses(void *ud, int status, const pp_sockaddr *addrs,
                              size_t n, const char *why) {
  mx_host *h = ud;
  fanout *f = h->f;
  h->q = NULL;
  h->status = status;
  if (status != 0)
    snprintf(h->why, sizeof(h->why), "%s", why);
  for (size_t i = 0; status == 0 && i < n; i++)
    h->addrs[h->naddrs++] = addrs[i];
  if (--f->lookups == 0 && !f->starting) {
    f->c->res->t_dns = pp_check_phase_elapsed(f->c);
    mx_parts(f);
  }
}

/* Keeps the MX hosts (or the domain itself) and goes on: a part per host,
 * or each host's addresses looked up first. */
static void take_hosts(fanout *f, const pp_mx *mx, size_t n) {
  pp_check *c = f->c;
  f->mx = calloc(n ? n : 1, sizeof(*f->mx));
  char *names = pp_engine_round_alloc(c->engine, (n ? n : 1) * 256);
  if (f->mx == NULL || names == NULL) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  for (size_t i = 0; i < (n ? n : 1); i++) {
    mx_host *h = &f->mx[f->nmx++];
    h->f = f;
    h->host = names + 256 * i;
    snprintf(names + 256 * i, 256, "%s", n ? mx[i].host : c->host);
    h->preference = n ? (int)mx[i].preference : -1;
  }
  if (c->target->opts->addresses != PP_ADDRESSES_ALL) {
    mx_parts(f);
    return;
  }
  f->starting = true;
  f->lookups = f->nmx;
  for (size_t i = 0; i < f->nmx && !c->done; i++)
    f->mx[i].q = pp_dns_resolve(c->engine->dns, f->mx[i].host,
                                pp_check_family(c->target), on_host_addresses,
                                &f->mx[i]);
  f->starting = false;
  if (!c->done && f->lookups == 0) {
    c->res->t_dns = pp_check_phase_elapsed(c);
    mx_parts(f);
  }
}

static void on_mx(void *ud, int status, const pp_mx *mx, size_t n,
                  const char *why) {
  fanout *f = ud;
  pp_check *c = f->c;
  c->dnsq = NULL;
  if (status == ARES_ENODATA) {
    f->implicit_mx = true;
    take_hosts(f, NULL, 0);
    return;
  }
  if (status != 0) {
    c->res->t_dns = pp_check_phase_elapsed(c);
    pp_check_finish(c, PP_R_DNS_FAILED, "MX of %s: %s", c->host, why);
    return;
  }
  size_t real = 0; /* a null MX among others is no MX (RFC 7505 3) */
  pp_mx hosts[PP_DNS_MAX_MX];
  for (size_t i = 0; i < n; i++)
    if (mx[i].host[0])
      hosts[real++] = mx[i];
  if (real == 0) {
    c->res->t_dns = pp_check_phase_elapsed(c);
    pp_check_finish(c, PP_R_NULL_MX,
                    "%s publishes a null MX: it accepts no mail (RFC 7505)",
                    c->host);
    return;
  }
  take_hosts(f, hosts, real);
}

/* --- the hooks --- */

static void fanout_start(pp_check *c) {
  fanout *f = calloc(1, sizeof(*f));
  if (f == NULL) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  f->c = c;
  c->priv = f;
  c->deadline_us += PARENT_MARGIN_US;
  const pp_target *t = c->target;
  pp_check_phase(c, PP_PHASE_DNS);
  if (t->opts->mx) {
    c->dnsq = pp_dns_mx(c->engine->dns, c->host, on_mx, f);
    return;
  }
  if (c->host_is_ip) {
    pp_sockaddr sa;
    pp_parse_address(c->host, &sa);
    check_addresses(f, &sa, 1);
    return;
  }
  c->dnsq = pp_dns_resolve(c->engine->dns, c->host, pp_check_family(t),
                           on_addresses, f);
}

static void fanout_cleanup(pp_check *c) {
  fanout *f = c->priv;
  if (f == NULL)
    return;
  for (size_t i = 0; i < f->nmx; i++)
    pp_dns_cancel(f->mx[i].q);
  /* ended early (deadline, interrupted round): so do the children, and
   * their records stay */
  for (size_t i = 0; i < f->n; i++)
    pp_check_end_child(&f->kids[i], c->res->code, c->res->detail);
  if (c->res->parts == NULL && f->n > 0) {
    c->res->parts = f->parts;
    c->res->nparts = (uint16_t)f->n;
    for (size_t i = 0; i < f->n; i++)
      c->res->parts_up += f->parts[i].r.up;
  }
  free(f->kids);
  free(f->addrs);
  free(f->mx);
  free(f);
  c->priv = NULL;
}

const pp_check_ops pp_fanout_ops = {
    .name = "fanout",
    .start = fanout_start,
    .cleanup = fanout_cleanup,
};
