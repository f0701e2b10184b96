/*
 * Leaving nothing behind (cleanup.h): the processes that name a test's
 * scratch directory, found through /proc, ended; the directory removed;
 * and a reaper that does both when the test process dies without its
 * .fini (a crash, SIGKILL, a timeout), which is when a live session would
 * otherwise stay attached to the kernel with its directory gone. Also the
 * program copied where an unprivileged child can run it.
 */
#define _GNU_SOURCE
#include "common/cleanup.h"
#include "common/testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_PIDS 64

/* Whether one of the NUL-separated words of cmdline is dir or under it. */
static bool names_dir(const char *cmdline, size_t len, const char *dir) {
  size_t dl = strlen(dir);
  for (size_t i = 0; i < len; i += strlen(cmdline + i) + 1)
    for (const char *p = cmdline + i; (p = strstr(p, dir)); p++)
      if (p[dl] == '\0' || p[dl] == '/')
        return true;
  return false;
}

/* A live process (a zombie has ended: it only waits to be reaped). */
static bool alive(pid_t pid) {
  char path[64], stat[256];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return false;
  size_t n = fread(stat, 1, sizeof stat - 1, f);
  fclose(f);
  stat[n] = 0;
  const char *close_paren = strrchr(stat, ')');
  return close_paren && close_paren[1] == ' ' && close_paren[2] != 'Z' && close_paren[2] != 'X';
}

/* The processes naming dir, not this one. */
static int find(const char *dir, pid_t *pids) {
  DIR *d = opendir("/proc");
  int n = 0;
  struct dirent *e;
  char path[64], cmdline[4096];
  while (d && (e = readdir(d)) && n < MAX_PIDS) {
    pid_t pid = (pid_t)atoi(e->d_name);
    if (pid <= 0 || pid == getpid())
      continue;
    snprintf(path, sizeof path, "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      continue;
    ssize_t len = read(fd, cmdline, sizeof cmdline - 1);
    close(fd);
    if (len <= 0)
      continue;
    cmdline[len] = 0;
    if (names_dir(cmdline, (size_t)len, dir) && alive(pid))
      pids[n++] = pid;
  }
  if (d)
    closedir(d);
  return n;
}

static void reap(pid_t pid) {
  while (waitpid(pid, NULL, WNOHANG) < 0 && errno == EINTR) {
  }
}

/* Sends sig to each; true once all have ended, waiting up to wait_ms. */
static bool signal_and_wait(const pid_t *pids, int n, int sig, int wait_ms) {
  for (int i = 0; i < n; i++)
    kill(pids[i], sig);
  for (int waited = 0;; waited += 10) {
    bool any = false;
    for (int i = 0; i < n; i++) {
      reap(pids[i]); /* our own child would stay a zombie otherwise */
      any |= alive(pids[i]);
    }
    if (!any)
      return true;
    if (waited >= wait_ms)
      return false;
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
  }
}

int st_test_end_processes_in(const char *dir) {
  pid_t pids[MAX_PIDS];
  int n = find(dir, pids);
  /* A session stops cleanly on SIGTERM (its links detached, its file
   * finished); one that does not is killed, and the kernel detaches its
   * programs when the process is gone. */
  if (n && !signal_and_wait(pids, n, SIGTERM, 5000))
    signal_and_wait(pids, n, SIGKILL, 5000);
  return n;
}

void st_test_remove_dir(const char *dir) {
  if (!dir || !dir[0])
    return;
  st_test_end_processes_in(dir);
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", dir);
}

void st_test_guard_dir(const char *dir) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0)
    return;
  pid_t kid = fork();
  if (kid < 0) {
    close(p[0]);
    close(p[1]);
    return;
  }
  if (kid == 0) {
    /* Its own session: a signal to the test's process group leaves it.
     * It holds nothing of the test's (its output pipes would keep ctest
     * waiting) but the pipe's reading end. */
    setsid();
    int null = open("/dev/null", O_RDWR);
    for (int fd = 0; fd < 1024; fd++)
      if (fd != p[0] && fd != null)
        close(fd);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    char c;
    ssize_t r;
    do
      r = read(p[0], &c, 1);
    while (r != 0 && (r > 0 || errno == EINTR));
    st_test_remove_dir(dir);
    _exit(0);
  }
  close(p[0]);
  /* p[1] stays open (close-on-exec: no program the test runs holds it)
   * until this process ends; then the reaper reads end-of-file. */
}

const char *st_test_cli_for_anyone(void) {
  static char path[128];
  if (path[0])
    return path;
  char dir[] = "/tmp/st-cli-anyone-XXXXXX";
  if (!mkdtemp(dir) || chmod(dir, 0755) != 0)
    return ST_BINARY_DIR "/socktrace";
  st_test_guard_dir(dir);
  snprintf(path, sizeof path, "%s/socktrace", dir);
  size_t len = 0;
  char *bin = st_test_read_file(ST_BINARY_DIR "/socktrace", &len);
  FILE *f = bin ? fopen(path, "wb") : NULL;
  bool ok = f && fwrite(bin, 1, len, f) == len;
  if (f && fclose(f) != 0)
    ok = false;
  ok = ok && chmod(path, 0755) == 0;
  free(bin);
  if (!ok)
    snprintf(path, sizeof path, "%s", ST_BINARY_DIR "/socktrace");
  return path;
}
