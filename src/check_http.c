/* http and https checks: libcurl's multi interface driven by the engine's own
 * event loop (its socket and timer callbacks), so thousands of HTTP checks
 * share a round with every other kind. The core resolves the name (c-ares)
 * and connects, trying each address as for every TCP check; libcurl takes
 * the connected socket for the first hop. Redirects are followed here, one
 * transfer per hop; http_request.c says what each request sends,
 * http_tls.c judges its TLS, http.c judges the answer. */
#include "http_check.h"
#include "tls_probe.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of body kept when no keyword needs the whole of it: the excerpt. */
#define BODY_HEAD 512
#define BODY_CHUNK 16384

/* --- once per process: libcurl --- */

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc = CURLE_FAILED_INIT;

static void global_init(void) {
  global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* --- the loop drives libcurl --- */

static void finish_transfer(http_check *hc, CURLcode rc);

/* Ends the transfers libcurl reports done. Runs only after
 * curl_multi_socket_action has returned: ending a check removes its easy
 * handle, which libcurl forbids inside its own callbacks. */
static void drain(http_engine *he) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(he->multi, &left)) != NULL) {
    if (m->msg != CURLMSG_DONE)
      continue;
    http_check *hc = NULL;
    CURLcode rc = m->data.result;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&hc);
    if (hc != NULL)
      finish_transfer(hc, rc);
  }
}

static void on_io(pp_loop *loop, int fd, unsigned events, void *ud) {
  (void)loop;
  http_engine *he = ud;
  int flags = ((events & PP_EV_READ) ? CURL_CSELECT_IN : 0) |
              ((events & PP_EV_WRITE) ? CURL_CSELECT_OUT : 0) |
              ((events & PP_EV_ERROR) ? CURL_CSELECT_ERR : 0);
  int running;
  curl_multi_socket_action(he->multi, fd, flags, &running);
  drain(he);
}

static void on_timer(pp_loop *loop, pp_timer *t, void *ud) {
  (void)loop;
  (void)t;
  http_engine *he = ud;
  int running;
  curl_multi_socket_action(he->multi, CURL_SOCKET_TIMEOUT, 0, &running);
  drain(he);
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *ud,
                          void *socketp) {
  (void)easy;
  (void)socketp;
  http_engine *he = ud;
  if (what == CURL_POLL_REMOVE) {
    pp_loop_unwatch(he->engine->loop, fd);
    return 0;
  }
  unsigned ev = ((what & CURL_POLL_IN) ? PP_EV_READ : 0u) |
                ((what & CURL_POLL_OUT) ? PP_EV_WRITE : 0u);
  if (pp_loop_watch(he->engine->loop, fd, ev, on_io, he) != 0)
    pp_log(he->engine, PP_LOG_ERR, "http: cannot watch descriptor %d", fd);
  return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *ud) {
  (void)multi;
  http_engine *he = ud;
  if (timeout_ms < 0)
    pp_timer_stop(he->engine->loop, &he->timer);
  else
    pp_timer_start(he->engine->loop, &he->timer, (uint64_t)timeout_ms * 1000u);
  return 0;
}

