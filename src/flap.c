/* Nagios's flap formula (see flap.h and docs/state.md). */
#include "flap.h"

#define LOW_WEIGHT 0.8
#define HIGH_WEIGHT 1.2

void pp_flap_record(pp_flap_history *h, bool up) {
  h->bits = ((h->bits << 1) | (up ? 1u : 0u)) & ((1u << PP_FLAP_WINDOW) - 1);
  if (h->n < PP_FLAP_WINDOW)
    h->n++;
}

double pp_flap_percent(const pp_flap_history *h) {
  const int changes = PP_FLAP_WINDOW - 1;
  double sum = 0;
  /* age k is the change between the state k+1 checks ago and the one k
   * checks ago; x numbers changes from 1 (oldest) to 20 (newest) */
  for (int k = 0; k + 1 < h->n; k++) {
    if (((h->bits >> k) & 1u) == ((h->bits >> (k + 1)) & 1u))
      continue;
    int x = changes - k;
    sum += LOW_WEIGHT +
           (HIGH_WEIGHT - LOW_WEIGHT) * (double)(x - 1) / (double)(changes - 1);
  }
  return sum * 100.0 / (double)changes;
}
