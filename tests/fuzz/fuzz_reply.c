/* libFuzzer target for the reply parsers: every framing, the capability
 * reader and the excerpt sanitiser get the same hostile bytes. Besides
 * memory errors (ASan) it checks the parsers' promises: a complete reply
 * lies inside the input, the same prefix parses the same way again, and
 * the input fed in pieces (as reads bring it) parses as it does at once. */
#include "reply.h"
#include "result.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const pp_frame frames[] = {
    PP_FRAME_LINE,        PP_FRAME_SMTP,       PP_FRAME_FTP,
    PP_FRAME_POP3,        PP_FRAME_POP3_MULTI, PP_FRAME_IMAP_GREETING,
    PP_FRAME_IMAP_TAGGED,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Feeds buf to pp_reply_parse_more in pieces whose sizes the bytes choose,
 * until the reply is judged; the verdict must be that of a parse from
 * scratch of the same prefix. */
static void pieces_agree(pp_frame f, const char *buf, size_t size) {
  pp_reply_cursor cur = {0};
  size_t n = 0;
  while (n < size) {
    n += 1 + (unsigned char)buf[n] % 7;
    if (n > size)
      n = size;
    pp_reply inc, whole;
    pp_reply_state a = pp_reply_parse_more(f, buf, n, "a1", &cur, &inc);
    if (a == PP_REPLY_INCOMPLETE && n < size)
      continue;
    pp_reply_state b = pp_reply_parse(f, buf, n, "a1", &whole);
    if (a != b || (a == PP_REPLY_COMPLETE &&
                   (inc.len != whole.len || inc.status != whole.status ||
                    inc.code != whole.code || inc.last_off != whole.last_off)))
      abort();
    return;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* an exact-size copy, so ASan sees any read past the end */
  char *buf = malloc(size ? size : 1);
  if (buf == NULL)
    return 0;
  memcpy(buf, data, size);
  for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++) {
    pp_reply r, again;
    pp_reply_state st = pp_reply_parse(frames[i], buf, size, "a1", &r);
    if (st == PP_REPLY_COMPLETE) {
      if (r.len == 0 || r.len > size || r.last_off >= r.len)
        abort();
      if (pp_reply_parse(frames[i], buf, r.len, "a1", &again) !=
              PP_REPLY_COMPLETE ||
          again.len != r.len || again.status != r.status)
        abort();
      pp_caps caps = {0};
      pp_caps_parse(frames[i], buf, r.len, &caps);
    } else if (st == PP_REPLY_MALFORMED) {
      if (r.why == NULL)
        abort();
    }
    pieces_agree(frames[i], buf, size);
  }
  pp_result res;
  pp_result_set_excerpt(&res, buf, size);
  if (strlen(res.excerpt) >= sizeof(res.excerpt))
    abort();
  free(buf);
  return 0;
}
