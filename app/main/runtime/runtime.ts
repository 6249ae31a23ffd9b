// The container runtime: spec → plan → native step → process, with records on disk. Plain Node:
// the CLI, the Electron main process and web mode all use this class.
import { accessSync, closeSync, constants, existsSync, lstatSync, openSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostname as hostHostname } from 'node:os';
import { SyscallError } from '../../../native/errors';
import { close, getgid, getuid, kill } from '../../../native/libc';
import { spawnProcess, spawnProcessAsync, spawnProcessStepwise, type PreCloned } from '../../../native/spawn';
import type { Stepper } from '../../../native/stepper';
import { syscallLog } from '../../../native/syscall-log';
import type { ContainerInfo, DirListing, Inspection, Namespace, RunSpec } from '../../shared/types';
import { DEFAULT_PATH, findCommand } from './command';
import { dataDir as defaultDataDir, imagesDir } from './data-dir';
import { LockerError } from './errors';
import type { ContainerHandle, ContainerRuntime, ExecHandle, ExecOptions, RunOptions, TerminalHandle } from './handles';
import { LAYER_DIRS, copyLayer, layerPresent, overlayLayer, removeLayer } from './layer';
import { setUlimits } from './ulimits';
import { INIT_PATH, ROOTFUL_USERNS_BASE, STARTED_AHEAD, buildPlan, formatIdMap, type Layer, type Plan, type PlanInput } from './plan';
import { RecordStore, processStartTime, type ContainerRecord } from './records';
import { readSignalState, surelyDiscarded } from './signal-reach';
import { emptyReport, recover, type RecoveryReport } from './recovery';
import { mountpointRefusal } from './rootfs/mountpoints';
import { unenterableRootfsDir } from './rootfs/access';
import { resolveRootfs } from './rootfs/resolve';
import { applyImageConfig } from './image-config';
import { checkUser, hostMountFlags, validateSpec, type ValidSpec } from './spec';
import { openPty } from './terminal';
import { assertUserNamespaces, explainCloneFailure } from './userns';
import { decodeWaitStatus, waitForExit } from './wait';
import { execInContainer, type ExecTarget } from './exec';
import { cgroupJoinOf, createCgroup, hasLimits, needsCgroup, openCgroup, openCgroupJoin, removeUnusedCgroup, type Cgroup, type CgroupHandle, type CgroupJoin } from './cgroups';
import { randomContainerId } from './ids';
import { HOST_NOTE, addContainerSteps, containerNetworkError, planNetwork, prepareNetwork, setupNetwork, teardownNetwork, teardownNetworkAfterExit, type NetworkPlan, type PreparedNetwork } from './network';
import { checkPublishable } from './network/ports';
import { etcFiles } from './network/etc-files';
import { handBackExitCommand, takeOverExitCommand, writeExitCommand } from './network/exit-command';
import { teardownAfterExit } from './network/after-exit';
import type { Volume } from './spec';
import type { NetworkInfo } from '../../shared/types';
import { containerHostnameAsync, inspectContainerAsync, inspectContainerOnly, interfacesAsync, listDirectory, type ContainerInspection } from './inspect';
import { natRulesLive } from './network/nat';
import { keepSpareReady, returnSpare, spareNetworkPlan, takeSpare } from './spare';
import type { SpareMade } from './spare-make';
import { DetachedLaunch, exitSettled, monitorGone, recordedExit } from './detach';

export type { RunOptions } from './handles';

export interface RuntimeOptions {
  dataDir?: string;
  /** Remove a container's record as soon as it exits (the CLI's `run` default). */
  autoRemove?: boolean;
  /**
   * Clean up what crashed runtimes left (recovery.ts) at construction: the default. Commands that
   * only read (locker ps, inspect, exec) pass false: the records are checked against the
   * kernel anyway, and the next command that starts or removes containers recovers.
   */
  recover?: boolean;
  /**
   * Keep the default bridged network of the next container made ahead (spare.ts), root
   * only: the app's runtime does (the teacher's Run), commands that start once do not.
   */
  spareNetwork?: boolean;
}

interface Live {
  record: ContainerRecord;
  cgroup?: Cgroup;
  terminal?: TerminalHandle;
  exited: Promise<ContainerInfo>;
}

function publicInfo(r: ContainerRecord): ContainerInfo {
  const { pidStartTime: _s, ownerPid: _o, env: _e, workdir: _w, monitor, spec: _spec, kept: _k, layer: _l, ...info } = r;
  return monitor ? { ...info, detached: true } : info;
}

export function defaultEnv(v: ValidSpec, hostname: string, hostTerm = process.env.TERM): string[] {
  const base = [`PATH=${DEFAULT_PATH}`, 'HOME=/root', `HOSTNAME=${hostname}`, `TERM=${v.tty ? 'xterm-256color' : hostTerm || 'dumb'}`];
  if (v.namespaces.includes('mnt')) base.push('PS1=\\u@\\h:\\w\\$ ');
  const keys = new Set(v.env.map((e) => e.split('=', 1)[0]));
  return [...base.filter((e) => !keys.has(e.split('=', 1)[0])), ...v.env];
}

