/* icmp:// checks: `count` echo requests per round, `spacing` apart on the
 * engine's loop, over at most one socket per address family shared by every
 * target. Replies are matched by identifier, sequence, source address and a
 * payload cookie, and timed from the send stamp to the kernel's receive
 * stamp, so a busy loop does not inflate RTT. The quality window lives in
 * the target's check_data across rounds. */
#include "check_core.h"
#include "icmp.h"
#include "quality.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/errqueue.h>
#include <linux/filter.h>
#include <math.h>
#include <netinet/icmp6.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#define SEQ_SPACE 65536
#define SENDS_PER_READ 64 /* sends between reads when timers come in bursts */
#define RECV_BATCH 256    /* messages read per wake-up before timers run */
#define SPREAD_US 50      /* first echoes of successive targets this apart */
#define REPLY_WAIT_MIN_US 1000000
#define RETRY_US 1000           /* send buffer full, or no sequence free */
#define REOPEN_US 1000000       /* after a failed socket open */
#define RCVBUF_BYTES (16 << 20) /* only used while replies queue */
#define PKT_MAX (PP_ICMP_HDR_LEN + 65535)
#define LINUX_ICMP_FILTER 1 /* SOL_RAW option of linux/icmp.h */

enum {
  ECHO_UNSENT,
  ECHO_INFLIGHT,
  ECHO_REPLIED,
  ECHO_LATE,  /* answered after the reply wait: lost */
  ECHO_ERROR, /* an ICMP error came back */
  ECHO_LOCAL, /* the kernel refused to send it */
};

typedef struct {
  uint64_t mono_ns; /* send stamp (CLOCK_MONOTONIC); also in the cookie */
  int64_t real_ns;  /* send stamp in the clock of the kernel's receive stamp */
  float rtt;        /* seconds */
  uint16_t seq;
  uint8_t state;
} echo;

typedef struct icmp_sock icmp_sock;
typedef struct icmp_engine icmp_engine;

/* One target's check_data: its quality window, kept across rounds, and the
 * round in flight. Allocated once per target, sized by count. */
typedef struct {
  pp_quality quality;
  int count;
  echo *echoes;
  bool busy;
  bool reported;
  pp_check *c;
  icmp_sock *sock;
  pp_timer timer;
  uint64_t t0_us, wait_us, end_us;
  int next;     /* echoes handed to the kernel (or refused by it) */
  int inflight; /* sent, still unanswered */
  int replied, errors, local_errno;
  uint8_t err_type, err_code;
  char err_from[48];
  bool has_src;
  struct sockaddr_storage src;
} icmp_target;

struct icmp_sock {
  icmp_engine *ie;
  int fd, family;
  bool raw;
  uint16_t ident; /* raw: ours, random; datagram: the kernel's */
  uint16_t next_seq;
  icmp_target **owner; /* SEQ_SPACE: the target whose echo holds a seq */
  uint8_t *owner_idx;  /* and the echo's index in it */
  size_t inflight;     /* sequences held */
  uint32_t dropped;    /* the kernel's overflow drop count, last seen */
  uint64_t retry_at_us;
  char why[PP_DETAIL_MAX];
};

struct icmp_engine {
  pp_engine *e;
  icmp_sock sock[2]; /* IPv4, IPv6 */
  uint8_t secret[8];
  size_t active;  /* ICMP checks in flight */
  size_t started; /* checks started since the engine was last idle */
  unsigned sent_since_read;
  uint8_t buf[PKT_MAX];
  union {
    char buf[512];
    struct cmsghdr align;
  } ctrl;
};

