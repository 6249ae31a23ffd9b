// `locker run`: start a container and stay attached until it ends, exiting with its status.
import { getuid, kill } from '../../../native/libc';
import { syscallLog, type SyscallEntry } from '../../../native/syscall-log';
import { readFileSync } from 'node:fs';
import { parseEnvFile, parseMount, parseVolume } from '../../shared/grammar';
import { SECCOMP_MODES, type Namespace, type PortSpec, type RunSpec, type SeccompMode, type VolumeSpec } from '../../shared/types';
import { parsePublish } from '../../shared/grammar';
import { Runtime } from '../runtime/runtime';
import { defaultNamespaces, parseNamespaceList } from '../runtime/spec';
import { LockerError } from '../runtime/errors';
import { flag, one, parseArgs, type OptionSpec } from './args';
import { attachTerminal } from './attach';
import { importProgressPrinter } from './progress';
import { cliIo, needsOwnProcess, type CliSignal } from './io';
import { containerStdio } from './stdio';

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
  { names: ['publish', 'p'], value: true, repeat: true },
  { names: ['network', 'net'], value: true },
  { names: ['security-opt'], value: true, repeat: true },
  { names: ['volume', 'v'], value: true, repeat: true },
  { names: ['mount'], value: true, repeat: true },
  { names: ['cap-add'], value: true, repeat: true },
  { names: ['cap-drop'], value: true, repeat: true },
  { names: ['read-only'], value: false },
  { names: ['user', 'u'], value: true },
  { names: ['init'], value: false },
  { names: ['ulimit'], value: true, repeat: true },
  { names: ['env-file'], value: true, repeat: true },
  { names: ['privileged'], value: false },
  { names: ['rm'], value: false },
  { names: ['keep'], value: false },
  { names: ['detach', 'd'], value: false },
  { names: ['trace'], value: false },
  { names: ['help'], value: false },
];

export function specFromArgs(argv: string[], rootless: boolean, stdinIsTty: boolean): { spec: RunSpec; keep: boolean; trace: boolean; help: boolean; detach: boolean; rm: boolean } {
  const p = parseArgs(argv, RUN_OPTIONS, 'run');
  if (flag(p, 'tty') && flag(p, 'no-tty')) throw new LockerError('--tty and --no-tty contradict each other; pick one');
  if (flag(p, 'rm') && flag(p, 'keep')) throw new LockerError('--rm and --keep contradict each other; pick one (removal is the default)');
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
  // Detached, a terminal only when asked for (-t), as docker run -d.
  const tty = flag(p, 'tty') ? true : flag(p, 'no-tty') || flag(p, 'detach') ? false : stdinIsTty;
  const spec: RunSpec = {
    command: p.rest, hostname: one(p, 'hostname'), name: one(p, 'name'), env: envFromArgs(p.options.get('env-file') ?? [], p.options.get('env')),
    workdir: one(p, 'workdir'), rootfs: one(p, 'rootfs'), namespaces, tty,
    cols: cliIo().stdout.columns, rows: cliIo().stdout.rows,
    memory: one(p, 'memory'), cpus: one(p, 'cpus'), pidsLimit: one(p, 'pids-limit'),
    seccomp: seccompFromSecurityOpts(p.options.get('security-opt') ?? []),
    publish: publishFromArgs(p.options.get('publish') ?? []), network: one(p, 'network') as RunSpec['network'],
    volumes: volumesFromArgs(p.options.get('volume') ?? [], p.options.get('mount') ?? []),
    capAdd: p.options.get('cap-add'), capDrop: p.options.get('cap-drop'), readOnly: flag(p, 'read-only') || undefined,
    user: one(p, 'user'), init: flag(p, 'init') || undefined, ulimits: p.options.get('ulimit'), privileged: flag(p, 'privileged') || undefined,
  };
  return { spec, keep: flag(p, 'keep'), trace: flag(p, 'trace'), help: flag(p, 'help'), detach: flag(p, 'detach'), rm: flag(p, 'rm') };
}

/** Served, the client's working directory and TERM (RunOptions.caller); else this process's. */
function callerOf(): { cwd: string; term?: string } | undefined {
  const io = cliIo();
  return io.served ? { cwd: io.cwd, term: io.env.TERM } : undefined;
}

const relativePath = (path: string | undefined): boolean => path !== undefined && !path.startsWith('/');

