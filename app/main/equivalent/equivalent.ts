// The same launch, said three other ways: an `unshare` command line (util-linux), a runc/OCI
// config.json and the closest `docker run`. Pure: a validated spec and the resolved rootfs in,
// strings and plain data out, so the UI can show them beside the launch form.
import { natScript } from '../runtime/network/nat';
import type { PortSpec } from '../../shared/types';
import { volumeText } from '../../shared/grammar';
import type { Namespace } from '../../shared/types';
import { ROOTFUL_USERNS_BASE } from '../runtime/plan';
import { defaultEnv } from '../runtime/runtime';
import type { ValidSpec } from '../runtime/spec';
import { CPU_PERIOD_US, cpuQuotaUs, type Limits } from '../runtime/cgroups/limits';
import { DEFAULT_CAPS } from '../runtime/security/capabilities';
import { MASKED_DIRS, MASKED_FILES, READONLY_PATHS } from '../runtime/security/harden';
import { defaultOciSeccomp } from '../runtime/security/seccomp';
import type { OciSeccomp } from '../runtime/security/seccomp/oci';

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
  /** `run -d`: in the background, kept after it exits (docker run -d, no --rm). */
  detach?: boolean;
  /** `run -d --rm`: in the background, removed when it exits (docker run -d --rm). */
  detachRemoved?: boolean;
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
    user: { uid: number; gid: number; additionalGids?: number[] };
    args: string[];
    env: string[];
    cwd: string;
    capabilities: { bounding: string[]; effective: string[]; permitted: string[]; inheritable: string[]; ambient: string[] };
    noNewPrivileges: boolean;
    rlimits?: Array<{ type: string; soft: number; hard: number }>;
  };
  root: { path: string; readonly: boolean };
  hostname?: string;
  mounts: OciMount[];
  linux: {
    namespaces: Array<{ type: string }>;
    uidMappings?: OciIdMapping[];
    gidMappings?: OciIdMapping[];
    resources?: OciResources;
    maskedPaths?: string[];
    readonlyPaths?: string[];
    seccomp?: OciSeccomp;
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

/** The capabilities locker keeps (Docker's default set), as OCI names. */
export const CONTAINER_CAPS: string[] = DEFAULT_CAPS.map((c) => `CAP_${c}`);

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
    // -v/--mount: after the defaults, as plan.ts binds them (runc remounts ro itself).
    for (const v of spec.volumes) mounts.push({ destination: v.target, type: 'bind', source: v.source, options: ['rbind', v.readonly ? 'ro' : 'rw', ...(v.propagation ? [v.propagation] : [])] });
    if (spec.init) mounts.push({ destination: '/dev/init', type: 'bind', source: 'native/build/locker-init', options: ['bind', 'ro'] });
  }
  const maps = idMaps(input);
  const resources = ociResources(spec.limits);
  const caps = spec.caps.map((c) => `CAP_${c}`);
  const config: OciConfig = {
    ociVersion: '1.0.2',
    process: {
      terminal: spec.tty,
      ...(spec.tty ? { consoleSize: { height: spec.rows, width: spec.cols } } : {}),
      user: { uid: spec.user?.uid ?? 0, gid: spec.user?.gid ?? 0, ...(spec.user?.groups?.length ? { additionalGids: spec.user.groups } : {}) },
      // --init: runc has no init of its own; the reaper is the process, bound in as a mount below.
      args: spec.init ? ['/dev/init', '--', ...spec.command] : spec.command,
      env: containerEnv(input),
      cwd: input.workdir,
      // Inheritable and ambient stay empty, as in locker (CVE-2022-24769).
      capabilities: { bounding: [...caps], effective: [...caps], permitted: [...caps], inheritable: [], ambient: [] },
      noNewPrivileges: true,
      // --ulimit, as docker passes it to runc (RLIM_INFINITY for -1).
      ...(spec.ulimits.length ? { rlimits: spec.ulimits.map((u) => ({ type: `RLIMIT_${u.name.toUpperCase()}`, soft: u.soft === -1 ? 2 ** 64 - 1 : u.soft, hard: u.hard === -1 ? 2 ** 64 - 1 : u.hard })) } : {}),
    },
    root: { path: has('mnt') ? input.rootfs : '/', readonly: spec.readOnly },
    ...(has('uts') ? { hostname: input.hostname } : {}),
    mounts,
    linux: {
      namespaces: spec.namespaces.map((n) => ({ type: OCI_NS[n] })),
      ...(maps ? { uidMappings: maps.uid, gidMappings: maps.gid } : {}),
      ...(resources ? { resources } : {}),
      // The same lists locker's plan masks (security/harden.ts); only with a root of its own, as in locker.
      ...(has('mnt') && !spec.privileged ? { maskedPaths: [...MASKED_FILES, ...MASKED_DIRS], readonlyPaths: [...READONLY_PATHS] } : {}),
      // The profile locker compiles to BPF, in the OCI form runc compiles itself (libseccomp).
      ...(spec.seccomp === 'unconfined' ? {} : { seccomp: defaultOciSeccomp(spec.caps) }),
    },
  };
  return config;
}

