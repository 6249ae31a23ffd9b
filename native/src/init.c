/*
 * locker-init: the tiny PID 1 of `locker run --init` (docker's --init runs tini the same way).
 *
 * A process that is PID 1 of a PID namespace gets no default signal actions: a plain `sleep`
 * there ignores SIGTERM, and nobody reaps the orphans that are re-parented to it. This program
 * is that PID 1 instead: it starts the command as its child, passes every signal it gets on to
 * it, reaps every child (the command's and any orphan's), and exits as the command did
 * (128 + N if a signal N ended it, as a shell reports it). Nothing else: no options, no policy.
 *
 * Usage: locker-init -- COMMAND [ARG...]   (COMMAND is looked up in PATH, as execvp does)
 * Built static by scripts/build-native.mjs: it runs in any image, with or without a libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3 || strcmp(argv[1], "--") != 0) {
    fprintf(stderr, "locker-init: usage: locker-init -- COMMAND [ARG...]\n");
    return 127;
  }
  /* Outside a PID namespace of its own, orphans of the command still come here to be reaped. */
  if (getpid() != 1) prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  pid_t child = fork();
  if (child < 0) { perror("locker-init: fork"); return 127; }
  if (child == 0) {
    /* Its own process group, in the terminal's foreground (as tini does): Ctrl-C reaches it once. */
    setpgid(0, 0);
    signal(SIGTTOU, SIG_IGN);
    if (isatty(0)) tcsetpgrp(0, getpgrp());
    signal(SIGTTOU, SIG_DFL);
    sigprocmask(SIG_SETMASK, &old, NULL);
    execvp(argv[2], argv + 2);
    fprintf(stderr, "locker-init: %s: %s\n", argv[2], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  for (;;) {
    siginfo_t info;
    int sig = sigwaitinfo(&all, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      /* SIGKILL and SIGSTOP never arrive here; everything else is the command's to handle. */
      kill(child, sig);
      continue;
    }
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid != child) continue; /* an orphan, reaped */
      return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
    }
  }
}
