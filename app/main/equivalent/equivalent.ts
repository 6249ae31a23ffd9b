// The same launch, said three other ways: an `unshare` command line (util-linux), a runc/OCI
// config.json and the closest `docker run`. Pure: a validated spec and the resolved rootfs in,
// strings and plain data out, so the UI can show them beside the launch form.
import type { Namespace } from '../../shared/types';
import { ROOTFUL_USERNS_BASE } from '../runtime/plan';
import { defaultEnv } from '../runtime/runtime';
import type { ValidSpec } from '../runtime/spec';
import { CPU_PERIOD_US, cpuQuotaUs, type Limits } from '../runtime/cgroups/limits';

export interface EquivalentInput {
  spec: ValidSpec;
  /** The rootfs directory the container gets (ignored without the mnt namespace: the host / is used). */
  rootfs: string;
  rootless: boolean;
  /** The hostname inside (the host's own when uts is off). */
  hostname: string;
  /** Caller's uid/gid: the ids a rootless container's root maps to. */
  uid: number;
  gid: number;
  /** Working directory the container starts in (locker: --workdir, else /root when the rootfs has it, else /). */
  workdir: string;
  /** What docker should run: an image name, or a shell expression that yields one. Default: busybox. */
  dockerImage?: string;
}

export interface Equivalents {
  unshare: string;
  ociConfig: OciConfig;
  docker: string;
  /** Where an equivalent differs from locker or needs a step first, one line each. */
  notes: string[];
}

export interface OciMount { destination: string; type: string; source: string; options: string[] }
export interface OciIdMapping { containerID: number; hostID: number; size: number }
export interface OciConfig {
  ociVersion: string;
  process: {
    terminal: boolean;
    consoleSize?: { height: number; width: number };
    user: { uid: number; gid: number };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[] };
    noNewPrivileges: boolean;
  };
  root: { path: string; readonly: boolean };
  hostname?: string;
  mounts: OciMount[];
  linux: {
    namespaces: Array<{ type: string }>;
    uidMappings?: OciIdMapping[];
    gidMappings?: OciIdMapping[];
    resources?: OciResources;
  };
}
export interface OciResources {
  memory?: { limit: number };
  cpu?: { quota: number; period: number };
  pids?: { limit: number };
}

/** --memory/--cpus/--pids-limit as OCI linux.resources (the same values locker writes to the cgroup). */
export function ociResources(limits: Limits | undefined): OciResources | undefined {
  if (!limits) return undefined;
  const r: OciResources = {};
  if (limits.memory !== undefined) r.memory = { limit: limits.memory };
  if (limits.cpus !== undefined) r.cpu = { quota: cpuQuotaUs(limits.cpus), period: CPU_PERIOD_US };
  if (limits.pidsLimit !== undefined) r.pids = { limit: limits.pidsLimit };
  return Object.keys(r).length ? r : undefined;
}

