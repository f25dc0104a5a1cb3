/* LDAP (RFC 4511) as a codec, BER by OpenLDAP's liblber: with starttls the
 * StartTLS extended operation (RFC 4513), then an anonymous search of the
 * root DSE for its naming contexts, supported versions and vendor, and an
 * unbind. busy, unavailable and unwillingToPerform, or a notice of
 * disconnection, are down with the server's words. */
#include "wire.h"

#include <lber.h>

#include <stdio.h>
#include <string.h>

#define REQ_UNBIND 0x42    /* [APPLICATION 2] NULL */
#define REQ_SEARCH 0x63    /* [APPLICATION 3] */
#define RES_ENTRY 0x64     /* [APPLICATION 4] */
#define RES_DONE 0x65      /* [APPLICATION 5] */
#define RES_REFERENCE 0x73 /* [APPLICATION 19] */
#define REQ_EXTENDED 0x77  /* [APPLICATION 23] */
#define RES_EXTENDED 0x78  /* [APPLICATION 24] */
#define TAG_EXOP_OID 0x80  /* [0] requestName */
#define TAG_PRESENT 0x87   /* filter: [7] present */
#define OID_STARTTLS "1.3.6.1.4.1.1466.20037"
#define MESSAGE_MAX (1u << 20)

enum { ID_STARTTLS = 1, ID_SEARCH, ID_UNBIND };

typedef struct {
  char contexts[PP_INFO_MAX];
  char versions[16];
  char vendor[PP_VERSION_MAX];
} ld_state;

static pp_reply_state ld_frame(pp_wire *w, const uint8_t *buf, size_t len,
                               size_t *msglen, const char **why) {
  (void)w;
  if (len >= 1 && buf[0] != 0x30) {
    *why = "not an LDAP server: the reply is no LDAPMessage";
    return PP_REPLY_MALFORMED;
  }
  if (len < 2)
    return PP_REPLY_INCOMPLETE;
  size_t head = 2, n = buf[1];
  if (n & 0x80) { /* long form: n & 0x7f bytes of length */
    size_t k = n & 0x7f;
    if (k == 0 || k > 4) {
      *why = "not an LDAP server: a BER length it cannot have";
      return PP_REPLY_MALFORMED;
    }
    if (len < 2 + k)
      return PP_REPLY_INCOMPLETE;
    n = 0;
    for (size_t i = 0; i < k; i++)
      n = n << 8 | buf[2 + i];
    head += k;
  }
  if (n > MESSAGE_MAX) {
    *why = "not an LDAP server: a message of impossible length";
    return PP_REPLY_MALFORMED;
  }
  *msglen = head + n;
  return len >= *msglen ? PP_REPLY_COMPLETE : PP_REPLY_INCOMPLETE;
}

/* Encodes with ber_printf into w->out. */
static pp_wire_next send_ber(pp_wire *w, BerElement *ber, int rc,
                             const char *what) {
  struct berval bv = {0, NULL};
  if (ber == NULL || rc < 0 || ber_flatten2(ber, &bv, 0) < 0) {
    ber_free(ber, 1);
    return pp_wire_fail(w, PP_R_SOCKET_ERROR, "LDAP: cannot encode %s", what);
  }
  pp_wbuf_put(&w->out, bv.bv_val, bv.bv_len);
  ber_free(ber, 1);
  pp_wire_trace(w, "C", "%s", what);
  return PP_WIRE_SEND;
}

static pp_wire_next send_starttls(pp_wire *w) {
  pp_wire_step(w, PP_PHASE_STARTTLS, "StartTLS");
  BerElement *ber = ber_alloc_t(LBER_USE_DER);
  int rc = ber ? ber_printf(ber, "{it{ts}}", (ber_int_t)ID_STARTTLS,
                            (ber_tag_t)REQ_EXTENDED, (ber_tag_t)TAG_EXOP_OID,
                            OID_STARTTLS)
               : -1;
  return send_ber(w, ber, rc, "StartTLS");
}