/**
 * In the resident CLI server, one recovery per data dir and second: it makes a Runtime per command,
 * and 50 `run -d` at once would each scan every record, cgroup and lease again (11 ms each at 50
 * containers); what a runtime that crashed meanwhile left waits for the next one. Elsewhere (0, the
 * default) every Runtime recovers, as a CLI process of its own or a test expects.
 */
let recoveryReuseMs = 0;
export function shareRecoveries(ms: number): void {
  recoveryReuseMs = ms;
}
const recentRecoveries = new Map<string, { at: number; report: Promise<RecoveryReport> }>();
function recoverShared(dataRoot: string, store: RecordStore): Promise<RecoveryReport> {
  const recent = recentRecoveries.get(dataRoot);
  if (recent && Date.now() - recent.at < recoveryReuseMs) return recent.report;
  const report = recover(dataRoot, store).catch((e: Error) => ({ ...emptyReport(), errors: [e.message] }));
  recentRecoveries.set(dataRoot, { at: Date.now(), report });
  return report;
}

/** Ctrl-C, SIGTERM, the served CLI gone, while a launch's child set itself up: it was killed. */
const INTERRUPTED_SETUP = 'interrupted while the container was being set up; it was removed before it ran its command';

const sameNamespaces = (a: readonly Namespace[], b: readonly Namespace[]): boolean => a.length === b.length && b.every((n) => a.includes(n));

/** A spare's process this launch does not use: it ends (its load reads EOF) and is reaped when it has, not waited for. */
function letGo(p: PreCloned): void {
  const pid = p.abandon();
  if (pid !== undefined) void waitForExit(pid);
}

/**
 * A spare's cgroup as this container's: when it needs one and the spare's is where this runtime
 * would make it, still there. Else the spare's is removed (undefined: the launch makes its own).
 */
function adoptSpareCgroup(id: string, cg: NonNullable<SpareMade['cgroup']>, needed: boolean): Cgroup | undefined {
  const own = openCgroup(id);
  if (needed && own.paths.join('\n') === cg.paths.join('\n') && own.paths.every((p) => existsSync(p))) return own;
  removeUnusedCgroup(cg.paths);
  return undefined;
}

export class Runtime implements ContainerRuntime {
  readonly dataRoot: string;
  readonly store: RecordStore;
  // process.getuid: the same uid without loading koffi (a reading command may never need it).
  readonly rootless = process.getuid!() !== 0;
  private readonly live = new Map<string, Live>();
  private readonly listeners = new Set<(c: ContainerInfo[]) => void>();
  private readonly execPids = new Map<string, Set<number>>();
  /** Detached containers this runtime started and let go of (disown): their monitors settle them. */
  private readonly disowned = new Set<string>();
  private readonly autoRemove: boolean;
  private readonly spareNetwork: boolean;
  /** What a crashed runtime left in this data dir, cleaned up at construction (recovery.ts). */
  readonly recovered: Promise<RecoveryReport>;

  constructor(opts: RuntimeOptions = {}) {
    this.dataRoot = opts.dataDir ?? defaultDataDir();
    this.store = new RecordStore(this.dataRoot);
    this.autoRemove = opts.autoRemove ?? false;
    this.recovered = opts.recover === false ? Promise.resolve(emptyReport()) : recoverShared(this.dataRoot, this.store);
    this.spareNetwork = opts.spareNetwork === true && !this.rootless;
    // After the recovery: a sweep must not meet a spare half made.
    if (this.spareNetwork) void this.recovered.then(() => keepSpareReady());
  }

  async run(spec: RunSpec, opts: RunOptions = {}): Promise<ContainerHandle> {
    return this.start(validateSpec(spec, this.rootless), opts.stepper, opts, spec);
  }

  /**
   * `locker start`: an exited container kept with its record (--keep, run -d) runs its command
   * again from the same spec, under the same id and name, detached (as docker start does).
   */
  async restart(id: string, opts: RunOptions = {}): Promise<ContainerHandle> {
    const r = this.find(id);
    if (r.state === 'running') throw new LockerError(`container ${r.name} is already running`);
    if (!r.spec) throw new LockerError(`container ${r.name} was made by an older Locker that did not keep its spec; start a new one with locker run`);
    const spec = r.spec;
    const v = validateSpec(spec, this.rootless);
    // The old record (and its log) give way to the new run; its files (the kept layer, with what
    // locker cp put there) stay, as docker start keeps them. A failure below leaves it removed, as rm would.
    this.live.delete(r.id);
    // A detached container's monitor becomes its exit command, which releases the veth, NAT table
    // and lease under this id: it must be done before the id is used again, or it would delete the
    // new run's veth (same name) while the new container sets up its eth0 (ENODEV).
    if (r.monitor) await monitorGone(r.monitor, 10_000);
    // What the last run held on the host under this id (its cgroup, veth, NAT table, address), when
    // nobody settled it yet (a monitor's container stopped a moment ago): released before the id is
    // used again, or the new run would find it taken and the old one would be left with no record.
    await openCgroup(r.id).remove();
    if (r.network?.mode === 'bridge' || r.network?.mode === 'pasta') teardownNetwork(r.id, this.store.containerDir(r.id));
    const layer = r.kept && r.layer && layerPresent(r.layer) ? r.layer : undefined;
    if (layer) this.store.removeExcept(r.id, LAYER_DIRS);
    else this.store.remove(r.id);
    return this.start(v, undefined, { ...opts, detach: true }, spec, r.id, layer);
  }

