/* icmp checks: not built yet; the target parses and reports unsupported. */
#include "check.h"

static void icmp_start(pp_check *c) {
  pp_check_finish(c, PP_R_UNSUPPORTED, "%s checks are not implemented yet",
                  c->target->scheme->name);
}

const pp_check_ops pp_icmp_ops = {
    .name = "icmp",
    .start = icmp_start,
};
