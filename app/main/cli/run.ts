// `locker run`: start a container and stay attached until it ends, exiting with its status.
import { getuid, kill } from '../../../native/libc';
import { syscallLog, type SyscallEntry } from '../../../native/syscall-log';
import type { Namespace, RunSpec } from '../../shared/types';
import { Runtime } from '../runtime/runtime';
import { defaultNamespaces, parseNamespaceList } from '../runtime/spec';
import { LockerError } from '../runtime/errors';
import { flag, one, parseArgs, type OptionSpec } from './args';
import { attachTerminal } from './attach';

export const RUN_OPTIONS: OptionSpec[] = [
  { names: ['hostname', 'h'], value: true },
  { names: ['name'], value: true },
  { names: ['env', 'e'], value: true, repeat: true },
  { names: ['workdir', 'w'], value: true },
  { names: ['rootfs'], value: true },
  { names: ['ns'], value: true },
  { names: ['no-ns'], value: true },
  { names: ['tty', 't'], value: false },
  { names: ['no-tty'], value: false },
  { names: ['interactive', 'i'], value: false },
  { names: ['memory', 'm'], value: true },
  { names: ['cpus'], value: true },
  { names: ['pids-limit'], value: true },
  { names: ['keep'], value: false },
  { names: ['trace'], value: false },
  { names: ['help'], value: false },
];

export function specFromArgs(argv: string[], rootless: boolean, stdinIsTty: boolean): { spec: RunSpec; keep: boolean; trace: boolean; help: boolean } {
  const p = parseArgs(argv, RUN_OPTIONS, 'run');
  if (flag(p, 'tty') && flag(p, 'no-tty')) throw new LockerError('--tty and --no-tty contradict each other; pick one');
  let namespaces: Namespace[] | undefined;
  const ns = one(p, 'ns');
  if (ns !== undefined) {
    namespaces = parseNamespaceList(ns, '--ns');
    if (rootless && !namespaces.includes('user')) namespaces.push('user');
  }
  const noNs = one(p, 'no-ns');
  if (noNs !== undefined) {
    const drop = parseNamespaceList(noNs, '--no-ns');
    namespaces = (namespaces ?? defaultNamespaces(rootless)).filter((n) => !drop.includes(n));
  }
  const tty = flag(p, 'tty') ? true : flag(p, 'no-tty') ? false : stdinIsTty;
  const spec: RunSpec = {
    command: p.rest, hostname: one(p, 'hostname'), name: one(p, 'name'), env: p.options.get('env'),
    workdir: one(p, 'workdir'), rootfs: one(p, 'rootfs'), namespaces, tty,
    cols: process.stdout.columns, rows: process.stdout.rows,
    memory: one(p, 'memory'), cpus: one(p, 'cpus'), pidsLimit: one(p, 'pids-limit'),
  };
  return { spec, keep: flag(p, 'keep'), trace: flag(p, 'trace'), help: flag(p, 'help') };
}

export function formatTrace(e: SyscallEntry): string {
  const res = e.errno ? `${e.result} ${e.errno}` : String(e.result);
  return `[${e.where === 'child' ? 'child' : 'host '}] ${e.name}(${e.args}) = ${res}`;
}

export async function runCommand(argv: string[]): Promise<number> {
  const { spec, keep, trace, help } = specFromArgs(argv, getuid() !== 0, !!process.stdin.isTTY);
  if (help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  const rt = new Runtime({ autoRemove: !keep });
  if (trace) syscallLog.subscribe((e) => process.stderr.write(formatTrace(e) + '\n'));
  // Handlers go in before the container starts: a signal that arrives meanwhile is passed on
  // once its PID is known, instead of killing this process and orphaning the container.
  let pid: number | undefined;
  const pending: number[] = [];
  const forward = (sig: NodeJS.Signals, n: number): void =>
    void process.on(sig, () => (pid === undefined ? pending.push(n) : kill(pid, n, 3)));
  forward('SIGTERM', 15);
  forward('SIGHUP', 1);
  forward('SIGQUIT', 3);
  if (!spec.tty) forward('SIGINT', 2);
  const handle = await rt.run(spec);
  pid = handle.info.pid;
  for (const n of pending) kill(pid, n, 3);
  const detach = handle.terminal ? attachTerminal(handle.terminal) : undefined;
  const info = await handle.exited;
  if (info.oomKilled) process.stderr.write(`locker: the container hit its memory limit and the kernel's OOM killer ended a process\n`);
  await detach?.();
  return info.exitCode ?? 0;
}

export const RUN_HELP = `Usage: locker run [OPTIONS] [--] COMMAND [ARG...]

Run COMMAND in a new container (default rootfs: the embedded busybox one).

Options:
  --hostname NAME     hostname inside (default: the container id)
  --name NAME         a name for locker ps/exec/stop
  -e, --env K=V       add an environment variable (repeatable)
  -w, --workdir DIR   working directory inside
  --rootfs DIR|TAR    a directory, or a tar/tar.gz such as docker export output (imported once, cached)
  --ns LIST           exactly these namespaces: pid,uts,mnt,user,ipc,net,cgroup (none: a plain process)
  --no-ns LIST        all default namespaces but these
  -t, --tty / --no-tty  give the container a terminal (default: when stdin is one)
  -m, --memory SIZE   memory limit, e.g. 64m (cgroup v1 or v2)
  --cpus N            CPU time limit in CPUs, e.g. 0.5
  --pids-limit N      at most N processes
  --keep              keep the container's record after it exits (locker ps shows its status)
  --trace             print every syscall the runtime makes to stderr
`;