static uint64_t clock_ns(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static icmp_engine *engine_state(pp_engine *e) {
  icmp_engine *ie = e->kind_state[PP_KIND_ICMP];
  if (ie != NULL)
    return ie;
  ie = calloc(1, sizeof(*ie));
  if (ie == NULL)
    return NULL;
  ie->e = e;
  for (int i = 0; i < 2; i++) {
    ie->sock[i].ie = ie;
    ie->sock[i].fd = -1;
    ie->sock[i].family = i ? AF_INET6 : AF_INET;
  }
  if (getrandom(ie->secret, sizeof(ie->secret), GRND_NONBLOCK) !=
      (ssize_t)sizeof(ie->secret)) {
    uint64_t x = clock_ns(CLOCK_REALTIME) ^ ((uint64_t)getpid() << 32) ^
                 (uint64_t)(uintptr_t)ie;
    memcpy(ie->secret, &x, sizeof(x));
  }
  e->kind_state[PP_KIND_ICMP] = ie;
  return ie;
}

/* --- the socket --- */

static void on_readable(pp_loop *loop, int fd, unsigned ev, void *ud);
static void read_socket(icmp_sock *s);
/* Raw sockets see every ICMP message of the host: let the kernel keep only
 * replies carrying our identifier, and errors (which quote our echo). */
static void attach_filters(icmp_sock *s) {
  if (s->family == AF_INET) {
    uint32_t block =
        ~((1u << PP_ICMP4_ECHO_REPLY) | (1u << PP_ICMP4_DEST_UNREACH) |
          (1u << PP_ICMP4_TIME_EXCEEDED));
    setsockopt(s->fd, SOL_RAW, LINUX_ICMP_FILTER, &block, sizeof(block));
    /* an IPv4 raw socket's filter sees the IP header first */
    struct sock_filter code[] = {
        BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0),
        BPF_STMT(BPF_LD | BPF_B | BPF_IND, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PP_ICMP4_ECHO_REPLY, 0, 2),
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, s->ident, 3, 2),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PP_ICMP4_DEST_UNREACH, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PP_ICMP4_TIME_EXCEEDED, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, 0),
        BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
    };
    struct sock_fprog prog = {sizeof(code) / sizeof(code[0]), code};
    setsockopt(s->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
  } else {
    struct icmp6_filter f;
    ICMP6_FILTER_SETBLOCKALL(&f);
    ICMP6_FILTER_SETPASS(PP_ICMP6_ECHO_REPLY, &f);
    ICMP6_FILTER_SETPASS(PP_ICMP6_DEST_UNREACH, &f);
    ICMP6_FILTER_SETPASS(PP_ICMP6_TIME_EXCEEDED, &f);
    setsockopt(s->fd, IPPROTO_ICMPV6, ICMP6_FILTER, &f, sizeof(f));
    /* an IPv6 raw socket's filter sees the ICMPv6 header first */
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PP_ICMP6_ECHO_REPLY, 0, 2),
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 4),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, s->ident, 3, 2),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PP_ICMP6_DEST_UNREACH, 2, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PP_ICMP6_TIME_EXCEEDED, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, 0),
        BPF_STMT(BPF_RET | BPF_K, 0xffffffffu),
    };
    struct sock_fprog prog = {sizeof(code) / sizeof(code[0]), code};
    setsockopt(s->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
  }
}

static void sock_close(pp_loop *loop, icmp_sock *s) {
  if (s->fd >= 0) {
    pp_loop_unwatch(loop, s->fd);
    close(s->fd);
    s->fd = -1;
  }
  free(s->owner);
  free(s->owner_idx);
  s->owner = NULL;
  s->owner_idx = NULL;
}

/* The engine's socket for family, opened on first use. NULL with s->why
 * set when the process may open neither kind. */
