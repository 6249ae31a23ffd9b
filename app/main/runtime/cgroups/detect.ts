// Which cgroup hierarchies this host has (pure v2, pure v1, or hybrid), where they are mounted,
// which controllers they offer, and whether we may create cgroups in them.
import { accessSync, constants, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { parseProcCgroup } from './proc-cgroup';

export type CgroupVersion = 'v2' | 'v1' | 'hybrid' | 'none';
export type V1Controller = 'memory' | 'cpu' | 'cpuacct' | 'pids' | 'devices';
/** The controllers behind --memory, --cpus and --pids-limit. */
export type LimitController = 'memory' | 'cpu' | 'pids';
export const LIMIT_CONTROLLERS: readonly LimitController[] = ['memory', 'cpu', 'pids'];
export const V1_CONTROLLERS: readonly V1Controller[] = ['memory', 'cpu', 'cpuacct', 'pids', 'devices'];

/**
 * Rootless v2: processes may not sit in a cgroup whose subtree_control enables controllers, so
 * createCgroup moves the app's own processes into this leaf of its delegated cgroup first.
 */
export const SUPERVISOR_LEAF = 'locker-supervisor';

export interface CgroupLayout {
  version: CgroupVersion;
  /** Mount point of the cgroup2 filesystem. */
  v2Root?: string;
  /** Mount point of each v1 controller's hierarchy (cpu and cpuacct may be the same directory). */
  v1Roots: Partial<Record<V1Controller, string>>;
  /** The v2 directory that holds `locker/`: the mount root as root, our own delegated cgroup otherwise. */
  v2Parent?: string;
  /** cgroup.controllers at v2Parent: what may be enabled for its children. */
  v2Controllers: string[];
  /** Which hierarchy serves each limit; null when no hierarchy offers the controller. */
  backend: Record<LimitController, 'v1' | 'v2' | null>;
  /**
   * Who enforces the device allowlist (cgroups/devices.ts): v1's devices controller, a BPF program
   * on the v2 cgroup, or nobody (rootless: the kernel refuses device nodes in a user namespace anyway).
   */
  devices: 'v1' | 'v2' | null;
  rootless: boolean;
  /** We may create cgroups (root, or a writable delegated v2 subtree). */
  canWrite: boolean;
  /** Why limits are unavailable (all, or the controllers whose backend is null). */
  reason?: string;
}

export interface CgroupMount {
  mountPoint: string;
  root: string;
  fsType: 'cgroup' | 'cgroup2';
  superOptions: string[];
}

export interface DetectOptions {
  /** /proc/self/mountinfo text */
  mountinfo?: string;
  /** /proc/self/cgroup text */
  selfCgroup?: string;
  uid?: number;
  /** Whether we may write to a path (default: access(W_OK)). */
  writable?: (path: string) => boolean;
}

const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** cgroup and cgroup2 mounts from /proc/self/mountinfo. */
export function parseMountinfo(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const left = line.slice(0, sep).split(' ');
    const [fsType, , superOpts = ''] = line.slice(sep + 3).split(' ');
    if (fsType !== 'cgroup' && fsType !== 'cgroup2') continue;
    out.push({ root: unescape(left[3]), mountPoint: unescape(left[4]), fsType, superOptions: superOpts.split(',') });
  }
  return out;
}

