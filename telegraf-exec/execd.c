/* The execd loop: wait for request lines, run a round per batch of them,
 * end cleanly on end of file or SIGTERM/SIGINT. The handled signals are
 * blocked only while the loop reads its input, and ppoll unblocks them
 * atomically while it waits: none is missed, and during a round SIGTERM
 * interrupts the engine at once. */
#include "execd.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal, reload_wanted;
static pp_engine *volatile running_engine;

static void on_stop(int sig) {
  stop_signal = sig;
  pp_engine *e = running_engine;
  if (e != NULL)
    pp_engine_interrupt(e);
}

static void on_hup(int sig) {
  (void)sig;
  reload_wanted = 1;
}

static void say(const pp_execd *x, pp_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(const pp_execd *x, pp_log_level level, const char *fmt, ...) {
  if (x->log == NULL)
    return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  x->log(x->log_ud, level, msg);
}

typedef struct {
  int fd;
  size_t lines; /* complete request lines read since the last round */
  bool partial; /* the last byte read was not a newline */
  bool eof;
  int err; /* errno of a failed read */
} input;

/* Reads what the descriptor holds now and counts the lines in it. */
static void take_input(input *in) {
  char buf[4096];
  ssize_t n = read(in->fd, buf, sizeof(buf));
  if (n < 0) {
    if (errno != EINTR && errno != EAGAIN)
      in->err = errno;
    return;
  }
  if (n == 0) {
    in->eof = true;
    if (in->partial) /* an unterminated last line is a request too */
      in->lines++;
    in->partial = false;
    return;
  }
  for (ssize_t i = 0; i < n; i++)
    if (buf[i] == '\n')
      in->lines++;
  in->partial = buf[n - 1] != '\n';
}

/* Waits until a request line, end of file, an error or a signal. */
static void wait_input(input *in, const sigset_t *waitmask) {
  struct pollfd p = {.fd = in->fd, .events = POLLIN};
  while (in->lines == 0 && !in->eof && !in->err && !stop_signal &&
         !reload_wanted) {
    int r = ppoll(&p, 1, NULL, waitmask);
    if (r < 0 && errno != EINTR) {
      in->err = errno;
      return;
    }
    if (r > 0)
      take_input(in);
  }
  /* lines already waiting are answered by the same round */
  while (!in->eof && !in->err && poll(&p, 1, 0) > 0)
    take_input(in);
}

/* The signals execd handles, and what they were before. */
typedef struct {
  sigset_t handled, waitmask;
  struct sigaction term, intr, hup, pipe;
} signals;

static void install_handlers(signals *sg) {
  sigemptyset(&sg->handled);
  sigaddset(&sg->handled, SIGTERM);
  sigaddset(&sg->handled, SIGINT);
  sigaddset(&sg->handled, SIGHUP);
  sigprocmask(SIG_BLOCK, &sg->handled, &sg->waitmask);
  sigdelset(&sg->waitmask, SIGTERM);
  sigdelset(&sg->waitmask, SIGINT);
  sigdelset(&sg->waitmask, SIGHUP);
  struct sigaction sa = {0};
  sigemptyset(&sa.sa_mask);
  sa.sa_handler = on_stop; /* no SA_RESTART: a wait returns EINTR */
  sigaction(SIGTERM, &sa, &sg->term);
  sigaction(SIGINT, &sa, &sg->intr);
  sa.sa_handler = on_hup;
  sigaction(SIGHUP, &sa, &sg->hup);
  /* Telegraf gone: a write fails with EPIPE instead of killing us */
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, &sg->pipe);
}

static void restore_handlers(const signals *sg) {
  /* a second signal still pending goes to our handler, not the default */
  sigprocmask(SIG_UNBLOCK, &sg->handled, NULL);
  sigaction(SIGTERM, &sg->term, NULL);
  sigaction(SIGINT, &sg->intr, NULL);
  sigaction(SIGHUP, &sg->hup, NULL);
  sigaction(SIGPIPE, &sg->pipe, NULL);
}

int pp_execd_serve(int fd, const pp_execd *x) {
  signals sg;
  install_handlers(&sg);
  stop_signal = reload_wanted = 0;
  running_engine = x->engine;
  input in = {.fd = fd};
  int status = 0;
  unsigned long rounds = 0;
  for (;;) {
    wait_input(&in, &sg.waitmask);
    /* a signal sent before the request line came is handled before the
     * round: unblocked, pending ones run their handlers now */
    sigprocmask(SIG_UNBLOCK, &sg.handled, NULL);
    if (stop_signal)
      break;
    if (reload_wanted) {
      reload_wanted = 0;
      if (x->reload != NULL) {
        say(x, PP_LOG_INFO, "SIGHUP: reading the configuration again");
        x->reload(x->ud);
      }
    }
    if (in.err) {
      say(x, PP_LOG_ERR, "reading standard input: %s", strerror(in.err));
      status = 1;
      break;
    }
    if (in.lines > 0) {
      if (in.lines > 1)
        say(x, PP_LOG_INFO, "%zu requests came %s: one round answers them",
            in.lines,
            rounds ? "while the last round ran" : "before the first round");
      in.lines = 0;
      int rc = x->round(x->ud);
      rounds++;
      if (stop_signal)
        break; /* interrupted: nothing of that round was printed */
      if (rc != 0) {
        status = 1;
        break;
      }
    }
    if (in.eof)
      break;
    sigprocmask(SIG_BLOCK, &sg.handled, NULL);
  }
  const char *plural = rounds == 1 ? "" : "s";
  if (stop_signal)
    say(x, PP_LOG_INFO, "%s after %lu round%s: stopping",
        strsignal(stop_signal), rounds, plural);
  else if (in.eof)
    say(x, PP_LOG_INFO, "end of input after %lu round%s: stopping", rounds,
        plural);
  running_engine = NULL;
  restore_handlers(&sg);
  return status;
}