static icmp_sock *sock_get(icmp_engine *ie, int family) {
  icmp_sock *s = &ie->sock[family == AF_INET6];
  if (s->fd >= 0)
    return s;
  if (s->retry_at_us && pp_now_us() < s->retry_at_us)
    return NULL;
  pp_icmp_sock_type type;
  s->fd = pp_icmp_socket(family, &type, s->why, sizeof(s->why));
  if (s->fd < 0) {
    s->retry_at_us = pp_now_us() + REOPEN_US;
    pp_log(ie->e, PP_LOG_WARNING, "icmp: %s", s->why);
    return NULL;
  }
  s->retry_at_us = 0;
  s->raw = type == PP_ICMP_SOCK_RAW;
  s->owner = calloc(SEQ_SPACE, sizeof(*s->owner));
  s->owner_idx = calloc(SEQ_SPACE, sizeof(*s->owner_idx));
  int one = 1, size = RCVBUF_BYTES;
  if (s->owner == NULL || s->owner_idx == NULL ||
      pp_loop_watch(ie->e->loop, s->fd, PP_EV_READ, on_readable, s) != 0) {
    snprintf(s->why, sizeof(s->why), "icmp socket: %s", strerror(errno));
    sock_close(ie->e->loop, s);
    s->retry_at_us = pp_now_us() + REOPEN_US;
    return NULL;
  }
  /* kernel receive stamps: the loop's own latency stays out of RTT */
  setsockopt(s->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
  setsockopt(s->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
  s->dropped = 0;
  /* thousands of targets answer in bursts: room for them (FORCE as root) */
  if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
    setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
  uint16_t r = 0;
  if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
    r = (uint16_t)(clock_ns(CLOCK_MONOTONIC) ^ (uint64_t)getpid());
  s->next_seq = r; /* a fresh engine does not reuse a recent sequence */
  if (s->raw) {
    s->ident = (uint16_t)(r ^ ie->secret[0] ^ (ie->secret[1] << 8));
    attach_filters(s);
  } else if (family == AF_INET) {
    /* errors about our echoes arrive on the error queue */
    setsockopt(s->fd, IPPROTO_IP, IP_RECVERR, &one, sizeof(one));
  } else {
    setsockopt(s->fd, IPPROTO_IPV6, IPV6_RECVERR, &one, sizeof(one));
  }
  pp_log(ie->e, PP_LOG_INFO, "icmp: %s echoes over a %s socket",
         family == AF_INET6 ? "IPv6" : "IPv4",
         s->raw ? "raw" : "datagram (ping)");
  return s;
}

static int seq_alloc(icmp_sock *s) {
  if (s->inflight >= SEQ_SPACE - 1)
    return -1; /* every sequence in flight: wait for replies */
  for (int i = 0; i < SEQ_SPACE; i++) {
    uint16_t seq = s->next_seq++;
    if (s->owner[seq] == NULL)
      return seq;
  }
  return -1;
}

/* --- one round of one target --- */

static const pp_opts *opts_of(const icmp_target *it) {
  return it->c->target->opts;
}

static void cookie_of(const icmp_engine *ie, const echo *ec, uint8_t *out) {
  memcpy(out, ie->secret, 8);
  for (int i = 0; i < 8; i++)
    out[8 + i] = (uint8_t)(ec->mono_ns >> (56 - 8 * i));
}

static bool same_addr(const struct sockaddr_storage *a, const void *raw,
                      int family) {
  if (a->ss_family != family)
    return false;
  if (family == AF_INET)
    return memcmp(&((const struct sockaddr_in *)a)->sin_addr, raw, 4) == 0;
  return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr, raw, 16) == 0;
}

static const void *addr_bytes(const pp_sockaddr *sa) {
  if (sa->sa.sa_family == AF_INET)
    return &sa->in.sin_addr;
  return &sa->in6.sin6_addr;
}

static void seq_release(icmp_sock *s, echo *ec) {
  if (s->owner && s->owner[ec->seq] != NULL && ec->state == ECHO_INFLIGHT) {
    s->owner[ec->seq] = NULL;
    s->inflight--;
  }
}

/* The round's figures into the record, and the echoes into the window. */
static void report(icmp_target *it) {
  if (it->reported)
    return;
  it->reported = true;
  pp_result *r = it->c->res;
  int got = 0;
  double sum = 0, sq = 0, diffs = 0, prev = 0;
  double lo = INFINITY, hi = 0;
  for (int i = 0; i < it->next; i++) {
    const echo *ec = &it->echoes[i];
    bool ok = ec->state == ECHO_REPLIED;
    pp_quality_add(&it->quality, ok ? ec->rtt : -1);
    if (!ok)
      continue;
    double v = ec->rtt;
    if (got > 0)
      diffs += fabs(v - prev);
    prev = v;
    sum += v;
    sq += v * v;
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
    got++;
  }
  r->icmp_sent = it->next;
  r->icmp_received = got;
  r->loss_pct = it->next ? 100.0 * (it->next - got) / it->next : 100.0;
  if (got > 0) {
    double avg = sum / got, var = sq / got - avg * avg;
    r->rtt_min = lo;
    r->rtt_max = hi;
    r->rtt_avg = avg;
    r->rtt_stddev = var > 0 ? sqrt(var) : 0;
  }
  if (got > 1)
    r->jitter = diffs / (got - 1);
  if (it->next > 0) {
    pp_quality_limits lim;
    pp_quality_limits_from_opts(&lim, opts_of(it));
    r->quality = pp_quality_update(&it->quality, &lim, NULL);
  }
}

static void finish_round(icmp_target *it) {
  pp_check *c = it->c;
  report(it);
  const pp_result *r = c->res;
  const char *words = it->errors
                          ? pp_icmp_error_words(c->addr.sa.sa_family,
                                                it->err_type, it->err_code)
                          : NULL;
  if (it->replied > 0) {
    if (it->errors)
      pp_check_finish(c, PP_R_OK, "%d of %d echoes got %s from %s", it->errors,
                      it->next, words, it->err_from);
    else if (it->local_errno)
      pp_check_finish(c, PP_R_OK, "send: %s", strerror(it->local_errno));
    else
      pp_check_finish(c, PP_R_OK, NULL);
  } else if (it->errors) {
    pp_check_finish(c, PP_R_UNREACHABLE, "%s from %s (ICMP%s type %u code %u)",
                    words, it->err_from,
                    c->addr.sa.sa_family == AF_INET6 ? "v6" : "",
                    (unsigned)it->err_type, (unsigned)it->err_code);
  } else if (it->local_errno) {
    c->res->sys_errno = it->local_errno;
    pp_check_finish(c, pp_result_from_errno(it->local_errno), "send: %s",
                    strerror(it->local_errno));
  } else if (r->icmp_sent == 0) {
    pp_check_finish(c, PP_R_TIMEOUT, "no time left to send an echo");
  } else {
    pp_check_finish(c, PP_R_NO_REPLY, "no reply to %d echo request%s",
                    r->icmp_sent, r->icmp_sent == 1 ? "" : "s");
  }
}

static void maybe_done(icmp_target *it) {
  if (it->next == it->count && it->inflight == 0)
    finish_round(it);
}

/* Sends echo it->next. Returns 1 when it is sent or refused for good, 0
 * when the kernel asks to try again soon. */
static int send_echo(icmp_target *it) {
  icmp_sock *s = it->sock;
  icmp_engine *ie = s->ie;
  pp_check *c = it->c;
  echo *ec = &it->echoes[it->next];
  int seq = seq_alloc(s);
  if (seq < 0)
    return 0;
  uint8_t cookie[PP_ICMP_COOKIE_LEN];
  ec->mono_ns = clock_ns(CLOCK_MONOTONIC);
  cookie_of(ie, ec, cookie);
  size_t len = pp_icmp_build_echo(ie->buf, sizeof(ie->buf), s->family,
                                  s->raw ? s->ident : 0, (uint16_t)seq, cookie,
                                  (size_t)opts_of(it)->size);
  struct iovec iov = {ie->buf, len};
  struct msghdr msg = {.msg_name = &c->addr,
                       .msg_namelen = c->addrlen,
                       .msg_iov = &iov,
                       .msg_iovlen = 1};
  if (it->has_src) {
    memset(ie->ctrl.buf, 0, sizeof(ie->ctrl.buf));
    msg.msg_control = ie->ctrl.buf;
    struct cmsghdr *cm = (struct cmsghdr *)ie->ctrl.buf;
    if (s->family == AF_INET) {
      struct in_pktinfo pi = {0};
      pi.ipi_spec_dst = ((struct sockaddr_in *)&it->src)->sin_addr;
      cm->cmsg_level = IPPROTO_IP;
      cm->cmsg_type = IP_PKTINFO;
      cm->cmsg_len = CMSG_LEN(sizeof(pi));
      memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
      msg.msg_controllen = CMSG_SPACE(sizeof(pi));
    } else {
      struct in6_pktinfo pi = {0};
      pi.ipi6_addr = ((struct sockaddr_in6 *)&it->src)->sin6_addr;
      cm->cmsg_level = IPPROTO_IPV6;
      cm->cmsg_type = IPV6_PKTINFO;
      cm->cmsg_len = CMSG_LEN(sizeof(pi));
      memcpy(CMSG_DATA(cm), &pi, sizeof(pi));
      msg.msg_controllen = CMSG_SPACE(sizeof(pi));
    }
  }
  ec->real_ns = (int64_t)clock_ns(CLOCK_REALTIME);
  if (sendmsg(s->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
    int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS || err == EINTR)
      return 0;
    ec->state = ECHO_LOCAL;
    it->local_errno = err;
    it->next++;
    return 1;
  }
  ec->seq = (uint16_t)seq;
  ec->state = ECHO_INFLIGHT;
  s->owner[seq] = it;
  s->owner_idx[seq] = (uint8_t)it->next;
  s->inflight++;
  it->inflight++;
  it->next++;
  return 1;
}

static void on_timer(pp_loop *loop, pp_timer *t, void *ud) {
  (void)t;
  icmp_target *it = ud;
  uint64_t now = pp_now_us();
  if (it->next >= it->count || now >= it->end_us) {
    finish_round(it);
    return;
  }
  /* When many send timers are due at once (a busy or descheduled process),
     the loop runs them all before it polls: read in between, so replies
     free their sequences and the receive queue never overflows. This
     check cannot end here: it has echoes left to send. */
  if (++it->sock->ie->sent_since_read >= SENDS_PER_READ)
    read_socket(it->sock);
  if (!send_echo(it)) {
    pp_timer_start(loop, &it->timer, RETRY_US);
    return;
  }
  if (it->next < it->count) {
    uint64_t spacing = (uint64_t)opts_of(it)->spacing_ms * 1000u;
    uint64_t due = it->t0_us + (uint64_t)it->next * spacing;
    pp_timer_start_at(loop, &it->timer, due < it->end_us ? due : it->end_us);
    return;
  }
  uint64_t due = now + it->wait_us;
  pp_timer_start_at(loop, &it->timer, due < it->end_us ? due : it->end_us);
  maybe_done(it); /* the last echo may have been refused locally */
}

/* --- matching what comes back --- */

static echo *match(icmp_sock *s, uint16_t id, uint16_t seq,
                   icmp_target **owner) {
  if (s->raw && id != s->ident)
    return NULL; /* another process's ping */
  icmp_target *it = s->owner[seq];
  if (it == NULL)
    return NULL; /* late, duplicate or foreign */
  echo *ec = &it->echoes[s->owner_idx[seq]];
  if (ec->state != ECHO_INFLIGHT || ec->seq != seq)
    return NULL;
  *owner = it;
  return ec;
}

static bool cookie_ok(const icmp_target *it, const echo *ec,
                      const uint8_t *payload, size_t len) {
  size_t want = (size_t)opts_of(it)->size;
  if (want > PP_ICMP_COOKIE_LEN)
    want = PP_ICMP_COOKIE_LEN;
  if (len < want)
    return false;
  uint8_t cookie[PP_ICMP_COOKIE_LEN];
  cookie_of(it->sock->ie, ec, cookie);
  return memcmp(payload, cookie, want) == 0;
}

static void got_reply(icmp_sock *s, const pp_icmp_msg *m,
                      const struct sockaddr_storage *from, int64_t rx_real) {
  icmp_target *it;
  echo *ec = match(s, m->id, m->seq, &it);
  if (ec == NULL || !same_addr(from, addr_bytes(&it->c->addr), s->family) ||
      !cookie_ok(it, ec, m->payload, m->payload_len))
    return;
  double upper = (double)(clock_ns(CLOCK_MONOTONIC) - ec->mono_ns) / 1e9;
  double rtt = (double)(rx_real - ec->real_ns) / 1e9;
  if (rtt < 0 || rtt > upper + 1e-4)
    rtt = upper; /* the wall clock stepped: trust the monotonic bound */
  seq_release(s, ec);
  it->inflight--;
  if (rtt * 1e6 > (double)it->wait_us) {
    ec->state = ECHO_LATE;
  } else {
    ec->state = ECHO_REPLIED;
    ec->rtt = (float)rtt;
    it->replied++;
  }
  maybe_done(it);
}

static void got_error(icmp_sock *s, uint16_t id, uint16_t seq,
                      const uint8_t *dst, uint8_t type, uint8_t code,
                      const struct sockaddr *offender, int local_errno) {
  icmp_target *it;
  echo *ec = match(s, id, seq, &it);
  if (ec == NULL)
    return;
  if (dst &&
      memcmp(dst, addr_bytes(&it->c->addr), s->family == AF_INET ? 4 : 16) != 0)
    return;
  seq_release(s, ec);
  it->inflight--;
  if (local_errno) {
    ec->state = ECHO_LOCAL;
    it->local_errno = local_errno;
  } else {
    ec->state = ECHO_ERROR;
    it->errors++;
    it->err_type = type;
    it->err_code = code;
    if (offender && offender->sa_family == s->family)
      pp_format_address(offender, it->err_from, sizeof(it->err_from));
    else
      snprintf(it->err_from, sizeof(it->err_from), "?");
  }
  maybe_done(it);
}

/* The kernel's receive stamp, and into *dropped its count of messages
 * dropped on a full receive queue (SO_RXQ_OVFL) when it says. */
static int64_t rx_meta(struct msghdr *msg, uint32_t *dropped) {
  int64_t stamp = -1;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(msg); cm; cm = CMSG_NXTHDR(msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET)
      continue;
    if (cm->cmsg_type == SCM_TIMESTAMPNS) {
      struct timespec ts;
      memcpy(&ts, CMSG_DATA(cm), sizeof(ts));
      stamp = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    } else if (cm->cmsg_type == SO_RXQ_OVFL) {
      memcpy(dropped, CMSG_DATA(cm), sizeof(*dropped));
    }
  }
  return stamp >= 0 ? stamp : (int64_t)clock_ns(CLOCK_REALTIME);
}

