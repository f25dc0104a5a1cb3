/* The old-protocol probe of refuse_protocols: before the check proper, one
 * connection to the target's address offers only the protocols the target
 * must refuse. Internal to the core. */
#ifndef PP_TLS_PROBE_H
#define PP_TLS_PROBE_H

#include "check_core.h"
#include "tls.h"

/* With refuse_protocols set: resolves the target, connects and offers only
 * those protocols. A server that completes the handshake ends the check
 * with tls_weak_protocol; one that refuses it (or does not answer within
 * half the timeout) lets next(c) run, the check proper. Without
 * refuse_protocols, next(c) runs at once. ctxs: the kind's TLS contexts. */
void pp_tls_probe(pp_check *c, pp_tls_ctxs *ctxs, void (*next)(pp_check *c));

/* Releases a probe still running (pp_check_finish calls it). */
void pp_tls_probe_free(pp_check *c);

/* refuse_protocols' text ("tls1.0,tls1.1") as the range of versions to
 * offer (TLS1_VERSION...). -1 on a word that is no protocol. */
int pp_tls_refused_range(const char *list, int *min, int *max);

#endif
