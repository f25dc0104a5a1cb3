/* Benchmark target: listens on many ports of 127.0.0.1 from one epoll loop.
 * Mode "tcp" accepts and closes; mode "smtp" speaks a minimal SMTP dialog
 * (220 greeting, EHLO -> 250, QUIT -> 221). Every skip-th port is left
 * closed, so those connections are refused.
 *
 *   testserver MODE BASE_PORT COUNT SKIP   (prints "ready" when listening)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum { LISTENER = 1, CLIENT = 2 };

static int smtp_mode;
static int ep;

static void add(int fd, unsigned kind) {
  struct epoll_event ev = {.events = EPOLLIN};
  ev.data.u64 = ((uint64_t)kind << 32) | (uint32_t)fd;
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

static void on_client(int fd) {
  char buf[512];
  ssize_t n = read(fd, buf, sizeof(buf));
  if (n <= 0) {
    close(fd);
    return;
  }
  /* one command per read is enough for clients that wait for replies */
  if (strncasecmp(buf, "EHLO", 4) == 0 || strncasecmp(buf, "HELO", 4) == 0) {
    static const char r[] =
        "250-bench.local\r\n250-PIPELINING\r\n250 8BITMIME\r\n";
    if (write(fd, r, sizeof(r) - 1) < 0)
      close(fd);
  } else if (strncasecmp(buf, "QUIT", 4) == 0) {
    static const char r[] = "221 2.0.0 bye\r\n";
    if (write(fd, r, sizeof(r) - 1) < 0) {
    }
    close(fd);
  } else {
    static const char r[] = "502 5.5.2 unknown\r\n";
    if (write(fd, r, sizeof(r) - 1) < 0)
      close(fd);
  }
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: testserver tcp|smtp BASE_PORT COUNT SKIP\n");
    return 2;
  }
  smtp_mode = strcmp(argv[1], "smtp") == 0;
  int base = atoi(argv[2]), count = atoi(argv[3]), skip = atoi(argv[4]);
  struct rlimit rl = {1 << 20, 1 << 20};
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  signal(SIGPIPE, SIG_IGN);
  ep = epoll_create1(0);
  for (int i = 0; i < count; i++) {
    if (skip > 0 && i % skip == skip - 1)
      continue;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)(base + i)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        listen(fd, 512) != 0) {
      fprintf(stderr, "port %d: %s\n", base + i, strerror(errno));
      return 1;
    }
    add(fd, LISTENER);
  }
  printf("ready\n");
  fflush(stdout);
  struct epoll_event evs[512];
  for (;;) {
    int n = epoll_wait(ep, evs, 512, -1);
    for (int i = 0; i < n; i++) {
      int fd = (int)(uint32_t)evs[i].data.u64;
      if ((evs[i].data.u64 >> 32) == CLIENT) {
        on_client(fd);
        continue;
      }
      int c;
      while ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
        if (!smtp_mode) {
          close(c);
          continue;
        }
        static const char g[] = "220 bench.local ESMTP ready\r\n";
        if (write(c, g, sizeof(g) - 1) < 0) {
          close(c);
          continue;
        }
        add(c, CLIENT);
      }
    }
  }
}
