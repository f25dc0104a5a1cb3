/* Flap detection as Nagios does it: the state at each of the last 21 checks,
 * the changes between them weighted from 0.8 (oldest) to 1.2 (newest), as a
 * percent of the 20 possible changes. */
#ifndef PP_FLAP_H
#define PP_FLAP_H

#include <stdbool.h>
#include <stdint.h>

#define PP_FLAP_WINDOW 21

typedef struct {
  uint32_t bits; /* bit 0 is the newest state; 1 = up */
  uint8_t n;     /* states recorded, at most PP_FLAP_WINDOW */
} pp_flap_history;

void pp_flap_record(pp_flap_history *h, bool up);

/* Weighted percent of state changes, 0 to 100. Before the window is full,
 * the states not yet seen count as equal to the oldest one (Nagios fills
 * its history with the first state), so a new target can flap early. */
double pp_flap_percent(const pp_flap_history *h);

#endif
