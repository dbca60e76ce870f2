/*
 * The latency bench's floor: the least a watcher can do on this machine. It holds each pid read
 * from stdin (one per line) by a pidfd, blocks in one poll(2) over all of them, and on an exit
 * posix_spawns WRAPPER --resource floor --node bench --reason exited --pid PID at once. No /proc
 * reads, no event bus, no journal, no logging: procd's rows are compared with this one.
 */
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX 4096
extern char **environ;

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: floor-watcher WRAPPER < pids\n");
    return 2;
  }
  signal(SIGCHLD, SIG_IGN); /* the kernel reaps the wrappers */
  static struct pollfd fds[MAX];
  static int pids[MAX];
  int n = 1;
  fds[0].fd = 0;
  fds[0].events = POLLIN;
  char buf[65536];
  size_t have = 0;
  for (;;) {
    if (poll(fds, (nfds_t)n, -1) < 0) continue;
    for (int i = 1; i < n; i++) {
      if (!fds[i].revents) continue;
      char pid[16];
      snprintf(pid, sizeof pid, "%d", pids[i]);
      char *args[] = {argv[1], "--resource", "floor", "--node", "bench", "--reason", "exited", "--pid", pid, NULL};
      pid_t child;
      if (posix_spawn(&child, argv[1], NULL, NULL, args, environ) != 0) perror("posix_spawn");
      close(fds[i].fd);
      fds[i] = fds[n - 1];
      pids[i] = pids[n - 1];
      n--;
      i--;
    }
    if (fds[0].revents) {
      ssize_t r = read(0, buf + have, sizeof buf - have - 1);
      if (r <= 0) return 0;
      have += (size_t)r;
      buf[have] = 0;
      char *line = buf, *nl;
      while ((nl = memchr(line, '\n', have - (size_t)(line - buf)))) {
        *nl = 0;
        int pid = atoi(line);
        int fd = (int)syscall(SYS_pidfd_open, pid, 0);
        if (fd >= 0 && n < MAX) {
          fds[n].fd = fd;
          fds[n].events = POLLIN;
          fds[n].revents = 0;
          pids[n++] = pid;
          printf("held %d\n", pid); /* the bench kills it only after this line */
          fflush(stdout);
        } else if (fd >= 0) close(fd);
        line = nl + 1;
      }
      have -= (size_t)(line - buf);
      memmove(buf, line, have);
    }
  }
}
