// A program for the native pre-exec step: the syscalls a new process makes, in order, before execve.
// TypeScript decides every step; native/src/nsexec.c only runs them. Each step keeps a readable
// form so the syscall log and errors can name it.
import { CLONE, MS, MNT, PR, cloneFlagNames, decodeFlags, mountFlagNames } from './constants';

const enum Code {
  MOUNT = 1, UMOUNT2, SETHOSTNAME, PIVOT_ROOT, CHDIR, FCHDIR, CHROOT, MKDIR, MKNOD, SYMLINK, CREAT,
  SETSID, IOCTL, DUP2, CLOSE_RANGE, PRCTL, SETNS, WAIT_FD, FORK, SETRESUID, SETRESGID, SETGROUPS,
  SETDOMAINNAME, CAPSET, EXECVE, FCNTL, GETCWD, UNSHARE,
}

export interface Step {
  code: number;
  okErrno: number;
  n: [number | bigint, number | bigint, number | bigint];
  s: string[];
  /** The call as a person reads it, e.g. `mount("proc", "/proc", "proc", MS_NOSUID, NULL)`. */
  name: string;
  args: string;
}

const q = (s: string | null): string => (s === null ? 'NULL' : JSON.stringify(s));
const nsNames: Record<number, string> = Object.fromEntries(Object.entries(CLONE).map(([k, v]) => [v, 'CLONE_' + k]));

export class Program {
  readonly steps: Step[] = [];

  private add(code: Code, name: string, args: string, n: Step['n'] = [0, 0, 0], s: string[] = [], okErrno = 0): this {
    this.steps.push({ code, okErrno, n, s, name, args });
    return this;
  }

