// A bundle's config.json (OCI runtime spec), read and checked: every field Locker does not carry
// out is refused with one line naming it, never dropped. A few are taken with a note in the
// runtime's --log saying how (ACCEPTED_WITH_NOTE): LSM labels on a host without that LSM, the
// cgroup path (Locker keeps its own), memory swap.
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Namespace } from '../../shared/types';
import { CAPS, capNumber, lastCap, type CapName } from '../runtime/security/capabilities';
import { keptCapabilities } from '../runtime/spec';

export class ConfigError extends Error {}

export interface OciMount { destination: string; type: string; source: string; options: string[] }
export interface OciHook { path: string; args?: string[]; env?: string[]; timeout?: number }
export interface OciIdMap { containerID: number; hostID: number; size: number }
export interface OciRlimit { type: string; soft: number; hard: number }

export interface OciSpec {
  bundle: string;
  rootPath: string;
  readonlyRoot: boolean;
  hostname?: string;
  domainname?: string;
  mounts: OciMount[];
  process: {
    terminal: boolean;
    consoleSize?: { width: number; height: number };
    uid: number;
    gid: number;
    umask?: number;
    additionalGids: number[];
    args: string[];
    env: string[];
    cwd: string;
    caps: { bounding: CapName[]; effective: CapName[]; permitted: CapName[]; inheritable: CapName[]; ambient: CapName[] };
    rlimits: OciRlimit[];
    noNewPrivileges: boolean;
    oomScoreAdj?: number;
  };
  /** New namespaces (no path) and ones to join (path). */
  namespaces: Array<{ type: Namespace; path?: string }>;
  uidMappings: OciIdMap[];
  gidMappings: OciIdMap[];
  resources: { memory?: number; cpus?: number; pidsLimit?: number };
  seccomp?: unknown;
  maskedPaths: string[];
  readonlyPaths: string[];
  sysctl: Record<string, string>;
  rootfsPropagation?: string;
  hooks: { prestart: OciHook[]; createRuntime: OciHook[]; poststart: OciHook[]; poststop: OciHook[] };
  annotations: Record<string, string>;
  /** Fields taken in a way the config's author may not expect, for --log. */
  notes: string[];
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const OCI_NS: Record<string, Namespace> = { pid: 'pid', network: 'net', mount: 'mnt', ipc: 'ipc', uts: 'uts', user: 'user', cgroup: 'cgroup' };

/** field is a path in config.json, or `FILE: path` for another file (exec's --process). */
function refuse(field: string, why: string): never {
  throw new ConfigError(field.includes(': ') ? `${field.trimEnd()} ${why}` : `config.json: ${field} ${why}`);
}

/**
 * Properties the runtime spec defines (config.md, config-linux.md) for the objects below: one Locker
 * does not carry out is refused by name; one the spec does not define at all is ignored with a
 * note in --log, as the spec's extensibility rule says runtimes MUST do.
 */
const SPEC_KEYS: Record<string, readonly string[]> = {
  '': ['ociVersion', 'root', 'mounts', 'process', 'hostname', 'domainname', 'hooks', 'annotations', 'linux', 'solaris', 'windows', 'vm', 'zos'],
  root: ['path', 'readonly'],
  process: ['terminal', 'consoleSize', 'cwd', 'env', 'args', 'commandLine', 'rlimits', 'apparmorProfile', 'capabilities', 'noNewPrivileges', 'oomScoreAdj', 'scheduler', 'selinuxLabel', 'ioPriority', 'execCPUAffinity', 'user'],
  linux: ['namespaces', 'uidMappings', 'gidMappings', 'timeOffsets', 'devices', 'netDevices', 'cgroupsPath', 'rootfsPropagation', 'resources', 'unified', 'sysctl', 'seccomp', 'maskedPaths', 'readonlyPaths', 'mountLabel', 'personality', 'intelRdt', 'memoryPolicy'],
};

/** The file a field is in: config.json, or the one named before `: ` (exec's --process). */
const fileOf = (field: string): string => (field.includes(': ') ? field.slice(0, field.indexOf(': ')) : 'config.json');

/** Refuses a key of obj outside `known`, naming it (a key the spec does not define, where SPEC_KEYS lists the spec's, is noted and ignored). */
function onlyKnown(obj: Obj, field: string, known: string[], notes?: string[]): void {
  const spec = notes ? SPEC_KEYS[field] : undefined;
  for (const k of Object.keys(obj)) {
    if (!known.includes(k) && spec && !spec.includes(k)) {
      notes!.push(`config.json: ${field ? `${field}.` : ''}${k} is not a property of the runtime spec: ignored`);
      continue;
    }
    if (!known.includes(k)) refuse(`${field}${field && !field.endsWith(': ') ? '.' : ''}${k}`, `is not supported by locker oci; remove it from ${fileOf(field)}`);
  }
}

const str = (v: unknown, field: string): string => (typeof v === 'string' ? v : refuse(field, 'must be a string'));
const int = (v: unknown, field: string): number => (Number.isInteger(v) ? (v as number) : refuse(field, 'must be an integer'));
const strList = (v: unknown, field: string): string[] => {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) refuse(field, 'must be a list of strings');
  return v.map((x, i) => str(x, `${field}[${i}]`));
};
const obj = (v: unknown, field: string): Obj => (v === undefined || v === null ? {} : isObj(v) ? v : refuse(field, 'must be an object'));

