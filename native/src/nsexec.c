/*
 * nsexec: the one step of Locker that cannot be JavaScript.
 *
 * Node is multithreaded, so it cannot unshare(CLONE_NEWUSER), and JS cannot run in a
 * child it forks. This file clone()s a single-threaded child into the namespaces the
 * caller names and runs, in order, a program of syscalls the caller encoded, ending in
 * execve. It holds no policy: what to mount, map or exec is decided in TypeScript.
 *
 * For every step the child writes one record to report_fd (close-on-exec; in batches, see
 * report), so the parent learns the result of each call, and reads EOF once execve succeeded.
 *
 * Built twice: as libnsexec.so, and with LOCKER_NSEXEC_MAIN as native/build/locker-nsexec, a
 * small static program that makes the clone for a big caller (locker_spawn_exec, at the end).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <linux/openat2.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The opcode table. native/program.ts has the same list and checks it against locker_op_names()
 * when it loads this library, so the two sides cannot drift apart. */
#define OPS(X) \
  X(MOUNT) X(UMOUNT2) X(SETHOSTNAME) X(PIVOT_ROOT) X(CHDIR) X(FCHDIR) X(CHROOT) X(MKDIR) X(MKNOD) \
  X(SYMLINK) X(CREAT) X(SETSID) X(IOCTL) X(DUP2) X(CLOSE_RANGE) X(PRCTL) X(SETNS) X(WAIT_FD) X(FORK) \
  X(SETRESUID) X(SETRESGID) X(SETGROUPS) X(SETDOMAINNAME) X(CAPSET) X(EXECVE) X(FCNTL) X(GETCWD) \
  X(UNSHARE) X(OPENAT2) X(MKDIRAT) X(MKNODAT) X(SYMLINKAT) X(OPENAT) X(CLOSE) X(SECCOMP) X(KEYCTL) \
  X(IOCTL_INT) X(STOP_REPORTING) X(NETLINK) X(WRITE) X(LOAD)

#define AS_ENUM(name) OP_##name,
#define AS_NAME(name) #name ","
enum { OP_NONE = 0, OPS(AS_ENUM) OP_END };
static const char op_names[] = OPS(AS_NAME);
const char *locker_op_names(void) { return op_names; }

#define MAX_STR 4
#define MAX_VEC 4096
#define NREGS 16
/* An fd argument in [REG_BASE - NREGS, REG_BASE] names result register k = REG_BASE - value:
 * the fd an earlier step opened (the caller cannot know its number in advance). */
#define REG_BASE (-1000)

struct op {
  uint32_t code, ok_errno, dest;
  int64_t n[5];
  const char *s[MAX_STR];
  uint32_t slen[MAX_STR];
};

static int regs[NREGS];

static int fd_of(int64_t v) {
  if (v <= REG_BASE && v > REG_BASE - NREGS) return regs[REG_BASE - v];
  return (int)v;
}

/* A path naming what fd refers to, so calls that take only paths (mount) act on an fd opened safely. */
static const char *fd_path(int64_t v, char *buf, size_t size) {
  snprintf(buf, size, "/proc/self/fd/%d", fd_of(v));
  return buf;
}

struct record { uint32_t index; int32_t err; int64_t result; uint64_t t_ns; };

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Records go out in batches, one write for up to 170 of them (a launch makes ~190 steps; a write
 * each was a tenth of its setup). Flushed before whatever may wait or end (a wait for the parent, a
 * fork, execve, _exit), so the parent holds every record whenever it could read them: at the
 * child's wait, at its failure, at EOF. At most PIPE_BUF at once, so a write is never split. */
static uint8_t pending[170 * sizeof(struct record)];
static size_t pending_len;

