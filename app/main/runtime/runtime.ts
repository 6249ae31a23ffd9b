// The container runtime: spec → plan → native step → process, with records on disk. Plain Node:
// the CLI, the Electron main process and web mode all use this class.
import { randomBytes } from 'node:crypto';
import { lstatSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname as hostHostname } from 'node:os';
import { SyscallError } from '../../../native/errors';
import { getgid, getuid, kill } from '../../../native/libc';
import { spawnProcess, spawnProcessStepwise } from '../../../native/spawn';
import type { Stepper } from '../../../native/stepper';
import { syscallLog } from '../../../native/syscall-log';
import type { ContainerInfo, DirListing, Inspection, RunSpec } from '../../shared/types';
import { DEFAULT_PATH, findCommand } from './command';
import { dataDir as defaultDataDir, imagesDir } from './data-dir';
import { LockerError } from './errors';
import type { ContainerHandle, ContainerRuntime, ExecHandle, ExecOptions, RunOptions, TerminalHandle } from './handles';
import { copyLayer, overlayLayer, removeLayer } from './layer';
import { ROOTFUL_USERNS_BASE, buildPlan, formatIdMap, type Layer, type Plan, type PlanInput } from './plan';
import { RecordStore, processStartTime, type ContainerRecord } from './records';
import { emptyReport, recover, type RecoveryReport } from './recovery';
import { resolveRootfs } from './rootfs/resolve';
import { validateSpec, type ValidSpec } from './spec';
import { openPty } from './terminal';
import { assertUserNamespaces, explainCloneFailure } from './userns';
import { decodeWaitStatus, waitForExit } from './wait';
import { execInContainer } from './exec';
import { createCgroup, hasLimits, openCgroup, type Cgroup } from './cgroups';
import { HOST_NOTE, interfaces, setupNetwork, teardownNetwork } from './network';
import type { NetworkInfo } from '../../shared/types';
import { inspectContainerAsync, listDirectory } from './inspect';

export type { RunOptions } from './handles';

export interface RuntimeOptions {
  dataDir?: string;
  /** Remove a container's record as soon as it exits (the CLI's `run` default). */
  autoRemove?: boolean;
}

interface Live {
  record: ContainerRecord;
  cgroup?: Cgroup;
  terminal?: TerminalHandle;
  exited: Promise<ContainerInfo>;
}

function publicInfo(r: ContainerRecord): ContainerInfo {
  const { pidStartTime: _s, ownerPid: _o, env: _e, workdir: _w, ...info } = r;
  return info;
}

export function defaultEnv(v: ValidSpec, hostname: string): string[] {
  const base = [`PATH=${DEFAULT_PATH}`, 'HOME=/root', `HOSTNAME=${hostname}`, `TERM=${v.tty ? 'xterm-256color' : process.env.TERM || 'dumb'}`];
  if (v.namespaces.includes('mnt')) base.push('PS1=\\u@\\h:\\w\\$ ');
  const keys = new Set(v.env.map((e) => e.split('=', 1)[0]));
  return [...base.filter((e) => !keys.has(e.split('=', 1)[0])), ...v.env];
}

export class Runtime implements ContainerRuntime {
  readonly dataRoot: string;
  readonly store: RecordStore;
  readonly rootless = getuid() !== 0;
  private readonly live = new Map<string, Live>();
  private readonly listeners = new Set<(c: ContainerInfo[]) => void>();
  private readonly execPids = new Map<string, Set<number>>();
  private readonly autoRemove: boolean;
  /** What a crashed runtime left in this data dir, cleaned up at construction (recovery.ts). */
  readonly recovered: Promise<RecoveryReport>;

  constructor(opts: RuntimeOptions = {}) {
    this.dataRoot = opts.dataDir ?? defaultDataDir();
    this.store = new RecordStore(this.dataRoot);
    this.autoRemove = opts.autoRemove ?? false;
    this.recovered = recover(this.dataRoot, this.store).catch((e: Error) => ({ ...emptyReport(), errors: [e.message] }));
  }

  async run(spec: RunSpec, opts: RunOptions = {}): Promise<ContainerHandle> {
    return this.start(validateSpec(spec, this.rootless), opts.stepper);
  }

  private newId(): string {
    for (;;) {
      const id = randomBytes(6).toString('hex');
      if (!this.store.load(id)) return id;
    }
  }

