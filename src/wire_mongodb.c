/* MongoDB's wire protocol as a codec: OP_MSG "hello" (isMaster for servers
 * that predate it): a writable primary, a secondary, an arbiter, a mongos
 * or a standalone, the replica set's name; then "buildInfo" for the server
 * version. BSON is libbson's (Debian's libbson, mongo-c-driver's). */
#include "wire.h"

#include <bson/bson.h>

#include <stdio.h>
#include <string.h>

#define OP_MSG 2013
#define HEADER 16
#define MESSAGE_MIN (HEADER + 4 + 1 + 5)
#define MESSAGE_MAX (48 * 1024 * 1024) /* MongoDB's maxMessageSizeBytes */
#define COMMAND_NOT_FOUND 59

enum { REQ_HELLO = 1, REQ_IS_MASTER, REQ_BUILD_INFO };

typedef struct {
  int32_t asked; /* the request under way */
} mg_state;

static pp_reply_state mg_frame(pp_wire *w, const uint8_t *buf, size_t len,
                               size_t *msglen, const char **why) {
  (void)w;
  if (len < 4)
    return PP_REPLY_INCOMPLETE;
  pp_rbuf r = pp_rbuf_of(buf, 4);
  uint32_t n = pp_rbuf_u32le(&r);
  if (n < MESSAGE_MIN || n > MESSAGE_MAX) {
    *why = "not a MongoDB server: a message of impossible length";
    return PP_REPLY_MALFORMED;
  }
  *msglen = n;
  return len >= n ? PP_REPLY_COMPLETE : PP_REPLY_INCOMPLETE;
}

/* OP_MSG with one body section: {<command>: 1, $db: "admin"} */
static pp_wire_next command(pp_wire *w, int32_t id, const char *name) {
  mg_state *st = w->st;
  bson_t doc = BSON_INITIALIZER;
  BSON_APPEND_INT32(&doc, name, 1);
  BSON_APPEND_UTF8(&doc, "$db", "admin");
  pp_wbuf_u32le(&w->out, 0);
  pp_wbuf_u32le(&w->out, (uint32_t)id);
  pp_wbuf_u32le(&w->out, 0);
  pp_wbuf_u32le(&w->out, OP_MSG);
  pp_wbuf_u32le(&w->out, 0); /* flag bits */
  pp_wbuf_u8(&w->out, 0);    /* section kind 0: the body */
  pp_wbuf_put(&w->out, bson_get_data(&doc), doc.len);
  pp_wbuf_set_u32le(&w->out, 0, (uint32_t)w->out.len);
  bson_destroy(&doc);
  st->asked = id;
  pp_wire_step(w, PP_PHASE_DIALOG, name);
  pp_wire_trace(w, "C", "OP_MSG %s", name);
  return PP_WIRE_SEND;
}

/* The body of an OP_MSG reply to our request, or NULL with why. */
static bool body_of(pp_wire *w, const uint8_t *msg, size_t len, bson_t *body,
                    const char **why) {
  mg_state *st = w->st;
  pp_rbuf r = pp_rbuf_of(msg, len);
  pp_rbuf_bytes(&r, 8); /* length, request id */
  uint32_t to = pp_rbuf_u32le(&r), op = pp_rbuf_u32le(&r);
  uint32_t flags = pp_rbuf_u32le(&r);
  size_t end = len - ((flags & 1) ? 4 : 0); /* checksumPresent */
  unsigned kind = pp_rbuf_u8(&r);
  if (op != OP_MSG || r.bad) {
    *why = "not a MongoDB server: the reply is no OP_MSG";
    return false;
  }
  if ((int32_t)to != st->asked || kind != 0 || end < r.off + 5) {
    *why = "MongoDB reply to another request, or without a body";
    return false;
  }
  pp_rbuf d = pp_rbuf_of(msg + r.off, end - r.off);
  uint32_t doclen = pp_rbuf_u32le(&d); /* other sections may follow */
  if (doclen > end - r.off || !bson_init_static(body, msg + r.off, doclen)) {
    *why = "MongoDB reply with a malformed BSON body";
    return false;
  }
  return true;
}

static bool get_bool(const bson_t *b, const char *key) {
  bson_iter_t it;
  return bson_iter_init_find(&it, b, key) && bson_iter_as_bool(&it);
}

