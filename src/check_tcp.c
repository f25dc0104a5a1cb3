/* The plain TCP check: connected is all it asks (or, with expect_closed,
 * all it must not get). */
#include "check_core.h"

static void tcp_start(pp_check *c) {
  pp_check_resolve_and_connect(c);
}

static void tcp_connected(pp_check *c) {
  if (c->target->opts->expect_closed)
    pp_check_finish(c, PP_R_UNEXPECTED_OPEN, "port %u accepted a connection",
                    (unsigned)c->target->port);
  else
    pp_check_finish(c, PP_R_OK, NULL);
}

const pp_check_ops pp_tcp_ops = {
    .name = "tcp",
    .applies = PP_APPLY_TCP,
    .start = tcp_start,
    .connected = tcp_connected,
};
