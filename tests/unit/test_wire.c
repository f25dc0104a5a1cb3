/* Binary protocols without a server: SCRAM-SHA-256 against RFC 7677's
 * example, the bounded byte readers, and each codec's framing of replies a
 * real server sends and of what another service on the port would send. */
#include "scram.h"
#include "wire.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>

#define RFC_NONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC_SERVER_FIRST                                                       \
  "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"                      \
  "s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"

static char out[512], why[256];

START_TEST(scram_matches_rfc7677) {
  pp_scram s;
  ck_assert_int_eq(pp_scram_first(&s, "user", RFC_NONCE, out, sizeof(out)), 0);
  ck_assert_str_eq(out, "n,,n=user,r=" RFC_NONCE);
  ck_assert_int_eq(pp_scram_final(&s, "pencil", RFC_SERVER_FIRST,
                                  strlen(RFC_SERVER_FIRST), out, sizeof(out),
                                  why, sizeof(why)),
                   0);
  ck_assert_str_eq(out,
                   "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)"
                   "hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
  const char *v = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
  ck_assert_int_eq(pp_scram_verify(&s, v, strlen(v), why, sizeof(why)), 0);
  pp_scram_wipe(&s);
}
END_TEST

START_TEST(scram_refuses_a_server_that_does_not_know_the_password) {
  pp_scram s;
  pp_scram_first(&s, "user", RFC_NONCE, out, sizeof(out));
  pp_scram_final(&s, "pencil", RFC_SERVER_FIRST, strlen(RFC_SERVER_FIRST), out,
                 sizeof(out), why, sizeof(why));
  const char *v = "v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";
  ck_assert_int_eq(pp_scram_verify(&s, v, strlen(v), why, sizeof(why)), -1);
  ck_assert_ptr_nonnull(strstr(why, "does not know the password"));
  const char *e = "e=invalid-proof";
  ck_assert_int_eq(pp_scram_verify(&s, e, strlen(e), why, sizeof(why)), -1);
  ck_assert_str_eq(why, "SCRAM: server error invalid-proof");
}
END_TEST

START_TEST(scram_refuses_a_foreign_nonce_and_endless_iterations) {
  pp_scram s;
  pp_scram_first(&s, "", RFC_NONCE, out, sizeof(out));
  ck_assert_str_eq(out, "n,,n=,r=" RFC_NONCE);
  const char *foreign =
      "r=someone-elses-nonce,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
  ck_assert_int_eq(pp_scram_final(&s, "pw", foreign, strlen(foreign), out,
                                  sizeof(out), why, sizeof(why)),
                   -1);
  ck_assert_str_eq(why, "SCRAM: server nonce does not extend ours");
  const char *slow = "r=" RFC_NONCE "x,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=2000000000";
  ck_assert_int_eq(pp_scram_final(&s, "pw", slow, strlen(slow), out,
                                  sizeof(out), why, sizeof(why)),
                   -1);
  ck_assert_ptr_nonnull(strstr(why, "2000000000 iterations"));
  /* a user name's ',' and '=' are escaped */
  pp_scram_first(&s, "a,b=c", RFC_NONCE, out, sizeof(out));
  ck_assert_str_eq(out, "n,,n=a=2Cb=3Dc,r=" RFC_NONCE);
}
END_TEST

START_TEST(readers_never_pass_the_end) {
  const uint8_t msg[] = {0x01, 0x02, 'a', 'b'};
  pp_rbuf r = pp_rbuf_of(msg, sizeof(msg));
  ck_assert_uint_eq(pp_rbuf_u16be(&r), 0x0102);
  size_t n;
  ck_assert_ptr_null(pp_rbuf_cstr(&r, &n)); /* no NUL left */
  ck_assert(r.bad);
  ck_assert_uint_eq(pp_rbuf_u32le(&r), 0);
  ck_assert_uint_eq(pp_rbuf_left(&r), 0);
  pp_wbuf b = {0};
  for (int i = 0; i < 100; i++)
    pp_wbuf_u32be(&b, (uint32_t)i);
  pp_wbuf_set_u32be(&b, 0, 0xdeadbeef);
  ck_assert_uint_eq(b.len, 400);
  ck_assert_uint_eq(b.p[0], 0xde);
  ck_assert_uint_eq(b.p[399], 99);
  pp_wbuf_free(&b, true);
}
END_TEST

/* The codec's framing of buf: COMPLETE/INCOMPLETE/MALFORMED, *len. */
static pp_reply_state frame(const pp_wire_proto *p, const void *buf, size_t n,
                            size_t *len, const char **reason) {
  pp_wire w = {.proto = p};
  w.st = p->state_size ? calloc(1, p->state_size) : NULL;
  *len = 0;
  *reason = "";
  pp_reply_state st = p->frame(&w, buf, n, len, reason);
  free(w.st);
  return st;
}

START_TEST(postgres_frames_messages_and_refuses_other_services) {
  size_t len;
  const char *why_;
  const char auth[] = "R\0\0\0\x08\0\0\0\0Z";
  ck_assert_int_eq(frame(&pp_wire_postgres, auth, 10, &len, &why_),
                   PP_REPLY_COMPLETE);
  ck_assert_uint_eq(len, 9);
  ck_assert_int_eq(frame(&pp_wire_postgres, auth, 6, &len, &why_),
                   PP_REPLY_INCOMPLETE);
  ck_assert_uint_eq(len, 9); /* known from the header */
  ck_assert_int_eq(frame(&pp_wire_postgres, "HTTP/1.1 400", 12, &len, &why_),
                   PP_REPLY_MALFORMED);
  ck_assert_str_eq(why_, "not a PostgreSQL server: unexpected reply");
  ck_assert_int_eq(frame(&pp_wire_postgres, "E\x7f\0\0\0", 5, &len, &why_),
                   PP_REPLY_MALFORMED);
}
END_TEST

START_TEST(mysql_and_mongodb_frames_bound_the_length) {
  size_t len;
  const char *why_;
  ck_assert_int_eq(frame(&pp_wire_mysql,
                         "\x05\0\0\0\x0a"
                         "5.5",
                         8, &len, &why_),
                   PP_REPLY_INCOMPLETE);
  ck_assert_uint_eq(len, 9);
  ck_assert_int_eq(frame(&pp_wire_mysql, "SSH-2.0-x", 9, &len, &why_),
                   PP_REPLY_MALFORMED);
  ck_assert_int_eq(frame(&pp_wire_mongodb, "HTTP", 4, &len, &why_),
                   PP_REPLY_MALFORMED);
  ck_assert_str_eq(why_,
                   "not a MongoDB server: a message of impossible length");
  ck_assert_int_eq(frame(&pp_wire_mongodb, "\x1a\0\0\0", 4, &len, &why_),
                   PP_REPLY_INCOMPLETE);
  ck_assert_uint_eq(len, 26);
}
END_TEST

START_TEST(ldap_and_tds_frames) {
  size_t len;
  const char *why_;
  /* BER long form: 0x82 0x01 0x00 = 256 bytes after a 4-byte head */
  ck_assert_int_eq(frame(&pp_wire_ldap, "\x30\x82\x01\x00", 4, &len, &why_),
                   PP_REPLY_INCOMPLETE);
  ck_assert_uint_eq(len, 260);
  ck_assert_int_eq(frame(&pp_wire_ldap, "\x30\x85", 2, &len, &why_),
                   PP_REPLY_MALFORMED);
  ck_assert_int_eq(frame(&pp_wire_ldap, "220 smtp", 8, &len, &why_),
                   PP_REPLY_MALFORMED);
  ck_assert_int_eq(
      frame(&pp_wire_mssql, "\x04\x01\x00\x10\0\0\x01\0", 8, &len, &why_),
      PP_REPLY_INCOMPLETE);
  ck_assert_uint_eq(len, 16);
  ck_assert_int_eq(frame(&pp_wire_mssql, "\x12\x01", 2, &len, &why_),
                   PP_REPLY_MALFORMED);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("wire");
  TCase *tc = tcase_create("scram");
  tcase_add_test(tc, scram_matches_rfc7677);
  tcase_add_test(tc, scram_refuses_a_server_that_does_not_know_the_password);
  tcase_add_test(tc, scram_refuses_a_foreign_nonce_and_endless_iterations);
  suite_add_tcase(s, tc);
  tc = tcase_create("framing");
  tcase_add_test(tc, readers_never_pass_the_end);
  tcase_add_test(tc, postgres_frames_messages_and_refuses_other_services);
  tcase_add_test(tc, mysql_and_mongodb_frames_bound_the_length);
  tcase_add_test(tc, ldap_and_tds_frames);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
