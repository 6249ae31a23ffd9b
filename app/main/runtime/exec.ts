// `locker exec`: a new process that joins every namespace of a running container and its root.
import { closeSync, openSync, statSync } from 'node:fs';
import { CLONE, O } from '../../../native/constants';
import { SyscallError } from '../../../native/errors';
import { kill } from '../../../native/libc';
import { Program } from '../../../native/program';
import { spawnProcess } from '../../../native/spawn';
import { findCommand } from './command';
import { sharesNamespace, type NamespaceType } from './inspect/namespaces';
import { LockerError } from './errors';
import type { ExecHandle, ExecOptions } from './handles';
import type { ContainerRecord } from './records';
import { dropPrivileges } from './security/harden';
import { openPty } from './terminal';
import { decodeWaitStatus, waitForExit } from './wait';

// user first: joining it grants the capabilities the other setns calls need; mnt last before the chroot.
const JOIN_ORDER: Array<[NamespaceType, number]> = [
  ['user', CLONE.NEWUSER], ['ipc', CLONE.NEWIPC], ['uts', CLONE.NEWUTS], ['net', CLONE.NEWNET],
  ['pid', CLONE.NEWPID], ['cgroup', CLONE.NEWCGROUP], ['mnt', CLONE.NEWNS],
];

export function execInContainer(r: ContainerRecord, argv: string[], opts: ExecOptions): ExecHandle {
  if (argv.length === 0 || argv[0] === '') throw new LockerError('no command given; e.g. locker exec ID -- /bin/sh');
  if (argv.some((a) => a.includes('\0'))) throw new LockerError('the command contains a NUL byte; remove it');
  const fds: number[] = [];
  const pty = opts.tty ? openPty(opts.cols ?? 80, opts.rows ?? 24) : undefined;
  try {
    const p = new Program();
    const joined: string[] = [];
    for (const [ns, flag] of JOIN_ORDER) {
      if (sharesNamespace(r.pid, ns)) continue;
      const fd = openSync(`/proc/${r.pid}/ns/${ns}`, O.RDONLY | O.CLOEXEC);
      fds.push(fd);
      p.setns(fd, flag);
      joined.push(ns);
    }
    const ownRoot = statSync(`/proc/${r.pid}/root/`).ino !== statSync('/').ino || joined.includes('mnt');
    const workdir = opts.workdir ?? r.workdir;
    if (ownRoot) {
      const rootFd = openSync(`/proc/${r.pid}/root`, O.RDONLY | O.DIRECTORY | O.CLOEXEC);
      fds.push(rootFd);
      p.fchdir(rootFd).chroot('.');
    }
    // getcwd fails when the cwd is outside the container's root (an inherited fd via /proc/self/fd).
    p.chdir(workdir).getcwd();
    if (joined.includes('pid')) p.fork();
    if (joined.includes('user')) p.setresgid(0).setresuid(0);
    if (pty) {
      p.setsid();
      for (const fd of [0, 1, 2]) p.dup2(pty.slaveFd, fd);
      p.ioctl(0, 0x540e, 'TIOCSCTTY', 0);
    } else {
      for (const fd of [0, 1, 2]) p.keepOnExec(fd);
    }
    p.prctl(1 /* PR_SET_PDEATHSIG */, 9);
    p.cloexecFrom(3);
    // The same capability bounding set and no_new_privs as the container's init.
    dropPrivileges(p);
    const env = [...r.env.filter((e) => !(opts.env ?? []).some((o) => o.split('=', 1)[0] === e.split('=', 1)[0])), ...(opts.env ?? [])];
    const path = env.find((e) => e.startsWith('PATH='))?.slice(5);
    const executable = findCommand(`/proc/${r.pid}/root`, argv[0], path, workdir);
    p.execve(executable, argv, env);
    let spawned;
    try {
      spawned = spawnProcess({ flags: 0, program: p });
    } catch (e) {
      if (e instanceof SyscallError && e.syscall === 'getcwd') {
        throw new LockerError(`--workdir ${workdir} leads outside the container's root (through an inherited file descriptor?); pick a directory inside the container`);
      }
      throw e;
    }
    pty?.releaseSlave();
    const target = spawned.innerPid ?? spawned.pid;
    const exited = waitForExit(spawned.pid).then((s) => decodeWaitStatus(s).exitCode);
    return { pid: target, terminal: pty?.handle, exited, kill: (sig = 15) => void kill(target, sig, 3) };
  } catch (e) {
    pty?.handle.close();
    throw e;
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}