function capList(v: unknown, field: string): CapName[] {
  return strList(v, field).map((c, i) => {
    const name = c.replace(/^CAP_/, '') as CapName;
    if (!CAPS.includes(name)) refuse(`${field}[${i}]`, `${JSON.stringify(c)} is not a capability Locker knows`);
    return name;
  });
}

/**
 * A capability the process is to hold (effective, permitted, inheritable) must be one the runtime
 * itself can give: in its own bounding set and known to this kernel. Otherwise capset fails with
 * a bare EPERM (runc's "unable to apply caps"); refused here by name instead. The bounding and
 * ambient lists keep runc's way: a capability the runtime lacks is simply not there.
 */
function checkHeld(list: CapName[], field: string): void {
  if (list.length === 0) return;
  const held = keptCapabilities(['ALL']);
  list.forEach((c, i) => {
    if (held.includes(c)) return;
    const why = capNumber(c) > lastCap() ? 'this kernel does not know it (/proc/sys/kernel/cap_last_cap)' : "it is not in the runtime's own bounding set (CapBnd in /proc/self/status), so no process it starts can hold it";
    refuse(`${field}[${i}]`, `"CAP_${c}" cannot be given: ${why}; remove it from ${fileOf(field)}`);
  });
}

function hooks(v: unknown): OciSpec['hooks'] {
  const h = obj(v, 'hooks');
  onlyKnown(h, 'hooks', ['prestart', 'createRuntime', 'poststart', 'poststop', 'createContainer', 'startContainer']);
  for (const inside of ['createContainer', 'startContainer']) {
    if (Array.isArray(h[inside]) && (h[inside] as unknown[]).length) refuse(`hooks.${inside}`, 'runs inside the container\'s namespaces, which locker oci does not do; use createRuntime/poststart hooks');
  }
  const list = (k: string): OciHook[] => (Array.isArray(h[k]) ? (h[k] as unknown[]) : []).map((x, i) => {
    const f = `hooks.${k}[${i}]`;
    const o = obj(x, f);
    onlyKnown(o, f, ['path', 'args', 'env', 'timeout']);
    const path = str(o.path, `${f}.path`);
    if (!isAbsolute(path)) refuse(`${f}.path`, 'must be an absolute path');
    return { path, args: o.args === undefined ? undefined : strList(o.args, `${f}.args`), env: o.env === undefined ? undefined : strList(o.env, `${f}.env`), timeout: o.timeout === undefined ? undefined : int(o.timeout, `${f}.timeout`) };
  });
  return { prestart: list('prestart'), createRuntime: list('createRuntime'), poststart: list('poststart'), poststop: list('poststop') };
}