static void flush_reports(int fd) {
  for (size_t done = 0; fd >= 0 && done < pending_len;) {
    ssize_t w = write(fd, pending + done, pending_len - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    done += (size_t)w;
  }
  pending_len = 0;
}

static void report(int fd, uint32_t i, int err, int64_t result) {
  if (fd < 0) return; /* after OP_STOP_REPORTING: the parent is gone, steps run silently */
  struct record r = { i, err, result, now_ns() };
  if (pending_len + sizeof r > sizeof pending) flush_reports(fd);
  memcpy(pending + pending_len, &r, sizeof r);
  pending_len += sizeof r;
}

/* Splits a NUL-separated list of count strings into vec, NULL-terminated. */
static int split(const char *blob, uint32_t len, int64_t count, char **vec) {
  if (count < 0 || count >= MAX_VEC) return -1;
  const char *p = blob, *end = blob + len;
  for (int64_t i = 0; i < count; i++) {
    if (p >= end) return -1;
    vec[i] = (char *)p;
    p += strnlen(p, (size_t)(end - p)) + 1;
  }
  vec[count] = NULL;
  return 0;
}

static char *argv_buf[MAX_VEC], *envp_buf[MAX_VEC];

/*
 * One netlink request, a whole message encoded in TypeScript, on a new socket of protocol proto in
 * this process's network namespace: 0 once the kernel acked it, else -1 with errno the kernel's.
 * index_at >= 0: first the u32 at that offset gets the index of interface ifname here (an address
 * or a route names its link by index, which only this namespace knows).
 */
static int64_t netlink_request(int proto, const uint8_t *msg, uint32_t len, int64_t index_at, const char *ifname) {
  static uint8_t req[4096], reply[8192];
  if (len < sizeof(struct nlmsghdr) || len > sizeof req || (index_at >= 0 && (uint64_t)index_at + 4 > len)) { errno = EINVAL; return -1; }
  memcpy(req, msg, len);
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
  if (fd < 0) return -1;
  int err = 0;
  if (index_at >= 0) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, ifname ? ifname : "", IFNAMSIZ - 1);
    if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) err = errno;
    else memcpy(req + index_at, &ifr.ifr_ifindex, 4);
  }
  if (!err && send(fd, req, len, 0) < 0) err = errno;
  ssize_t r = -1;
  while (!err && (r = recv(fd, reply, sizeof reply, 0)) < 0 && errno == EINTR) {}
  if (!err && r < 0) err = errno;
  if (!err) {
    const struct nlmsghdr *h = (const struct nlmsghdr *)reply;
    if (r < (ssize_t)NLMSG_LENGTH(sizeof(int)) || h->nlmsg_type != NLMSG_ERROR) err = EPROTO;
    else err = -((const struct nlmsgerr *)NLMSG_DATA(h))->error;
  }
  close(fd);
  if (err) { errno = err; return -1; }
  return 0;
}

/* An empty string stands for NULL where the call takes an optional string. */
static const char *opt(const struct op *o, int k) { return o->slen[k] > 1 ? o->s[k] : NULL; }

