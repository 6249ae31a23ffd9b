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
}

/** How a container is connected (app/main/runtime/network). */
export interface NetworkInfo {
  mode: 'bridge' | 'loopback' | 'host';
  /** address on the bridge, without the /24 */
  address?: string;
  gateway?: string;
  bridge?: string;
  hostVeth?: string;
  containerInterface?: string;
  note?: string;
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