  /**
   * `locker cp` of an exited kept container: its kept layer mounted again in namespaces of its own
   * (mnt, pid, no network; the user namespace it had), pivoted into as its init was, with
   * hostBinary (a static host program, opened here and run through /proc/self/fd) as PID 1
   * holding it open. The target is entered like a running container (exec) until close().
   */
  async openFiles(id: string, hostBinary: string): Promise<{ target: ExecTarget; hidden: string[]; close(): Promise<void> }> {
    const r = this.find(id);
    if (r.state === 'running') throw new LockerError(`container ${r.name} is running; its files are reached through it (locker exec)`);
    if (!r.namespaces.includes('mnt')) throw new LockerError(`container ${r.name} had no mnt namespace: its files were the host's own; copy them on the host`);
    if (!r.kept || !r.layer || !layerPresent(r.layer)) {
      throw new LockerError(`container ${r.name} kept no files after it exited (only run -d and --keep containers keep them, from this version on); start it again (locker start ${r.name}) and copy while it runs`);
    }
    const namespaces: Namespace[] = ['mnt', 'pid', 'ipc', 'uts', 'net', ...(r.namespaces.includes('user') || this.rootless ? ['user' as const] : [])];
    const binary = openSync(hostBinary, O_RDONLY_CLOEXEC);
    const nul = openSync('/dev/null', constants.O_RDWR | O_CLOEXEC);
    let pid: number;
    try {
      const plan = buildPlan({
        namespaces, rootless: this.rootless, uid: getuid(), gid: getgid(), layer: r.layer, layerHostFlags: copyLayerHostFlags(r.layer), workdir: '/', executable: `/proc/self/fd/${binary}`,
        argv: ['sleep', '2147483647'], env: [`PATH=${DEFAULT_PATH}`], seccomp: r.seccomp, caps: r.caps, stdio: [nul, nul, nul],
      });
      const beforeContinue = plan.uidMap ? (child: number): void => this.writeIdMaps(child, plan) : undefined;
      pid = syscallLog.within(r.id, () => spawnProcess({ flags: plan.flags, program: plan.program, beforeContinue })).pid;
    } finally {
      closeSync(binary);
      closeSync(nul);
    }
    const exited = waitForExit(pid);
    const target: ExecTarget = { id: r.id, name: r.name, pid, workdir: '/', env: [`PATH=${DEFAULT_PATH}`, 'HOME=/root'], rootless: this.rootless, seccomp: r.seccomp, caps: r.caps, cgroupPaths: [] };
    return {
      target,
      // Mounts of its own while it ran, not in its layer: what is copied there is never seen by it.
      hidden: ['/tmp', '/dev', '/proc', '/sys', ...(r.spec?.volumes ?? []).map((v) => v.target)],
      close: async () => {
        kill(pid, 9, 3);
        await exited;
      },
    };
  }

  /** exec into what openFiles brought up. */
  execFiles(target: ExecTarget, argv: string[], opts: ExecOptions = {}): ExecHandle {
    return syscallLog.within(target.id, () => execInContainer(target, argv, opts));
  }

  private newId(): string {
    for (;;) {
      const id = randomContainerId();
      if (!this.idTaken(id)) return id;
    }
  }

  /** An id with a container dir here (a record, or a setup in progress or crashed) is not free. */
  private idTaken(id: string): boolean {
    return existsSync(this.store.containerDir(id));
  }