  private async start(v: ValidSpec, stepper?: Stepper): Promise<ContainerHandle> {
    if (v.namespaces.includes('user')) assertUserNamespaces(this.rootless);
    if (v.name && this.list().some((c) => c.name === v.name)) {
      throw new LockerError(`a container named "${v.name}" exists already; pick another --name or remove it (locker rm ${v.name})`);
    }
    const id = this.newId();
    const name = v.name ?? id;
    const hostname = v.namespaces.includes('uts') ? (v.hostname ?? id) : hostHostname();
    let workdir = v.workdir ?? (v.namespaces.includes('mnt') ? '/' : process.cwd());
    const env = defaultEnv(v, hostname);
    const dir = this.store.create(id);
    if (stepper) stepper.label = id;
    let cgroup: Cgroup | undefined;
    let pty: ReturnType<typeof openPty> | undefined;
    try {
      if (hasLimits(v.limits)) {
        try {
          cgroup = createCgroup(id, v.limits);
        } catch (e) {
          throw new LockerError((e as Error).message);
        }
      }
      pty = v.tty ? openPty(v.cols, v.rows) : undefined;
      let layer: Layer | undefined;
      let rootfsLabel = 'host /';
      let executable: string;
      const pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
      const userShift = v.namespaces.includes('user') && !this.rootless ? ROOTFUL_USERNS_BASE : 0;
      if (v.namespaces.includes('mnt')) {
        const rootfs = resolveRootfs(imagesDir(this.dataRoot), v.rootfs, this.rootless);
        rootfsLabel = rootfs.label;
        if (v.workdir === undefined && isDir(join(rootfs.dir, 'root'))) workdir = '/root';
        executable = findCommand(rootfs.dir, v.command[0], pathVar, workdir);
        layer = userShift ? copyLayer(dir, rootfs.dir, userShift) : overlayLayer(dir, rootfs.dir);
      } else {
        executable = findCommand('/', v.command[0], pathVar, workdir);
      }
      const input: PlanInput = {
        namespaces: v.namespaces, rootless: this.rootless, uid: getuid(), gid: getgid(), layer, hostname: v.namespaces.includes('uts') ? hostname : undefined,
        workdir, executable, argv: v.command, env, tty: pty ? { slaveFd: pty.slaveFd, slavePath: pty.slavePath } : undefined,
        joinsCgroup: cgroup !== undefined,
      };
      const launchOnce = async (): Promise<{ pid: number; network: NetworkInfo }> =>
        stepper ? this.launchStepwise(id, buildPlan(input), v, stepper, cgroup) : syscallLog.within(id, () => this.launch(id, buildPlan(input), v, cgroup));
      let spawned;
      try {
        spawned = await launchOnce();
      } catch (e) {
        if (!(e instanceof SyscallError && e.syscall === 'mount' && e.args.startsWith('"overlay"') && layer?.kind === 'overlay')) throw e;
        // overlayfs refused here (old kernel, odd filesystem): fall back to a private copy.
        teardownNetwork(id);
        removeLayer(dir);
        input.layer = copyLayer(dir, layer.lower);
        spawned = await launchOnce();
      }
      pty?.releaseSlave();
      const record: ContainerRecord = {
        id, name, command: v.command, hostname, state: 'running', pid: spawned.pid, namespaces: v.namespaces, rootfs: rootfsLabel,
        rootless: this.rootless, tty: v.tty, createdAt: Date.now(), limits: cgroup ? v.limits : undefined, network: spawned.network, pidStartTime: processStartTime(spawned.pid) ?? '', ownerPid: process.pid, env,
        workdir: input.workdir,
      };
      this.store.save(record);
      const exited = waitForExit(spawned.pid).then((status) => this.finish(record, status, cgroup));
      this.live.set(id, { record, terminal: pty?.handle, exited, cgroup });
      this.emit();
      return { info: publicInfo(record), terminal: pty?.handle, exited };
    } catch (e) {
      pty?.handle.close();
      this.store.remove(id);
      if (cgroup) void cgroup.remove();
      if (v.namespaces.includes('net') && !this.rootless) teardownNetwork(id);
      throw e;
    }
  }

