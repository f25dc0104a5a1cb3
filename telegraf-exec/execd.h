/* Serving Telegraf's inputs.execd with signal = "STDIN": each line on
 * standard input asks for one round, and the round's lines go out at once.
 * The engine, the targets and their state live across rounds. */
#ifndef PP_EXECD_H
#define PP_EXECD_H

#include "portprobe.h"

typedef struct {
  /* Runs one round and writes it out, flushed. Returns 0, or -1 to stop
   * serving (the output is gone, for example). */
  int (*round)(void *ud);
  /* Re-reads the configuration on SIGHUP; keeps the old one on failure.
   * May be NULL. */
  void (*reload)(void *ud);
  void *ud;
  pp_engine *engine; /* SIGTERM and SIGINT interrupt its round */
  pp_log_fn log;
  void *log_ud;
} pp_execd;

/* Serves requests read from fd until end of file, SIGTERM or SIGINT; a round
 * in progress when a signal comes is abandoned promptly, unprinted. Lines
 * that arrive while a round runs are answered together by the next round,
 * so a slow round never builds a backlog. Returns 0 on a clean end, 1 if
 * the input or the output failed. */
int pp_execd_serve(int fd, const pp_execd *x);

#endif