  private async start(v: ValidSpec, stepper?: Stepper, opts: RunOptions = {}, spec?: RunSpec, reuseId?: string, keptLayer?: Layer): Promise<ContainerHandle> {
    if (opts.removeOnExit && !opts.detach) throw new LockerError('removal on exit by the monitor is for detached containers; without -d the container is removed when it exits already');
    if (v.namespaces.includes('user')) assertUserNamespaces(this.rootless);
    if (v.name && this.list().some((c) => c.name === v.name)) {
      throw new LockerError(`a container named "${v.name}" exists already; pick another --name or remove it (locker rm ${v.name})`);
    }
    // The default bridged network made ahead, when this launch is one it fits: then its id is the spare's.
    let spare = this.spareNetwork && !reuseId && !stepper && !opts.detach && v.network === 'bridge' && v.publish.length === 0
      && v.namespaces.includes('net') && !v.namespaces.includes('user') && !hasLimits(v.limits)
      ? takeSpare((candidate) => !this.idTaken(candidate)) : undefined;
    let spareFd = spare?.netnsFd;
    let spareJoin: CgroupJoin | undefined = spare?.cgroup && cgroupJoinOf(spare.cgroup.into, spare.cgroup.writes);
    let sparePty = spare?.pty;
    // The spare's process, cloned already, is this container's when it has a terminal and the
    // namespaces it was cloned with; else it goes now (it is in the cgroup and the namespace).
    let preCloned = spare?.process && v.tty && sparePty && sameNamespaces(v.namespaces, STARTED_AHEAD) && spare.process.waiting() ? spare.process : undefined;
    if (spare?.process && !preCloned) letGo(spare.process);
    // The container has joined the spare's namespace and cgroup (or failed to): their fds are not
    // needed any more; its pty and process, when the container took neither, go too.
    const closeSpareFd = (): void => {
      if (spareFd !== undefined) close(spareFd);
      spareFd = undefined;
      spareJoin?.close();
      spareJoin = undefined;
      sparePty?.handle.close();
      sparePty = undefined;
      if (preCloned) letGo(preCloned);
      preCloned = undefined;
    };
    const id = spare?.id ?? reuseId ?? this.newId();
    // -p: a foreign address or a port in use is one line before anything is made.
    if (v.publish.length) checkPublishable(v.publish, id);
    const name = v.name ?? id;
    const hostname = v.namespaces.includes('uts') ? (v.hostname ?? id) : hostHostname();
    let workdir = v.workdir ?? (v.namespaces.includes('mnt') ? '/' : opts.caller?.cwd ?? process.cwd());
    let env = opts.caller ? defaultEnv(v, hostname, opts.caller.term) : defaultEnv(v, hostname);
    let command = v.command;
    let dir: string;
    try {
      dir = this.store.create(id, keptLayer !== undefined);
    } catch (e) {
      if (spare) returnSpare(spare); // nothing of it was used
      throw e;
    }
    if (stepper) stepper.label = id;
    if (opts.detach && stepper) throw new LockerError('a detached container cannot be started step by step; leave out one of them');
    const detached = opts.detach ? new DetachedLaunch(dir, v.tty, v.cols, v.rows) : undefined;
    let cgroup: Cgroup | undefined;
    let pty: ReturnType<typeof openPty> | undefined;
    try {
      // What the container holds on the host goes when it ends, CLI or not: its monitor's exit command.
      const onExit = { network: v.network === 'bridge', remove: opts.removeOnExit === true };
      if (detached && (onExit.network || onExit.remove) && !writeExitCommand(dir, id, onExit) && onExit.remove) {
        throw new LockerError('run -d --rm needs the compiled teardown-cli.js (build/app/main/runtime/network), which is missing; run npm run build');
      }
      const spareCgroup = spare?.cgroup && adoptSpareCgroup(id, spare.cgroup, needsCgroup(v.limits));
      if (spare?.cgroup && !spareCgroup) {
        spareJoin?.close();
        spareJoin = undefined;
      }
      if (needsCgroup(v.limits)) {
        try {
          cgroup = spareCgroup || createCgroup(id, v.limits);
        } catch (e) {
          throw new LockerError((e as Error).message);
        }
      }
      if (v.tty && !detached) {
        pty = sparePty ?? openPty(v.cols, v.rows);
        if (pty === sparePty) pty.handle.resize(v.cols, v.rows);
        sparePty = undefined;
      }
      let layer: Layer | undefined;
      let etcVolumes: Volume[] = [];
      let rootfsLabel = 'host /';
      let executable: string;
      let pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
      let userText = v.userText;
      let usersRoot = '/';
      const userShift = v.namespaces.includes('user') && !this.rootless ? ROOTFUL_USERNS_BASE : 0;
      if (v.namespaces.includes('mnt')) {
        const rootfs = await resolveRootfs(imagesDir(this.dataRoot), v.rootfs, { rootless: this.rootless, onProgress: opts.onImportProgress, onNote: opts.onNote, signal: opts.signal });
        rootfsLabel = rootfs.label;
        if (v.workdir === undefined && isDir(join(rootfs.dir, 'root'))) workdir = '/root';
        if (rootfs.imageConfig) {
          let imageUser: string | undefined;
          ({ command, env, workdir, user: imageUser } = applyImageConfig(rootfs.imageConfig, { command, env, workdir }, v, rootfs.label));
          userText ??= imageUser;
          pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
        } else if (command.length === 0) {
          throw new LockerError(`no command given; name one, e.g. locker run --rootfs ${rootfs.label} -- /bin/sh (only a layered image names its own)`);
        }
        executable = findCommand(rootfs.dir, command[0], pathVar, workdir);
        usersRoot = rootfs.dir;
        // locker start: the layer it had, when it fits the image and identity as now resolved.
        const reuse = keptLayer && (keptLayer.kind === 'overlay' ? !userShift && keptLayer.lower === rootfs.dir : !!userShift);
        if (keptLayer && !reuse) removeLayer(dir);
        layer = reuse ? keptLayer : userShift ? copyLayer(dir, rootfs.dir, userShift) : overlayLayer(dir, rootfs.dir);
        // /etc/hosts, hostname, resolv.conf from the container's dir (docker's), unless a -v binds one;
        // not in a rootful user namespace, whose root cannot enter the (root's 0700) container dir.
        if (!userShift) etcVolumes = etcFiles(dir, rootfs.dir, hostname, v.network === 'host', spare?.address).filter((e) => !v.volumes.some((u) => u.target === e.target));
      } else {
        executable = findCommand('/', v.command[0], pathVar, workdir);
      }
      // --user (or the image's User): names and a UID's passwd entry from the image's own files (users.ts).
      const user = userText === undefined ? undefined : checkUser(userText, this.rootless, v.namespaces.includes('user'), usersRoot);
      if (user?.home && !v.env.some((e) => e.startsWith('HOME='))) env = env.map((e) => (e === 'HOME=/root' ? `HOME=${user.home}` : e));
      let argv = command;
      let init: PlanInput['init'];
      if (v.init) {
        // --init: the reaper is PID 1 and runs the command (looked up in PATH as execvp does).
        const source = initBinary();
        init = v.namespaces.includes('mnt') ? { source, hostFlags: hostMountFlags(source) } : undefined;
        executable = init ? INIT_PATH : source;
        argv = [executable, '--', ...command];
      }
      const input: PlanInput = {
        namespaces: v.namespaces, rootless: this.rootless, uid: getuid(), gid: getgid(), layer, hostname: v.namespaces.includes('uts') ? hostname : undefined,
        workdir, executable, argv, env, tty: pty ? { slaveFd: pty.slaveFd, slavePath: pty.slavePath } : undefined, stdio: opts.stdio,
        joinsCgroup: cgroup !== undefined, seccomp: v.seccomp, volumes: [...etcVolumes, ...v.volumes], caps: v.caps, readOnly: v.readOnly, user,
        init, privileged: v.privileged ? { devices: hostDevices() } : undefined,
      };
      const recordOf = (pid: number, network: NetworkInfo): ContainerRecord => ({
        id, name, command, hostname, state: 'running', pid, namespaces: v.namespaces, rootfs: rootfsLabel,
        rootless: this.rootless, tty: v.tty, createdAt: Date.now(), limits: cgroup ? v.limits : undefined, network, pidStartTime: processStartTime(pid) ?? '', ownerPid: process.pid, env,
        workdir: input.workdir, seccomp: v.seccomp, caps: v.caps, user,
        ...(spec ? { spec: { ...spec, cols: undefined, rows: undefined } } : {}),
        ...(v.init ? { init: true } : {}), ...(v.privileged ? { privileged: true } : {}), ...(opts.removeOnExit ? { autoRemove: true } : {}),
        ...(this.autoRemove || opts.removeOnExit ? {} : { kept: true }), ...(input.layer ? { layer: input.layer } : {}),
      });
      const launchOnce = async (): Promise<{ pid: number; network: NetworkInfo }> => {
        // Detached: the monitor's pty or pipes, new for each attempt (each gets its own monitor).
        if (detached) Object.assign(input, detached.io());
        // Decided before the clone: the container's own netlink steps are part of its program.
        const netOptions = { id, rootless: this.rootless, ownNetns: true, mode: v.network, ports: v.publish, dir };
        const taken = spare;
        spare = undefined; // one attempt: a failure removes it with the rest under this id
        const early = preCloned;
        preCloned = undefined; // sent its program below, or closed with this attempt
        const net = v.namespaces.includes('net')
          ? (taken ? syscallLog.within(id, () => spareNetworkPlan(taken, netOptions)) : planNetwork(netOptions))
          : undefined;
        if (early) syscallLog.within(id, () => syscallLog.record(early.clone));
        // The child joins its cgroup by itself, first of all (openCgroupJoin): opened here, closed
        // once it is cloned. One cloned ahead is in it already.
        const join = early ? undefined : cgroup && (spareJoin ?? openCgroupJoin(cgroup.paths));
        if (!early) spareJoin = undefined; // closed below with the rest of this attempt's
        try {
          const plan = buildPlan({
            ...input, layerHostFlags: copyLayerHostFlags(input.layer), cgroupFiles: join?.writes, network: net && ((p) => addContainerSteps(p, net)),
            netnsFd: early ? undefined : net?.spare?.netnsFd, startedAhead: early !== undefined,
          });
          const into = join?.into;
          return await (stepper ? this.launchStepwise(id, plan, v, stepper, into, net) : this.launch(id, plan, v, { intoCgroup: into, detached, net, signal: opts.signal, early }));
        } catch (e) {
          // A hostile or broken image (`dev -> /`, a FIFO for /proc): one line naming the path.
          throw mountpointRefusal(e, input.layer && (input.layer.kind === 'overlay' ? input.layer.lower : input.layer.dir)) ?? e;
        } finally {
          join?.close();
          if (early) letGo(early); // a no-op once it had its program
          closeSpareFd();
        }
      };
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
      const record = recordOf(spawned.pid, spawned.network);
      if (detached) {
        record.monitor = detached.handOver();
        record.ownerPid = record.monitor.pid;
      }
      this.store.save(record);
      // A detached container is the monitor's child: its end is the monitor's, which leaves the status in a file.
      const exited = detached
        ? waitForExit(record.monitor!.pid).then(() => (this.disowned.delete(id)
          ? publicInfo(this.current(id) ?? record)
          : this.finish(record, recordedExit(dir)?.status ?? 9 /* killed with its monitor */, cgroup)))
        : waitForExit(spawned.pid).then((status) => this.finish(record, status, cgroup, opts.releaseNetworkLater));
      this.live.set(id, { record, terminal: pty?.handle, exited, cgroup });
      this.emit();
      return { info: publicInfo(record), terminal: pty?.handle, exited };
    } catch (e) {
      closeSpareFd();
      pty?.handle.close();
      detached?.closeOurs();
      this.store.remove(id);
      if (cgroup) void cgroup.remove();
      if (v.namespaces.includes('net')) teardownNetwork(id, dir);
      throw e;
    } finally {
      // The next one is made behind this launch, on the namespace thread.
      if (this.spareNetwork) keepSpareReady();
    }
  }