static http_engine *engine_state(pp_engine *e) {
  http_engine *he = e->kind_state[PP_KIND_HTTP];
  if (he != NULL)
    return he;
  pthread_once(&global_once, global_init);
  if (global_rc != CURLE_OK) {
    pp_log(e, PP_LOG_ERR, "http: libcurl: %s", curl_easy_strerror(global_rc));
    return NULL;
  }
  if ((he = calloc(1, sizeof(*he))) == NULL)
    return NULL;
  if ((he->multi = curl_multi_init()) == NULL) {
    free(he);
    return NULL;
  }
  he->engine = e;
  pp_timer_init(&he->timer, on_timer, he);
  curl_multi_setopt(he->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
  curl_multi_setopt(he->multi, CURLMOPT_SOCKETDATA, he);
  curl_multi_setopt(he->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt(he->multi, CURLMOPT_TIMERDATA, he);
  /* each check measures its own connection */
  curl_multi_setopt(he->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
  e->kind_state[PP_KIND_HTTP] = he;
  return he;
}

static void http_engine_free(pp_engine *e) {
  http_engine *he = e->kind_state[PP_KIND_HTTP];
  if (he == NULL)
    return;
  curl_multi_cleanup(he->multi);
  pp_timer_stop(e->loop, &he->timer);
  pp_tls_ctxs_free(he->tls);
  free(he);
  e->kind_state[PP_KIND_HTTP] = NULL;
}

/* --- the transfer's progress sets the phase a timeout reports --- */

/* The first connection is the socket the core connected; a redirect's
 * connections are libcurl's own. */
static curl_socket_t on_opensocket(void *ud, curlsocktype purpose,
                                   struct curl_sockaddr *a) {
  http_check *hc = ud;
  if (purpose == CURLSOCKTYPE_IPCXN && hc->handover_fd >= 0) {
    /* libcurl owns and closes it from here: no longer the core's */
    curl_socket_t fd = hc->handover_fd;
    hc->handover_fd = -1;
    hc->handed_fd = fd;
    hc->c->fd = -1;
    return fd;
  }
  return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static int on_sockopt(void *ud, curl_socket_t fd, curlsocktype purpose) {
  (void)purpose;
  http_check *hc = ud;
  if (fd == hc->handed_fd) { /* the core's: connected already */
    hc->handed_fd = -1;
    return CURL_SOCKOPT_ALREADY_CONNECTED;
  }
  pp_check_phase(hc->c, PP_PHASE_CONNECT); /* a redirect's connection */
  return CURL_SOCKOPT_OK;
}

/* Connected (and TLS done): the request goes out, the answer is awaited. */
static int on_prereq(void *ud, char *primary_ip, char *local_ip,
                     int primary_port, int local_port) {
  (void)primary_ip;
  (void)local_ip;
  (void)primary_port;
  (void)local_port;
  http_check *hc = ud;
  if (!pp_http_tls_judged(hc))
    return CURL_PREREQFUNC_ABORT; /* nothing is sent */
  pp_check_phase(hc->c, PP_PHASE_FIRST_BYTE);
  return CURL_PREREQFUNC_OK;
}

/* The header block, for expect_header (at most HEADERS_MAX). */
static bool keep_header(http_check *hc, const char *data, size_t len) {
  if (hc->resp_headers_len + len > hc->resp_headers_cap) {
    size_t cap = hc->resp_headers_cap ? hc->resp_headers_cap * 2 : 4096;
    while (cap < hc->resp_headers_len + len)
      cap *= 2;
    char *b = realloc(hc->resp_headers, cap);
    if (b == NULL)
      return false;
    hc->resp_headers = b;
    hc->resp_headers_cap = cap;
  }
  memcpy(hc->resp_headers + hc->resp_headers_len, data, len);
  hc->resp_headers_len += len;
  return true;
}

static size_t on_header(char *data, size_t size, size_t n, void *ud) {
  http_check *hc = ud;
  size_t len = size * n;
  if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) { /* a (1xx or final) head */
    hc->header_bytes = 0;
    hc->headers_done = false;
    hc->resp_headers_len = 0;
    size_t l = len;
    while (l > 0 && (data[l - 1] == '\r' || data[l - 1] == '\n'))
      l--;
    if (l >= sizeof(hc->status_line))
      l = sizeof(hc->status_line) - 1;
    memcpy(hc->status_line, data, l);
    hc->status_line[l] = 0;
    if (hc->c->phase != PP_PHASE_BODY)
      pp_check_phase(hc->c, PP_PHASE_BODY);
  }
  if (len <= 2 && (len == 0 || data[0] == '\r' || data[0] == '\n'))
    hc->headers_done = true;
  hc->header_bytes += len;
  if (hc->header_bytes > HEADERS_MAX) {
    hc->headers_too_big = true;
    return 0; /* libcurl's write error: finish_transfer knows it is ours */
  }
  if (hc->ht->nheader_rules > 0 && !keep_header(hc, data, len)) {
    hc->oom = true;
    return 0;
  }
  return len;
}

static bool body_room(http_check *hc, size_t want) {
  if (hc->body_len + want <= hc->body_cap)
    return true;
  size_t max = (size_t)hc->c->target->opts->max_body;
  size_t cap = hc->body_cap ? hc->body_cap : BODY_CHUNK;
  while (cap < hc->body_len + want)
    cap *= 2;
  if (cap > max)
    cap = max;
  char *b = realloc(hc->body, cap);
  if (b == NULL)
    return false;
  hc->body = b;
  hc->body_cap = cap;
  return true;
}

/* Keeps what the keywords and the excerpt need; past max_body, stops the
 * transfer (libcurl's write error, which finish_transfer knows is ours). */
static size_t on_body(char *data, size_t size, size_t n, void *ud) {
  http_check *hc = ud;
  size_t len = size * n;
  size_t max = (size_t)hc->c->target->opts->max_body;
  size_t take = len < max - hc->body_read ? len : max - hc->body_read;
  size_t keep = take;
  if (!hc->keep_body)
    keep = hc->body_len < BODY_HEAD
               ? (take < BODY_HEAD - hc->body_len ? take
                                                  : BODY_HEAD - hc->body_len)
               : 0;
  if (keep > 0) {
    if (!body_room(hc, keep)) {
      hc->oom = true;
      return 0;
    }
    memcpy(hc->body + hc->body_len, data, keep);
    hc->body_len += keep;
  }
  hc->body_read += take;
  if (take < len) {
    hc->body_capped = true;
    return 0;
  }
  return len;
}

/* --- one check --- */

/* Adds libcurl's figure (microseconds, <= 0: not measured) to a phase
 * timing of the record (negative: none yet). */
static void add_us(double *field, curl_off_t us) {
  if (us <= 0)
    return;
  *field = (*field < 0 ? 0 : *field) + (double)us / 1e6;
}

/* Puts the current hop's timings into the record, once: over a redirect
 * chain they add up. The first hop's DNS and connect are the core's (its
 * socket was connected already); a redirect's are libcurl's. */
static void add_timings(http_check *hc) {
  if (hc->timed || hc->easy == NULL)
    return;
  hc->timed = true;
  pp_result *r = hc->c->res;
  curl_off_t nl = 0, conn = 0, app = 0, pre = 0, first = 0;
  curl_easy_getinfo(hc->easy, CURLINFO_NAMELOOKUP_TIME_T, &nl);
  curl_easy_getinfo(hc->easy, CURLINFO_CONNECT_TIME_T, &conn);
  curl_easy_getinfo(hc->easy, CURLINFO_APPCONNECT_TIME_T, &app);
  curl_easy_getinfo(hc->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
  curl_easy_getinfo(hc->easy, CURLINFO_STARTTRANSFER_TIME_T, &first);
  bool proxy = hc->c->target->opts->proxy != NULL;
  if (hc->hops > 0 || proxy) { /* libcurl's own connection */
    add_us(&r->t_dns, nl);
    add_us(&r->t_connect, conn - nl);
  }
  char *ip = NULL;
  long port = 0;
  if (proxy && hc->hops == 0 &&
      curl_easy_getinfo(hc->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK && ip &&
      *ip) { /* the proxy's address: the one that answered */
    snprintf(r->address, sizeof(r->address), "%s", ip);
    curl_easy_getinfo(hc->easy, CURLINFO_PRIMARY_PORT, &port);
    r->port = (uint16_t)port;
    r->addresses_tried = 1;
  }
  if (app > 0)
    add_us(&r->t_tls, app - conn);
  if (first > 0 && pre > 0)
    add_us(&r->t_first_byte, first - pre);
  long status = 0;
  curl_easy_getinfo(hc->easy, CURLINFO_RESPONSE_CODE, &status);
  if (r->http_status == 0)
    r->http_status = (int)status;
  r->http_redirects = hc->hops;
}

static void http_cleanup(pp_check *c) {
  http_check *hc = c->priv;
  if (hc == NULL)
    return;
  if (hc->easy != NULL) {
    add_timings(hc);
    if (hc->added)
      curl_multi_remove_handle(hc->he->multi, hc->easy);
    curl_easy_cleanup(hc->easy);
  }
  curl_slist_free_all(hc->connect_to);
  free(hc->body);
  free(hc->resp_headers);
  pp_http_request_free(hc);
  free(hc);
  c->priv = NULL;
}

/* A transfer that libcurl ended with an error. */
static void transfer_failed(http_check *hc, CURLcode rc) {
  pp_check *c = hc->c;
  long os_errno = 0;
  curl_easy_getinfo(hc->easy, CURLINFO_OS_ERRNO, &os_errno);
  pp_result_code code = pp_http_error_class(rc, (int)os_errno);
  if (code == PP_R_DNS_FAILED) /* libcurl resolved a redirect's host */
    pp_check_phase(c, PP_PHASE_DNS);
  if (os_errno != 0 && (rc == CURLE_COULDNT_CONNECT || rc == CURLE_RECV_ERROR ||
                        rc == CURLE_SEND_ERROR)) {
    /* a socket's failure: in the words the TCP check uses */
    c->res->sys_errno = (int)os_errno;
    pp_check_finish(c, code, "%s", strerror((int)os_errno));
    return;
  }
  pp_check_finish(c, code, "%s",
                  hc->errbuf[0] ? hc->errbuf : curl_easy_strerror(rc));
}

/* The response was a redirect: the next hop starts, on the same handle,
 * or the check ends (too many, another scheme, a refused downgrade). */
static void follow(http_check *hc, int status, const char *location) {
  pp_check *c = hc->c;
  const pp_opts *o = c->target->opts;
  if (hc->hops >= o->max_redirects) {
    char *last = NULL;
    curl_easy_getinfo(hc->easy, CURLINFO_EFFECTIVE_URL, &last);
    pp_check_finish(c, PP_R_TOO_MANY_REDIRECTS,
                    "more than %d redirect%s (max_redirects), last to %.140s",
                    o->max_redirects, o->max_redirects == 1 ? "" : "s",
                    last ? last : "?");
    return;
  }
  pp_http_hop hop;
  char why[PP_DETAIL_MAX];
  pp_result_code code =
      pp_http_redirect(c->target, hc->ht, status, hc->method, hc->https,
                       location, &hop, why, sizeof(why));
  snprintf(c->res->final_scheme, sizeof(c->res->final_scheme), "%s",
           hop.scheme);
  if (code != PP_R_OK) {
    pp_check_finish(c, code, "%s", why);
    return;
  }
  char *next = strdup(location); /* libcurl's copy goes with the transfer */
  curl_multi_remove_handle(hc->he->multi, hc->easy);
  hc->added = false;
  hc->hops++;
  hc->downgraded |= hop.downgrade;
  int rc = next ? pp_http_hop_setup(hc, next, &hop) : -1;
  free(next);
  if (rc != 0) {
    pp_check_finish(c, PP_R_SOCKET_ERROR,
                    "libcurl refused a redirect's options");
    return;
  }
  pp_check_phase(c, PP_PHASE_CONNECT);
  CURLMcode mc = curl_multi_add_handle(hc->he->multi, hc->easy);
  if (mc != CURLM_OK) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "libcurl: %s",
                    curl_multi_strerror(mc));
    return;
  }
  hc->added = true;
}

static void finish_transfer(http_check *hc, CURLcode rc) {
  pp_check *c = hc->c;
  add_timings(hc);
  if (hc->failed != PP_R_OK) {
    pp_check_finish(c, hc->failed, "%s", hc->failed_why);
    return;
  }
  if (hc->oom) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "out of memory keeping the body");
    return;
  }
  if (hc->headers_too_big) {
    pp_check_finish(c, PP_R_PROTOCOL_ERROR,
                    "response headers longer than %d bytes", HEADERS_MAX);
    return;
  }
  if (rc == CURLE_OUT_OF_MEMORY && !hc->headers_done) {
    /* libcurl refuses to grow its buffer for one header line: the server's
     * doing, not a shortage here */
    pp_check_finish(c, PP_R_PROTOCOL_ERROR,
                    "a response header line longer than %d bytes (libcurl's "
                    "limit)",
                    CURL_MAX_HTTP_HEADER);
    return;
  }
  if (rc == CURLE_WRITE_ERROR && hc->body_capped)
    rc = CURLE_OK; /* we stopped reading at max_body */
  if (rc != CURLE_OK) {
    transfer_failed(hc, rc);
    return;
  }
  long status = 0;
  char *final_url = NULL, *location = NULL;
  curl_easy_getinfo(hc->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(hc->easy, CURLINFO_EFFECTIVE_URL, &final_url);
  curl_easy_getinfo(hc->easy, CURLINFO_REDIRECT_URL, &location);
  if (c->target->opts->follow_redirects && pp_http_is_redirect((int)status) &&
      location != NULL) {
    follow(hc, (int)status, location);
    return;
  }
  pp_http_response resp = {
      .status = (int)status,
      .status_line = hc->status_line,
      .body = hc->body,
      .body_len = hc->body_len,
      .body_capped = hc->body_capped,
      .redirects = hc->hops,
      .final_url = final_url,
      .downgraded = hc->downgraded,
      .headers = hc->resp_headers,
      .headers_len = hc->resp_headers_len,
      .secrets = hc->secrets,
      .nsecrets = hc->nsecrets,
  };
  pp_result_code code = pp_http_judge(c->target, hc->ht, &resp, c->res);
  pp_check_finish(c, code, NULL);
}

static int setup(http_check *hc) {
  pp_check *c = hc->c;
  const pp_target *t = c->target;
  const pp_opts *o = t->opts;
  CURL *h = hc->easy;
  int bad = 0;
#define SET(opt, val) bad |= curl_easy_setopt(h, opt, val) != CURLE_OK
  SET(CURLOPT_PRIVATE, hc);
  SET(CURLOPT_URL, hc->ht->url);
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_ERRORBUFFER, hc->errbuf);
  SET(CURLOPT_PATH_AS_IS, 1L);
  /* a fresh connection per check, closed after: what is measured is this
   * check's connect and handshake, not a pooled connection's */
  SET(CURLOPT_FRESH_CONNECT, 1L);
  SET(CURLOPT_FORBID_REUSE, 1L);
  SET(CURLOPT_SSL_SESSIONID_CACHE, 0L);
  /* a body goes from memory (POSTFIELDS), never through the upload
   * buffer: the smallest libcurl allows instead of its 64 KiB default */
  SET(CURLOPT_UPLOAD_BUFFERSIZE, 16384L);
  SET(CURLOPT_WRITEFUNCTION, on_body);
  SET(CURLOPT_WRITEDATA, hc);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, hc);
  SET(CURLOPT_OPENSOCKETFUNCTION, on_opensocket);
  SET(CURLOPT_OPENSOCKETDATA, hc);
  SET(CURLOPT_SOCKOPTFUNCTION, on_sockopt);
  SET(CURLOPT_SOCKOPTDATA, hc);
  SET(CURLOPT_PREREQFUNCTION, on_prereq);
  SET(CURLOPT_PREREQDATA, hc);
  SET(CURLOPT_FOLLOWLOCATION, 0L); /* follow() does, hop by hop */
  /* for every https hop (a redirect may reach https from http): libcurl
   * verifies nothing itself, tls_check.c judges after the handshake */
  SET(CURLOPT_SSL_VERIFYPEER, 0L);
  SET(CURLOPT_SSL_VERIFYHOST, 0L);
  SET(CURLOPT_SSL_CTX_FUNCTION, pp_http_on_ssl_ctx);
  SET(CURLOPT_SSL_CTX_DATA, hc);
  if (hc->ht->url_host && !o->proxy) {
    /* the URL's host:port goes to the address the core resolved; Host
     * header, SNI and certificate name stay the URL's host */
    char entry[400];
    snprintf(entry, sizeof(entry),
             c->addr.sa.sa_family == AF_INET6 ? "%s:%u:[%s]:%u" : "%s:%u:%s:%u",
             hc->ht->url_host, (unsigned)t->port, c->res->address,
             (unsigned)t->port);
    if ((hc->connect_to = curl_slist_append(NULL, entry)) == NULL)
      return -1;
    SET(CURLOPT_CONNECT_TO, hc->connect_to);
  }
#undef SET
  return bad || pp_http_request_options(hc) != 0 ? -1 : 0;
}