function defaultWritable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function readControllers(dir: string): string[] {
  try {
    return readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

export const V1_ROOTLESS_REASON =
  'cgroup v1 cannot be delegated to an ordinary user; run as root or on a cgroup v2 host with systemd delegation (systemd-run --user --scope -p Delegate=yes)';

export function detect(opts: DetectOptions = {}): CgroupLayout {
  const mountinfo = opts.mountinfo ?? readFileSync('/proc/self/mountinfo', 'utf8');
  const uid = opts.uid ?? process.getuid?.() ?? 0;
  const writable = opts.writable ?? defaultWritable;
  const rootless = uid !== 0;
  const mounts = parseMountinfo(mountinfo);

  // Prefer a mount of the hierarchy's root over bind mounts of a sub-cgroup.
  const best = (ms: CgroupMount[]): CgroupMount | undefined => ms.find((m) => m.root === '/') ?? ms[0];
  const v2Mount = best(mounts.filter((m) => m.fsType === 'cgroup2'));
  const v1Roots: Partial<Record<V1Controller, string>> = {};
  for (const c of V1_CONTROLLERS) {
    const m = best(mounts.filter((x) => x.fsType === 'cgroup' && x.superOptions.includes(c)));
    if (m) v1Roots[c] = m.mountPoint;
  }
  const hasV1 = Object.keys(v1Roots).length > 0;
  const version: CgroupVersion = v2Mount ? (hasV1 ? 'hybrid' : 'v2') : hasV1 ? 'v1' : 'none';

  const layout: CgroupLayout = {
    version,
    v2Root: v2Mount?.mountPoint,
    v1Roots,
    v2Controllers: [],
    backend: { memory: null, cpu: null, pids: null },
    devices: null,
    rootless,
    canWrite: false,
  };
  if (version === 'none') {
    layout.reason = 'no cgroup filesystem is mounted (expected cgroup2 at /sys/fs/cgroup)';
    return layout;
  }

  const problems: string[] = [];
  if (v2Mount) {
    if (!rootless) {
      layout.v2Parent = v2Mount.mountPoint;
    } else {
      // Our own cgroup, relative to the mount's root; when we already moved ourselves into the
      // supervisor leaf, the delegated cgroup is its parent.
      const self = parseProcCgroup(opts.selfCgroup ?? readFileSync('/proc/self/cgroup', 'utf8')).v2;
      if (self !== undefined) {
        let rel = posix.relative(v2Mount.root, self);
        if (!rel.startsWith('..')) {
          if (posix.basename(rel) === SUPERVISOR_LEAF) rel = posix.dirname(rel);
          const dir = join(v2Mount.mountPoint, rel === '.' ? '' : rel);
          const delegated = ['', 'cgroup.procs', 'cgroup.subtree_control'].every((f) => writable(join(dir, f)));
          if (delegated) layout.v2Parent = dir;
          else if (version === 'v2') {
            problems.push(
              `the cgroup v2 subtree ${self} is not delegated to uid ${uid}; run as root or with systemd delegation (systemd-run --user --scope -p Delegate=yes)`,
            );
          }
        }
      }
    }
    if (layout.v2Parent) layout.v2Controllers = readControllers(layout.v2Parent);
  }

  let v1Usable = hasV1 && !rootless;
  if (v1Usable) {
    const ro = [...new Set(Object.values(v1Roots))].filter((d) => !writable(d));
    if (ro.length > 0) {
      problems.push(`cannot write to ${ro.join(', ')} (read-only cgroup filesystem?)`);
      v1Usable = false;
    }
  }
  if (hasV1 && rootless) problems.push(V1_ROOTLESS_REASON);
  if (layout.v2Parent && !rootless && !writable(layout.v2Parent)) {
    problems.push(`cannot write to ${layout.v2Parent} (read-only cgroup filesystem?)`);
    layout.v2Parent = undefined;
    layout.v2Controllers = [];
  }

  for (const c of LIMIT_CONTROLLERS) {
    if (v1Roots[c]) layout.backend[c] = v1Usable ? 'v1' : null;
    else if (layout.v2Controllers.includes(c)) layout.backend[c] = 'v2';
  }
  layout.canWrite = v1Usable || layout.v2Parent !== undefined;
  // Loading a BPF program needs CAP_SYS_ADMIN on the host: rootless has no device cgroup layer.
  layout.devices = v1Usable && v1Roots.devices ? 'v1' : !rootless && layout.v2Parent ? 'v2' : null;

  const missing = LIMIT_CONTROLLERS.filter((c) => layout.backend[c] === null);
  if (!layout.canWrite) {
    layout.reason = problems[0] ?? 'no writable cgroup hierarchy';
  } else if (missing.length > 0) {
    const where = rootless && layout.v2Parent ? ` in the delegated subtree ${layout.v2Parent}` : '';
    const verb = missing.length > 1 ? 'controllers are' : 'controller is';
    layout.reason = `the ${missing.join(', ')} ${verb} not available${where}` + (problems.length ? `: ${problems[0]}` : '');
  }
  return layout;
}

/** The layout of this machine, detected once. */
let cached: CgroupLayout | undefined;
export function hostLayout(): CgroupLayout {
  cached ??= detect();
  return cached;
}