/** Docker's default capability set (moby oci/caps/defaults.go). */
export const DOCKER_DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one word for a POSIX shell: bare when safe, else single quotes with ' written as '\''. */
export function shellQuote(word: string): string {
  if (word !== '' && SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export const shellJoin = (words: string[]): string => words.map(shellQuote).join(' ');

const OCI_NS: Record<Namespace, string> = {
  pid: 'pid', uts: 'uts', mnt: 'mount', user: 'user', ipc: 'ipc', net: 'network', cgroup: 'cgroup',
};

const UNSHARE_FLAG: Record<Namespace, string> = {
  pid: '--pid', uts: '--uts', mnt: '--mount', user: '--user', ipc: '--ipc', net: '--net', cgroup: '--cgroup',
};

function idMaps(input: EquivalentInput): { uid: OciIdMapping[]; gid: OciIdMapping[] } | undefined {
  if (!input.spec.namespaces.includes('user')) return undefined;
  if (input.rootless) {
    return { uid: [{ containerID: 0, hostID: input.uid, size: 1 }], gid: [{ containerID: 0, hostID: input.gid, size: 1 }] };
  }
  const m = [{ containerID: 0, hostID: ROOTFUL_USERNS_BASE, size: 65536 }];
  return { uid: m, gid: m.map((x) => ({ ...x })) };
}

/** The environment locker gives the command (defaults first, --env entries override). */
export function containerEnv(input: EquivalentInput): string[] {
  return defaultEnv(input.spec, input.hostname);
}

/**
 * `unshare` (util-linux ≥ 2.38) with the same namespaces and root. unshare has no hostname option,
 * so a shell in the rootfs sets it and then execs the command, which stays PID 1.
 */
export function unshareCommand(input: EquivalentInput): string {
  const { spec } = input;
  const has = (n: Namespace): boolean => spec.namespaces.includes(n);
  const words: string[] = ['env', '-i', ...containerEnv(input), 'unshare'];
  if (has('pid')) words.push('--pid', '--fork');
  if (has('pid') && has('mnt')) words.push('--mount-proc');
  for (const n of ['uts', 'mnt', 'ipc', 'net', 'cgroup'] as const) if (has(n)) words.push(UNSHARE_FLAG[n]);
  if (has('user')) {
    if (input.rootless) words.push('--user', '--map-root-user');
    else {
      const range = `${ROOTFUL_USERNS_BASE},0,65536`;
      words.push('--user', `--map-users=${range}`, `--map-groups=${range}`, '--setgroups=deny');
    }
  }
  if (has('pid')) words.push('--kill-child');
  if (has('mnt')) words.push(`--root=${input.rootfs}`);
  words.push(`--wd=${input.workdir}`);
  words.push('--');
  if (has('uts')) words.push('/bin/sh', '-c', 'hostname "$0" && exec "$@"', input.hostname);
  words.push(...spec.command);
  return shellJoin(words);
}

/** The OCI runtime spec (1.0.2) runc needs for the same container, mounts mirroring plan.ts. */
export function ociConfig(input: EquivalentInput): OciConfig {
  const { spec } = input;
  const has = (n: Namespace): boolean => spec.namespaces.includes(n);
  const mounts: OciMount[] = [];
  if (has('mnt')) {
    mounts.push(has('pid')
      ? { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] }
      : { destination: '/proc', type: 'bind', source: '/proc', options: ['rbind'] });
    mounts.push(
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'nodev', 'noexec', 'mode=1777', 'size=65536k'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777'] },
    );
    // As in plan.ts: sysfs needs a network namespace of its own inside a user namespace.
    mounts.push(has('net') || !has('user')
      ? { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] }
      : { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
  }
  const maps = idMaps(input);
  const resources = ociResources(spec.limits);
  const config: OciConfig = {
    ociVersion: '1.0.2',
    process: {
      terminal: spec.tty,
      ...(spec.tty ? { consoleSize: { height: spec.rows, width: spec.cols } } : {}),
      user: { uid: 0, gid: 0 },
      args: spec.command,
      env: containerEnv(input),
      cwd: input.workdir,
      capabilities: { bounding: [...DOCKER_DEFAULT_CAPS], effective: [...DOCKER_DEFAULT_CAPS], permitted: [...DOCKER_DEFAULT_CAPS] },
      noNewPrivileges: false,
    },
    root: { path: has('mnt') ? input.rootfs : '/', readonly: false },
    ...(has('uts') ? { hostname: input.hostname } : {}),
    mounts,
    linux: {
      namespaces: spec.namespaces.map((n) => ({ type: OCI_NS[n] })),
      ...(maps ? { uidMappings: maps.uid, gidMappings: maps.gid } : {}),
      ...(resources ? { resources } : {}),
    },
  };
  return config;
}

/** The closest `docker run`: docker's defaults are private namespaces, so only shared ones are named. */
export function dockerCommand(input: EquivalentInput): string {
  const { spec } = input;
  const has = (n: Namespace): boolean => spec.namespaces.includes(n);
  const words = ['docker', 'run', '--rm', spec.tty ? '-it' : '-i'];
  if (spec.name) words.push('--name', spec.name);
  if (has('uts')) words.push('--hostname', input.hostname);
  else words.push('--uts=host');
  if (!has('pid')) words.push('--pid=host');
  if (!has('ipc')) words.push('--ipc=host');
  // A fresh network namespace with only loopback is docker's "none"; without one it shares the host's.
  words.push(has('net') ? '--network=none' : '--network=host');
  words.push(has('cgroup') ? '--cgroupns=private' : '--cgroupns=host');
  if (!has('user')) words.push('--userns=host');
  const l = spec.limits;
  if (l?.memory !== undefined) words.push(`--memory=${l.memory}b`);
  if (l?.cpus !== undefined) words.push(`--cpus=${l.cpus}`);
  if (l?.pidsLimit !== undefined) words.push(`--pids-limit=${l.pidsLimit}`);
  for (const e of spec.env) words.push('-e', e);
  if (input.workdir !== '/') words.push('-w', input.workdir);
  const image = input.dockerImage ?? 'busybox';
  // The image may be a command substitution such as $(docker import …), left unquoted on purpose.
  return `${shellJoin(words)} ${image} ${shellJoin(spec.command)}`;
}

export function equivalentNotes(input: EquivalentInput): string[] {
  const { spec } = input;
  const has = (n: Namespace): boolean => spec.namespaces.includes(n);
  const notes: string[] = [];
  if (has('mnt')) {
    notes.push('unshare: --root is chroot(2), not pivot_root(2), and only /proc is mounted; locker also mounts /dev, /dev/pts, /dev/shm, /tmp and /sys.');
    notes.push('runc: save config.json in a bundle directory, then: runc run --bundle DIR NAME (runc creates mount points inside root.path; use a copy of the rootfs).');
  } else {
    notes.push('without the mnt namespace the command runs on the host\'s /, as locker does; docker cannot share the host mount namespace.');
  }
  if (has('uts')) notes.push('unshare has no hostname option: /bin/sh in the rootfs runs hostname, then execs the command (still PID 1).');
  if (has('user') && !input.rootless) {
    notes.push(`user namespace as root: unshare --map-users needs newuidmap (apt-get install uidmap), and the rootfs must belong to uid ${ROOTFUL_USERNS_BASE} (locker copies and shifts it).`);
  }
  if (has('user')) notes.push('docker: a user namespace is a daemon setting (dockerd --userns-remap), not a docker run option.');
  else notes.push('docker: --userns=host only matters when the daemon remaps users (dockerd --userns-remap).');
  if (ociResources(spec.limits)) {
    notes.push('unshare: no resource limits; locker and runc put the container in a cgroup (memory/cpu/pids) first, e.g. cgexec or systemd-run --scope -p MemoryMax=… would.');
  }
  notes.push('docker: busybox is the image closest to the default rootfs; capabilities are docker\'s defaults, as in config.json.');
  return notes;
}

export function equivalents(input: EquivalentInput): Equivalents {
  return { unshare: unshareCommand(input), ociConfig: ociConfig(input), docker: dockerCommand(input), notes: equivalentNotes(input) };
}
