/* The near-limit: the least a program can do to check TCP ports. Non-blocking
 * connect to every port at once from one epoll loop, read SO_ERROR, close.
 * No DNS, no options, no output but a count.
 *
 *   connectloop BASE_PORT COUNT TIMEOUT_MS
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: connectloop BASE_PORT COUNT TIMEOUT_MS\n");
    return 2;
  }
  int base = atoi(argv[1]), count = atoi(argv[2]), timeout = atoi(argv[3]);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  int ep = epoll_create1(0), pending = 0, up = 0, down = 0;
  for (int i = 0; i < count; i++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)(base + i)),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
      up++;
      close(fd);
      continue;
    }
    if (errno != EINPROGRESS) {
      down++;
      close(fd);
      continue;
    }
    struct epoll_event ev = {.events = EPOLLOUT, .data.fd = fd};
    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    pending++;
  }
  struct epoll_event evs[512];
  while (pending > 0) {
    int n = epoll_wait(ep, evs, 512, timeout);
    if (n <= 0)
      break;
    for (int i = 0; i < n; i++) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(evs[i].data.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      err ? down++ : up++;
      close(evs[i].data.fd);
      pending--;
    }
  }
  printf("up %d down %d unanswered %d\n", up, down, pending);
  return 0;
}
