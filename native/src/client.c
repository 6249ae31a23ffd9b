/*
 * locker-client: what `locker` starts first (bin/locker). A Node process takes 35 ms or more just to
 * start, so a command is handed to the resident CLI server of this user, data dir and checkout when
 * one is listening (app/main/cli/server.ts), and run by Node itself otherwise, which then starts
 * that server for the next command. Nothing for a user to start or stop: the server ends by itself
 * when idle.
 *
 * The hand-over, on an AF_UNIX stream socket at DATA_DIR/run/cli-KEY.sock (KEY: a hash of what the
 * server's behaviour depends on and what its containers inherit from it, below): one message carrying this process's stdin, stdout and
 * stderr as SCM_RIGHTS descriptors, so the command reads and writes them itself, as if it ran
 * here; its data is u32 length (native order), then NUL-terminated strings: "locker-cli/1", the
 * working directory, argc, the arguments, and the environment. The server answers one line:
 * "exit N" (the status), or "fallback" (run it with Node here, e.g. it needs this terminal), or
 * "fallback-start" (the same, and start a new server: it was stale and is ending). Signals this
 * process gets (INT, TERM, HUP, QUIT) are sent on as one byte each, the signal's number; the
 * server passes them to the command. If this process dies, the socket closes and the command is
 * ended as it would be with its CLI gone.
 *
 * Usage (from bin/locker): locker-client PATH/TO/locker.js ARGS...
 * LOCKER_NO_CLI_SERVER=1: always run with Node, and start no server.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

extern char **environ;

static int server = -1;

/* Runs the command with Node, here (bin/locker.js). start: the socket path a new server listens on. */
static void with_node(const char *script, int argc, char **argv, const char *start) {
  if (server >= 0) close(server);
  if (start) setenv("LOCKER_CLI_SERVER_START", start, 1);
  char **args = calloc((size_t)argc + 4, sizeof *args);
  if (!args) _exit(125);
  args[0] = "node";
  args[1] = (char *)script;
  args[2] = "--";
  for (int i = 0; i < argc; i++) args[3 + i] = argv[i];
  execvp("node", args);
  fprintf(stderr, "locker: cannot start node (%s); install Node.js 20 or later and put it on PATH\n", strerror(errno));
  _exit(127);
}

/* What the server's behaviour depends on, besides the request: the variables it reads itself. */
static int keyed(const char *entry) {
  return !strncmp(entry, "LOCKER_", 7) || !strncmp(entry, "NODE_", 5) || !strncmp(entry, "LD_", 3) ||
         !strncmp(entry, "XDG_DATA_HOME=", 14) || !strncmp(entry, "HOME=", 5) || !strncmp(entry, "PATH=", 5);
}

static uint64_t fnv1a(uint64_t h, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
  return h;
}

/*
 * What a container inherits from the process that starts it, as the server's own: resource limits,
 * nice value, CPU affinity, oom_score_adj, umask. A client that differs in any of them gets (or
 * starts) a server of its own, so `ulimit -n 512; locker run …` is what it would be with Node.
 */
static uint64_t inherited(uint64_t h) {
  for (int r = 0; r < RLIM_NLIMITS; r++) {
    struct rlimit l = { 0, 0 };
    getrlimit(r, &l);
    h = fnv1a(h, (const char *)&l, sizeof l);
  }
  errno = 0;
  int nice = getpriority(PRIO_PROCESS, 0);
  h = fnv1a(h, (const char *)&nice, sizeof nice);
  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  sched_getaffinity(0, sizeof cpus, &cpus);
  h = fnv1a(h, (const char *)&cpus, sizeof cpus);
  mode_t mask = umask(0);
  umask(mask);
  h = fnv1a(h, (const char *)&mask, sizeof mask);
  char adj[16] = "";
  FILE *f = fopen("/proc/self/oom_score_adj", "re");
  if (f) {
    if (!fgets(adj, sizeof adj, f)) adj[0] = 0;
    fclose(f);
  }
  return fnv1a(h, adj, strlen(adj));
}

static int by_text(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The server's socket: DATA_DIR/run/cli-KEY.sock, DATA_DIR as app/main/runtime/data-dir.ts says. */
static int socket_path(const char *script, char *out, size_t size) {
  char data[PATH_MAX];
  const char *dir = getenv("LOCKER_DATA_DIR"), *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
  if (dir && *dir) snprintf(data, sizeof data, "%s", dir);
  else if (xdg && xdg[0] == '/') snprintf(data, sizeof data, "%s/locker", xdg);
  else {
    if (!home || !*home) {
      struct passwd *pw = getpwuid(getuid());
      home = pw ? pw->pw_dir : NULL;
    }
    if (!home) return -1;
    snprintf(data, sizeof data, "%s/.local/share/locker", home);
  }
  size_t n = 0;
  for (char **e = environ; *e; e++) n += keyed(*e);
  char **vars = calloc(n + 1, sizeof *vars);
  if (!vars) return -1;
  n = 0;
  for (char **e = environ; *e; e++)
    if (keyed(*e)) vars[n++] = *e;
  qsort(vars, n, sizeof *vars, by_text);
  char head[64];
  int len = snprintf(head, sizeof head, "locker-cli/1 uid=%u", (unsigned)getuid());
  uint64_t h = fnv1a(0xcbf29ce484222325ULL, head, (size_t)len + 1);
  h = fnv1a(h, script, strlen(script) + 1);
  h = inherited(h);
  for (size_t i = 0; i < n; i++) h = fnv1a(h, vars[i], strlen(vars[i]) + 1);
  free(vars);
  int w = snprintf(out, size, "%s/run/cli-%016llx.sock", data, (unsigned long long)h);
  return w > 0 && (size_t)w < size ? 0 : -1;
}

/*
 * Whether the process listening is one this client may hand its descriptors and environment to:
 * its own uid (SO_PEERCRED) and the same user, mount, PID and network namespaces. A container
 * whose root is this user (rootless) and that can write the data dir (bound in with -v) could put
 * a socket of its own there; it would get the caller's terminal and environment. Such a listener
 * is not ours: the command runs with Node, and nothing is sent.
 */
static int trusted_server(int fd) {
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || cred.uid != getuid() || cred.pid <= 0) return 0;
  static const char *const kinds[] = { "user", "mnt", "pid", "net" };
  for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
    char mine[64], theirs[64], path[64];
    snprintf(path, sizeof path, "/proc/self/ns/%s", kinds[i]);
    ssize_t a = readlink(path, mine, sizeof mine - 1);
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)cred.pid, kinds[i]);
    ssize_t b = readlink(path, theirs, sizeof theirs - 1);
    if (a <= 0 || b != a || memcmp(mine, theirs, (size_t)a)) return 0;
  }
  return 1;
}