  private launch(id: string, plan: Plan, v: ValidSpec, cgroup?: Cgroup): { pid: number; network: NetworkInfo } {
    const { beforeContinue, network } = this.setupHook(id, plan, v, cgroup);
    try {
      const { pid } = spawnProcess({ flags: plan.flags, program: plan.program, beforeContinue });
      return { pid, network: network() };
    } catch (e) {
      throw this.launchError(e, v);
    }
  }

  /** launch, one call at a time: the records and host-side calls are tagged with id as they happen. */
  private async launchStepwise(id: string, plan: Plan, v: ValidSpec, stepper: Stepper, cgroup?: Cgroup): Promise<{ pid: number; network: NetworkInfo }> {
    const { beforeContinue, network } = this.setupHook(id, plan, v, cgroup);
    const within = <T>(fn: () => T): T => syscallLog.within(id, fn);
    try {
      const { pid } = await within(() => spawnProcessStepwise({ flags: plan.flags, program: plan.program, beforeContinue, stepper, within }));
      return { pid, network: network() };
    } catch (e) {
      throw this.launchError(e, v);
    }
  }

  private setupHook(id: string, plan: Plan, v: ValidSpec, cgroup?: Cgroup): { beforeContinue?: (pid: number) => void; network: () => NetworkInfo } {
    const ownNetns = v.namespaces.includes('net');
    let network: NetworkInfo = { mode: 'host', note: HOST_NOTE };
    // The child waits on a pipe until it is in its cgroup, has its id maps and its network:
    // nothing runs unlimited, unmapped or unconnected.
    const beforeContinue = plan.uidMap || cgroup || ownNetns
      ? (pid: number): void => {
          if (cgroup) cgroup.addProcess(pid);
          if (plan.uidMap) this.writeIdMaps(pid, plan);
          if (ownNetns) network = setupNetwork({ id, pid, rootless: this.rootless, ownNetns });
        }
      : undefined;
    return { beforeContinue, network: () => network };
  }

  /** A launch failure as the person who typed the spec can act on it. */
  private launchError(e: unknown, v: ValidSpec): unknown {
    if (e instanceof SyscallError && e.syscall === 'clone') {
      const why = explainCloneFailure(e.code, this.rootless, v.namespaces.includes('user'));
      if (why) return new LockerError(why);
    }
    if (e instanceof SyscallError && e.syscall === 'chdir' && e.code === 'ENOENT' && v.workdir) {
      return new LockerError(`--workdir ${v.workdir} does not exist in the rootfs; pick an existing directory`);
    }
    if (e instanceof SyscallError && e.syscall === 'getcwd') {
      return new LockerError(`--workdir ${v.workdir ?? ''} leads outside the container's root (through an inherited file descriptor?); pick a directory inside the rootfs`);
    }
    return e;
  }

  private writeIdMaps(pid: number, plan: Plan): void {
    const write = (file: string, text: string): void => {
      writeFileSync(`/proc/${pid}/${file}`, text);
      syscallLog.record({ where: 'host', name: 'write', args: `"/proc/${pid}/${file}", ${JSON.stringify(text)}`, result: text.length, t: Date.now() });
    };
    if (plan.denySetgroups) write('setgroups', 'deny');
    write('uid_map', formatIdMap(plan.uidMap!));
    write('gid_map', formatIdMap(plan.gidMap!));
  }

  private async finish(record: ContainerRecord, status: number, cgroup?: Cgroup): Promise<ContainerInfo> {
    const { exitCode, signal } = decodeWaitStatus(status);
    const oomKilled = cgroup ? (cgroup.stats().memoryEvents.oomKill ?? 0) > 0 : undefined;
    Object.assign(record, { state: 'exited', exitCode, signal, finishedAt: Date.now(), oomKilled });
    if (cgroup) await cgroup.remove();
    if (record.network?.mode === 'bridge') teardownNetwork(record.id);
    removeLayer(this.store.containerDir(record.id));
    if (this.autoRemove) {
      this.store.remove(record.id);
      this.live.delete(record.id);
    } else {
      this.store.save(record);
    }
    this.emit();
    return publicInfo(record);
  }