function idMaps(v: unknown, field: string): OciIdMap[] {
  return (Array.isArray(v) ? v : []).map((m, i) => {
    const o = obj(m, `${field}[${i}]`);
    onlyKnown(o, `${field}[${i}]`, ['containerID', 'hostID', 'size']);
    return { containerID: int(o.containerID, `${field}[${i}].containerID`), hostID: int(o.hostID, `${field}[${i}].hostID`), size: int(o.size, `${field}[${i}].size`) };
  });
}

function resources(v: unknown, notes: string[]): OciSpec['resources'] {
  const r = obj(v, 'linux.resources');
  onlyKnown(r, 'linux.resources', ['devices', 'memory', 'cpu', 'pids']);
  const out: OciSpec['resources'] = {};
  const devices = Array.isArray(r.devices) ? (r.devices as unknown[]) : [];
  // runc's own default allowlist follows the config's rules; a lone "deny all" is what every engine sends.
  devices.forEach((d, i) => {
    const o = obj(d, `linux.resources.devices[${i}]`);
    const denyAll = o.allow === false && o.type === undefined && o.major === undefined && o.minor === undefined;
    if (!denyAll) refuse(`linux.resources.devices[${i}]`, 'is not supported: Locker applies runc\'s default device allowlist only');
  });
  const mem = obj(r.memory, 'linux.resources.memory');
  onlyKnown(mem, 'linux.resources.memory', ['limit', 'swap', 'disableOOMKiller', 'swappiness']);
  if (mem.limit !== undefined && mem.limit !== -1) out.memory = int(mem.limit, 'linux.resources.memory.limit');
  if (mem.swap !== undefined && mem.swap !== -1) notes.push(`linux.resources.memory.swap ${String(mem.swap)} is not set: Locker limits memory only (memory.limit)`);
  if (mem.disableOOMKiller === true) refuse('linux.resources.memory.disableOOMKiller', 'is not supported');
  if (mem.swappiness !== undefined && mem.swappiness !== null) notes.push('linux.resources.memory.swappiness is not set (the host default applies)');
  const cpu = obj(r.cpu, 'linux.resources.cpu');
  onlyKnown(cpu, 'linux.resources.cpu', ['quota', 'period', 'shares']);
  if (cpu.quota !== undefined && cpu.quota !== -1) out.cpus = int(cpu.quota, 'linux.resources.cpu.quota') / (cpu.period === undefined ? 100000 : int(cpu.period, 'linux.resources.cpu.period'));
  if (cpu.shares !== undefined) notes.push(`linux.resources.cpu.shares ${String(cpu.shares)} is not set: Locker sets a CPU quota only`);
  const pids = obj(r.pids, 'linux.resources.pids');
  onlyKnown(pids, 'linux.resources.pids', ['limit']);
  if (pids.limit !== undefined && Number(pids.limit) > 0) out.pidsLimit = int(pids.limit, 'linux.resources.pids.limit');
  return out;
}

export type OciProcess = OciSpec['process'];

/**
 * A runtime-spec Process: config.json's `process`, or the file `exec --process` reads (what
 * podman's conmon hands over for `podman exec`). `at` names a field for an error line.
 */