/** The closest `docker run`: docker's defaults are private namespaces, so only shared ones are named. */
export function dockerCommand(input: EquivalentInput): string {
  const { spec } = input;
  const has = (n: Namespace): boolean => spec.namespaces.includes(n);
  const words = input.detach ? ['docker', 'run', '-d', ...(input.detachRemoved ? ['--rm'] : []), ...(spec.tty ? ['-t'] : [])] : ['docker', 'run', '--rm', spec.tty ? '-it' : '-i'];
  if (spec.name) words.push('--name', spec.name);
  if (has('uts')) words.push('--hostname', input.hostname);
  else words.push('--uts=host');
  if (!has('pid')) words.push('--pid=host');
  if (!has('ipc')) words.push('--ipc=host');
  // Rootful, locker puts a veth on its bridge (docker's default "bridge"); rootless it has loopback
  // only (docker's "none"); without a net namespace both share the host's.
  words.push(!has('net') ? '--network=host' : spec.network === 'none' || input.rootless ? '--network=none' : '--network=bridge');
  for (const p of spec.publish) words.push('-p', publishText(p));
  words.push(has('cgroup') ? '--cgroupns=private' : '--cgroupns=host');
  if (!has('user')) words.push('--userns=host');
  // Docker leaves no_new_privs off by default; locker sets it for every container. Both apply
  // Docker's default seccomp profile unless told otherwise.
  words.push('--security-opt', 'no-new-privileges');
  if (spec.seccomp === 'unconfined' && !spec.privileged) words.push('--security-opt', 'seccomp=unconfined');
  const l = spec.limits;
  if (l?.memory !== undefined) words.push(`--memory=${l.memory}b`);
  if (l?.cpus !== undefined) words.push(`--cpus=${l.cpus}`);
  if (l?.pidsLimit !== undefined) words.push(`--pids-limit=${l.pidsLimit}`);
  for (const e of spec.env) words.push('-e', e);
  // Only the difference from Docker's default set, as a docker user would write it.
  if (!spec.privileged) for (const c of spec.caps) if (!DEFAULT_CAPS.includes(c)) words.push('--cap-add', c);
  if (!spec.privileged) for (const c of DEFAULT_CAPS) if (!spec.caps.includes(c)) words.push('--cap-drop', c);
  if (spec.readOnly) words.push('--read-only');
  // docker resolves a name in the image's /etc/passwd itself; ids as locker resolved them otherwise.
  if (spec.userText !== undefined) words.push('--user', /^\d+(:\d+)?$/.test(spec.userText.trim()) && spec.user ? `${spec.user.uid}:${spec.user.gid}` : spec.userText);
  if (spec.init) words.push('--init');
  if (spec.privileged) words.push('--privileged');
  for (const u of spec.ulimits) words.push('--ulimit', `${u.name}=${u.soft}:${u.hard}`);
  for (const v of spec.volumes) words.push('-v', volumeText(v));
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
  notes.push(...networkNotes(input));
  if (spec.volumes.length) notes.push('unshare: no bind option; bind each -v first (mount --bind HOST ROOTFS/DST, then mount -o remount,bind,ro for :ro, mount --make-rslave for rslave) in the new mount namespace.');
  if (has('uts')) notes.push('unshare has no hostname option: /bin/sh in the rootfs runs hostname, then execs the command (still PID 1).');
  if (has('user') && !input.rootless) {
    notes.push(`user namespace as root: unshare --map-users needs newuidmap (apt-get install uidmap), and the rootfs must belong to uid ${ROOTFUL_USERNS_BASE} (locker copies and shifts it).`);
  }
  if (has('user')) notes.push('docker: a user namespace is a daemon setting (dockerd --userns-remap), not a docker run option.');
  else notes.push('docker: --userns=host only matters when the daemon remaps users (dockerd --userns-remap).');
  if (ociResources(spec.limits)) {
    notes.push('unshare: no resource limits; locker and runc put the container in a cgroup (memory/cpu/pids) first, e.g. cgexec or systemd-run --scope -p MemoryMax=… would.');
  }
  if (spec.init) notes.push('--init: docker binds tini at /sbin/docker-init; locker binds native/build/locker-init (native/src/init.c) read-only at /dev/init; runc has no init option, so config.json binds it and runs it as the process.');
  if (spec.privileged) notes.push('--privileged: every capability, no seccomp, nothing masked, /sys writable and the host\'s device nodes in /dev; config.json lists the capabilities and leaves out seccomp and masked paths, the devices are docker\'s and locker\'s own step (runc would need each in linux.devices).');
  if (spec.ulimits.length) notes.push('unshare: no rlimit option; prlimit --pid PID --nofile=SOFT:HARD (util-linux) sets them on the running process, as locker does before the container starts.');
  notes.push('docker: busybox is the image closest to the default rootfs; capabilities are docker\'s defaults, as in config.json.');
  return notes;
}

