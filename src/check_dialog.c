/* dialog checks: not built yet; the target parses and reports unsupported. */
#include "check.h"

static void dialog_start(pp_check *c) {
  pp_check_finish(c, PP_R_UNSUPPORTED, "%s checks are not implemented yet",
                  c->target->scheme->name);
}

const pp_check_ops pp_dialog_ops = {
    .name = "dialog",
    .start = dialog_start,
};