export function parseProcess(raw: unknown, at: (key: string) => string, notes: string[]): OciProcess {
  const p = obj(raw, at(''));
  onlyKnown(p, at(''), ['terminal', 'consoleSize', 'user', 'args', 'env', 'cwd', 'capabilities', 'rlimits', 'noNewPrivileges', 'oomScoreAdj', 'apparmorProfile', 'selinuxLabel'], notes);
  if (p.apparmorProfile) notes.push(`${at('apparmorProfile')} ${JSON.stringify(p.apparmorProfile)} is not applied: locker oci loads no LSM profiles`);
  if (p.selinuxLabel) notes.push(`${at('selinuxLabel')} ${JSON.stringify(p.selinuxLabel)} is not applied: locker oci sets no SELinux labels`);
  const user = obj(p.user, at('user'));
  onlyKnown(user, at('user'), ['uid', 'gid', 'umask', 'additionalGids']);
  const caps = obj(p.capabilities, at('capabilities'));
  onlyKnown(caps, at('capabilities'), ['bounding', 'effective', 'permitted', 'inheritable', 'ambient']);
  const args = strList(p.args, at('args'));
  if (args.length === 0) refuse(at('args'), 'is empty; name the program to run');
  const cwd = p.cwd === undefined ? '/' : str(p.cwd, at('cwd'));
  if (!cwd.startsWith('/')) refuse(at('cwd'), 'must be an absolute path');
  const rlimits = (Array.isArray(p.rlimits) ? (p.rlimits as unknown[]) : []).map((r, i) => {
    const f = at(`rlimits[${i}]`);
    const o = obj(r, f);
    onlyKnown(o, f, ['type', 'soft', 'hard']);
    return { type: str(o.type, `${f}.type`), soft: int(o.soft, `${f}.soft`), hard: int(o.hard, `${f}.hard`) };
  });
  const cs = p.consoleSize === undefined || p.consoleSize === null ? undefined : obj(p.consoleSize, at('consoleSize'));
  const capsOf = (k: string): CapName[] => capList(caps[k], at(`capabilities.${k}`));
  const held = (k: string): CapName[] => {
    const list = capsOf(k);
    checkHeld(list, at(`capabilities.${k}`));
    return list;
  };
  return {
    terminal: p.terminal === true,
    consoleSize: cs ? { width: int(cs.width, at('consoleSize.width')), height: int(cs.height, at('consoleSize.height')) } : undefined,
    uid: user.uid === undefined ? 0 : int(user.uid, at('user.uid')),
    gid: user.gid === undefined ? 0 : int(user.gid, at('user.gid')),
    umask: user.umask === undefined ? undefined : int(user.umask, at('user.umask')),
    additionalGids: (Array.isArray(user.additionalGids) ? user.additionalGids : []).map((g, i) => int(g, at(`user.additionalGids[${i}]`))),
    args,
    env: strList(p.env, at('env')),
    cwd,
    caps: { bounding: capsOf('bounding'), effective: held('effective'), permitted: held('permitted'), inheritable: held('inheritable'), ambient: capsOf('ambient') },
    rlimits,
    noNewPrivileges: p.noNewPrivileges === true,
    oomScoreAdj: p.oomScoreAdj === undefined ? undefined : int(p.oomScoreAdj, at('oomScoreAdj')),
  };
}

export function readConfig(bundle: string): OciSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  } catch (e) {
    throw new ConfigError(`cannot read ${join(bundle, 'config.json')}: ${(e as Error).message}; give --bundle DIR with a config.json (runc spec makes one)`);
  }
  return parseConfig(raw, bundle);
}