  /** The clone and the child's setup; the child's report is awaited, so concurrent launches overlap. */
  private async launch(id: string, plan: Plan, v: ValidSpec, how: { intoCgroup?: CgroupHandle; detached?: DetachedLaunch; net?: NetworkPlan; signal?: AbortSignal; early?: PreCloned }): Promise<{ pid: number; network: NetworkInfo }> {
    const within = <T>(fn: () => T): T => syscallLog.within(id, fn);
    if (how.early) return this.launchPreCloned(id, plan, v, how.early, how.net, how.signal);
    const { whileCloning, beforeContinue, continueAt, network } = this.setupHook(plan, v, how.net);
    try {
      // light: cloned by the small locker-nsexec, not as a copy of this (big) process.
      const { pid } = await within(() => spawnProcessAsync({
        flags: plan.flags, program: plan.program, whileCloning, beforeContinue, continueAt, intoCgroup: how.intoCgroup, via: how.detached?.via, light: true, signal: how.signal,
      }, within));
      return { pid, network: within(network) };
    } catch (e) {
      // Interrupted (Ctrl-C, the served CLI gone) while the container set itself up: it was killed.
      if (how.signal?.aborted) throw new LockerError(INTERRUPTED_SETUP);
      throw this.launchError(e, v);
    }
  }