static int64_t run_op(const struct op *o) {
  const int64_t *n = o->n;
  char src[64], dst[64];
  switch (o->code) {
  /* n[1]/n[2] >= 0 (or a register): the source/target is that fd, not the path string. */
  case OP_MOUNT: return mount(n[1] == -1 ? opt(o, 0) : fd_path(n[1], src, sizeof src),
                              n[2] == -1 ? o->s[1] : fd_path(n[2], dst, sizeof dst), opt(o, 2), (unsigned long)n[0], opt(o, 3));
  case OP_UMOUNT2: return umount2(o->s[0], (int)n[0]);
  case OP_SETHOSTNAME: return sethostname(o->s[0], strlen(o->s[0]));
  case OP_SETDOMAINNAME: return setdomainname(o->s[0], strlen(o->s[0]));
  case OP_PIVOT_ROOT: return syscall(SYS_pivot_root, o->s[0], o->s[1]);
  case OP_CHDIR: return chdir(o->s[0]);
  case OP_FCHDIR: return fchdir(fd_of(n[0]));
  case OP_CHROOT: return chroot(o->s[0]);
  case OP_MKDIR: return mkdir(o->s[0], (mode_t)n[0]);
  case OP_MKNOD: return mknod(o->s[0], (mode_t)n[0], (dev_t)n[1]);
  case OP_SYMLINK: return symlink(o->s[0], o->s[1]);
  case OP_CREAT: { int fd = open(o->s[0], O_CREAT | O_WRONLY | O_CLOEXEC, (mode_t)n[0]); return fd < 0 ? -1 : close(fd); }
  case OP_FCNTL: return fcntl(fd_of(n[0]), (int)n[1], (int)n[2]);
  case OP_OPENAT2: {
    struct open_how how = { .flags = (uint64_t)n[1], .mode = (uint64_t)n[2], .resolve = (uint64_t)n[3] };
    return syscall(SYS_openat2, fd_of(n[0]), o->s[0], &how, sizeof how);
  }
  case OP_OPENAT: { int fd = openat(fd_of(n[0]), o->s[0], (int)n[1], (mode_t)n[2]); return fd; }
  case OP_MKDIRAT: return mkdirat(fd_of(n[0]), o->s[0], (mode_t)n[1]);
  case OP_MKNODAT: return mknodat(fd_of(n[0]), o->s[0], (mode_t)n[1], (dev_t)n[2]);
  case OP_SYMLINKAT: return symlinkat(o->s[0], fd_of(n[0]), o->s[1]);
  case OP_CLOSE: return close(fd_of(n[0]));
  case OP_SECCOMP: {
    /* s[0]: n[0] struct sock_filter (8 bytes each) compiled in TypeScript; n[1]: SECCOMP_FILTER_FLAG_*. */
    if ((uint64_t)n[0] * sizeof(struct sock_filter) + 1 != o->slen[0] || n[0] > BPF_MAXINSNS) { errno = EINVAL; return -1; }
    struct sock_fprog prog = { .len = (unsigned short)n[0], .filter = (struct sock_filter *)(uintptr_t)o->s[0] };
    return syscall(SYS_seccomp, 1 /* SECCOMP_SET_MODE_FILTER */, (unsigned)n[1], &prog);
  }
  case OP_KEYCTL: return syscall(SYS_keyctl, (int)n[0], opt(o, 0), n[1], n[2], n[3]);
  /* n[0]: netlink protocol; s[0]: the message; n[1] >= 0: where the index of interface s[1] goes. */
  case OP_NETLINK: return netlink_request((int)n[0], (const uint8_t *)o->s[0], o->slen[0] - 1, n[1], opt(o, 1));
  /* s[0] without its NUL, in one write(2): a cgroup's tasks or cgroup.procs file takes "0" as this process. */
  case OP_WRITE: return write(fd_of(n[0]), o->s[0], o->slen[0] - 1);
  case OP_IOCTL_INT: { int v = (int)n[2]; return ioctl(fd_of(n[0]), (unsigned long)n[1], &v); }
  /* glibc fails with ENOENT when the cwd is not reachable from the root ("(unreachable)/..."). */
  case OP_GETCWD: { static char cwd[4096]; return getcwd(cwd, sizeof cwd) ? 0 : -1; }
  case OP_SETSID: return setsid();
  case OP_IOCTL: return ioctl(fd_of(n[0]), (unsigned long)n[1], (unsigned long)n[2]);
  case OP_DUP2: return dup2(fd_of(n[0]), (int)n[1]);
  case OP_CLOSE_RANGE: return syscall(SYS_close_range, (unsigned)n[0], (unsigned)n[1], (unsigned)n[2]);
  case OP_PRCTL: return prctl((int)n[0], (unsigned long)n[1], (unsigned long)n[2], 0, 0);
  case OP_SETNS: return setns(fd_of(n[0]), (int)n[1]);
  case OP_UNSHARE: return unshare((int)n[0]);
  case OP_WAIT_FD: {
    char c;
    ssize_t r;
    do { r = read(fd_of(n[0]), &c, 1); } while (r < 0 && errno == EINTR);
    if (r == 0) errno = EPIPE;
    return r == 1 ? 0 : -1;
  }
  case OP_SETRESUID: return syscall(SYS_setresuid, (uid_t)n[0], (uid_t)n[1], (uid_t)n[2]);
  case OP_SETRESGID: return syscall(SYS_setresgid, (gid_t)n[0], (gid_t)n[1], (gid_t)n[2]);
  /* n[0] gids in s[0] (4 bytes each); none: setgroups(0, NULL). */
  case OP_SETGROUPS:
    if (n[0] > 0 && (n[0] > 65536 || (uint64_t)n[0] * sizeof(gid_t) + 1 != o->slen[0])) { errno = EINVAL; return -1; }
    return syscall(SYS_setgroups, (size_t)n[0], n[0] > 0 ? (const gid_t *)(uintptr_t)o->s[0] : NULL);
  case OP_CAPSET: {
    /* n: effective/permitted/inheritable as 64-bit masks; capability version 3. */
    struct { uint32_t version; int pid; } hdr = { 0x20080522, 0 };
    struct { uint32_t eff, perm, inh; } data[2] = {
      { (uint32_t)n[0], (uint32_t)n[1], (uint32_t)n[2] },
      { (uint32_t)((uint64_t)n[0] >> 32), (uint32_t)((uint64_t)n[1] >> 32), (uint32_t)((uint64_t)n[2] >> 32) } };
    return syscall(SYS_capset, &hdr, data);
  }
  case OP_EXECVE:
    if (split(o->s[1], o->slen[1], n[0], argv_buf) || split(o->s[2], o->slen[2], n[1], envp_buf)) { errno = E2BIG; return -1; }
    return execve(o->s[0], argv_buf, envp_buf);
  default: errno = ENOSYS; return -1;
  }
}