export function parseConfig(raw: unknown, bundle: string): OciSpec {
  const notes: string[] = [];
  const c = obj(raw, 'config');
  onlyKnown(c, '', ['ociVersion', 'process', 'root', 'hostname', 'domainname', 'mounts', 'hooks', 'annotations', 'linux'], notes);
  if (!/^1\./.test(String(c.ociVersion ?? ''))) refuse('ociVersion', `${JSON.stringify(c.ociVersion)}: locker oci implements runtime spec 1.x`);
  const root = obj(c.root, 'root');
  onlyKnown(root, 'root', ['path', 'readonly'], notes);
  const rootPath = str(root.path, 'root.path');
  const proc = parseProcess(c.process, (k) => `process${k ? '.' : ''}${k}`, notes);

  const linux = obj(c.linux, 'linux');
  onlyKnown(linux, 'linux', ['namespaces', 'uidMappings', 'gidMappings', 'resources', 'cgroupsPath', 'seccomp', 'maskedPaths', 'readonlyPaths', 'sysctl', 'devices', 'rootfsPropagation', 'mountLabel'], notes);
  if (linux.mountLabel) notes.push(`linux.mountLabel ${JSON.stringify(linux.mountLabel)} is not applied: locker oci sets no SELinux labels`);
  if (linux.cgroupsPath) notes.push(`linux.cgroupsPath ${JSON.stringify(linux.cgroupsPath)} is not used: Locker puts each container in its own locker/<id> cgroup`);
  if (Array.isArray(linux.devices) && linux.devices.length) refuse('linux.devices', 'is not supported: locker oci gives a container the default devices (null zero full random urandom tty) only');
  const namespaces = (Array.isArray(linux.namespaces) ? (linux.namespaces as unknown[]) : []).map((n, i) => {
    const o = obj(n, `linux.namespaces[${i}]`);
    onlyKnown(o, `linux.namespaces[${i}]`, ['type', 'path']);
    const type = OCI_NS[str(o.type, `linux.namespaces[${i}].type`)];
    if (!type) refuse(`linux.namespaces[${i}].type`, `${JSON.stringify(o.type)} is not supported (pid network mount ipc uts user cgroup)`);
    const path = o.path === undefined || o.path === '' ? undefined : str(o.path, `linux.namespaces[${i}].path`);
    if (path && type === 'user') refuse(`linux.namespaces[${i}].path`, 'joining an existing user namespace is not supported by locker oci');
    return { type, path };
  });
  const sysctl = obj(linux.sysctl, 'linux.sysctl') as Record<string, string>;
  for (const [k, v] of Object.entries(sysctl)) {
    if (typeof v !== 'string') refuse(`linux.sysctl.${k}`, 'must be a string');
    const ns = /^net\./.test(k) ? 'net' : /^(kernel\.(shm|msg|sem)|fs\.mqueue\.)/.test(k) ? 'ipc' : undefined;
    if (!ns || !namespaces.some((n) => n.type === ns)) refuse(`linux.sysctl.${k}`, 'is not namespaced for this container (only net.* with a network namespace, kernel.shm*/msg*/sem and fs.mqueue.* with an IPC namespace)');
  }
  const mounts = (Array.isArray(c.mounts) ? (c.mounts as unknown[]) : []).map((m, i) => {
    const o = obj(m, `mounts[${i}]`);
    onlyKnown(o, `mounts[${i}]`, ['destination', 'type', 'source', 'options']);
    const destination = str(o.destination, `mounts[${i}].destination`);
    if (!destination.startsWith('/')) refuse(`mounts[${i}].destination`, 'must be an absolute path');
    return { destination, type: o.type === undefined ? 'none' : str(o.type, `mounts[${i}].type`), source: o.source === undefined ? '' : str(o.source, `mounts[${i}].source`), options: strList(o.options, `mounts[${i}].options`) };
  });
  const propagation = linux.rootfsPropagation === undefined ? undefined : str(linux.rootfsPropagation, 'linux.rootfsPropagation');
  const propagations = ['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable'];
  if (propagation && !propagations.includes(propagation)) refuse('linux.rootfsPropagation', `${JSON.stringify(propagation)} is not a mount propagation (${propagations.join(', ')})`);
  return {
    bundle,
    rootPath: isAbsolute(rootPath) ? rootPath : join(bundle, rootPath),
    readonlyRoot: root.readonly === true,
    hostname: c.hostname === undefined ? undefined : str(c.hostname, 'hostname'),
    domainname: c.domainname === undefined ? undefined : str(c.domainname, 'domainname'),
    mounts,
    process: proc,
    namespaces,
    uidMappings: idMaps(linux.uidMappings, 'linux.uidMappings'),
    gidMappings: idMaps(linux.gidMappings, 'linux.gidMappings'),
    resources: resources(linux.resources, notes),
    seccomp: linux.seccomp ?? undefined,
    maskedPaths: strList(linux.maskedPaths, 'linux.maskedPaths'),
    readonlyPaths: strList(linux.readonlyPaths, 'linux.readonlyPaths'),
    sysctl,
    rootfsPropagation: propagation,
    hooks: hooks(c.hooks),
    annotations: obj(c.annotations, 'annotations') as Record<string, string>,
    notes,
  };
}
