// Plain data shared by the runtime, the CLI, the Electron main process, web mode and the renderer.
// No Node or Electron imports here: the renderer compiles this file too.

export const NAMESPACES = ['pid', 'uts', 'mnt', 'user', 'ipc', 'net', 'cgroup'] as const;
export type Namespace = (typeof NAMESPACES)[number];

/** What isolates what, in one line each (CLI help and the launch form). */
export const NAMESPACE_HELP: Record<Namespace, string> = {
  pid: 'its own process IDs: the command is PID 1 and sees only its descendants',
  uts: 'its own hostname',
  mnt: 'its own mount table and root filesystem (pivot_root into the rootfs)',
  user: 'its own user IDs: root inside maps to an ordinary user outside',
  ipc: 'its own System V IPC and POSIX message queues',
  net: 'its own network stack: loopback, plus eth0 on the locker0 bridge when run as root',
  cgroup: 'its own view of the cgroup tree',
};

/** default: Docker's default seccomp profile; unconfined: no filter (--security-opt seccomp=unconfined). */
export const SECCOMP_MODES = ['default', 'unconfined'] as const;
export type SeccompMode = (typeof SECCOMP_MODES)[number];

export interface RunSpec {
  /** argv; argv[0] is looked up in the rootfs PATH unless it contains a slash. */
  command: string[];
  /** A directory or a tar/tar.gz; omitted means the embedded default rootfs. */
  rootfs?: string;
  hostname?: string;
  name?: string;
  /** KEY=VALUE entries added to the default environment. */
  env?: string[];
  workdir?: string;
  /** Namespaces to create. Omitted: all but user as root, all as a non-root user. */
  namespaces?: Namespace[];
  /** Give the container's init a pty. */
  tty?: boolean;
  cols?: number;
  rows?: number;
  /** cgroup limits, as typed: memory like 64m, cpus like 0.5, pidsLimit like 50. */
  memory?: string | number;
  cpus?: string | number;
  pidsLimit?: string | number;
  /** The syscall filter; omitted means 'default'. */
  seccomp?: SeccompMode;
  /** Bind mounts (-v / --mount type=bind), as parsed by grammar.parseVolume / parseMount. */
  volumes?: VolumeSpec[];
  /** --cap-add / --cap-drop, docker's names (CAP_ optional) or ALL, applied to Docker's default set. */
  capAdd?: string[];
  capDrop?: string[];
  /** --read-only: the rootfs mounted read-only after setup (/tmp, /dev, /dev/shm and volumes stay writable). */
  readOnly?: boolean;
  /** --network: bridge (the default: locker0 as root, pasta rootless), none (loopback only) or host (no net namespace). */
  network?: NetworkMode;
  /** -p [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp], as parsed by grammar.parsePublish. */
  publish?: PortSpec[];
  /** --user UID[:GID] or NAME[:GROUP] (names from the image's /etc/passwd and /etc/group); default 0:0, the container's root. */
  user?: string;
  /** --init: a tiny reaper (native/src/init.c) is PID 1; it forwards signals to the command and reaps orphans. */
  init?: boolean;
  /** --ulimit NAME=SOFT[:HARD] (docker's names: nofile, nproc, core…), as typed. */
  ulimits?: string[];
  /** --privileged: every capability, no seccomp filter, no masked /proc paths, the host's devices. */
  privileged?: boolean;
}

export const NETWORK_MODES = ['bridge', 'none', 'host'] as const;
export type NetworkMode = (typeof NETWORK_MODES)[number];

/** A published port (docker's -p): host address (omitted: every address of the host) and port to the container's port. */
export interface PortSpec {
  hostIp?: string;
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp';
}

/**
 * Bind propagation of a volume (docker's -v …:rslave, --mount bind-propagation=): whether mounts the host
 * makes under the bound folder later appear inside. private/rprivate (the default): never; slave/rslave:
 * yes (r: also under the volume's submounts). shared/rshared are refused: Locker never sends the container's
 * mounts back to the host.
 */
export const PROPAGATIONS = ['rprivate', 'private', 'rslave', 'slave'] as const;
export type Propagation = (typeof PROPAGATIONS)[number];

/** A host path bind-mounted into the container (docker's -v HOST:CONTAINER[:ro][,rslave]). */
export interface VolumeSpec {
  source: string;
  target: string;
  readonly: boolean;
  /** Absent: rprivate, as docker's default. */
  propagation?: Propagation;
}

/** Limits in effect: memory in bytes, cpus as a number of CPUs. */
export interface ResourceLimits {
  memory?: number;
  cpus?: number;
  pidsLimit?: number;
}

/** Live cgroup gauges; null = not available (or, for *Max, no limit). */
export interface ResourceStats {
  pidsCurrent: number | null;
  pidsMax: number | null;
  pidsRejected: number | null;
  memoryCurrent: number | null;
  memoryMax: number | null;
  memoryEvents: { oom: number | null; oomKill: number | null; max: number | null };
  cpuUsageUsec: number | null;
  nrThrottled: number | null;
  throttledUsec: number | null;
}

export type ContainerState = 'running' | 'exited';