static int decode(const uint8_t *prog, size_t len, struct op *ops, uint32_t nops);

static int read_full(int fd, void *buf, size_t size) {
  for (size_t done = 0; done < size;) {
    ssize_t r = read(fd, (uint8_t *)buf + done, size - done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) { if (r == 0) errno = EPIPE; return -1; }
    done += (size_t)r;
  }
  return 0;
}

/*
 * OP_LOAD at step `at`: the rest of the program arrives on fd (u32 len, u32 nops, then the encoding)
 * when the caller has one for this process: a spare container's (spare.ts), cloned before anyone
 * asked for it, waits here. EOF (the caller closed its end, or died) ends it. The rest's steps are
 * numbered on from this one. mmap, not malloc: nothing of a libc's state is relied on in a clone.
 */
static int64_t load_rest(int fd, struct op **ops, uint32_t *nops, uint32_t at) {
  uint32_t head[2];
  if (read_full(fd, head, sizeof head)) return -1;
  uint32_t len = head[0], more = head[1];
  if (len > (16u << 20) || more > 65536) { errno = E2BIG; return -1; }
  uint8_t *prog = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  struct op *all = mmap(NULL, (size_t)(at + 1 + more) * sizeof *all, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (prog == MAP_FAILED || all == MAP_FAILED) { errno = ENOMEM; return -1; }
  if (read_full(fd, prog, len)) return -1;
  memcpy(all, *ops, (size_t)(at + 1) * sizeof *all);
  if (decode(prog, len, all + at + 1, more)) { errno = EINVAL; return -1; }
  *ops = all;
  *nops = at + 1 + more;
  return 0;
}

/* Runs ops in the child. OP_FORK makes the rest run in a grandchild (needed after setns
 * into a PID namespace); the middle process waits and mirrors the grandchild's exit. */
static void child(struct op *ops, uint32_t nops, int report_fd) {
  sigset_t all;
  sigemptyset(&all);
  for (int sig = 1; sig < NSIG; sig++) signal(sig, SIG_DFL);
  for (int k = 0; k < NREGS; k++) regs[k] = -1;
  sigprocmask(SIG_SETMASK, &all, NULL);
  for (uint32_t i = 0; i < nops; i++) {
    const struct op *o = &ops[i];
    int64_t r;
    /* What waits or forks (each copy would send the batch) goes with every record sent. */
    if (o->code == OP_FORK || o->code == OP_WAIT_FD || o->code == OP_EXECVE || o->code == OP_LOAD) flush_reports(report_fd);
    if (o->code == OP_FORK) {
      /* Not fork(): glibc's fork takes malloc's locks for its atfork handlers, and another thread of
       * the parent may have held one at clone time; in this copy nobody would ever release it. */
      r = syscall(SYS_clone, (unsigned long)SIGCHLD, NULL, NULL, NULL, 0);
      if (r > 0) {
        report(report_fd, i, 0, r);
        flush_reports(report_fd);
        close(report_fd);
        int status;
        while (waitpid((pid_t)r, &status, 0) < 0 && errno == EINTR) {}
        if (WIFSIGNALED(status)) { signal(WTERMSIG(status), SIG_DFL); kill(getpid(), WTERMSIG(status)); }
        _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 127);
      }
      if (r == 0) continue;
    } else if (o->code == OP_LOAD) {
      r = load_rest(fd_of(o->n[0]), &ops, &nops, i);
    } else if (o->code == OP_STOP_REPORTING) {
      /* The parent returns here (an OCI `create`) and closes its end: later records would hit a
       * closed pipe. Reported as done, then the pipe is closed; a later failure is only _exit(127). */
      report(report_fd, i, 0, 0);
      flush_reports(report_fd);
      close(report_fd);
      report_fd = -1;
      continue;
    } else {
      r = run_op(o);
    }
    if (r < 0 && errno != (int)o->ok_errno) { report(report_fd, i, errno, r); flush_reports(report_fd); _exit(127); }
    if (o->dest > 0 && o->dest <= NREGS) regs[o->dest - 1] = r < 0 ? -1 : (int)r;
    report(report_fd, i, r < 0 ? errno : 0, r);
  }
  flush_reports(report_fd);
  _exit(127);
}

