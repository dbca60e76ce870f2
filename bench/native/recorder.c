/*
 * The latency bench's compiled failure wrapper: its first act is to read the clock, so the time it
 * appends is the moment the wrapper started running (no interpreter start-up in it). Appends
 * "<seconds.microseconds> <pid>" (pid: the --pid argument) to wrapper.log beside itself, as the
 * bash recorder does with $EPOCHREALTIME.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  const char *pid = "";
  for (int i = 1; i + 1 < argc; i++)
    if (strcmp(argv[i], "--pid") == 0) pid = argv[i + 1];
  char path[4096];
  snprintf(path, sizeof path, "%s", argv[0]);
  char *slash = strrchr(path, '/');
  snprintf(slash ? slash + 1 : path, sizeof path - (slash ? (size_t)(slash + 1 - path) : 0), "wrapper.log");
  char line[128];
  int n = snprintf(line, sizeof line, "%ld.%06ld %s\n", (long)t.tv_sec, t.tv_nsec / 1000, pid);
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, line, (size_t)n) != n) return 1;
  return close(fd) == 0 ? 0 : 1;
}