/* Datagram sockets: ICMP errors about our echoes (and local failures) come
 * back on the error queue, with our request as the data. */
static void drain_errors(icmp_sock *s) {
  icmp_engine *ie = s->ie;
  for (int i = 0; i < RECV_BATCH; i++) {
    pp_sockaddr to;
    struct iovec iov = {ie->buf, sizeof(ie->buf)};
    struct msghdr msg = {.msg_name = &to,
                         .msg_namelen = sizeof(to),
                         .msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ie->ctrl.buf,
                         .msg_controllen = sizeof(ie->ctrl.buf)};
    ssize_t n = recvmsg(s->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT);
    if (n < 0)
      return;
    uint16_t id, seq;
    if (pp_icmp_parse_request(ie->buf, (size_t)n, s->family, &id, &seq) != 0)
      continue;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm;
         cm = CMSG_NXTHDR(&msg, cm)) {
      bool v4 = cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_RECVERR;
      bool v6 = cm->cmsg_level == IPPROTO_IPV6 && cm->cmsg_type == IPV6_RECVERR;
      if (!v4 && !v6)
        continue;
      const struct sock_extended_err *ee = (const void *)CMSG_DATA(cm);
      const uint8_t *dst =
          msg.msg_namelen ? (const uint8_t *)addr_bytes(&to) : NULL;
      if (ee->ee_origin == SO_EE_ORIGIN_ICMP ||
          ee->ee_origin == SO_EE_ORIGIN_ICMP6)
        got_error(s, id, seq, dst, ee->ee_type, ee->ee_code, SO_EE_OFFENDER(ee),
                  0);
      else if (ee->ee_errno)
        got_error(s, id, seq, dst, 0, 0, NULL, (int)ee->ee_errno);
      break;
    }
  }
}

