/* libFuzzer target for the binary-protocol codecs: each codec frames the
 * hostile bytes, and a complete message goes to its reader, both right
 * after the codec's first request and with the state a later step has.
 * Besides memory errors (ASan) it checks the framing's promise: a complete
 * message lies inside the input. No socket is opened: a check whose end
 * the reader decides is finished as a real one is. */
#include "check_core.h"
#include "wire.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const urls[] = {"postgres://h", "mysql://h", "mongodb://h",
                                   "ldap://h",     "mssql://h", "ntp://h"};
#define NCODECS (sizeof(urls) / sizeof(urls[0]))

static pp_engine *engine;
static pp_target *targets[NCODECS];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_deadline(pp_loop *loop, pp_timer *t, void *ud) {
  (void)loop;
  (void)t;
  (void)ud;
}

static int setup(void) {
  char err[256];
  if (engine != NULL)
    return 0;
  if ((engine = pp_engine_new(NULL, err, sizeof(err))) == NULL)
    return -1;
  for (size_t i = 0; i < NCODECS; i++) {
    targets[i] = pp_target_new(urls[i], err, sizeof(err));
    if (targets[i] == NULL || pp_target_finalize(targets[i], err, sizeof(err)))
      abort();
  }
  return 0;
}

/* One message to a codec, after begin (later: with the state begin left). */
static void feed(const pp_target *t, const uint8_t *msg, size_t len,
                 bool after_begin) {
  const pp_wire_proto *p = t->scheme->wire;
  pp_check c = {.engine = engine,
                .target = t,
                .fd = -1,
                .ops = pp_kind_ops(t->kind),
                .host = t->host,
                .host_is_ip = t->host_is_ip};
  pp_result res;
  pp_result_reset(&res);
  c.res = &res;
  c.deadline_us = pp_now_us() + 1000000;
  pp_timer_init(&c.deadline, on_deadline, &c);
  engine->active++;
  pp_wire w = {.c = &c, .t = t, .proto = p};
  w.st = p->state_size ? calloc(1, p->state_size) : NULL;
  if (after_begin)
    p->begin(&w);
  if (!c.done)
    p->message(&w, msg, len);
  if (!c.done)
    pp_check_finish(&c, PP_R_OK, NULL);
  if (p->state_free && w.st)
    p->state_free(w.st);
  free(w.st);
  pp_wbuf_free(&w.out, true);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (setup() != 0)
    return 0;
  uint8_t *buf = malloc(size ? size : 1); /* exact size: ASan sees overreads */
  if (buf == NULL)
    return 0;
  memcpy(buf, data, size);
  for (size_t i = 0; i < NCODECS; i++) {
    const pp_wire_proto *p = targets[i]->scheme->wire;
    size_t len = size;
    if (p->frame != NULL) {
      pp_wire w = {.proto = p};
      w.st = p->state_size ? calloc(1, p->state_size) : NULL;
      const char *why = "";
      len = 0;
      pp_reply_state st = p->frame(&w, buf, size, &len, &why);
      free(w.st);
      if (st != PP_REPLY_COMPLETE)
        continue;
      if (len == 0 || len > size)
        abort(); /* a complete message outside the input */
    }
    feed(targets[i], buf, len, true);
    feed(targets[i], buf, len, false);
  }
  free(buf);
  return 0;
}
