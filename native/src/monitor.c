/*
 * locker-monitor: the process that owns one detached container (locker run -d), as conmon does
 * for podman. It is small C so that a detached container costs no Node process.
 *
 * Started by the runtime (app/main/runtime/detach) with everything decided there: the container's
 * encoded program on fd 0, the fds that program names (at the same numbers as in the runtime), the
 * output fd (a pty master, or the read end of the container's stdout/stderr pipe) and the paths of
 * its log, attach socket and exit file. It then
 *   - clones the container itself, through libnsexec's locker_spawn_in_cgroup, so the container is its child
 *     (its PR_SET_PDEATHSIG names this process, not the CLI, which may exit at once), and is a
 *     child subreaper, so whatever the container leaves behind is reaped here too;
 *   - appends the output to the log, capped: past log-max bytes the log becomes LOG.1 (the older
 *     LOG.1 goes) and a new log starts;
 *   - serves attach clients on a unix socket (mode 0600 in the 0700 container dir): they get the
 *     output as it comes, and send frames: 'i' + u16 length + bytes to type, 'w' + u16 4 + u16
 *     cols + u16 rows to resize (big-endian). A client too slow to take the output is dropped,
 *     never waited for;
 *   - writes the init's raw wait status to the exit file once the output is drained, and exits.
 * No policy: what to run, where, how big a log may grow is the caller's.
 *
 * Arguments (key=value): flags= steps= report= ctl= pass=FD,FD.. output= pty=0|1 log= log-max=
 * socket= exit=, optionally cgroup=FD (one of the pass fds: the cgroup v2 directory the container is
 * cloned into), and optionally exit-command=PATH: a program the monitor becomes (execv, no
 * arguments, empty environment) once the exit file is written, as conmon's --exit-command (the
 * runtime's teardown of what the container held on the host, e.g. its NAT rules). The container's pid (or -errno) is written to ctl as 8 bytes, native order.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t locker_spawn_in_cgroup(uint64_t clone_flags, int cgroup_fd, const uint8_t *prog, uint32_t len, uint32_t nops, int report_fd);

#define MAX_CLIENTS 16
#define FRAME_MAX (3 + 4096)
/* After the init exits, output still held by a process outside a PID namespace is waited for no longer. */
#define DRAIN_MS 2000

struct client { int fd; size_t have; uint8_t buf[FRAME_MAX]; };

static struct client clients[MAX_CLIENTS];
static const char *log_path, *sock_path, *exit_path;
static long long log_max = 16 << 20;
static int log_fd = -1, out_fd = -1, is_pty = 0;
static long long log_size = 0;

static void die(const char *what) {
  fprintf(stderr, "locker-monitor: %s: %s\n", what, strerror(errno));
  exit(1);
}

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int write_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n > 0) {
    ssize_t w = write(fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

static void open_log(void) {
  log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) die(log_path);
  struct stat st;
  log_size = fstat(log_fd, &st) == 0 ? st.st_size : 0;
}

/* The log is capped: when it would pass log_max it becomes LOG.1 and a new one starts. */
static void append_log(const uint8_t *p, size_t n) {
  if (log_size > 0 && log_size + (long long)n > log_max) {
    char old[4096];
    snprintf(old, sizeof old, "%s.1", log_path);
    close(log_fd);
    rename(log_path, old);
    open_log();
  }
  if (write_all(log_fd, p, n) == 0) log_size += (long long)n; /* a full disk loses output, never the container */
}

static void drop_client(struct client *c) {
  close(c->fd);
  c->fd = -1;
  c->have = 0;
}

static void broadcast(const uint8_t *p, size_t n) {
  for (int k = 0; k < MAX_CLIENTS; k++) {
    struct client *c = &clients[k];
    if (c->fd < 0) continue;
    ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w != (ssize_t)n) drop_client(c);
  }
}

