// One plain-English sentence per syscall record of a container launch, for the syscall log and the
// kernel picture during step-through: what the call changed, said the way a teacher would. Pure:
// the renderer and the tests share it. Arguments are parsed from the log's own text (native/*.ts
// formats them), so an unknown shape falls back to a neutral sentence instead of a wrong one.
import type { SyscallRecord } from './api';

export type SentenceInput = Pick<SyscallRecord, 'where' | 'name' | 'args' | 'result' | 'errno' | 'inferred'>;

const NS_WORDS: Record<string, string> = {
  CLONE_NEWNS: 'mount', CLONE_NEWUTS: 'UTS', CLONE_NEWIPC: 'IPC', CLONE_NEWPID: 'PID', CLONE_NEWNET: 'network',
  CLONE_NEWUSER: 'user', CLONE_NEWCGROUP: 'cgroup', CLONE_NEWTIME: 'time',
};

/** The namespace words named by a flag list such as `CLONE_NEWNS|CLONE_NEWUTS|SIGCHLD`. */
export function namespacesInFlags(flags: string): string[] {
  return flags.split(/[|,\s]+/).map((f) => NS_WORDS[f]).filter((w): w is string => !!w);
}

/** The quoted strings and bare fields of an argument list, in order (`"a", NULL, 3` → ['a', 'NULL', '3']). */
export function splitArgs(args: string): string[] {
  const out: string[] = [];
  let cur = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < args.length; i++) {
    const ch = args[i];
    if (quoted) {
      cur += ch;
      if (ch === '\\') cur += args[++i] ?? '';
      else if (ch === '"') quoted = false;
    } else if (ch === '"') {
      quoted = true;
      cur += ch;
    } else if (ch === '{' || ch === '[') {
      depth++;
      cur += ch;
    } else if (ch === '}' || ch === ']') {
      depth--;
      cur += ch;
    } else if (ch === ',' && depth === 0) {
      out.push(field(cur));
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (cur.trim() !== '' || out.length > 0) out.push(field(cur));
  return out;
}

function field(raw: string): string {
  const t = raw.trim();
  return t.length >= 2 && t.startsWith('"') && t.endsWith('"') ? unquote(t.slice(1, -1)) : t;
}

function unquote(s: string): string {
  try {
    return JSON.parse(`"${s}"`) as string;
  } catch {
    return s;
  }
}

function list(words: string[]): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/** A mount target as logged: a path, or `/proc/self/fd/rootfs/dev` (an opened fd, named by its label). */
function target(t: string | undefined): string {
  if (!t) return '?';
  const fd = /^\/proc\/self\/fd\/rootfs(\/.*)?$/.exec(t);
  return fd ? `the image's ${fd[1] ?? '/'}` : t;
}

/** "lowerdir=/a:/b,upperdir=/u,workdir=/w" → its fields. */
export function overlayFields(data: string): { lower: string[]; upper?: string; work?: string } {
  const out: { lower: string[]; upper?: string; work?: string } = { lower: [] };
  for (const kv of data.split(',')) {
    const [k, v = ''] = kv.split('=', 2) as [string, string?];
    if (k === 'lowerdir') out.lower = v.split(':').filter(Boolean);
    if (k === 'upperdir') out.upper = v;
    if (k === 'workdir') out.work = v;
  }
  return out;
}

function mountSentence(a: string[]): string {
  const [source, tgt, fstype, flags = ''] = a;
  const data = a.slice(4).join(', ');
  const where = target(tgt);
  if (source === 'NULL' && tgt === '/' && /MS_PRIVATE/.test(flags)) return 'every mount is made private: nothing mounted in the container propagates back to the host';
  if (fstype === 'overlay') {
    const o = overlayFields(data);
    return `the image (${o.lower.join(', ') || 'lower layer'}) becomes the read-only lower layer of an overlay at ${where}; every write goes to the upper layer ${o.upper ?? ''}`.trim();
  }
  if (/MS_REMOUNT/.test(flags)) return `${where} is made ${/MS_RDONLY/.test(flags) ? 'read-only' : 'remounted'}`;
  if (/MS_BIND/.test(flags) && source === tgt) return `${where} is bind-mounted onto itself, so that it can be made read-only`;
  if (/MS_BIND/.test(flags)) return `the host's ${source} is bind-mounted at ${where}`;
  if (fstype === 'proc') return `a fresh /proc at ${where}: it shows the processes of the container's PID namespace`;
  if (fstype === 'sysfs') return `/sys is mounted at ${where}${/MS_RDONLY/.test(flags) ? ', read-only' : ''}`;
  if (fstype === 'devpts') return `a private devpts at ${where}: the container's own pseudo-terminals`;
  if (fstype === 'mqueue') return `the container's own POSIX message queues at ${where}`;
  if (fstype === 'tmpfs' && /MS_RDONLY/.test(flags)) return `${where} is hidden under an empty read-only tmpfs`;
  if (fstype === 'tmpfs') return `an empty in-memory filesystem (tmpfs) at ${where}`;
  if (fstype === 'cgroup' || fstype === 'cgroup2') return `the container's cgroup tree is mounted at ${where}`;
  return `${source} (${fstype}) is mounted at ${where}`;
}

function failure(r: SentenceInput, a: string[]): string {
  const errno = r.errno ?? 'an error';
  if (r.name === 'mkdirat' && r.errno === 'EEXIST') return `${a[1] ?? 'the directory'} is already in the image (fine: it is used as it is)`;
  if (r.name === 'mknodat' && r.errno === 'EEXIST') return `${a[1] ?? 'the file'} is already in the image (fine: the bind mount covers it, and it is never opened)`;
  if (r.name === 'mount' && r.errno === 'ENOENT') return `${target(a[1])} does not exist on this kernel: nothing to hide or protect there`;
  if (r.name === 'read' && r.where === 'child' && r.errno === 'EPIPE') return 'the step pipe was closed (Cancel): the setup process exits before its next call, and nothing is started';
  if (r.name === 'execve') return `the program could not be started: ${errno}`;
  return `${r.name} failed with ${errno}${r.where === 'child' ? '; the setup stops here unless the plan allows this error' : ''}`;
}

/** What one logged call did, in one sentence. */
export function explainSyscall(r: SentenceInput): string {
  const a = splitArgs(r.args);
  if (r.errno && r.errno !== '' && !(r.name === 'setsid' || r.name === 'dup2')) return failure(r, a);
  switch (r.name) {
    case 'clone': {
      const ns = namespacesInFlags(r.args);
      const cgroup = /CLONE_INTO_CGROUP/.test(r.args) ? ' inside the container\'s cgroup' : '';
      const born = `a new process (host PID ${r.result}) is born${cgroup}`;
      return ns.length ? `${born} in new ${list(ns)} namespaces; it waits on a pipe for the host's part of its setup` : `${born}, sharing every namespace with the host`;
    }
    case 'unshare': {
      const ns = namespacesInFlags(r.args);
      // The runtime's namespace thread, making the next container's network ahead (spare.ts).
      if (r.where === 'host') return `a worker thread of the runtime makes a new ${list(ns) || ''} namespace ahead of the container, held open by an fd after the thread goes back`;
      return `the process leaves the host's ${list(ns) || 'shared'} namespace${ns.length > 1 ? 's' : ''} for ${ns.length > 1 ? 'new ones' : 'a new one'}`;
    }
    case 'setns':
      if (r.where === 'host') return `the worker thread goes back to the host's ${list(namespacesInFlags(a[1] ?? '')) || a[1] || ''} namespace`;
      return `the process joins the container's ${list(namespacesInFlags(a[1] ?? '')) || a[1] || ''} namespace`;
    case 'write': {
      const file = a[0] ?? '';
      const text = (a[1] ?? '').trim();
      if (/\/uid_map$/.test(file) || /\/gid_map$/.test(file)) {
        const kind = file.endsWith('uid_map') ? 'uid' : 'gid';
        const [inside, outside, count] = text.split(/\s+/);
        return `${kind} ${inside} inside the container is ${kind} ${outside} on the host${count && count !== '1' ? ` (${count} ids from there)` : ''}`;
      }
      if (/\/setgroups$/.test(file)) return 'setgroups is denied in the new user namespace (an unprivileged map requires it)';
      // The child's own write names the file its parent opened (`7</sys/fs/cgroup/…/tasks>`) and moves itself.
      if (/(cgroup\.procs|\/tasks)>?$/.test(file)) return `${r.where === 'child' ? 'the process moves itself into' : 'the child joins'} its cgroup: its limits apply from now on`;
      return `writes ${text ? JSON.stringify(text) : 'data'} to ${file}`;
    }
    case 'mount':
      return mountSentence(a);
    case 'umount2':
      return a[0] === '.' ? "the host's old root, stacked under the image by pivot_root, is detached: the host's files are out of reach" : `${a[0]} is unmounted`;
    case 'pivot_root':
      return a[0] === '.' && a[1] === '.'
        ? "the container's / is now the image; the host's / is stacked under it, then detached"
        : `the container's / is now ${a[0]}; the old root moves to ${a[1]}`;
    case 'chroot':
      return `the process's / is now ${a[0]} (chroot: the old root is still reachable)`;
    case 'chdir':
      return `the working directory is now ${a[0] ?? '?'}`;
    case 'fchdir':
      return `the working directory is now ${a[0] ?? 'the opened directory'}`;
    case 'getcwd':
      return 'checks that the working directory lies inside the new root';
    case 'sethostname':
      return `the container's UTS namespace now calls itself ${a[0] ?? '?'}`;
    case 'setdomainname':
      return `the container's UTS namespace now has the domain name ${a[0] ?? '?'}`;
    case 'setgroups':
      return 'the supplementary groups are dropped';
    case 'setresuid': case 'setuid':
      return `the process becomes uid ${a[0] ?? '?'}`;
    case 'setresgid': case 'setgid':
      return `the process becomes gid ${a[0] ?? '?'}`;
    case 'openat2': case 'openat': case 'open':
      return `opens ${a[1] ?? a[0] ?? 'a file'}${/RESOLVE_IN_ROOT/.test(r.args) ? ' (resolved inside the image, no symlinks followed)' : ''}`;
    case 'mkdirat':
      return `creates the directory ${a[1] ?? '?'} in the image`;
    case 'mknodat':
      return /S_IFREG/.test(r.args) ? `creates the empty file ${a[1] ?? '?'} that a bind mount lands on (made, never opened)` : `creates the device node ${a[1] ?? '?'}`;
    case 'symlinkat':
      return `creates the symlink ${a[2] ?? '?'} → ${a[0] ?? '?'}`;
    case 'close':
      return `closes ${a[0] ?? 'a file descriptor'}`;
    case 'close_range':
      return /CLOEXEC/.test(r.args)
        ? 'every other file descriptor is marked to close at exec: no runtime fd reaches the program'
        : `closes file descriptors ${a[0] ?? '?'} to ${a[1] === '4294967295' ? 'the last' : a[1] ?? '?'} in the setup process: it holds none of the runtime's open`;
    case 'pipe2':
      return 'a pipe between the runtime and the setup process';
    case 'read':
      if (r.where === 'child' && /the rest of the program/.test(r.args)) return 'cloned ahead of the container, it waits here for the rest of its program, sent when a container is run';
      return r.where === 'child' ? "waits for the runtime's go-ahead" : 'reads from a pipe';
    case 'setsid':
      return "a new session: the container's init leads it";
    case 'dup2': {
      const std = ['stdin', 'stdout', 'stderr'][Number(a[1])];
      return std ? `the terminal becomes the program's ${std}` : `fd ${a[0]} is copied to fd ${a[1]}`;
    }
    case 'ioctl':
      if (/TIOCSCTTY/.test(r.args)) return 'the pty becomes the controlling terminal';
      if (/TIOCSWINSZ/.test(r.args)) return 'the terminal size is set';
      return `device control on ${a[0] ?? 'an fd'} (${a[1] ?? ''})`;
    case 'prctl': {
      if (a[0] === 'PR_CAPBSET_DROP') return `${a[1] ?? 'a capability'} leaves the bounding set: no program in the container can ever get it back`;
      if (a[0] === 'PR_SET_NO_NEW_PRIVS') return 'no program run from here can gain privileges (setuid bits stop working)';
      if (a[0] === 'PR_SET_PDEATHSIG') return 'if the runtime dies first, the kernel kills this process';
      return `process setting ${a[0] ?? ''}`;
    }
    case 'capset':
      return "the capabilities are narrowed to Docker's default set";
    case 'seccomp':
      return `the syscall filter is installed${a[2] ? `: ${a[2].replace(/^\{|\}$/g, '')}` : ''}`;
    case 'keyctl':
      return "a fresh session keyring: the host's keys are out of sight";
    case 'fork':
      return `a child (host PID ${r.result}) is forked: it is the first process of the joined PID namespace`;
    case 'waitpid':
      return `the runtime collects process ${a[0] ?? '?'}'s exit status`;
    case 'kill':
      return `signal ${a[1] ?? '?'} is sent to process ${a[0] ?? '?'}`;
    case 'execve':
      if (r.where === 'host') {
        if (/^nsenter --net=/.test(r.args)) return "configures the container's network from inside its network namespace";
        if (/^ip /.test(r.args)) return 'the runtime wires the veth pair to the locker0 bridge on the host';
        return `the runtime runs ${r.args.split(' ')[0]}`;
      }
      return `the program now runs: ${a[0] ?? ''} replaces the setup process${r.inferred ? ' (inferred: execve reports nothing when it succeeds, the report pipe closed on exec)' : ''}`;
    default:
      return `${r.name} returned ${r.result}`;
  }
}
