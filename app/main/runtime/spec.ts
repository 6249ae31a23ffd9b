// Validates a RunSpec before anything is created, so bad input costs nothing and leaves nothing behind.
import { accessSync, constants, readFileSync, realpathSync, statSync } from 'node:fs';
import { normalize } from 'node:path';
import { getuid } from '../../../native/libc';
import { hostnameProblem } from '../../shared/api';
import * as grammar from '../../shared/grammar';
import { NAMESPACES, SECCOMP_MODES, type Namespace, type NetworkMode, type PortSpec, type RunSpec, type SeccompMode, type VolumeSpec } from '../../shared/types';
import { checkNetwork } from './network/check';
import { parseLimits, type Limits } from './cgroups';
import { LockerError } from './errors';
import { CAPS, DEFAULT_CAPS, capNumber, lastCap, type CapName } from './security/capabilities';
import { resolveUser } from './users';
import { parseUlimits } from './ulimits';

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_ARG = 128 * 1024;

/** --ns / --no-ns: the shared grammar (app/shared/grammar.ts), as a LockerError. */
export function parseNamespaceList(list: string, flag: string): Namespace[] {
  const r = grammar.parseNamespaceList(list, flag);
  if (!r.ok) throw new LockerError(r.problem);
  return r.value;
}

export function defaultNamespaces(rootless: boolean): Namespace[] {
  return NAMESPACES.filter((n) => rootless || n !== 'user');
}

function checkString(value: string, what: string): void {
  if (value.includes('\0')) throw new LockerError(`${what} contains a NUL byte; remove it`);
  if (value.length > MAX_ARG) throw new LockerError(`${what} is ${value.length} characters long; keep it under ${MAX_ARG}`);
}

export interface ValidSpec {
  command: string[];
  rootfs?: string;
  hostname?: string;
  name?: string;
  env: string[];
  workdir?: string;
  namespaces: Namespace[];
  tty: boolean;
  cols: number;
  rows: number;
  limits: Limits;
  seccomp: SeccompMode;
  volumes: Volume[];
  /** The capabilities the command keeps: Docker's default set with --cap-add/--cap-drop applied. */
  caps: CapName[];
  readOnly: boolean;
  /** --network: host exactly when there is no net namespace. */
  network: NetworkMode;
  /** -p, each host port once. */
  publish: PortSpec[];
  /** --user: omitted for the container's root (0:0); the runtime resolves names (and a UID's passwd entry) in the rootfs. */
  user?: ContainerUser;
  /** --user as typed, for that resolution. */
  userText?: string;
  /** --init: native/build/locker-init is PID 1, the command its child. */
  init: boolean;
  /** --ulimit: set on the init (prlimit) before it runs, inherited by everything it starts. */
  ulimits: grammar.Ulimit[];
  /** --privileged: every capability, no seccomp, no masked paths, the host's devices, /sys writable. */
  privileged: boolean;
}

export interface ContainerUser { uid: number; gid: number; groups?: number[]; home?: string }

/**
 * --user for run and exec: ids (or names resolved in `rootDir`'s /etc/passwd and /etc/group,
 * runtime/users.ts) that exist in the container's user namespace. Rootless, only 0 is mapped (one
 * id, no newuidmap); rootful with a user namespace, 0–65535. Without `rootDir` only the text is
 * checked (names and passwd lookups wait until the rootfs is known).
 */
export function checkUser(text: string, rootless: boolean, inUserNs: boolean, rootDir?: string): ContainerUser | undefined {
  if (rootDir === undefined) {
    const r = grammar.parseUser(text);
    if (!r.ok) throw new LockerError(r.problem);
  }
  const { uid, gid, groups, home } = resolveUser(text, rootDir);
  if (rootless && (uid !== 0 || gid !== 0)) throw new LockerError(`--user ${text}: without root only id 0 exists in the container (your uid ${getuid()} is mapped to 0 alone); run as root for other ids`);
  const outside = [uid, gid, ...groups].find((id) => id > 65535);
  if (inUserNs && outside !== undefined) throw new LockerError(`--user ${text}: id ${outside} is outside the container's user namespace, which maps ids 0-65535 only; pick one in that range`);
  // Rootless, setgroups is denied in the namespace: supplementary groups cannot be set.
  const kept = rootless ? [] : groups;
  return uid === 0 && gid === 0 && kept.length === 0 ? undefined : { uid, gid, ...(kept.length ? { groups: kept } : {}), ...(home ? { home } : {}) };
}