export interface ContainerInfo {
  id: string;
  name: string;
  command: string[];
  hostname: string;
  state: ContainerState;
  /** Host PID of the container's init (PID 1 inside when it has a PID namespace). */
  pid: number;
  namespaces: Namespace[];
  rootfs: string;
  rootless: boolean;
  tty: boolean;
  /** ms since the epoch */
  createdAt: number;
  finishedAt?: number;
  /** exit status, or 128+N for signal N */
  exitCode?: number;
  /** signal name when killed by a signal, e.g. SIGKILL */
  signal?: string;
  /** cgroup limits, when any were set */
  limits?: ResourceLimits;
  /** set when the kernel's OOM killer ended a process of the container */
  oomKilled?: boolean;
  network?: NetworkInfo;
  /** Set for a container another engine made (runc, podman, docker…), found by discovery; absent for Locker's own. */
  engine?: string;
  /** Where its name came from (the engine's state file, its shim's command line…). */
  engineSource?: string;
  /** Started with run -d: a monitor owns it; its output is in `locker logs`, its terminal behind `locker attach`. */
  detached?: boolean;
}

/** How a container is connected (app/main/runtime/network). */
export interface NetworkInfo {
  /** bridge: a veth on locker0; pasta: rootless user-mode networking; loopback: lo only (--network none, or rootless without pasta). */
  mode: 'bridge' | 'loopback' | 'host' | 'pasta';
  /** address on the bridge, without the /24 */
  address?: string;
  gateway?: string;
  bridge?: string;
  hostVeth?: string;
  containerInterface?: string;
  note?: string;
  /** -p as set up: each port with the kernel object or process that carries it. */
  published?: PublishedPort[];
  /** What this container added to the host's network, one line each (the UI and `locker inspect` show it). */
  hostChanges?: string[];
  /** The container's own nftables table (rootful bridge): its name and its rules as `nft list table` printed them. */
  nat?: { table: string; rules: string };
  /** The user-mode network helper (pasta), rootless: its host pid and command line. */
  helper?: { pid: number; command: string };
}

export interface PublishedPort extends PortSpec {
  /** How it is carried: an nftables DNAT rule (rootful) or pasta's listening socket (rootless). */
  via: 'dnat' | 'pasta';
}

export interface InterfaceAddress {
  family: 'inet' | 'inet6';
  address: string;
  prefixLength: number;
  scope?: string;
}

export interface NetworkInterface {
  name: string;
  index: number;
  state: string;
  up: boolean;
  mac: string;
  mtu: number;
  kind?: string;
  master?: string;
  peerIndex?: number;
  peerInOtherNamespace?: boolean;
  addresses: InterfaceAddress[];
}

export interface ProcessEntry {
  /** PID as the host sees it */
  pid: number;
  ppid: number;
  name: string;
  cmdline: string;
  /** PID inside the container's PID namespace (last NSpid field); only for container processes */
  containerPid?: number;
  containerPpid?: number;
  inContainer: boolean;
}

export interface NamespaceComparison {
  type: Namespace | 'time';
  /** e.g. "pid:[4026531836]" */
  host: string;
  container: string;
  shared: boolean;
}

export interface MountEntry {
  mountId: number;
  parentId: number;
  mountPoint: string;
  root: string;
  fsType: string;
  source: string;
  options: string;
}

/** One way a container is confined differently from Locker's default container (the namespace table explains it). */
export interface ConfinementDifference {
  topic: string;
  /** What Locker gives a container by default. */
  locker: string;
  /** What this container has, as /proc shows it. */
  container: string;
  /** What the difference means, and where it was read. */
  why: string;
}

/** The init's seccomp mode, no_new_privs and capabilities (/proc/PID/status), and what differs from Locker's defaults. */
export interface Confinement {
  seccomp: string;
  seccompFilters: number;
  noNewPrivs: boolean;
  /** Capability names (CAP_ left off), effective and bounding sets. */
  effective: string[];
  bounding: string[];
  differences: ConfinementDifference[];
}

export interface Inspection {
  id: string;
  pid: number;
  hostname: { host: string; container: string };
  /** Host process table, container processes marked. */
  hostProcesses: ProcessEntry[];
  /** Container processes only, each with host and container PIDs. */
  containerProcesses: ProcessEntry[];
  namespaces: NamespaceComparison[];
  uidMap: string;
  gidMap: string;
  mounts: MountEntry[];
  /** interfaces on both sides, and how the container is connected */
  network?: { info?: NetworkInfo; host: NetworkInterface[]; container: NetworkInterface[] };
  /** cgroup gauges, when the container has limits */
  resources?: { paths: string[]; limits: ResourceLimits; stats: ResourceStats };
  /** seccomp, no_new_privs, capabilities, and what differs from Locker's defaults */
  confinement?: Confinement;
}

export type FileType = 'dir' | 'file' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket' | 'unknown';

export interface DirEntry {
  name: string;
  type: FileType;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  linkTarget?: string;
}

export interface DirListing {
  side: 'host' | 'container';
  path: string;
  entries: DirEntry[];
}