static void forward(int sig) {
  unsigned char b = (unsigned char)sig;
  int saved = errno;
  if (write(server, &b, 1) < 0) { /* the server is gone: the read below sees it */ }
  errno = saved;
}

/* Appends s and its NUL to the message. */
static int put(char **buf, size_t *len, size_t *cap, const char *s) {
  size_t n = strlen(s) + 1;
  if (*len + n > *cap) {
    size_t c = (*cap + n) * 2;
    char *b = realloc(*buf, c);
    if (!b) return -1;
    *buf = b, *cap = c;
  }
  memcpy(*buf + *len, s, n);
  *len += n;
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: locker-client PATH/TO/locker.js ARGS...\n");
    return 2;
  }
  /* The checkout's own path: the same relative path from elsewhere is another checkout. */
  char real[PATH_MAX];
  const char *script = realpath(argv[1], real) ? real : argv[1];
  int nargs = argc - 2;
  char **args = argv + 2;
  const char *off = getenv("LOCKER_NO_CLI_SERVER");
  if (off && *off && strcmp(off, "0")) with_node(script, nargs, args, NULL);
  unsetenv("LOCKER_CLI_SERVER_START");

  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (socket_path(script, addr.sun_path, sizeof addr.sun_path) < 0) with_node(script, nargs, args, NULL);
  /* A closed stdin, stdout or stderr cannot be passed: Node runs it, without a word to the server. */
  for (int fd = 0; fd < 3; fd++)
    if (fcntl(fd, F_GETFD) < 0) with_node(script, nargs, args, NULL);
  server = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (server < 0 || connect(server, (struct sockaddr *)&addr, sizeof addr) < 0) with_node(script, nargs, args, addr.sun_path);
  /* Nothing is sent to a listener that is not one of ours: see trusted_server. */
  if (!trusted_server(server)) with_node(script, nargs, args, NULL);

  char cwd[PATH_MAX], count[16];
  if (!getcwd(cwd, sizeof cwd)) with_node(script, nargs, args, NULL);
  snprintf(count, sizeof count, "%d", nargs);
  size_t len = 4, cap = 4096;
  char *msg = malloc(cap);
  if (!msg || put(&msg, &len, &cap, "locker-cli/1") || put(&msg, &len, &cap, cwd) || put(&msg, &len, &cap, count))
    with_node(script, nargs, args, NULL);
  for (int i = 0; i < nargs; i++)
    if (put(&msg, &len, &cap, args[i])) with_node(script, nargs, args, NULL);
  for (char **e = environ; *e; e++)
    if (put(&msg, &len, &cap, *e)) with_node(script, nargs, args, NULL);
  uint32_t total = (uint32_t)len;
  memcpy(msg, &total, 4);

  /* Signals are sent on from here on; the first message goes out with the descriptors. */
  struct sigaction sa = { .sa_handler = forward, .sa_flags = SA_RESTART };
  sigemptyset(&sa.sa_mask);
  int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaction(sigs[i], &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  union { struct cmsghdr h; char space[CMSG_SPACE(3 * sizeof(int))]; } control;
  memset(&control, 0, sizeof control);
  struct iovec iov = { .iov_base = msg, .iov_len = len };
  struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.space, .msg_controllen = sizeof control.space };
  struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(3 * sizeof(int));
  int fds[3] = { 0, 1, 2 };
  memcpy(CMSG_DATA(c), fds, sizeof fds);
  size_t sent = 0;
  while (sent < len) {
    ssize_t w = sent ? send(server, msg + sent, len - sent, MSG_NOSIGNAL) : sendmsg(server, &mh, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) with_node(script, nargs, args, NULL);
    sent += (size_t)w;
  }
  free(msg);

  char line[64];
  size_t got = 0;
  for (;;) {
    ssize_t r = read(server, line + got, sizeof line - 1 - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
    line[got] = 0;
    char *nl = strchr(line, '\n');
    if (!nl && got < sizeof line - 1) continue;
    if (nl) *nl = 0;
    if (!strncmp(line, "exit ", 5)) return atoi(line + 5);
    if (!strcmp(line, "fallback")) with_node(script, nargs, args, NULL);
    if (!strcmp(line, "fallback-start")) with_node(script, nargs, args, addr.sun_path);
    break;
  }
  fprintf(stderr, "locker: the resident CLI server (%s) ended before the command did; run it again, or set LOCKER_NO_CLI_SERVER=1\n", addr.sun_path);
  return 125;
}