/*
 * Program encoding, repeated nops times, little-endian:
 *   u32 code, u32 ok_errno, u32 dest, i64 n[5], u32 nstr, then nstr times { u32 len, len bytes }.
 * Strings (and binary blobs such as a BPF program) carry a trailing NUL inside len. dest > 0 stores
 * the step's result (an fd) in register dest-1 for later steps.
 */
static const uint8_t *take(const uint8_t **p, const uint8_t *end, size_t size) {
  if ((size_t)(end - *p) < size) return NULL;
  const uint8_t *at = *p;
  *p += size;
  return at;
}

static int copy(const uint8_t **p, const uint8_t *end, void *dst, size_t size) {
  const uint8_t *at = take(p, end, size);
  if (!at) return -1;
  memcpy(dst, at, size);
  return 0;
}

static int decode(const uint8_t *prog, size_t len, struct op *ops, uint32_t nops) {
  const uint8_t *p = prog, *end = prog + len, *at;
  for (uint32_t i = 0; i < nops; i++) {
    struct op *o = &ops[i];
    memset(o, 0, sizeof *o);
    uint32_t nstr;
    if (copy(&p, end, &o->code, 4) || copy(&p, end, &o->ok_errno, 4) || copy(&p, end, &o->dest, 4) ||
        copy(&p, end, o->n, sizeof o->n) || copy(&p, end, &nstr, 4) || nstr > MAX_STR || o->dest > NREGS ||
        o->code <= OP_NONE || o->code >= OP_END)
      return -1;
    for (uint32_t k = 0; k < nstr; k++) {
      if (copy(&p, end, &o->slen[k], 4) || o->slen[k] == 0) return -1;
      if (!(at = take(&p, end, o->slen[k])) || at[o->slen[k] - 1] != 0) return -1;
      o->s[k] = (const char *)at;
    }
  }
  return p == end ? 0 : -1;
}

/* clone3's arguments (linux/sched.h, up to CLONE_ARGS_SIZE_VER2), spelled out so the build does not
 * depend on which libc headers define struct clone_args. */
