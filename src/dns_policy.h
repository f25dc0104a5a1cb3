/* Mail-domain records read as text: SPF, DMARC, MTA-STS (its TXT record and
 * its policy file) and TLS-RPT, to the basic syntax their RFCs give, and the
 * names DNS blocklists are asked for. Pure functions, unit-tested alone. */
#ifndef PP_DNS_POLICY_H
#define PP_DNS_POLICY_H

#include <stddef.h>

/* The name a blocklist zone is prefixed with: 192.0.2.1 -> "1.2.0.192.",
 * 2001:db8::1 -> 32 nibbles "1.0.0. ... .8.b.d.0.1.0.0.2." (RFC 5782).
 * Returns -1 when addr is not an IP address literal. */
int pp_dns_reverse_name(const char *addr, char *out, size_t len);

/* Whether a TXT string is a record of the kind tag names ("v=spf1",
 * "v=DMARC1", "v=STSv1", "v=TLSRPTv1"): the tag, case-insensitive, then
 * the end, a space or a ';'. */
int pp_policy_is(const char *txt, const char *tag);

/* Each returns 0 when the record's syntax is sound, or -1 with the finding
 * in why ("unknown mechanism \"foo\"", "p= missing"). */
int pp_spf_check(const char *rec, char *why, size_t len);
int pp_dmarc_check(const char *rec, char *why, size_t len);
int pp_sts_txt_check(const char *rec, char *why, size_t len);
int pp_tlsrpt_check(const char *rec, char *why, size_t len);
/* The policy file of RFC 8461 section 3.2; mode receives "enforce",
 * "testing" or "none" when found (at least 16 bytes). */
int pp_sts_policy_check(const char *body, size_t blen, char *mode, char *why,
                        size_t len);

#endif