  /**
   * launch for a process cloned ahead (a spare's): its pid is known, so the host's part (limits,
   * the lease handed to it, ip_forward) is done before it gets the rest of its program, which it
   * then runs to execve without waiting.
   */
  private async launchPreCloned(id: string, plan: Plan, v: ValidSpec, early: PreCloned, net?: NetworkPlan, signal?: AbortSignal): Promise<{ pid: number; network: NetworkInfo }> {
    const within = <T>(fn: () => T): T => syscallLog.within(id, fn);
    try {
      const network = within((): NetworkInfo => {
        setUlimits(early.pid, v.ulimits, this.rootless);
        return net ? setupNetwork(net, early.pid) : { mode: 'host', note: HOST_NOTE };
      });
      const { pid } = await within(() => spawnProcessAsync({ flags: plan.flags, program: plan.program, early, light: true, signal }, within));
      return { pid, network };
    } catch (e) {
      if (signal?.aborted) throw new LockerError(INTERRUPTED_SETUP);
      throw this.launchError(e, v);
    }
  }

  /** launch, one call at a time: the records and host-side calls are tagged with id as they happen. */
  private async launchStepwise(id: string, plan: Plan, v: ValidSpec, stepper: Stepper, intoCgroup?: CgroupHandle, net?: NetworkPlan): Promise<{ pid: number; network: NetworkInfo }> {
    const { beforeContinue, network } = this.setupHook(plan, v, net);
    const within = <T>(fn: () => T): T => syscallLog.within(id, fn);
    try {
      const { pid } = await within(() => spawnProcessStepwise({ flags: plan.flags, program: plan.program, beforeContinue, intoCgroup, stepper, within }));
      return { pid, network: network() };
    } catch (e) {
      throw this.launchError(e, v);
    }
  }

  private setupHook(plan: Plan, v: ValidSpec, net?: NetworkPlan): { whileCloning?: () => void; beforeContinue?: (pid: number) => void; continueAt: number; network: () => NetworkInfo } {
    let network: NetworkInfo = { mode: 'host', note: HOST_NOTE };
    // What of the host's half needs no pid (the NAT table) is made while the clone is made.
    let prepared: PreparedNetwork | undefined;
    const whileCloning = net ? (): void => void (prepared = prepareNetwork(net)) : undefined;
    // The child waits on a pipe until it has its limits, id maps and the host's half of its network
    // (its cgroup is its first step, its own half of the network its last before the capability
    // drop): nothing runs unlimited, unmapped or unconnected. Without id maps it makes its mounts
    // meanwhile (plan.hostPartBefore), unless it has ulimits: set from here, they would change
    // under its steps.
    const continueAt = v.ulimits.length ? 0 : plan.hostPartBefore;
    const beforeContinue = plan.uidMap || net || v.ulimits.length
      ? (pid: number): void => {
          setUlimits(pid, v.ulimits, this.rootless);
          if (plan.uidMap) this.writeIdMaps(pid, plan);
          if (net) network = setupNetwork(net, pid, prepared);
        }
      : undefined;
    return { whileCloning, beforeContinue, continueAt, network: () => network };
  }