/* Reads and matches up to RECV_BATCH messages. Any check but the caller's
 * may end in here. */
static void read_socket(icmp_sock *s) {
  icmp_engine *ie = s->ie;
  int fd = s->fd;
  ie->sent_since_read = 0;
  for (int i = 0; i < RECV_BATCH; i++) {
    struct sockaddr_storage from;
    struct iovec iov = {ie->buf, sizeof(ie->buf)};
    struct msghdr msg = {.msg_name = &from,
                         .msg_namelen = sizeof(from),
                         .msg_iov = &iov,
                         .msg_iovlen = 1,
                         .msg_control = ie->ctrl.buf,
                         .msg_controllen = sizeof(ie->ctrl.buf)};
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK && !s->raw)
        drain_errors(s); /* a pending error interrupted the read */
      return;
    }
    uint32_t dropped = s->dropped;
    int64_t stamp = rx_meta(&msg, &dropped);
    if (dropped != s->dropped) {
      /* never silent: lost replies would read as path loss */
      pp_log(ie->e, PP_LOG_WARNING,
             "icmp: the kernel dropped %u messages on a full receive queue "
             "(the process was too slow to read); they count as lost",
             dropped - s->dropped);
      s->dropped = dropped;
    }
    pp_icmp_msg m;
    pp_icmp_parse(ie->buf, (size_t)n, s->family, s->raw && s->family == AF_INET,
                  &m);
    if (m.kind == PP_ICMP_ECHO_REPLY)
      got_reply(s, &m, &from, stamp);
    else if (m.kind == PP_ICMP_ECHO_ERROR && s->raw)
      got_error(s, m.id, m.seq, m.dst, m.type, m.code,
                (const struct sockaddr *)&from, 0);
  }
}