struct clone3_args {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
#define CLONE_INTO_CGROUP_FLAG 0x200000000ULL
#ifndef SYS_clone3
#define SYS_clone3 435
#endif

/*
 * Returns the child's pid, or -errno. clone_flags are CLONE_NEW* bits; 0 means a plain fork.
 * cgroup_fd >= 0: a cgroup v2 directory the child is born in (clone3 with CLONE_INTO_CGROUP), so it
 * never runs outside it and nothing has to move it there later; -1: the parent's cgroups (clone).
 */
int64_t locker_spawn_in_cgroup(uint64_t clone_flags, int cgroup_fd, const uint8_t *prog, uint32_t len, uint32_t nops, int report_fd) {
  struct op *ops = calloc(nops ? nops : 1, sizeof *ops);
  if (!ops) return -ENOMEM;
  if (decode(prog, len, ops, nops)) { free(ops); return -EINVAL; }
  long pid;
  if (cgroup_fd >= 0) {
    /* No stack given: the child goes on, as after fork, on a copy of this one. */
    struct clone3_args args = { .flags = clone_flags | CLONE_INTO_CGROUP_FLAG, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cgroup_fd };
    pid = syscall(SYS_clone3, &args, sizeof args);
  } else {
    pid = syscall(SYS_clone, (unsigned long)(clone_flags | SIGCHLD), NULL, NULL, NULL, 0);
  }
  if (pid == 0) child(ops, nops, report_fd);
  int err = errno;
  free(ops);
  return pid < 0 ? -err : pid;
}

/*
 * A clone of a big caller (a Node process) copies its page tables, makes it copy every page it
 * writes while the child lives, and tears the copy down again at the container's execve: 1.5 ms
 * of a launch at 70 MB, 8 ms at 220 MB. locker_spawn_exec makes the clone from a small process
 * instead: a child sharing the caller's memory (CLONE_VM|CLONE_VFORK, on a stack of its own, the
 * caller's thread suspended meanwhile, as posix_spawn does) only execs native/build/locker-nsexec,
 * which reads the program from a memfd and clones the container with CLONE_PARENT: the container
 * is the caller's child as with locker_spawn_in_cgroup, with the same fds, cgroups and limits, and
 * locker-nsexec exits at once. (The caller decides when: a user namespace, for one, is better made
 * by the caller itself, as Ubuntu lets only profiled programs make one.) In two halves, _start and
 * _finish (the pid or -errno), so that the caller can work while locker-nsexec clones; _start
 * answers LOCKER_NO_HELPER when locker-nsexec could not be started (nothing was cloned: the caller
 * then uses locker_spawn_in_cgroup).
 *
 * The memfd: the program (len bytes), then FD_BITMAP bytes, a bit for each fd that had FD_CLOEXEC
 * (the trampoline clears it, so every fd survives the execve into locker-nsexec, which sets it
 * again: the container holds what a fork would have), then the answer, an int64: pid or -errno.
 */
#define LOCKER_NO_HELPER INT64_MIN
#define FD_BITS 65536
#define FD_BITMAP (FD_BITS / 8)

struct trampoline { const char *path; char *const *argv; int memfd; uint32_t len; volatile int err; };

/* Runs in the child that shares the caller's memory: only its own stack and syscalls, then execve. */
static int trampoline(void *arg) {
  struct trampoline *t = arg;
  uint8_t bits[FD_BITMAP];
  memset(bits, 0, sizeof bits);
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) { t->err = errno; _exit(127); }
  char buf[4096];
  long n;
  while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
    for (long off = 0; off < n;) {
      const char *name = buf + off + 19; /* struct linux_dirent64: u64 ino, i64 off, u16 reclen, u8 type, name */
      off += *(const uint16_t *)(buf + off + 16);
      if (name[0] < '0' || name[0] > '9') continue;
      int fd = atoi(name);
      if (fd == dir || fd >= FD_BITS) continue;
      int flags = fcntl(fd, F_GETFD);
      if (flags >= 0 && (flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) == 0) bits[fd / 8] |= (uint8_t)(1u << (fd % 8));
    }
  }
  close(dir);
  if (n < 0 || pwrite(t->memfd, bits, sizeof bits, t->len) != (ssize_t)sizeof bits) { t->err = errno ? errno : EIO; _exit(127); }
  execve(t->path, t->argv, (char *[]){ NULL });
  t->err = errno;
  _exit(127);
}

/* The first half: returns once locker-nsexec runs (its pid, and in *memfd_out the memfd it answers
 * on), so that the caller can do other work while it clones; locker_spawn_exec_finish waits. */