static void http_connected(pp_check *c) {
  http_check *hc = c->priv;
  if ((hc->easy = curl_easy_init()) == NULL) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "libcurl: cannot make a handle");
    return;
  }
  const pp_target *t = c->target;
  pp_http_hop first = {.same_host = true,
                       .keep_body = true,
                       .https = t->scheme->tls != PP_TLS_NONE,
                       .host_is_ip = !t->opts->sni && t->host_is_ip};
  snprintf(first.method, sizeof(first.method), "%s", hc->ht->method);
  snprintf(first.host, sizeof(first.host), "%s",
           t->opts->sni ? t->opts->sni : t->host);
  if (setup(hc) != 0 || pp_http_hop_setup(hc, hc->ht->url, &first) != 0) {
    pp_check_finish(c, PP_R_SOCKET_ERROR,
                    "libcurl refused an option%s%s (version %s)",
                    hc->errbuf[0] ? ": " : "", hc->errbuf,
                    curl_version_info(CURLVERSION_NOW)->version);
    return;
  }
  /* libcurl takes the socket when it opens its first connection (until
   * then c->fd is the core's to close); the core's watch on it ended with
   * the connect */
  hc->handover_fd = c->fd;
  CURLMcode mc = curl_multi_add_handle(hc->he->multi, hc->easy);
  if (mc != CURLM_OK) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "libcurl: %s",
                    curl_multi_strerror(mc));
    return;
  }
  hc->added = true;
}