  /** A launch failure as the person who typed the spec can act on it. */
  private launchError(e: unknown, v: ValidSpec): unknown {
    const network = containerNetworkError(e);
    if (network) return network;
    if (e instanceof SyscallError && e.syscall === 'clone') {
      const why = explainCloneFailure(e.code, this.rootless, v.namespaces.includes('user'));
      if (why) return new LockerError(why);
    }
    if (e instanceof SyscallError && e.syscall === 'chdir' && e.code === 'ENOENT' && v.workdir) {
      return new LockerError(`--workdir ${v.workdir} does not exist in the rootfs; pick an existing directory`);
    }
    if (e instanceof SyscallError && e.syscall === 'chdir' && e.code === 'EACCES' && v.rootfs !== undefined && v.namespaces.includes('user')) {
      return new LockerError(unenterableRootfsDir(v.rootfs, JSON.parse(e.args) as string));
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

  private async finish(record: ContainerRecord, status: number, cgroup?: Cgroup, releaseNetworkLater = false): Promise<ContainerInfo> {
    const { exitCode, signal } = decodeWaitStatus(status);
    const oomKilled = cgroup ? (cgroup.stats().memoryEvents.oomKill ?? 0) > 0 : undefined;
    Object.assign(record, { state: 'exited', exitCode, signal, finishedAt: Date.now(), oomKilled });
    if (cgroup) await cgroup.remove();
    if (record.network?.mode === 'bridge' || record.network?.mode === 'pasta') {
      // The veth goes with the container's network namespace: its removal is waited for, never
      // asked for (an RTM_DELLINK now would block this thread 10-20 ms on rtnl, pty data and all).
      const released = teardownNetworkAfterExit(record.id, this.store.containerDir(record.id));
      if (releaseNetworkLater) trackNetworkRelease(released);
      else await released;
    }
    // A kept container keeps its files until rm (locker cp, locker start), as docker keeps them.
    if (!record.kept) removeLayer(this.store.containerDir(record.id));
    if (this.autoRemove || record.autoRemove) {
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
    const ended = r?.monitor && r.state === 'running' ? recordedExit(this.store.containerDir(id)) : undefined;
    if (r && ended) {
      // Its monitor recorded the end; the leftovers go at the next recovery or rm.
      Object.assign(r, { state: 'exited', ...decodeWaitStatus(ended.status), finishedAt: ended.at });
    } else if (r && r.state === 'running' && processStartTime(r.pid) !== r.pidStartTime) {
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
      const dir = this.store.containerDir(r.id);
      // A detached container's teardown (its network; with --rm, the rest) is done here once it has
      // ended, not by the Node its monitor would start: a stop of 50 starts none.
      const takenOver = !own && r.monitor ? takeOverExitCommand(dir) : undefined;
      let settled = false;
      try {
        // Read before and after the send: a race can only make stop wait, never kill early.
        const before = readSignalState(r.pid, SIGTERM);
        kill(r.pid, SIGTERM, 3);
        // Discarded (e.g. `sleep` as its PID namespace's init has no handler): the grace would be waited for nothing.
        const discarded = surelyDiscarded(before, readSignalState(r.pid, SIGTERM));
        const inTime = !discarded && await settledWithin(own ? own.exited.then(() => true) : waitGone(r, graceMs), graceMs);
        if (!inTime && processStartTime(r.pid) === r.pidStartTime) kill(r.pid, 9, 3);
        if (own) return own.exited;
        // Killed, it is gone within milliseconds: polled often, as stop waits for nothing else.
        await waitGone(r, 5000, 5);
        // Settled when its monitor has written the status (ps -a shows it).
        settled = r.monitor ? await exitSettled(r.monitor, dir, 5000) : true;
      } finally {
        // It did not end after all: its monitor does the teardown when it does, as before.
        if (takenOver !== undefined && !settled) handBackExitCommand(dir, takenOver);
      }
      if (takenOver !== undefined) {
        const what = { network: r.network?.mode === 'bridge' || r.network?.mode === 'pasta', remove: r.autoRemove === true };
        await teardownAfterExit(r.id, dir, what).catch((e: Error) => {
          throw new LockerError(`container ${r.name} stopped, but not all it held on the host could be given back: ${e.message}`);
        });
      }
    }
    return publicInfo(this.current(r.id) ?? r);
  }

  /**
   * Lets go of a detached container this runtime started: its monitor owns it, and its exit
   * command releases what it held. `run -d` in the resident CLI server calls this, so the server
   * does not also tear down every container it ever started when they end.
   */
  disown(id: string): void {
    if (!this.live.get(id)?.record.monitor) return;
    this.disowned.add(id);
    this.live.delete(id);
  }

  /** `locker kill`: a signal to the container's init (PID 1 inside), as docker kill sends it. */
  signal(id: string, sig: number): ContainerInfo {
    const r = this.find(id);
    if (r.state !== 'running' || processStartTime(r.pid) !== r.pidStartTime) throw new LockerError(`container ${r.name} is not running; nothing to signal`);
    kill(r.pid, sig, 3 /* ESRCH: it ended just now */);
    return publicInfo(r);
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
    } else if (r.monitor) {
      // Nobody ran finish() for it: its cgroup, veth and layer go now, while its id is still known.
      const settled = this.current(r.id) ?? r;
      await this.finish(settled, recordedExit(this.store.containerDir(r.id))?.status ?? 9, openCgroup(r.id));
    }
    this.store.remove(r.id);
    this.emit();
  }

  async inspect(id: string): Promise<Inspection> {
    const r = this.inspectable(id);
    // The /proc views (in the inspection worker) and the interfaces at the same time.
    const [inspection, network] = await Promise.all([inspectContainerAsync(this.inspectTarget(r)), this.networkViews(r)]);
    return this.withCgroupAndNetwork(r, inspection, network);
  }

  /**
   * inspect without the host's process table (`locker top`): the same parts and containerProcesses,
   * read from the container's processes alone, so its cost follows the container, not the host.
   */
  async inspectContainerOnly(id: string): Promise<ContainerInspection> {
    const r = this.inspectable(id);
    const network = this.networkViews(r);
    // Read on the namespace thread meanwhile, the hostname is in the cache the inspection reads.
    await containerHostnameAsync(r.pid).catch(() => undefined);
    return this.withCgroupAndNetwork(r, inspectContainerOnly(this.inspectTarget(r)), await network);
  }

  private inspectable(id: string): ContainerRecord {
    const r = this.find(id);
    if (r.state !== 'running') throw new LockerError(`container ${r.name} has exited; only running containers can be inspected`);
    return r;
  }

  private inspectTarget(r: ContainerRecord): { id: string; pid: number; execPids: number[] } {
    return { id: r.id, pid: r.pid, execPids: [...(this.execPids.get(r.id) ?? [])] };
  }

  /** The interfaces on both sides and the NAT rules; undefined when they cannot be read. */
  private async networkViews(r: ContainerRecord): Promise<Inspection['network']> {
    try {
      // The NAT rules with their counters as the kernel has them now: one netlink dump (natRulesLive),
      // no nft process; the interfaces are netlink dumps too.
      const nat = r.network?.nat;
      const [host, container] = await Promise.all([interfacesAsync('host'), interfacesAsync(r.pid)]);
      const rules = nat && natRulesLive(nat.table, nat.rules);
      const info = r.network && nat ? { ...r.network, nat: { ...nat, rules: rules ?? nat.rules } } : r.network;
      return { info, host, container };
    } catch {
      // iproute2 missing or the container just ended: the rest of the inspection still stands.
      return undefined;
    }
  }

  private withCgroupAndNetwork<T extends ContainerInspection>(r: ContainerRecord, inspection: T, network: Inspection['network']): T {
    const cgroup = this.live.get(r.id)?.cgroup ?? (r.limits ? openCgroup(r.id) : undefined);
    if (cgroup) inspection.resources = { paths: cgroup.paths, limits: r.limits ?? {}, stats: cgroup.stats() };
    if (network) inspection.network = network;
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

/** A copy layer's host mount flags, which its nodev remount keeps (a user namespace cannot drop them). */
function copyLayerHostFlags(layer: Layer | undefined): string[] | undefined {
  return layer?.kind === 'copy' ? hostMountFlags(layer.dir) : undefined;
}

/** The static reaper of --init (native/src/init.c), built beside libnsexec.so. */
function initBinary(): string {
  const path = join(__dirname, '..', '..', '..', '..', 'native', 'build', 'locker-init');
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new LockerError(`--init needs ${path}, which is missing; run npm install again (it builds native/src/init.c)`);
  }
  return path;
}

/** --privileged: the host's device nodes at the top of /dev, but those every container gets and the host's terminals' own. */
function hostDevices(): string[] {
  const own = new Set(['null', 'zero', 'full', 'random', 'urandom', 'tty', 'console', 'ptmx']);
  return readdirSync('/dev', { withFileTypes: true }).filter((d) => (d.isCharacterDevice() || d.isBlockDevice()) && !own.has(d.name)).map((d) => d.name).sort();
}

const O_CLOEXEC = 0o2000000;
const O_RDONLY_CLOEXEC = constants.O_RDONLY | O_CLOEXEC;

function isDir(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Network releases left to finish after a container's end (RunOptions.releaseNetworkLater). */
const networkReleases = new Set<Promise<void>>();
function trackNetworkRelease(release: Promise<void>): void {
  const tracked = release.catch(() => undefined).finally(() => networkReleases.delete(tracked));
  networkReleases.add(tracked);
}

/** Resolves once every network release left for later in this process is done. */
export async function networkReleased(): Promise<void> {
  while (networkReleases.size) await Promise.all([...networkReleases]);
}

const SIGTERM = 15;

/** Whether done resolved true within ms; its timer is cleared, so it keeps no process alive past then. */
async function settledWithin(done: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)));
  try {
    return await Promise.race([done, late]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitGone(r: ContainerRecord, timeoutMs: number, everyMs = 20): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (processStartTime(r.pid) !== r.pidStartTime) return true;
    await sleep(everyMs);
  }
  return false;
}