  /** The record with its state checked against the kernel (the owner may be another process). */
  private current(id: string): ContainerRecord | undefined {
    const own = this.live.get(id)?.record;
    if (own) return own;
    const r = this.store.load(id);
    if (r && r.state === 'running' && processStartTime(r.pid) !== r.pidStartTime) {
      // Its owner never recorded the end (it was killed): the process is gone all the same.
      Object.assign(r, { state: 'exited', finishedAt: r.finishedAt ?? Date.now() });
    }
    return r;
  }

  private find(idOrName: string): ContainerRecord {
    const r = this.current(idOrName) ?? this.store.ids().map((i) => this.current(i)).find((c) => c?.name === idOrName || (idOrName.length >= 4 && c?.id.startsWith(idOrName)));
    if (!r) throw new LockerError(`no container "${idOrName}"; see locker ps for the ids`);
    return r;
  }

  list(): ContainerInfo[] {
    const ids = new Set([...this.store.ids(), ...this.live.keys()]);
    return [...ids].map((id) => this.current(id)).filter((r): r is ContainerRecord => !!r).map(publicInfo).sort((a, b) => a.createdAt - b.createdAt);
  }

  get(id: string): ContainerInfo | undefined {
    try {
      return publicInfo(this.find(id));
    } catch {
      return undefined;
    }
  }

  async exec(id: string, argv: string[], opts: ExecOptions = {}): Promise<ExecHandle> {
    const r = this.find(id);
    if (r.state !== 'running') throw new LockerError(`container ${r.name} is not running; start a new one with locker run`);
    const handle = syscallLog.within(r.id, () => execInContainer(r, argv, opts));
    // exec'd processes are not descendants of the init: remember them so inspection marks them.
    const pids = this.execPids.get(r.id) ?? new Set<number>();
    this.execPids.set(r.id, pids.add(handle.pid));
    void handle.exited.then(() => pids.delete(handle.pid));
    return handle;
  }

  async stop(id: string, graceMs = 3000): Promise<ContainerInfo> {
    const r = this.find(id);
    const own = this.live.get(r.id);
    if (r.state === 'running') {
      kill(r.pid, 15, 3);
      const gone = own ? own.exited.then(() => true) : waitGone(r, graceMs);
      const inTime = await Promise.race([gone, sleep(graceMs).then(() => false)]);
      if (!inTime && processStartTime(r.pid) === r.pidStartTime) kill(r.pid, 9, 3);
      if (own) return own.exited;
      await waitGone(r, 5000);
    }
    return publicInfo(this.current(r.id) ?? r);
  }

  async remove(id: string, force = false): Promise<void> {
    const r = this.find(id);
    if (r.state === 'running') {
      if (!force) throw new LockerError(`container ${r.name} is running; stop it first (locker stop ${r.name}) or use locker rm -f`);
      await this.stop(r.id, 0);
    }
    const own = this.live.get(r.id);
    if (own) {
      await own.exited;
      own.terminal?.close();
      this.live.delete(r.id);
    }
    this.store.remove(r.id);
    this.emit();
  }

  async inspect(id: string): Promise<Inspection> {
    const r = this.find(id);
    if (r.state !== 'running') throw new LockerError(`container ${r.name} has exited; only running containers can be inspected`);
    const inspection = await inspectContainerAsync({ id: r.id, pid: r.pid, execPids: [...(this.execPids.get(r.id) ?? [])] });
    const cgroup = this.live.get(r.id)?.cgroup ?? (r.limits ? openCgroup(r.id) : undefined);
    if (cgroup) inspection.resources = { paths: cgroup.paths, limits: r.limits ?? {}, stats: cgroup.stats() };
    try {
      inspection.network = { info: r.network, host: interfaces('host'), container: interfaces(r.pid) };
    } catch {
      // iproute2 missing or the container just ended: the rest of the inspection still stands.
    }
    return inspection;
  }

  listDir(id: string, side: 'host' | 'container', path: string): DirListing {
    const r = this.find(id);
    if (side === 'container' && r.state !== 'running') throw new LockerError(`container ${r.name} has exited; its filesystem is gone`);
    return listDirectory(side, r.pid, path);
  }

  onChange(listener: (c: ContainerInfo[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(): void {
    if (this.listeners.size === 0) return;
    const list = this.list();
    for (const l of this.listeners) l(list);
  }
}

function isDir(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitGone(r: ContainerRecord, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (processStartTime(r.pid) !== r.pidStartTime) return true;
    await sleep(20);
  }
  return false;
}
