/* libFuzzer target for what users type: the INI target file (inih, the
 * section grouping, every option value through the option table) and the
 * command-line words (URL key=value ...). Besides memory errors (ASan) and
 * undefined behaviour (UBSan) it checks the promise of a clear error: a
 * refused input always comes with a message, and an accepted one yields
 * finalized targets with a URL and a name. The first byte picks the mode. */
#include "cli_config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int rc, const pp_targets *l, const char *err) {
  if (rc != 0) {
    if (err[0] == 0)
      abort(); /* refused without a word */
    return;
  }
  for (size_t i = 0; i < l->n; i++)
    if (!l->items[i]->finalized || pp_target_name(l->items[i]) == NULL ||
        pp_target_name(l->items[i])[0] == 0)
      abort();
}

/* Words separated by newlines, as argv. */
static int from_words(char *text, size_t len, pp_targets *l, char *err,
                      size_t errlen) {
  char *argv[64];
  int argc = 0;
  char *p = text;
  while (argc < 64 && p < text + len) {
    argv[argc++] = p;
    char *nl = memchr(p, '\n', (size_t)(text + len - p));
    if (nl == NULL)
      break;
    *nl = 0;
    p = nl + 1;
  }
  return pp_config_from_args(argc, argv, l, err, errlen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size == 0)
    return 0;
  int mode = data[0] & 1;
  data++, size--;
  char *text = malloc(size + 1); /* exact size: ASan sees overreads */
  if (text == NULL)
    return 0;
  memcpy(text, data, size);
  text[size] = 0;
  pp_targets l = {0};
  char err[512] = "";
  int rc;
  if (mode == 0) {
    FILE *f = fmemopen(text, size ? size : 1, "r");
    if (f == NULL) {
      free(text);
      return 0;
    }
    rc = pp_config_load_stream(f, "fuzz.conf", &l, err, sizeof(err));
    fclose(f);
  } else {
    rc = from_words(text, size, &l, err, sizeof(err));
  }
  check(rc, &l, err);
  pp_targets_free(&l);
  free(text);
  return 0;
}