static void on_readable(pp_loop *loop, int fd, unsigned ev, void *ud) {
  (void)loop;
  icmp_sock *s = ud;
  if (ev & PP_EV_ERROR) {
    if (s->raw) {
      int err;
      socklen_t len = sizeof(err);
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len); /* clears it */
    } else {
      drain_errors(s);
    }
  }
  read_socket(s);
}

/* --- the check kind --- */

static void target_data_free(void *p) {
  icmp_target *it = p;
  pp_quality_free(&it->quality);
  free(it->echoes);
  free(it);
}

/* The target's window and echo slots, kept across rounds: made when the
 * target is finalized. */
static void *target_data_new(const pp_target *t, char *err, size_t errlen) {
  icmp_target *it = calloc(1, sizeof(*it));
  if (it != NULL) {
    it->count = t->opts->count;
    it->echoes = calloc((size_t)it->count, sizeof(*it->echoes));
  }
  if (it == NULL || it->echoes == NULL ||
      pp_quality_init(&it->quality, t->opts->quality_window) != 0) {
    if (it != NULL) {
      free(it->echoes);
      pp_quality_free(&it->quality);
      free(it);
    }
    snprintf(err, errlen, "target \"%s\": out of memory", pp_target_name(t));
    return NULL;
  }
  return it;
}