/** --env-file files (docker's format, shared grammar) first, then -e on top, as docker orders them. */
export function envFromArgs(files: string[], env: string[] | undefined): string[] | undefined {
  const fromFiles = files.flatMap((file) => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new LockerError(`--env-file ${JSON.stringify(file)}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}; give a file of VAR=VALUE lines`);
    }
    const r = parseEnvFile(text, `--env-file ${file}`, cliIo().env);
    if (!r.ok) throw new LockerError(r.problem);
    return r.value;
  });
  const all = [...fromFiles, ...(env ?? [])];
  return all.length ? all : undefined;
}

/** -p, through the shared grammar (a range gives one port each); one line for the first that is wrong. */
function publishFromArgs(values: string[]): PortSpec[] | undefined {
  const ports = values.flatMap((text) => {
    const r = parsePublish(text);
    if (!r.ok) throw new LockerError(r.problem);
    return r.value;
  });
  return ports.length ? ports : undefined;
}

/** -v and --mount, through the shared grammar; one line for the first that is wrong. */
function volumesFromArgs(volumes: string[], mounts: string[]): VolumeSpec[] | undefined {
  const parsed = [...volumes.map(parseVolume), ...mounts.map(parseMount)].map((r) => {
    if (!r.ok) throw new LockerError(r.problem);
    return r.value;
  });
  return parsed.length ? parsed : undefined;
}

/** `--security-opt seccomp=unconfined|default`, as docker run spells it; one line for anything else. */
export function seccompFromSecurityOpts(opts: string[]): SeccompMode | undefined {
  let mode: SeccompMode | undefined;
  for (const opt of opts) {
    const m = /^seccomp[=:](.*)$/.exec(opt);
    if (!m) throw new LockerError(`--security-opt ${JSON.stringify(opt.slice(0, 60))} is not supported; the one Locker knows is seccomp=unconfined (no-new-privileges is always on)`);
    if (!(SECCOMP_MODES as readonly string[]).includes(m[1])) {
      throw new LockerError(`--security-opt seccomp=${m[1].slice(0, 60)}: profile files are not supported; use seccomp=unconfined, or leave it out for Docker's default profile`);
    }
    mode = m[1] as SeccompMode;
  }
  return mode;
}

/** Said on stderr by every --privileged run: what the flag gives away. */
export const PRIVILEGED_WARNING = 'locker: warning: --privileged gives this container every capability, no seccomp filter, unmasked /proc and writable /sys, and the host\'s devices: its root can take over the host. Use it only for code you trust.';

export function formatTrace(e: SyscallEntry): string {
  const res = e.errno ? `${e.result} ${e.errno}` : String(e.result);
  return `[${e.where === 'child' ? 'child' : 'host '}] ${e.name}(${e.args}) = ${res}`;
}

export async function runCommand(argv: string[]): Promise<number> {
  // Served (server.ts), a relative --env-file or --rootfs is read from the client's working
  // directory, a terminal and the syscall log are a CLI process's own: those run with Node.
  if (argv.some((a, i) => (a === '--env-file' && relativePath(argv[i + 1])) || relativePath(/^--env-file=(.*)$/.exec(a)?.[1]))) needsOwnProcess();
  const { spec, keep, trace, help, detach: background, rm } = specFromArgs(argv, getuid() !== 0, cliIo().stdinIsTTY);
  if (spec.tty || trace || relativePath(spec.rootfs)) needsOwnProcess();
  if (help) {
    cliIo().stdout.write(RUN_HELP);
    return 0;
  }
  if (spec.privileged) cliIo().stderr.write(`${PRIVILEGED_WARNING}\n`);
  if (background) return runDetached(spec, trace, rm);
  const rt = new Runtime({ autoRemove: !keep });
  if (trace) syscallLog.subscribe((e) => cliIo().stderr.write(formatTrace(e) + '\n'));
  // Handlers go in before the container starts, instead of a signal killing this process and
  // orphaning the container: one during the rootfs import or the container's setup ends the launch
  // (tar or the half-made container killed, nothing kept); one after it is passed on to the PID.
  let pid: number | undefined;
  const pending: number[] = [];
  const interrupted = new AbortController();
  const forward = (sig: CliSignal, n: number): void =>
    cliIo().onSignal(sig, () => (pid === undefined ? (pending.push(n), interrupted.abort()) : kill(pid, n, 3)));
  forward('SIGTERM', 15);
  forward('SIGHUP', 1);
  forward('SIGQUIT', 3);
  if (!spec.tty) forward('SIGINT', 2);
  // Served (server.ts): the CLI that asked died, which would have ended the container with it.
  cliIo().onGone(() => (pid === undefined ? (pending.push(9), interrupted.abort()) : kill(pid, 9, 3)));
  const stdio = spec.tty ? undefined : containerStdio();
  let handle;
  try {
    handle = await rt.run(spec, {
      stdio: stdio?.fds, signal: interrupted.signal, caller: callerOf(), releaseNetworkLater: cliIo().served, onImportProgress: importProgressPrinter(),
      onNote: (line) => cliIo().stderr.write(`locker: ${line}\n`),
    });
  } catch (e) {
    if (!(interrupted.signal.aborted && e instanceof LockerError)) throw e;
    cliIo().stderr.write(`locker: ${e.message}\n`);
    return 128 + pending[0];
  } finally {
    stdio?.close();
  }
  pid = handle.info.pid;
  for (const n of pending) kill(pid, n, 3);
  const detach = handle.terminal ? attachTerminal(handle.terminal) : undefined;
  const info = await handle.exited;
  if (info.oomKilled) cliIo().stderr.write(`locker: the container hit its memory limit and the kernel's OOM killer ended a process\n`);
  await detach?.();
  return info.exitCode ?? 0;
}

