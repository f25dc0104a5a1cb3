/* The near-limit for TLS checks: the least a program can do to check that a
 * TLS port answers with a certificate it trusts. COUNT non-blocking
 * connects to one port on 127.0.0.1, all at once from one epoll loop; each
 * a full TLS handshake with one shared SSL_CTX, verified against CAFILE
 * (chain, and the certificate's name for the address 127.0.0.1), then
 * close_notify and close. No DNS, no session reuse, no output but counts.
 *
 *   tlsloop PORT COUNT CAFILE
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
  int fd;
  SSL *ssl; /* NULL while connecting */
} conn;

static int ep, pending, up, down;

static void finish(conn *c, int ok) {
  if (c->ssl != NULL) {
    if (ok)
      SSL_shutdown(c->ssl); /* close_notify, without waiting for the peer's */
    SSL_free(c->ssl);
  }
  close(c->fd);
  ok ? up++ : down++;
  pending--;
  free(c);
}

static void arm(conn *c, unsigned events) {
  struct epoll_event ev = {.events = events, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void handshake(conn *c) {
  int rc = SSL_connect(c->ssl);
  if (rc == 1) {
    finish(c, SSL_get_verify_result(c->ssl) == X509_V_OK);
    return;
  }
  int err = SSL_get_error(c->ssl, rc);
  if (err == SSL_ERROR_WANT_READ)
    arm(c, EPOLLIN);
  else if (err == SSL_ERROR_WANT_WRITE)
    arm(c, EPOLLOUT);
  else
    finish(c, 0);
  ERR_clear_error();
}

static void on_event(SSL_CTX *ctx, conn *c) {
  if (c->ssl == NULL) { /* the connect ended */
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0 || (c->ssl = SSL_new(ctx)) == NULL) {
      finish(c, 0);
      return;
    }
    SSL_set_fd(c->ssl, c->fd);
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), "127.0.0.1");
  }
  handshake(c);
}

static SSL_CTX *make_ctx(const char *ca_file) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  if (ctx == NULL || SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
    fprintf(stderr, "tlsloop: cannot load %s\n", ca_file);
    exit(2);
  }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return ctx;
}

static void start(int port) {
  conn *c = calloc(1, sizeof(*c));
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port),
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  pending++;
  if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 &&
      errno != EINPROGRESS) {
    finish(c, 0);
    return;
  }
  struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
  epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: tlsloop PORT COUNT CAFILE\n");
    return 2;
  }
  int port = atoi(argv[1]), count = atoi(argv[2]);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  SSL_CTX *ctx = make_ctx(argv[3]);
  ep = epoll_create1(0);
  for (int i = 0; i < count; i++)
    start(port);
  struct epoll_event evs[512];
  while (pending > 0) {
    int n = epoll_wait(ep, evs, 512, 5000);
    if (n <= 0)
      break;
    for (int i = 0; i < n; i++)
      on_event(ctx, evs[i].data.ptr);
  }
  printf("up %d down %d unanswered %d\n", up, down, pending);
  SSL_CTX_free(ctx);
  return 0;
}