/** docker's -p spelling. */
export function publishText(p: PortSpec): string {
  return `${p.hostIp ? `${p.hostIp}:` : ''}${p.hostPort}:${p.containerPort}${p.protocol === 'udp' ? '/udp' : ''}`;
}

/** What Locker adds to the host's network for this launch, as the commands that would add it. */
function networkNotes(input: EquivalentInput): string[] {
  const { spec } = input;
  if (!spec.namespaces.includes('net') || spec.network === 'none') return [];
  if (input.rootless) {
    const ports = spec.publish.length ? ` -t/-u ${spec.publish.map((p) => `${p.hostIp ? `${p.hostIp}/` : ''}${p.hostPort}:${p.containerPort}/${p.protocol}`).join(',')}` : '';
    return [`rootless: Locker connects the container with pasta when it can run (pasta --config-net --no-map-gw${ports} PID; podman's --network=pasta, docker rootless's RootlessKit), else it has loopback only (docker's --network=none).`];
  }
  const table = natScript('locker_ID', 'ID', 'ADDR', 'locker0', '10.88.0.0/24', spec.publish).trim().split('\n').slice(2).join(' ').replace(/\s+/g, ' ');
  return [
    'unshare/runc: no network setup; locker adds a veth into the container (ip link add lkID type veth peer name eth0 netns PID; ip link set lkID master locker0 up), an address ADDR in 10.88.0.0/24, net.ipv4.ip_forward=1 while a bridged container runs, and an nftables table of its own, removed with the container:',
    `nft -f - <<< '${table}'`,
    ...(spec.publish.length ? ['docker: -p adds DNAT rules in its own iptables chain (DOCKER) and a docker-proxy process for 127.0.0.1; Locker uses DNAT in prerouting and output, with net.ipv4.conf.locker0.route_localnet=1 for 127.0.0.1.'] : []),
  ];
}

export function equivalents(input: EquivalentInput): Equivalents {
  return { unshare: unshareCommand(input), ociConfig: ociConfig(input), docker: dockerCommand(input), notes: equivalentNotes(input) };
}