/** run -d: the container's monitor owns it from the start (runtime/detach); print the id and return. */
async function runDetached(spec: RunSpec, trace: boolean, rm: boolean): Promise<number> {
  // Kept after it exits, as docker keeps a -d container: its status and logs stay until rm; with
  // --rm its monitor removes it when it exits (its exit command), as docker run -d --rm.
  const rt = new Runtime({ autoRemove: false });
  if (trace) syscallLog.subscribe((e) => cliIo().stderr.write(formatTrace(e) + '\n'));
  const handle = await rt.run(spec, { detach: true, removeOnExit: rm, caller: callerOf(), onImportProgress: importProgressPrinter(), onNote: (line) => cliIo().stderr.write(`locker: ${line}\n`) });
  cliIo().stdout.write(`${handle.info.id}\n`);
  // Served, the server goes on: the container is its monitor's (it ends and is settled there).
  rt.disown(handle.info.id);
  return 0;
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
  -p, --publish [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp]
                      publish a container port on the host (repeatable): an nftables DNAT rule as
                      root, pasta's socket without root; removed with the container
  --network bridge|none|host
                      bridge (default): eth0 on locker0 with outbound NAT as root, pasta without
                      root; none: loopback only; host: the host's own network (no net namespace)
  --pids-limit N      at most N processes
  --security-opt seccomp=unconfined
                      no seccomp filter (default: Docker's default profile, EPERM for the rest)
  -v, --volume HOST:CONTAINER[:ro][,rslave]
                      bind a host path (absolute, must exist) into the container; ro: read-only;
                      rslave: the host's later mounts under it appear inside (default rprivate) (repeatable)
  --mount type=bind,src=HOST,dst=CONTAINER[,readonly][,bind-propagation=rslave]
                      the same, docker's --mount spelling (repeatable)
  --cap-add CAP, --cap-drop CAP
                      keep or drop a capability from Docker's default set (CHOWN, SYS_ADMIN…, CAP_ optional; ALL)
  -u, --user UID[:GID]|NAME[:GROUP]
                      run the command as this user: names from the image's /etc/passwd and /etc/group
                      (supplementary groups from /etc/group; a bare UID has none)
  --init              a tiny reaper as PID 1 (/dev/init, native/src/init.c): forwards signals to the
                      command, reaps orphans, exits as the command did
  --ulimit NAME=SOFT[:HARD]
                      a resource limit (docker's names: nofile, nproc, core, stack, memlock…; -1 unlimited)
  --env-file FILE     VAR=VALUE lines (docker's format: # comments, no quotes; a bare VAR comes from your env)
  --privileged        every capability, no seccomp, no masked /proc paths, writable /sys, the host's
                      devices; a warning is printed (the container's root can take over the host)
  --rm                remove the container when it exits: the default without -d; with -d its monitor
                      removes it (log, cgroup, network, files), as docker run -d --rm
  --read-only         the rootfs read-only (/tmp, /dev, /dev/shm and volumes stay writable)
  --keep              keep the container's record after it exits (locker ps shows its status)
  -d, --detach        run in the background: print the id and return; the container keeps running,
                      its output in locker logs, its terminal (with -t) behind locker attach; kept
                      after it exits (locker start -a, cp, logs) until locker rm, unless --rm
  --trace             print every syscall the runtime makes to stderr
`;