static pp_wire_next send_search(pp_wire *w) {
  static char *attrs[] = {"namingContexts", "supportedLDAPVersion",
                          "vendorName", "vendorVersion", NULL};
  pp_wire_step(w, PP_PHASE_DIALOG, "root DSE search");
  BerElement *ber = ber_alloc_t(LBER_USE_DER);
  /* base "", scope base, never deref, no limits, (objectClass=*) */
  int rc =
      ber ? ber_printf(ber, "{it{seeiibts{v}}}", (ber_int_t)ID_SEARCH,
                       (ber_tag_t)REQ_SEARCH, "", (ber_int_t)0, (ber_int_t)0,
                       (ber_int_t)0, (ber_int_t)0, (ber_int_t)0,
                       (ber_tag_t)TAG_PRESENT, "objectClass", attrs)
          : -1;
  return send_ber(w, ber, rc, "root DSE search");
}

static pp_wire_next send_unbind(pp_wire *w) {
  pp_wire_step(w, PP_PHASE_DIALOG, "unbind");
  BerElement *ber = ber_alloc_t(LBER_USE_DER);
  int rc = ber ? ber_printf(ber, "{itn}", (ber_int_t)ID_UNBIND,
                            (ber_tag_t)REQ_UNBIND)
               : -1;
  pp_wire_next next = send_ber(w, ber, rc, "unbind");
  return next == PP_WIRE_SEND ? PP_WIRE_QUIT : next;
}

static pp_wire_next ld_begin(pp_wire *w) {
  return pp_wire_wants_tls(w) ? send_starttls(w) : send_search(w);
}

static pp_wire_next ld_tls_ready(pp_wire *w) {
  return send_search(w);
}

/* Joins values into buf, ", " between. */
static void join(char *buf, size_t size, BerVarray vals) {
  for (size_t i = 0; vals && vals[i].bv_val; i++) {
    size_t off = strlen(buf);
    snprintf(buf + off, size - off, "%s%.*s", off ? ", " : "",
             (int)vals[i].bv_len, vals[i].bv_val);
  }
}

/* A root DSE entry: the attributes asked for. */
static pp_wire_next entry(pp_wire *w, BerElement *ber) {
  ld_state *st = w->st;
  struct berval dn;
  ber_len_t len;
  char *last;
  /* the attribute list's own header is ber_first_element's to skip */
  if (ber_scanf(ber, "{m", &dn) == LBER_ERROR)
    return pp_wire_fail(w, PP_R_PROTOCOL_ERROR, "LDAP: malformed entry");
  for (ber_tag_t tag = ber_first_element(ber, &len, &last); tag != LBER_DEFAULT;
       tag = ber_next_element(ber, &len, last)) {
    struct berval type;
    BerVarray vals = NULL;
    if (ber_scanf(ber, "{mW}", &type, &vals) == LBER_ERROR)
      return pp_wire_fail(w, PP_R_PROTOCOL_ERROR, "LDAP: malformed attribute");
    char name[32];
    snprintf(name, sizeof(name), "%.*s", (int)type.bv_len, type.bv_val);
    if (strcasecmp(name, "namingContexts") == 0)
      join(st->contexts, sizeof(st->contexts), vals);
    else if (strcasecmp(name, "supportedLDAPVersion") == 0)
      join(st->versions, sizeof(st->versions), vals);
    else if (strcasecmp(name, "vendorName") == 0 ||
             strcasecmp(name, "vendorVersion") == 0)
      join(st->vendor, sizeof(st->vendor), vals);
    ber_bvarray_free(vals);
  }
  return PP_WIRE_READ;
}

static const char *code_name(ber_int_t code) {
  switch (code) {
  case 0:
    return "success";
  case 1:
    return "operationsError";
  case 2:
    return "protocolError";
  case 32:
    return "noSuchObject";
  case 48:
    return "inappropriateAuthentication";
  case 49:
    return "invalidCredentials";
  case 50:
    return "insufficientAccessRights";
  case 51:
    return "busy";
  case 52:
    return "unavailable";
  case 53:
    return "unwillingToPerform";
  default:
    return "error";
  }
}