const numericOnly = (text: string): boolean => /^\s*\d+(:\d+)?\s*$/.test(text);

/** A named --user's text checked (one line if it cannot be a name), resolved later. */
function grammarUser(text: string): undefined {
  const r = grammar.parseUser(text);
  if (!r.ok) throw new LockerError(r.problem);
  return undefined;
}

function capabilityNames(values: readonly string[], flag: string): string[] {
  const r = grammar.parseCapabilities(values, flag, CAPS);
  if (!r.ok) throw new LockerError(r.problem);
  return r.value;
}

/** The runtime's own bounding set (CapBnd): no container can keep a capability outside it, so ALL means these. */
function boundingSet(): bigint {
  // Read once: this process never drops a capability of its own.
  if (ownBoundingSet === undefined) {
    const m = /^CapBnd:\s+([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    ownBoundingSet = m ? BigInt(`0x${m[1]}`) : (1n << 64n) - 1n;
  }
  return ownBoundingSet;
}
let ownBoundingSet: bigint | undefined;

/**
 * Docker's rule (moby's caps.TweakCapabilities): ALL in --cap-add starts from every capability the
 * kernel knows and this process may hand on, else from the default set plus the adds; then ALL in --cap-drop keeps only the
 * adds, else the drops are taken out. In capability-number order.
 */
export function keptCapabilities(add: readonly string[] = [], drop: readonly string[] = []): CapName[] {
  const added = capabilityNames(add, '--cap-add');
  const dropped = capabilityNames(drop, '--cap-drop');
  const bounding = boundingSet();
  const last = lastCap();
  const known = CAPS.filter((c) => capNumber(c) <= last && (bounding >> BigInt(capNumber(c))) & 1n);
  const adds = added.filter((n) => n !== 'ALL') as CapName[];
  const base: CapName[] = added.includes('ALL') ? [...known] : [...DEFAULT_CAPS, ...adds];
  const kept = dropped.includes('ALL') ? adds : base.filter((c) => !dropped.includes(c));
  return known.filter((c) => kept.includes(c));
}

/** A checked bind mount: the host path resolved (no symlink left in it), and whether it is a file. */
export interface Volume extends VolumeSpec {
  file: boolean;
  /** nosuid/nodev/noexec of the host mount the source is on: a read-only remount must keep them (locked in a user namespace). */
  hostFlags: string[];
}

/** The host mount holding `path` (the longest mount point that is a prefix of it): its point, per-mount options and optional fields. */
function hostMount(path: string): { point: string; options: string[]; tags: string[] } {
  let best = { point: '', options: [] as string[], tags: [] as string[] };
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const f = line.split(' ');
    if (f.length < 6) continue;
    const point = f[4].replace(/\\040/g, ' ');
    const inside = point === '/' || path === point || path.startsWith(`${point}/`);
    if (inside && point.length >= best.point.length) best = { point, options: f[5].split(','), tags: f.slice(6, f.indexOf('-')) };
  }
  return best;
}

/** The per-mount flags of the host mount holding `path`. */
export function hostMountFlags(path: string): string[] {
  return hostMount(path).options.filter((o) => o === 'nosuid' || o === 'nodev' || o === 'noexec');
}

/**
 * A slave volume receives what the host mounts under it only if the host mount holding it is shared (or
 * itself a slave): a private one propagates nothing. Docker refuses the same way.
 */
function checkPropagation(typed: string, source: string, propagation: VolumeSpec['propagation']): void {
  if (propagation !== 'slave' && propagation !== 'rslave') return;
  const m = hostMount(source);
  if (m.tags.some((t) => t.startsWith('shared:') || t.startsWith('master:'))) return;
  throw new LockerError(`volume ${JSON.stringify(typed)} with ${propagation}: the host mount it is on (${m.point}) is private, so no mount made on the host could reach the container; make it shared first (mount --make-shared ${m.point}, or a mount of the folder's own: mount --bind ${source} ${source} && mount --make-shared ${source}) or drop ${propagation}`);
}

/** Host trees a container must never get a bind of: the kernel's own interfaces. */
const REFUSED_SOURCES = ['/proc', '/sys'];

/** As typed (a /proc magic link such as /proc/1/root) and as resolved (a symlink into /sys). */
function refuseKernelTree(typed: string, path: string): void {
  const under = REFUSED_SOURCES.find((d) => path === d || path.startsWith(`${d}/`));
  if (under) throw new LockerError(`volume source ${JSON.stringify(typed)} is under ${under}, the kernel's own interface; it is never bound into a container: bind a directory of your own`);
}

/** One bind mount: the host source exists, is readable by the caller, and is not /proc or /sys. */
export function checkVolume(v: VolumeSpec, rootless: boolean): Volume {
  const r = grammar.checkVolumeSpec(v);
  if (!r.ok) throw new LockerError(r.problem);
  refuseKernelTree(v.source, normalize(v.source));
  let source: string;
  let file: boolean;
  try {
    source = realpathSync(v.source);
    file = !statSync(source).isDirectory();
  } catch {
    throw new LockerError(`volume source ${JSON.stringify(v.source)} does not exist on the host; create it first (mkdir -p ${v.source}) or fix the path`);
  }
  refuseKernelTree(v.source, source);
  if (rootless) {
    try {
      accessSync(source, constants.R_OK | (file ? 0 : constants.X_OK));
    } catch {
      throw new LockerError(`volume source ${JSON.stringify(v.source)} is not readable by uid ${getuid()}, who runs this container; bind a path that user can read`);
    }
  }
  checkPropagation(v.source, source, r.value.propagation);
  return { source, target: r.value.target, readonly: r.value.readonly, ...(r.value.propagation ? { propagation: r.value.propagation } : {}), file, hostFlags: hostMountFlags(source) };
}

/** Checks every field; throws LockerError with one line naming the problem and the fix. */
export function validateSpec(spec: RunSpec, rootless: boolean): ValidSpec {
  // No command is fine with a --rootfs: a layered image's Cmd/Entrypoint may name one (the runtime says if not).
  if (!Array.isArray(spec.command) || (spec.command.length === 0 && spec.rootfs === undefined) || spec.command.some((a) => typeof a !== 'string')) {
    throw new LockerError('no command given; name one, e.g. locker run -- /bin/sh');
  }
  if (spec.command.length > 0 && spec.command[0] === '') throw new LockerError('the command is empty; name one, e.g. /bin/sh');
  spec.command.forEach((a, i) => checkString(a, `command argument ${i}`));
  let namespaces = spec.namespaces ?? defaultNamespaces(rootless);
  const nsCheck = grammar.checkNamespaces(namespaces.map(String));
  if (!nsCheck.ok) throw new LockerError(nsCheck.problem);
  const { network, publish } = checkNetwork(spec, namespaces.includes('net'));
  if (network === 'host') namespaces = namespaces.filter((n) => n !== 'net');
  if (rootless && !namespaces.includes('user')) {
    throw new LockerError('without root, a container needs the user namespace: keep "user" in --ns (or run as root)');
  }
  if (spec.hostname !== undefined) {
    checkString(spec.hostname, 'the hostname');
    const problem = hostnameProblem(spec.hostname);
    if (problem) throw new LockerError(problem);
    if (!namespaces.includes('uts')) throw new LockerError('--hostname needs the uts namespace (it would rename the host); add uts to --ns');
  }
  if (spec.name !== undefined) {
    const r = grammar.parseName(String(spec.name));
    if (!r.ok) throw new LockerError(r.problem);
  }
  const env = spec.env ?? [];
  for (const e of env) {
    checkString(e, 'an --env value');
    const key = e.split('=', 1)[0];
    if (!e.includes('=') || !ENV_KEY.test(key)) throw new LockerError(`invalid --env "${e.slice(0, 70)}": expected KEY=VALUE, e.g. --env GREETING=hello`);
  }
  if (spec.workdir !== undefined) {
    checkString(spec.workdir, '--workdir');
    if (!spec.workdir.startsWith('/')) throw new LockerError(`--workdir "${spec.workdir}" must be an absolute path, e.g. /root`);
  }
  if (spec.rootfs !== undefined) {
    checkString(spec.rootfs, '--rootfs');
    if (spec.rootfs === '') throw new LockerError('--rootfs is empty; give a directory or a .tar/.tar.gz, or omit it for the default rootfs');
    if (!namespaces.includes('mnt')) throw new LockerError('--rootfs needs the mnt namespace (pivot_root happens in it); add mnt to --ns');
  }
  const seccomp = spec.seccomp ?? (spec.privileged === true ? 'unconfined' : 'default');
  if (!(SECCOMP_MODES as readonly string[]).includes(seccomp)) {
    throw new LockerError(`unknown seccomp mode ${JSON.stringify(String(seccomp).slice(0, 40))}; use 'unconfined' for no filter, or leave it out for Docker's default profile`);
  }
  let limits: Limits;
  try {
    limits = parseLimits({ memory: spec.memory, cpus: spec.cpus, pidsLimit: spec.pidsLimit });
  } catch (e) {
    throw new LockerError((e as Error).message);
  }
  const volumes = (spec.volumes ?? []).map((v) => checkVolume(v, rootless));
  if (volumes.length > 0 && !namespaces.includes('mnt')) throw new LockerError('-v/--mount needs the mnt namespace (the bind is made in it); add mnt to --ns');
  const caps = spec.privileged === true ? keptCapabilities(['ALL']) : keptCapabilities(spec.capAdd, spec.capDrop);
  const readOnly = spec.readOnly === true;
  if (readOnly && !namespaces.includes('mnt')) throw new LockerError('--read-only needs the mnt namespace (the container\'s own root is what becomes read-only); add mnt to --ns');
  // Numbers are checked now (nothing is made for a bad one); names wait for the rootfs (runtime.ts).
  const userText = spec.user === undefined ? undefined : String(spec.user);
  const user = userText === undefined ? undefined : numericOnly(userText) ? checkUser(userText, rootless, namespaces.includes('user')) : grammarUser(userText);
  const ulimits = parseUlimits(spec.ulimits);
  const privileged = spec.privileged === true;
  if (privileged && (spec.capAdd?.length || spec.capDrop?.length)) throw new LockerError('--privileged already gives every capability; leave out --cap-add/--cap-drop (or --privileged)');
  if (privileged && spec.seccomp === 'default') throw new LockerError('--privileged runs without a seccomp filter; leave out --security-opt seccomp=default (or --privileged)');
  const size = (v: number | undefined, d: number): number => (Number.isInteger(v) && v! > 0 && v! < 10000 ? v! : d);
  return {
    command: spec.command,
    rootfs: spec.rootfs,
    hostname: spec.hostname,
    name: spec.name,
    env,
    workdir: spec.workdir,
    namespaces,
    tty: spec.tty === true,
    cols: size(spec.cols, 80),
    rows: size(spec.rows, 24),
    limits,
    seccomp,
    volumes,
    caps,
    readOnly,
    user,
    network,
    publish,
    userText,
    init: spec.init === true,
    ulimits,
    privileged,
  };
}
