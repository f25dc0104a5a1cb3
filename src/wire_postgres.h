/* What the PostgreSQL codec's two files share: the state of one check and
 * the message helpers. wire_postgres.c frames and reads the server,
 * wire_postgres_auth.c answers its authentication requests. */
#ifndef PP_WIRE_POSTGRES_H
#define PP_WIRE_POSTGRES_H

#include "scram.h"
#include "wire.h"

typedef enum { PG_SSL_ANSWER = 1, PG_STARTUP } pg_stage;

typedef struct {
  pg_stage stage;
  bool login;  /* username and password_file are set */
  bool authed; /* AuthenticationOk came */
  pp_scram scram;
} pg_state;

/* The user named in the StartupMessage: username, else "portprobe". */
const char *pg_user(const pp_wire *w);
/* Starts a typed message in w->out; pg_end_msg writes its length. */
size_t pg_begin_msg(pp_wire *w, char type);
void pg_end_msg(pp_wire *w, size_t at);

/* An AuthenticationXxx request ('R'): a live server. Without a login the
 * check is up with what it asks for; with one, the answer goes out. */
pp_wire_next pg_auth_request(pp_wire *w, pp_rbuf *r);

#endif