int64_t locker_spawn_exec_start(const char *helper, uint64_t clone_flags, int cgroup_fd, const uint8_t *prog, uint32_t len, uint32_t nops, int report_fd, int *memfd_out) {
  struct op *ops = calloc(nops ? nops : 1, sizeof *ops);
  if (!ops) return -ENOMEM;
  int bad = decode(prog, len, ops, nops);
  free(ops);
  if (bad) return -EINVAL;
  int memfd = (int)syscall(SYS_memfd_create, "locker-program", MFD_CLOEXEC);
  if (memfd < 0) return LOCKER_NO_HELPER;
  int64_t none = 0;
  size_t done = 0;
  while (done < len) {
    ssize_t w = pwrite(memfd, prog + done, len - done, (off_t)done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    done += (size_t)w;
  }
  if (done < len || pwrite(memfd, &none, sizeof none, (off_t)len + FD_BITMAP) != (ssize_t)sizeof none) {
    close(memfd);
    return LOCKER_NO_HELPER;
  }
  char a[7][24];
  snprintf(a[0], sizeof a[0], "%d", memfd);
  snprintf(a[1], sizeof a[1], "%u", len);
  snprintf(a[2], sizeof a[2], "%u", nops);
  snprintf(a[3], sizeof a[3], "%d", report_fd);
  snprintf(a[4], sizeof a[4], "%llu", (unsigned long long)clone_flags);
  snprintf(a[5], sizeof a[5], "%d", cgroup_fd);
  snprintf(a[6], sizeof a[6], "%d", (int)getpid());
  char *argv[] = { (char *)helper, a[0], a[1], a[2], a[3], a[4], a[5], a[6], NULL };
  struct trampoline t = { helper, argv, memfd, len, 0 };
  const size_t stack_size = 256 << 10;
  void *stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) { close(memfd); return LOCKER_NO_HELPER; }
  /* No handler of the caller may run in the child that shares its memory: every signal blocked
   * until it has exec'd (locker-nsexec's child then resets them all, as child() does). */
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  int tramp = clone(trampoline, (char *)stack + stack_size, CLONE_VM | CLONE_VFORK | SIGCHLD, &t);
  sigprocmask(SIG_SETMASK, &old, NULL);
  munmap(stack, stack_size);
  int status;
  if (tramp < 0 || t.err) {
    if (tramp > 0) while (waitpid(tramp, &status, 0) < 0 && errno == EINTR) {}
    close(memfd);
    return LOCKER_NO_HELPER;
  }
  *memfd_out = memfd;
  return tramp;
}

/* The second half: the container's pid (the caller's child), or -errno. */
int64_t locker_spawn_exec_finish(int helper_pid, int memfd, uint32_t len) {
  int status;
  while (waitpid(helper_pid, &status, 0) < 0 && errno == EINTR) {}
  int64_t answer = 0;
  ssize_t got = pread(memfd, &answer, sizeof answer, (off_t)len + FD_BITMAP);
  close(memfd);
  if (got != (ssize_t)sizeof answer || answer == 0) return -ECHILD; /* locker-nsexec died before it answered */
  return answer;
}

#ifdef LOCKER_NSEXEC_MAIN
/* locker-nsexec MEMFD LEN NOPS REPORT_FD FLAGS CGROUP_FD PARENT_PID, started by locker_spawn_exec. */
int main(int argc, char **argv) {
  if (argc != 8) return 127;
  int memfd = atoi(argv[1]), report_fd = atoi(argv[4]), cgroup_fd = atoi(argv[6]);
  uint32_t len = (uint32_t)strtoul(argv[2], NULL, 10), nops = (uint32_t)strtoul(argv[3], NULL, 10);
  uint64_t clone_flags = strtoull(argv[5], NULL, 10);
  /* Dies with its caller, and never clones for one that died already. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != (pid_t)atoi(argv[7])) return 127;
  uint8_t *prog = malloc((size_t)len + FD_BITMAP);
  if (!prog) return 127;
  size_t done = 0;
  while (done < (size_t)len + FD_BITMAP) {
    ssize_t r = pread(memfd, prog + done, (size_t)len + FD_BITMAP - done, (off_t)done);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return 127;
    done += (size_t)r;
  }
  const uint8_t *bits = prog + len;
  for (int fd = 0; fd < FD_BITS; fd++) if (bits[fd / 8] & (1u << (fd % 8))) fcntl(fd, F_SETFD, FD_CLOEXEC);
  struct op *ops = calloc(nops ? nops : 1, sizeof *ops);
  if (!ops || decode(prog, len, ops, nops)) return 127;
  long pid;
  if (cgroup_fd >= 0) {
    /* CLONE_PARENT takes no exit_signal of its own: the child's is this process's (SIGCHLD). */
    struct clone3_args args = { .flags = clone_flags | CLONE_PARENT | CLONE_INTO_CGROUP_FLAG, .cgroup = (uint64_t)cgroup_fd };
    pid = syscall(SYS_clone3, &args, sizeof args);
  } else {
    pid = syscall(SYS_clone, (unsigned long)(clone_flags | CLONE_PARENT | SIGCHLD), NULL, NULL, NULL, 0);
  }
  if (pid == 0) {
    close(memfd);
    child(ops, nops, report_fd);
  }
  int64_t answer = pid < 0 ? -(int64_t)errno : (int64_t)pid;
  return pwrite(memfd, &answer, sizeof answer, (off_t)len + FD_BITMAP) == (ssize_t)sizeof answer ? 0 : 127;
}
#endif
