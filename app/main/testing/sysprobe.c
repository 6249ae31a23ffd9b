// A static test helper (app/main/testing/sysprobe.ts builds it): makes the syscalls the seccomp
// profile decides and prints name=OK or name=ERRNO for each; "status" prints the Seccomp lines of
// /proc/self/status, "wait" prints ready and sleeps (for locker exec). Every call is harmless: a
// child it makes exits at once, add_key names a key type that does not exist.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void *thread_main(void *arg) { return arg; }

/* Runs one probe: >= 0 is success, -1 with errno set is failure. A child made by a probe exits at once. */
static long probe(const char *name) {
  if (!strcmp(name, "unshare-user")) return unshare(CLONE_NEWUSER);
  if (!strcmp(name, "clone-newuser") || !strcmp(name, "clone-plain")) {
    long flags = SIGCHLD | (!strcmp(name, "clone-newuser") ? CLONE_NEWUSER : 0);
    long pid = syscall(SYS_clone, flags, 0, 0, 0, 0);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid((pid_t)pid, NULL, 0);
    return pid;
  }
  if (!strcmp(name, "clone3")) {
    struct clone_args args;
    memset(&args, 0, sizeof args);
    args.exit_signal = SIGCHLD;
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid((pid_t)pid, NULL, 0);
    return pid;
  }
  if (!strcmp(name, "fork")) {
    pid_t pid = fork();
    if (pid == 0) _exit(0);
    if (pid > 0) waitpid(pid, NULL, 0);
    return pid;
  }
  if (!strcmp(name, "pthread")) {
    pthread_t t;
    int e = pthread_create(&t, NULL, thread_main, NULL);
    if (e) { errno = e; return -1; }
    return pthread_join(t, NULL);
  }
  if (!strcmp(name, "keyctl")) return syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0);
  if (!strcmp(name, "add_key")) return syscall(SYS_add_key, "locker-no-such-type", "probe", "x", 1, -3);
  if (!strcmp(name, "request_key")) return syscall(SYS_request_key, "user", "locker-no-such-key", NULL, 0);
  if (!strcmp(name, "userfaultfd")) return syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */);
  if (!strcmp(name, "io_uring_setup")) {
    char params[120];
    memset(params, 0, sizeof params);
    return syscall(SYS_io_uring_setup, 1, params);
  }
  if (!strcmp(name, "bpf")) return syscall(SYS_bpf, 9999, NULL, 0);
  if (!strcmp(name, "perf_event_open")) return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0);
  if (!strcmp(name, "vsock")) return socket(40 /* AF_VSOCK */, SOCK_STREAM, 0);
  if (!strcmp(name, "vsock-high-bits")) return syscall(SYS_socket, 0x100000028L, SOCK_STREAM, 0);
  if (!strcmp(name, "inet")) return socket(AF_INET, SOCK_DGRAM, 0);
  if (!strcmp(name, "personality-aslr-off")) return personality(ADDR_NO_RANDOMIZE);
  if (!strcmp(name, "personality-query")) return personality(0xffffffff);
  errno = EINVAL;
  return -1;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "status")) {
      /* Seccomp: and Seccomp_filters: of /proc/self/status, as name=value. */
      FILE *f = fopen("/proc/self/status", "r");
      char line[256];
      while (f && fgets(line, sizeof line, f)) {
        char *v;
        if (strncmp(line, "Seccomp", 7) || !(v = strchr(line, ':'))) continue;
        *v++ = 0;
        while (*v == ' ' || *v == '\t') v++;
        printf("%s=%s", line, v);
      }
      if (f) fclose(f);
      continue;
    }
    if (!strcmp(argv[i], "wait")) { printf("ready\n"); fflush(stdout); pause(); continue; }
    errno = 0;
    long r = probe(argv[i]);
    printf("%s=%s\n", argv[i], r >= 0 ? "OK" : strerrorname_np(errno));
  }
  return 0;
}
