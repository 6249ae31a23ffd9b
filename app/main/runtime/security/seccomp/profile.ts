// The default seccomp profile: the same policy as Docker's (moby's profiles/seccomp/default.json,
// io_uring removed as moby did in 2023), written as data. Everything not allowed here fails with
// EPERM. Rules that name capabilities are decided against the container's capability set when the
// filter is compiled, so a container keeping Docker's default 14 capabilities gets exactly what a
// default `docker run` gets. Only 64-bit x86_64 and aarch64 names appear: Locker builds a filter
// for the machine's own architecture and refuses the others (32-bit, x32) outright.
import type { CapName } from '../capabilities';

export const EPERM = 1;
export const ENOSYS = 38;

/**
 * A comparison of one syscall argument, as libseccomp's SCMP_CMP_* operators: of all 64 bits, or
 * with `word32` of the low 32 only, for an `int` argument the kernel truncates (a filter comparing
 * 64 bits would let socket(0x100000028) through as "greater than 40", and the kernel would make an
 * AF_VSOCK socket).
 */
export type ArgTest =
  | { index: number; op: 'EQ' | 'NE' | 'LT' | 'LE' | 'GT' | 'GE'; value: bigint; word32?: boolean }
  /** (arg & mask) == value: SCMP_CMP_MASKED_EQ (in OCI JSON, `value` is the mask and `valueTwo` the datum). */
  | { index: number; op: 'MASKED_EQ'; mask: bigint; value: bigint; word32?: boolean };

export type Action = 'allow' | { errno: number };

export interface Rule {
  names: readonly string[];
  action: Action;
  /** All must hold (AND); rules for the same syscall are alternatives (OR). */
  args?: readonly ArgTest[];
  /** The rule applies only when the container keeps every one of these capabilities. */
  ifCaps?: readonly CapName[];
  /** The rule applies only when the container lacks all of these. */
  unlessCaps?: readonly CapName[];
}

export interface Profile {
  name: string;
  defaultErrno: number;
  rules: readonly Rule[];
}

const allow = (names: readonly string[], more: Omit<Rule, 'names' | 'action'> = {}): Rule => ({ names, action: 'allow', ...more });
const withCap = (cap: CapName, names: readonly string[]): Rule => allow(names, { ifCaps: [cap] });

/** Every CLONE_NEW* flag clone(2) takes: NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET. */
export const CLONE_NEW_MASK = 0x7e020000n;
const AF_ALG = 38n;
const AF_NFC = 39n;
const AF_VSOCK = 40n;