/* Reads what the output fd has; returns 0 once it is closed (pipe EOF, or EIO: every pty slave closed). */
static int pump_output(void) {
  uint8_t buf[65536];
  for (;;) {
    ssize_t n = read(out_fd, buf, sizeof buf);
    if (n > 0) {
      append_log(buf, (size_t)n);
      broadcast(buf, (size_t)n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return 1;
    return 0;
  }
}

static void client_frames(struct client *c) {
  ssize_t n = read(c->fd, c->buf + c->have, sizeof c->buf - c->have);
  if (n <= 0) {
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    drop_client(c);
    return;
  }
  c->have += (size_t)n;
  while (c->have >= 3) {
    size_t len = ((size_t)c->buf[1] << 8) | c->buf[2];
    if (3 + len > sizeof c->buf) { drop_client(c); return; }
    if (c->have < 3 + len) break;
    const uint8_t *body = c->buf + 3;
    if (c->buf[0] == 'i' && is_pty) {
      /* Typed input; a container that does not read its terminal loses it rather than block us. */
      ssize_t w = write(out_fd, body, len);
      (void)w;
    } else if (c->buf[0] == 'w' && len == 4 && is_pty) {
      struct winsize ws = { .ws_col = (unsigned short)(body[0] << 8 | body[1]), .ws_row = (unsigned short)(body[2] << 8 | body[3]) };
      ioctl(out_fd, TIOCSWINSZ, &ws);
    }
    memmove(c->buf, c->buf + 3 + len, c->have - 3 - len);
    c->have -= 3 + len;
  }
}

static void accept_client(int listen_fd) {
  int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return;
  for (int k = 0; k < MAX_CLIENTS; k++) {
    if (clients[k].fd < 0) {
      clients[k].fd = fd;
      clients[k].have = 0;
      return;
    }
  }
  close(fd); /* full: the client sees the connection end */
}

static int listen_on(const char *path) {
  struct sockaddr_un a = { .sun_family = AF_UNIX };
  if (strlen(path) >= sizeof a.sun_path) { errno = ENAMETOOLONG; die(path); }
  strcpy(a.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) die("socket");
  unlink(path);
  mode_t old = umask(0177); /* the socket is born 0600: no moment where others could connect */
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0) die(path);
  umask(old);
  if (listen(fd, MAX_CLIENTS) < 0) die("listen");
  return fd;
}

static void write_exit(int status) {
  char tmp[4096], text[32];
  snprintf(tmp, sizeof tmp, "%s.tmp", exit_path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return; /* the container dir is gone (removed): nobody to tell */
  int n = snprintf(text, sizeof text, "%d\n", status);
  if (write_all(fd, text, (size_t)n) == 0 && close(fd) == 0) rename(tmp, exit_path);
}

static uint8_t *read_program(uint32_t *len) {
  size_t cap = 65536, n = 0;
  uint8_t *p = malloc(cap);
  for (;;) {
    if (!p) die("malloc");
    if (n == cap) p = realloc(p, cap *= 2);
    if (!p) die("realloc");
    ssize_t r = read(0, p + n, cap - n);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) die("reading the program");
    if (r == 0) break;
    n += (size_t)r;
  }
  *len = (uint32_t)n;
  return p;
}

static const char *arg(int argc, char **argv, const char *key) {
  size_t k = strlen(key);
  for (int i = 1; i < argc; i++)
    if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=') return argv[i] + k + 1;
  fprintf(stderr, "locker-monitor: missing %s=\n", key);
  exit(2);
}

static const char *optional_arg(int argc, char **argv, const char *key) {
  size_t k = strlen(key);
  for (int i = 1; i < argc; i++)
    if (strncmp(argv[i], key, k) == 0 && argv[i][k] == '=') return argv[i] + k + 1;
  return NULL;
}

int main(int argc, char **argv) {
  uint64_t flags = strtoull(arg(argc, argv, "flags"), NULL, 0);
  uint32_t steps = (uint32_t)strtoul(arg(argc, argv, "steps"), NULL, 0);
  int report_fd = atoi(arg(argc, argv, "report")), ctl_fd = atoi(arg(argc, argv, "ctl"));
  const char *pass = arg(argc, argv, "pass");
  out_fd = atoi(arg(argc, argv, "output"));
  is_pty = atoi(arg(argc, argv, "pty"));
  log_path = arg(argc, argv, "log");
  log_max = atoll(arg(argc, argv, "log-max"));
  sock_path = arg(argc, argv, "socket");
  exit_path = arg(argc, argv, "exit");
  const char *exit_command = optional_arg(argc, argv, "exit-command");
  const char *cgroup = optional_arg(argc, argv, "cgroup");
  int cgroup_fd = cgroup ? atoi(cgroup) : -1;
  for (int k = 0; k < MAX_CLIENTS; k++) clients[k].fd = -1;

  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  /* Only the fds named here stay open (whatever else the starter leaked goes), and none of them
   * may reach the container past its execve. */
  int keep[64], nkeep = 0;
  keep[nkeep++] = report_fd;
  keep[nkeep++] = ctl_fd;
  keep[nkeep++] = out_fd;
  for (const char *p = pass; *p && nkeep < 64;) {
    char *end;
    long fd = strtol(p, &end, 10);
    if (end == p) break;
    keep[nkeep++] = (int)fd;
    p = *end == ',' ? end + 1 : end;
  }
  for (unsigned fd = 3, next; fd != ~0U; fd = next + 1) {
    next = ~0U;
    for (int k = 0; k < nkeep; k++)
      if (keep[k] >= (int)fd && (unsigned)keep[k] < next) next = (unsigned)keep[k];
    if (next > fd) syscall(SYS_close_range, fd, next == ~0U ? ~0U : next - 1, 0);
    if (next == ~0U) break;
  }
  syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
  uint32_t len;
  uint8_t *prog = read_program(&len);
  int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0 || dup2(null_fd, 0) < 0) die("/dev/null");
  close(null_fd);
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) die("PR_SET_CHILD_SUBREAPER");
  /* Blocked before the clone so that no exit is missed; the child unblocks everything. */
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);
  int sig_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sig_fd < 0) die("signalfd");
  open_log();
  int listen_fd = listen_on(sock_path);
  fcntl(out_fd, F_SETFL, fcntl(out_fd, F_GETFL) | O_NONBLOCK);

  int64_t pid = locker_spawn_in_cgroup(flags, cgroup_fd, prog, len, steps, report_fd);
  free(prog);
  if (write_all(ctl_fd, &pid, sizeof pid) < 0) die("ctl");
  close(ctl_fd);
  close(report_fd);
  /* The container holds its own copies now; ours would keep its pipes and pty open after it ends. */
  for (const char *p = pass; *p;) {
    char *end;
    long fd = strtol(p, &end, 10);
    if (end == p) break;
    close((int)fd);
    p = *end == ',' ? end + 1 : end;
  }
  if (pid < 0) {
    unlink(sock_path);
    return 1;
  }

  int status = 0, init_done = 0, output_open = 1;
  long long deadline = 0;
  while (output_open && !(init_done && now_ms() > deadline)) {
    struct pollfd fds[3 + MAX_CLIENTS];
    int nfds = 0;
    fds[nfds++] = (struct pollfd){ .fd = sig_fd, .events = POLLIN };
    fds[nfds++] = (struct pollfd){ .fd = listen_fd, .events = POLLIN };
    fds[nfds++] = (struct pollfd){ .fd = out_fd, .events = POLLIN };
    for (int k = 0; k < MAX_CLIENTS; k++)
      if (clients[k].fd >= 0) fds[nfds++] = (struct pollfd){ .fd = clients[k].fd, .events = POLLIN };
    int timeout = init_done ? (int)(deadline - now_ms()) : -1;
    if (poll(fds, (nfds_t)nfds, timeout < 0 && init_done ? 0 : timeout) < 0 && errno != EINTR) die("poll");
    if (fds[2].revents) output_open = pump_output();
    if (fds[0].revents) {
      struct signalfd_siginfo si;
      while (read(sig_fd, &si, sizeof si) > 0) {}
      int st;
      pid_t w;
      while ((w = waitpid(-1, &st, WNOHANG)) > 0) {
        if (w == (pid_t)pid) {
          status = st;
          init_done = 1;
          deadline = now_ms() + DRAIN_MS;
        }
      }
    }
    if (fds[1].revents) accept_client(listen_fd);
    for (int i = 3; i < nfds; i++) {
      if (!fds[i].revents) continue;
      for (int k = 0; k < MAX_CLIENTS; k++)
        if (clients[k].fd == fds[i].fd) client_frames(&clients[k]);
    }
  }
  /* The output ended first (the container closed its stdout but runs on): wait for the init. */
  while (!init_done) {
    int st;
    pid_t w = waitpid(-1, &st, 0);
    if (w < 0 && errno != EINTR) break;
    if (w == (pid_t)pid) { status = st; init_done = 1; }
  }
  pump_output();
  unlink(sock_path);
  write_exit(status);
  if (exit_command) {
    char *cargv[] = { (char *)exit_command, NULL }, *cenv[] = { NULL };
    execve(exit_command, cargv, cenv);
    fprintf(stderr, "locker-monitor: exit-command %s: %s\n", exit_command, strerror(errno));
  }
  return 0;
}