static pp_wire_next search_done(pp_wire *w, ber_int_t code,
                                const struct berval *diag) {
  ld_state *st = w->st;
  char said[3 * PP_EXCERPT_MAX]; /* the excerpt cuts it */
  snprintf(said, sizeof(said),
           "SearchResultDone %s%s%.*s; namingContexts: %s; "
           "supportedLDAPVersion: %s",
           code_name(code), diag->bv_len ? ": " : "", (int)diag->bv_len,
           diag->bv_val ? diag->bv_val : "", st->contexts, st->versions);
  pp_wire_excerpt(w, said, strlen(said));
  if (code == 51 || code == 52 || code == 53)
    return pp_wire_fail(w, PP_R_UNAVAILABLE,
                        "server refuses service: %s (%d) %.*s", code_name(code),
                        (int)code, (int)diag->bv_len,
                        diag->bv_val ? diag->bv_val : "");
  if (code != 0)
    pp_wire_note(w, "root DSE not readable anonymously: %s (%d)",
                 code_name(code), (int)code);
  if (st->versions[0])
    pp_wire_info(w, "LDAP versions %s", st->versions);
  if (st->contexts[0])
    pp_wire_info(w, "naming contexts %s", st->contexts);
  if (st->vendor[0])
    pp_wire_version(w, st->vendor, strlen(st->vendor));
  return send_unbind(w);
}

/* An LDAPResult: of StartTLS, of the search, or a notice of disconnection
 * (message ID 0). */
static pp_wire_next result(pp_wire *w, BerElement *ber, ber_int_t id,
                           ber_tag_t op) {
  ber_int_t code;
  struct berval matched, diag;
  if (ber_scanf(ber, "{emm", &code, &matched, &diag) == LBER_ERROR)
    return pp_wire_fail(w, PP_R_PROTOCOL_ERROR, "LDAP: malformed result");
  pp_wire_trace(w, "S", "result %d (%s) to message %d", (int)code,
                code_name(code), (int)id);
  if (id == 0) {
    pp_wire_excerpt(w, diag.bv_val ? diag.bv_val : "", diag.bv_len);
    return pp_wire_fail(w, PP_R_UNAVAILABLE,
                        "notice of disconnection: %s (%d) %.*s",
                        code_name(code), (int)code, (int)diag.bv_len,
                        diag.bv_val ? diag.bv_val : "");
  }
  if (op == RES_EXTENDED && id == ID_STARTTLS) {
    if (code == 0)
      return PP_WIRE_STARTTLS;
    char why[PP_DETAIL_MAX];
    snprintf(why, sizeof(why), "server refused StartTLS: %s (%d) %.*s",
             code_name(code), (int)code, (int)diag.bv_len,
             diag.bv_val ? diag.bv_val : "");
    if (!pp_wire_plain_ok(w, why))
      return PP_WIRE_END;
    return send_search(w);
  }
  if (op == RES_DONE && id == ID_SEARCH)
    return search_done(w, code, &diag);
  return pp_wire_fail(w, PP_R_PROTOCOL_ERROR,
                      "LDAP: a response to no request of ours");
}

static pp_wire_next ld_message(pp_wire *w, const uint8_t *msg, size_t len) {
  struct berval bv = {(ber_len_t)len, (char *)msg};
  BerElement *ber = ber_init(&bv);
  if (ber == NULL)
    return pp_wire_fail(w, PP_R_SOCKET_ERROR, "out of memory");
  ber_int_t id;
  ber_len_t l;
  pp_wire_next next;
  if (ber_scanf(ber, "{i", &id) == LBER_ERROR) {
    next = pp_wire_fail(w, PP_R_PROTOCOL_ERROR,
                        "not an LDAP server: a malformed LDAPMessage");
  } else {
    ber_tag_t op = ber_peek_tag(ber, &l);
    if (op == RES_ENTRY)
      next = entry(w, ber);
    else if (op == RES_REFERENCE)
      next = PP_WIRE_READ;
    else if (op == RES_DONE || op == RES_EXTENDED)
      next = result(w, ber, id, op);
    else
      next =
          pp_wire_fail(w, PP_R_PROTOCOL_ERROR,
                       "LDAP: unexpected operation 0x%lx", (unsigned long)op);
  }
  ber_free(ber, 1);
  return next;
}

const pp_wire_proto pp_wire_ldap = {
    .name = "ldap",
    .state_size = sizeof(ld_state),
    .frame = ld_frame,
    .begin = ld_begin,
    .message = ld_message,
    .tls_ready = ld_tls_ready,
};