  mount(source: string | null, target: string, fstype: string | null, flags: number, data: string | null = null): this {
    return this.add(Code.MOUNT, 'mount', `${q(source)}, ${q(target)}, ${q(fstype)}, ${mountFlagNames(flags)}, ${q(data)}`,
      [flags, 0, 0], [source ?? '', target, fstype ?? '', data ?? '']);
  }
  umount2(target: string, flags: number): this {
    return this.add(Code.UMOUNT2, 'umount2', `${q(target)}, ${decodeFlags(flags, MNT, 'MNT_')}`, [flags, 0, 0], [target]);
  }
  sethostname(name: string): this {
    return this.add(Code.SETHOSTNAME, 'sethostname', `${q(name)}, ${Buffer.byteLength(name)}`, undefined, [name]);
  }
  pivotRoot(newRoot: string, putOld: string): this {
    return this.add(Code.PIVOT_ROOT, 'pivot_root', `${q(newRoot)}, ${q(putOld)}`, undefined, [newRoot, putOld]);
  }
  chdir(path: string): this {
    return this.add(Code.CHDIR, 'chdir', q(path), undefined, [path]);
  }
  fchdir(fd: number): this {
    return this.add(Code.FCHDIR, 'fchdir', String(fd), [fd, 0, 0]);
  }
  chroot(path: string): this {
    return this.add(Code.CHROOT, 'chroot', q(path), undefined, [path]);
  }
  /** mkdir that accepts an existing directory. */
  mkdir(path: string, mode: number): this {
    return this.add(Code.MKDIR, 'mkdir', `${q(path)}, 0${mode.toString(8)}`, [mode, 0, 0], [path], 17 /* EEXIST */);
  }
  mknod(path: string, mode: number, dev: number): this {
    return this.add(Code.MKNOD, 'mknod', `${q(path)}, 0${mode.toString(8)}, ${dev}`, [mode, dev, 0], [path]);
  }
  symlink(target: string, linkPath: string): this {
    return this.add(Code.SYMLINK, 'symlink', `${q(target)}, ${q(linkPath)}`, undefined, [target, linkPath], 17);
  }
  /** Creates an empty file (a bind-mount target). */
  touch(path: string, mode: number): this {
    return this.add(Code.CREAT, 'open', `${q(path)}, O_CREAT|O_WRONLY, 0${mode.toString(8)}`, [mode, 0, 0], [path]);
  }
  setsid(): this {
    return this.add(Code.SETSID, 'setsid', '');
  }
  ioctl(fd: number, request: number, requestName: string, arg: number): this {
    return this.add(Code.IOCTL, 'ioctl', `${fd}, ${requestName}, ${arg}`, [fd, request, arg]);
  }
  dup2(from: number, to: number): this {
    return this.add(Code.DUP2, 'dup2', `${from}, ${to}`, [from, to, 0]);
  }
  /** Marks every fd from `first` on close-on-exec, so nothing of the runtime leaks past execve. */
  cloexecFrom(first: number): this {
    return this.add(Code.CLOSE_RANGE, 'close_range', `${first}, ~0U, CLOSE_RANGE_CLOEXEC`, [first, 0xffffffff, 4]);
  }
  /** Keeps fd open across execve (Node opens even stdio close-on-exec). */
  keepOnExec(fd: number): this {
    return this.add(Code.FCNTL, 'fcntl', `${fd}, F_SETFD, 0`, [fd, 2 /* F_SETFD */, 0]);
  }
  /** argName shows the argument in the log, e.g. CAP_SYS_ADMIN for PR_CAPBSET_DROP. */
  /** Closes fds first..last in this process only (the parent keeps its copies). */
  closeFds(first: number, last: number): this {
    return this.add(Code.CLOSE_RANGE, 'close_range', `${first}, ${last}, 0`, [first, last, 0]);
  }
  prctl(option: number, arg: number, argName = String(arg)): this {
    const name = Object.entries(PR).find(([, v]) => v === option)?.[0] ?? String(option);
    return this.add(Code.PRCTL, 'prctl', `PR_${name}, ${argName}`, [option, arg, 0]);
  }
  /** Fails with ENOENT when the working directory is outside the root (e.g. reached through an inherited fd). */
  getcwd(): this {
    return this.add(Code.GETCWD, 'getcwd', 'buf, 4096');
  }
  /** Makes the step before this one accept errno `code` as success (e.g. ENOENT for paths a kernel may lack). */
  allowErrno(code: number): this {
    const last = this.steps[this.steps.length - 1];
    if (!last) throw new Error('allowErrno needs a step before it');
    last.okErrno = code;
    return this;
  }
  setns(fd: number, nstype: number): this {
    return this.add(Code.SETNS, 'setns', `${fd}, ${nsNames[nstype] ?? cloneFlagNames(nstype)}`, [fd, nstype, 0]);
  }
  unshare(flags: number): this {
    return this.add(Code.UNSHARE, 'unshare', cloneFlagNames(flags), [flags, 0, 0]);
  }
  /** Blocks until the parent writes one byte to fd (it sets up uid/gid maps meanwhile). */
  waitFor(fd: number): this {
    return this.add(Code.WAIT_FD, 'read', `${fd}, [1 byte], 1`, [fd, 0, 0]);
  }
  /** Continues in a child; the current process waits and mirrors its exit (needed after setns into a PID namespace). */
  fork(): this {
    return this.add(Code.FORK, 'fork', '');
  }
  setresuid(uid: number): this {
    return this.add(Code.SETRESUID, 'setresuid', `${uid}, ${uid}, ${uid}`, [uid, uid, uid]);
  }
  setresgid(gid: number): this {
    return this.add(Code.SETRESGID, 'setresgid', `${gid}, ${gid}, ${gid}`, [gid, gid, gid]);
  }
  clearGroups(): this {
    return this.add(Code.SETGROUPS, 'setgroups', '0, NULL');
  }
  capset(effective: bigint, permitted: bigint, inheritable: bigint): this {
    const hex = (v: bigint): string => '0x' + v.toString(16);
    return this.add(Code.CAPSET, 'capset', `{v3}, {eff=${hex(effective)}, perm=${hex(permitted)}, inh=${hex(inheritable)}}`,
      [effective, permitted, inheritable]);
  }
  execve(path: string, argv: string[], env: string[]): this {
    const blob = (list: string[]): string => list.map((x) => x + '\0').join('');
    return this.add(Code.EXECVE, 'execve', `${q(path)}, ${JSON.stringify(argv)}, [${env.length} vars]`,
      [argv.length, env.length, 0], [path, blob(argv), blob(env)]);
  }

  /** The wire format native/src/nsexec.c decodes. */
  encode(): Buffer {
    const parts: Buffer[] = [];
    for (const step of this.steps) {
      const head = Buffer.alloc(36);
      head.writeUInt32LE(step.code, 0);
      head.writeUInt32LE(step.okErrno, 4);
      step.n.forEach((v, i) => head.writeBigInt64LE(BigInt.asIntN(64, BigInt(v)), 8 + i * 8));
      head.writeUInt32LE(step.s.length, 32);
      parts.push(head);
      for (const str of step.s) {
        const bytes = Buffer.from(str + '\0', 'utf8');
        const len = Buffer.alloc(4);
        len.writeUInt32LE(bytes.length);
        parts.push(len, bytes);
      }
    }
    return Buffer.concat(parts);
  }
}

export { MS, MNT, PR, CLONE };