static void http_start(pp_check *c) {
  const pp_target *t = c->target;
  http_engine *he = engine_state(c->engine);
  if (he == NULL) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "libcurl could not start");
    return;
  }
  http_check *hc = calloc(1, sizeof(*hc));
  if (hc == NULL) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "out of memory");
    return;
  }
  hc->c = c;
  hc->he = he;
  hc->ht = t->check_data; /* made when it was finalized */
  hc->keep_body = pp_http_keeps_body(hc->ht);
  hc->handover_fd = hc->handed_fd = -1;
  c->priv = hc;
  char why[PP_DETAIL_MAX];
  if (pp_http_read_inputs(hc, why, sizeof(why)) != 0) {
    pp_check_finish(c, PP_R_SOCKET_ERROR, "%s", why);
    return;
  }
  if (t->opts->proxy) {
    /* libcurl resolves and connects to the proxy, which reaches the target */
    pp_check_phase(c, PP_PHASE_CONNECT);
    http_connected(c);
    return;
  }
  if (t->scheme->tls != PP_TLS_NONE && t->opts->refuse_protocols) {
    if (he->tls == NULL)
      he->tls = pp_tls_ctxs_new();
    pp_tls_probe(c, he->tls, pp_check_resolve_and_connect);
    return;
  }
  pp_check_resolve_and_connect(c);
}

/* The compiled request, kept with the target across rounds. */
static void *http_prepare(const pp_target *t, char *err, size_t errlen) {
  return pp_http_target_new(t, err, errlen);
}

const pp_check_ops pp_http_ops = {
    .name = "http",
    .applies = PP_APPLY_HTTP,
    .validate = pp_http_validate,
    .prepare = http_prepare,
    .data_free = pp_http_target_free,
    .start = http_start,
    .connected = http_connected,
    .cleanup = http_cleanup,
    .engine_free = http_engine_free,
};