static int icmp_validate(const pp_target *t, char *err, size_t errlen) {
  const pp_opts *o = t->opts;
  if ((int64_t)(o->count - 1) * o->spacing_ms + o->rtt_crit_ms >
      o->timeout_ms) {
    snprintf(err, errlen,
             "target \"%s\": %d echoes %lldms apart, plus rtt_crit (%lldms) "
             "for the last reply, do not fit in timeout (%lldms): raise "
             "timeout or lower count or spacing",
             pp_target_name(t), o->count, (long long)o->spacing_ms,
             (long long)o->rtt_crit_ms, (long long)o->timeout_ms);
    return -1;
  }
  return 0;
}

static int parse_source(icmp_target *it, int family, const char *src) {
  memset(&it->src, 0, sizeof(it->src));
  it->has_src = false;
  if (src == NULL)
    return 0;
  void *dst = family == AF_INET
                  ? (void *)&((struct sockaddr_in *)&it->src)->sin_addr
                  : (void *)&((struct sockaddr_in6 *)&it->src)->sin6_addr;
  if (inet_pton(family, src, dst) != 1)
    return -1;
  it->src.ss_family = (sa_family_t)family;
  it->has_src = true;
  return 0;
}

/* The shared socket cannot bind per target, so the source goes in each
 * send's pktinfo; a throwaway bind tells a local misconfiguration apart
 * from an unreachable network. 0, or errno. */