static const char *get_str(const bson_t *b, const char *key, uint32_t *n) {
  bson_iter_t it;
  if (bson_iter_init_find(&it, b, key) && BSON_ITER_HOLDS_UTF8(&it))
    return bson_iter_utf8(&it, n);
  return NULL;
}

/* The command failed (ok: 0): its code and message. */
static bool failed(const bson_t *b, int *code, const char **msg) {
  bson_iter_t it;
  uint32_t n;
  if (bson_iter_init_find(&it, b, "ok") && bson_iter_as_bool(&it))
    return false;
  *code =
      bson_iter_init_find(&it, b, "code") ? (int)bson_iter_as_int64(&it) : 0;
  *msg = get_str(b, "errmsg", &n);
  if (*msg == NULL)
    *msg = "no errmsg";
  return true;
}

static void excerpt_json(pp_wire *w, const bson_t *b) {
  size_t n = 0;
  char *json = bson_as_relaxed_extended_json(b, &n);
  if (json != NULL)
    pp_wire_excerpt(w, json, n);
  bson_free(json);
}

/* What hello says the server is; false when it serves nobody yet. */
static bool role(pp_wire *w, const bson_t *b) {
  uint32_t n = 0;
  const char *set = get_str(b, "setName", &n);
  const char *msg = get_str(b, "msg", &(uint32_t){0});
  bool primary = get_bool(b, "isWritablePrimary") || get_bool(b, "ismaster");
  if (msg != NULL && strcmp(msg, "isdbgrid") == 0)
    pp_wire_info(w, "mongos");
  else if (set == NULL && get_bool(b, "isreplicaset"))
    return false; /* a replica set member before replSetInitiate */
  else if (set == NULL)
    pp_wire_info(w, primary ? "standalone" : "standalone, not writable");
  else if (primary)
    pp_wire_info(w, "writable primary, replica set %.*s", (int)n, set);
  else if (get_bool(b, "secondary"))
    pp_wire_info(w, "secondary, replica set %.*s", (int)n, set);
  else if (get_bool(b, "arbiterOnly"))
    pp_wire_info(w, "arbiter, replica set %.*s", (int)n, set);
  else
    return false; /* recovering, starting up, rolling back */
  return true;
}

static pp_wire_next hello_reply(pp_wire *w, const bson_t *b) {
  mg_state *st = w->st;
  int code;
  const char *msg;
  excerpt_json(w, b);
  if (failed(b, &code, &msg)) {
    if (code == COMMAND_NOT_FOUND && st->asked == REQ_HELLO)
      return command(w, REQ_IS_MASTER, "isMaster");
    return pp_wire_fail(w, PP_R_UNAVAILABLE, "hello refused: %s (%d)", msg,
                        code);
  }
  if (!role(w, b))
    return pp_wire_fail(w, PP_R_UNAVAILABLE,
                        "replica set member serves neither as primary nor as "
                        "secondary (recovering, starting or not initiated)");
  bson_iter_t it;
  if (bson_iter_init_find(&it, b, "maxWireVersion"))
    pp_wire_info(w, "max wire version %lld",
                 (long long)bson_iter_as_int64(&it));
  return command(w, REQ_BUILD_INFO, "buildInfo");
}

static pp_wire_next build_info_reply(pp_wire *w, const bson_t *b) {
  int code;
  const char *msg;
  uint32_t n = 0;
  if (failed(b, &code, &msg)) {
    pp_wire_note(w, "buildInfo refused: %s (%d)", msg, code);
    return pp_wire_ok(w);
  }
  const char *v = get_str(b, "version", &n);
  if (v != NULL)
    pp_wire_version(w, v, n);
  return pp_wire_ok(w);
}

static pp_wire_next mg_message(pp_wire *w, const uint8_t *msg, size_t len) {
  mg_state *st = w->st;
  bson_t body;
  const char *why = NULL;
  if (!body_of(w, msg, len, &body, &why))
    return pp_wire_fail(w, PP_R_PROTOCOL_ERROR, "%s", why);
  pp_wire_trace(w, "S", "OP_MSG reply of %zu bytes", len);
  if (st->asked == REQ_BUILD_INFO)
    return build_info_reply(w, &body);
  return hello_reply(w, &body);
}

static pp_wire_next mg_begin(pp_wire *w) {
  return command(w, REQ_HELLO, "hello");
}

const pp_wire_proto pp_wire_mongodb = {
    .name = "mongodb",
    .state_size = sizeof(mg_state),
    .frame = mg_frame,
    .begin = mg_begin,
    .message = mg_message,
};