const RULES: Rule[] = [
  // Files, directories and their metadata: what every program does; the kernel's own permission
  // checks (and the capability set) guard them.
  allow([
    'access', 'faccessat', 'faccessat2', 'chdir', 'fchdir', 'getcwd', 'chmod', 'fchmod', 'fchmodat', 'fchmodat2',
    'chown', 'fchown', 'fchownat', 'lchown', 'open', 'openat', 'openat2', 'creat', 'close', 'close_range',
    'read', 'readv', 'pread64', 'preadv', 'preadv2', 'write', 'writev', 'pwrite64', 'pwritev', 'pwritev2',
    'lseek', 'readahead', 'fadvise64', 'fallocate', 'truncate', 'ftruncate', 'fsync', 'fdatasync', 'sync',
    'syncfs', 'sync_file_range', 'flock', 'fcntl', 'dup', 'dup2', 'dup3', 'stat', 'fstat', 'lstat', 'newfstatat',
    'statx', 'statfs', 'fstatfs', 'getdents', 'getdents64', 'mkdir', 'mkdirat', 'mknod', 'mknodat', 'rmdir',
    'link', 'linkat', 'symlink', 'symlinkat', 'unlink', 'unlinkat', 'rename', 'renameat', 'renameat2',
    'readlink', 'readlinkat', 'umask', 'utime', 'utimes', 'utimensat', 'futimesat', 'name_to_handle_at',
    'pipe', 'pipe2', 'copy_file_range', 'sendfile', 'splice', 'tee', 'vmsplice', 'cachestat',
  ]),
  // Extended attributes.
  allow([
    'getxattr', 'lgetxattr', 'fgetxattr', 'getxattrat', 'setxattr', 'lsetxattr', 'fsetxattr', 'setxattrat',
    'listxattr', 'llistxattr', 'flistxattr', 'listxattrat', 'removexattr', 'lremovexattr', 'fremovexattr', 'removexattrat',
  ]),
  // Waiting for files and events; inotify and fanotify_mark (fanotify_init needs CAP_SYS_ADMIN below).
  allow([
    'select', 'pselect6', 'poll', 'ppoll', 'epoll_create', 'epoll_create1', 'epoll_ctl', 'epoll_ctl_old',
    'epoll_wait', 'epoll_wait_old', 'epoll_pwait', 'epoll_pwait2', 'eventfd', 'eventfd2', 'signalfd', 'signalfd4',
    'timerfd_create', 'timerfd_gettime', 'timerfd_settime', 'inotify_init', 'inotify_init1', 'inotify_add_watch',
    'inotify_rm_watch', 'fanotify_mark', 'ioctl',
  ]),
  // Asynchronous I/O (the old aio interface only: io_uring_* is left out, see below).
  allow(['io_setup', 'io_destroy', 'io_submit', 'io_cancel', 'io_getevents', 'io_pgetevents']),
  // Memory. mbind/set_mempolicy come with CAP_SYS_NICE; userfaultfd is absent (it makes kernel
  // races easy to win, the base of many exploits).
  allow([
    'brk', 'mmap', 'munmap', 'mremap', 'mprotect', 'madvise', 'mincore', 'msync', 'mlock', 'mlock2', 'mlockall',
    'munlock', 'munlockall', 'remap_file_pages', 'membarrier', 'memfd_create', 'memfd_secret', 'pkey_alloc',
    'pkey_free', 'pkey_mprotect', 'map_shadow_stack', 'mseal',
  ]),
  // Processes and threads. clone and clone3 have rules of their own below; fork/vfork make no namespaces.
  allow([
    'execve', 'execveat', 'exit', 'exit_group', 'fork', 'vfork', 'wait4', 'waitid', 'kill', 'tkill', 'tgkill',
    'getpid', 'getppid', 'gettid', 'getpgid', 'setpgid', 'getpgrp', 'getsid', 'setsid', 'set_tid_address',
    'set_robust_list', 'get_robust_list', 'futex', 'futex_waitv', 'futex_wake', 'futex_wait', 'futex_requeue',
    'rseq', 'restart_syscall', 'prctl', 'arch_prctl', 'set_thread_area', 'get_thread_area', 'modify_ldt',
    'getrlimit', 'setrlimit', 'prlimit64', 'getrusage', 'getpriority', 'setpriority', 'ioprio_get', 'ioprio_set',
    'sched_yield', 'sched_getaffinity', 'sched_setaffinity', 'sched_getattr', 'sched_setattr', 'sched_getparam',
    'sched_setparam', 'sched_getscheduler', 'sched_setscheduler', 'sched_get_priority_max', 'sched_get_priority_min',
    'sched_rr_get_interval', 'getcpu', 'pidfd_open', 'pidfd_send_signal', 'process_mrelease', 'uretprobe',
  ]),
  // Identity: the kernel checks these against the capability set and the user namespace's maps.
  allow([
    'getuid', 'geteuid', 'getgid', 'getegid', 'getresuid', 'getresgid', 'getgroups', 'setuid', 'setgid', 'setreuid',
    'setregid', 'setresuid', 'setresgid', 'setfsuid', 'setfsgid', 'setgroups', 'capget', 'capset',
  ]),
  // Signals.
  allow([
    'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'rt_sigpending', 'rt_sigsuspend', 'rt_sigtimedwait',
    'rt_sigqueueinfo', 'rt_tgsigqueueinfo', 'sigaltstack', 'pause',
  ]),
  // Clocks and timers: reading them. Setting the clock needs CAP_SYS_TIME below (it is the host's clock).
  allow([
    'clock_gettime', 'clock_getres', 'clock_nanosleep', 'nanosleep', 'gettimeofday', 'time', 'times', 'alarm',
    'getitimer', 'setitimer', 'timer_create', 'timer_delete', 'timer_gettime', 'timer_settime', 'timer_getoverrun',
    'adjtimex', 'clock_adjtime',
  ]),
  // Sockets (socket itself below, without AF_ALG and AF_VSOCK).
  allow([
    'socketpair', 'bind', 'listen', 'accept', 'accept4', 'connect', 'shutdown', 'getsockname', 'getpeername',
    'getsockopt', 'setsockopt', 'sendto', 'sendmsg', 'sendmmsg', 'recvfrom', 'recvmsg', 'recvmmsg',
  ]),
  // System V and POSIX IPC: the container's own, with an ipc namespace.
  allow([
    'msgget', 'msgsnd', 'msgrcv', 'msgctl', 'semget', 'semop', 'semtimedop', 'semctl', 'shmget', 'shmat', 'shmdt',
    'shmctl', 'mq_open', 'mq_unlink', 'mq_timedsend', 'mq_timedreceive', 'mq_notify', 'mq_getsetattr',
  ]),
  // Information about the system, randomness, self-sandboxing (seccomp, landlock).
  allow(['uname', 'sysinfo', 'getrandom', 'seccomp', 'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self']),
  // Mount information (statmount/listmount read the container's own mount namespace).
  allow(['statmount', 'listmount']),
  // Since Linux 4.8 seccomp runs after ptrace, so a tracer cannot rewrite a syscall past the
  // filter: Docker allows ptrace of one's own processes.
  allow(['ptrace', 'process_vm_readv', 'process_vm_writev']),
  // socket(): everything but AF_ALG (38, the kernel's crypto API, a frequent source of bugs) and
  // AF_VSOCK (40, talks to the hypervisor or host outside every network namespace).
  // The family is an int: compared as the kernel reads it (word32), stricter than Docker here.
  allow(['socket'], { args: [{ index: 0, op: 'LT', value: AF_ALG, word32: true }] }),
  allow(['socket'], { args: [{ index: 0, op: 'EQ', value: AF_NFC, word32: true }] }),
  allow(['socket'], { args: [{ index: 0, op: 'GT', value: AF_VSOCK, word32: true }] }),
  // personality(): only PER_LINUX, PER_LINUX32 (8), their UNAME26 variants (0x20000, 0x20008) and
  // the 0xffffffff query. ADDR_NO_RANDOMIZE and friends would turn off the container's ASLR.
  ...[0n, 8n, 0x20000n, 0x20008n, 0xffffffffn].map((v) => allow(['personality'], { args: [{ index: 0, op: 'EQ', value: v }] })),

  // Capability-gated calls: allowed only to a container that keeps the capability.
  withCap('DAC_READ_SEARCH', ['open_by_handle_at']), // reads any file by handle: the "shocker" escape
  // Namespaces, mounts and other host-wide administration.
  withCap('SYS_ADMIN', [
    'bpf', 'clone', 'clone3', 'fanotify_init', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'lookup_dcookie',
    'lsm_get_self_attr', 'lsm_list_modules', 'lsm_set_self_attr', 'mount', 'mount_setattr', 'move_mount', 'open_tree',
    'perf_event_open', 'quotactl', 'quotactl_fd', 'setdomainname', 'sethostname', 'setns', 'syslog', 'umount2', 'unshare',
  ]),
  // Without CAP_SYS_ADMIN: clone only without a CLONE_NEW* flag (no new user namespace, whose root
  // would reach kernel code meant for the host's root) ...
  allow(['clone'], { args: [{ index: 0, op: 'MASKED_EQ', mask: CLONE_NEW_MASK, value: 0n }], unlessCaps: ['SYS_ADMIN'] }),
  // ... and clone3 says ENOSYS: its flags sit in memory a filter cannot read, and ENOSYS makes
  // glibc fall back to clone, which the rule above can check.
  { names: ['clone3'], action: { errno: ENOSYS }, unlessCaps: ['SYS_ADMIN'] },
  withCap('SYS_BOOT', ['reboot']),
  withCap('SYS_CHROOT', ['chroot']),
  withCap('SYS_MODULE', ['init_module', 'finit_module', 'delete_module']),
  withCap('SYS_PACCT', ['acct']),
  withCap('SYS_PTRACE', ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace']),
  withCap('SYS_RAWIO', ['iopl', 'ioperm']),
  withCap('SYS_TIME', ['settimeofday', 'clock_settime']),
  withCap('SYS_TTY_CONFIG', ['vhangup']),
  withCap('SYS_NICE', ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node']),
  withCap('SYSLOG', ['syslog']),
  withCap('BPF', ['bpf']),
  withCap('PERFMON', ['perf_event_open']),
  // Never allowed, whatever the capabilities (named here only to say so; the default denies them):
  // keyctl/add_key/request_key (the kernel keyring is not namespaced), userfaultfd, kexec_load,
  // kexec_file_load, pivot_root, swapon/swapoff, io_uring_setup/enter/register (io_uring runs
  // operations the filter never sees, and its bugs have broken out of containers).
];

export const NEVER_ALLOWED = [
  'keyctl', 'add_key', 'request_key', 'userfaultfd', 'kexec_load', 'kexec_file_load', 'pivot_root', 'swapon',
  'swapoff', 'io_uring_setup', 'io_uring_enter', 'io_uring_register',
] as const;

export const DOCKER_DEFAULT: Profile = { name: 'docker-default', defaultErrno: EPERM, rules: RULES };