static int source_is_local(const icmp_target *it) {
  int fd = socket(it->src.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return errno;
  socklen_t len = it->src.ss_family == AF_INET ? sizeof(struct sockaddr_in)
                                               : sizeof(struct sockaddr_in6);
  int err = bind(fd, (const struct sockaddr *)&it->src, len) == 0 ? 0 : errno;
  close(fd);
  return err;
}

static void icmp_send_first(pp_check *c) {
  icmp_target *it = c->priv;
  icmp_engine *ie = engine_state(c->engine);
  const pp_opts *o = c->target->opts;
  pp_check_phase(c, PP_PHASE_ICMP);
  if (ie == NULL) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  if (parse_source(it, c->addr.sa.sa_family, o->source_address) != 0) {
    pp_check_finish(c, PP_R_SOCKET_ERROR,
                    "source_address %s is not an address of the target's "
                    "family",
                    o->source_address);
    return;
  }
  int err = it->has_src ? source_is_local(it) : 0;
  if (err != 0) {
    c->res->sys_errno = err;
    pp_check_finish(c, PP_R_SOCKET_ERROR, "source_address %s: %s",
                    o->source_address, strerror(err));
    return;
  }
  icmp_sock *s = sock_get(ie, c->addr.sa.sa_family);
  if (s == NULL) {
    icmp_sock *failed = &ie->sock[c->addr.sa.sa_family == AF_INET6];
    pp_check_finish(c, PP_R_SOCKET_ERROR, "%s", failed->why);
    return;
  }
  it->sock = s;
  if (ie->active++ == 0)
    ie->started = 0;
  uint64_t now = pp_now_us();
  uint64_t spacing = (uint64_t)o->spacing_ms * 1000u;
  uint64_t wait = (uint64_t)o->rtt_crit_ms * 2000u;
  if (wait < REPLY_WAIT_MIN_US)
    wait = REPLY_WAIT_MIN_US;
  if (wait > (uint64_t)o->timeout_ms * 1000u)
    wait = (uint64_t)o->timeout_ms * 1000u;
  it->wait_us = wait;
  it->end_us = c->deadline_us > now + 1000 ? c->deadline_us - 1000 : now;
  /* spread the first echoes of many targets over one spacing, unless that
     would cost the last echo its reply wait */
  uint64_t offset = (ie->started++ * SPREAD_US) % spacing;
  uint64_t span = (uint64_t)(it->count - 1) * spacing + wait;
  if (now + offset + span > it->end_us)
    offset = 0;
  it->t0_us = now + offset;
  pp_timer_start_at(c->engine->loop, &it->timer, it->t0_us);
}

static void icmp_start(pp_check *c) {
  icmp_target *it = c->target->check_data; /* made when it was finalized */
  if (it->busy) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "target listed twice in one round");
    return;
  }
  it->c = c;
  it->busy = true;
  it->sock = NULL;
  it->reported = false;
  it->next = it->inflight = it->replied = it->errors = it->local_errno = 0;
  it->err_from[0] = 0;
  memset(it->echoes, 0, (size_t)it->count * sizeof(*it->echoes));
  pp_timer_init(&it->timer, on_timer, it);
  c->priv = it;
  pp_check_resolve(c, icmp_send_first);
}

static void icmp_cleanup(pp_check *c) {
  icmp_target *it = c->priv;
  if (it == NULL)
    return;
  c->priv = NULL;
  pp_timer_stop(c->engine->loop, &it->timer);
  if (it->sock) {
    for (int i = 0; i < it->next; i++)
      seq_release(it->sock, &it->echoes[i]);
    if (!it->reported) /* ended by the deadline: still give the figures */
      report(it);
    it->sock->ie->active--;
  }
  it->busy = false;
  it->sock = NULL;
  it->c = NULL;
}

static void icmp_engine_free(pp_engine *e) {
  icmp_engine *ie = e->kind_state[PP_KIND_ICMP];
  if (ie == NULL)
    return;
  for (int i = 0; i < 2; i++)
    sock_close(e->loop, &ie->sock[i]);
  free(ie);
  e->kind_state[PP_KIND_ICMP] = NULL;
}

const pp_check_ops pp_icmp_ops = {
    .name = "icmp",
    .applies = PP_APPLY_ICMP,
    .validate = icmp_validate,
    .prepare = target_data_new,
    .data_free = target_data_free,
    .start = icmp_start,
    .cleanup = icmp_cleanup,
    .engine_free = icmp_engine_free,
};
