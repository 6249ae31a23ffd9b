// The one API between the UI and the main side. Both transports carry exactly this:
// Electron IPC (preload → ipcMain) and web mode (WebSocket). No Node or Electron imports:
// the renderer and the sandboxed preload bundle compile this file too.
import type { ContainerInfo, DirEntry, DirListing, Inspection, Namespace, SeccompMode, VolumeSpec } from './types';
import type { NetworkMode, PortSpec } from './types';
import type { InspectionEvent } from './inspection-diff';
import { HOSTNAME_BYTES, checkNamespaces, parseCpus, parseHostname, parseMemory, parsePidsLimit, problemLine, type Parsed } from './grammar';

export interface HostInfo {
  hostname: string;
  /** The rootfs the launch form preselects ("embedded default"). */
  defaultRootfsLabel: string;
  uid: number;
  /** What the runtime can do for this user: the launch form's defaults follow it. */
  capabilities: Capabilities;
  /**
   * The host folder volumes from the app may come from (a lesson's {share}): `<data dir>/share`, or
   * what the teacher chose with `locker ui --share DIR` / LOCKER_SHARE_DIR. Nothing outside it is bound.
   */
  shareDir: string;
}

/** What the runtime can do for the user the app runs as (Electron runs as the logged-in user). */
export interface Capabilities {
  /** Not root: every container needs the user namespace (it is what makes you root inside). */
  rootless: boolean;
  /** This user may create a user namespace (sysctls, AppArmor); reason when not. */
  userNamespaces: { ok: boolean; reason?: string };
  /** Which cgroup limits can be set (root, or a delegated cgroup v2 subtree); reason when some cannot. */
  cgroupLimits: { memory: boolean; cpus: boolean; pids: boolean; reason?: string };
  /** bridge: eth0 on locker0 (root); loopback: lo only (a veth into the host needs root). */
  network: { mode: 'bridge' | 'loopback'; note?: string };
  /** CPUs on the machine that runs the containers: the upper bound of cpus. */
  cpus: number;
}

export interface RunRequest {
  /** Omitted or empty: the embedded default rootfs. Otherwise a directory or a tarball on the host. */
  rootfs?: string;
  /** argv, already split. */
  command: string[];
  hostname?: string;
  namespaces: Namespace[];
  cols: number;
  rows: number;
  /** cgroup limits as typed in the form: memory like 64m, cpus like 0.5, pids like 20. */
  memory?: string;
  cpus?: string;
  pidsLimit?: number;
  /** The launch form's "seccomp filter" checkbox: unticked is 'unconfined'. Omitted: 'default'. */
  seccomp?: SeccompMode;
  /** --cap-add / --cap-drop: docker's names (CAP_ optional) or ALL, applied to Docker's default set. */
  capAdd?: string[];
  capDrop?: string[];
  /** Bind mounts (-v): from the app only sources inside HostInfo.shareDir (made when missing). */
  volumes?: VolumeSpec[];
  /** -p: host ports published to the container (nftables DNAT as root, pasta rootless). */
  publish?: PortSpec[];
  /** --network: bridge (default), none (loopback only) or host (no net namespace). */
  network?: NetworkMode;
  /**
   * Step-through: the container's setup process stops before each planned call until stepNext or
   * stepRunToEnd releases it; `run` answers once it has exec'd (or rejects when cancelled).
   */
  stepThrough?: boolean;
}

/** The launch form's settings without a terminal size: what the "Equivalent commands" panel describes. */
export type LaunchSettings = Omit<RunRequest, 'cols' | 'rows' | 'stepThrough'>;

/** Where a step-through launch is: the call the paused child makes next, or why it ended. */
export interface SteppingStatus {
  containerId: string;
  /** paused: waiting in read() before `pending`; running: a released call (or all, toEnd) in progress. */
  state: 'starting' | 'paused' | 'running' | 'done' | 'cancelled' | 'failed';
  /** Host PID of the waiting setup process. */
  pid?: number;
  pending?: { index: number; total: number; name: string; args: string };
  /** Planned calls that have returned, of total. */
  done: number;
  total: number;
  /** "Run to exec" was chosen: every remaining call is released. */
  toEnd: boolean;
  error?: string;
}

export interface TerminalInfo {
  terminalId: string;
  kind: 'host' | 'container' | 'exec';
  containerId?: string;
  title: string;
}

export interface RunResult {
  container: ContainerInfo;
  terminal?: TerminalInfo;
}

/** What a renderer gets when it (re)attaches to a terminal: scrollback so far plus where the live stream resumes. */
export interface TerminalSnapshot {
  data: string;
  /** Byte offset of the end of `data`; live events with offset < end are already contained in it. */
  end: number;
  exited: boolean;
  exitCode?: number;
}

export interface TerminalData {
  terminalId: string;
  data: string;
  /** Byte offset of this chunk in the terminal's output stream. */
  offset: number;
  /** UTF-8 length of `data`; acknowledge exactly this after xterm has rendered it. */
  bytes: number;
}

export interface TerminalExit {
  terminalId: string;
  exitCode: number;
}

// ---- Classroom: lessons, verification, syscall log, preflight, equivalents -------------------

/** A declarative check of real container state; exactly one key per rule (see lessons/README.md). */
export type VerifyRule =
  | { namespaceSeparate: Namespace }
  | { namespaceShared: Namespace }
  | { hostnameDiffers: boolean }
  | { pid1Is: string }
  | { procShowsHost: boolean }
  | { rootDiffers: boolean }
  | { uidMapOutsideNot: number }
  | { onlyLoopback: boolean }
  | { pidsLimit: number }
  | { pidsRejected: boolean }
  | { oomKilled: boolean }
  | { cpuThrottled: boolean }
  /** Command N of this step was entered (Enter on that exact line) in a terminal of its pane, during this step. */
  | { ran: number }
  /** The container's hostname is now this (a rename the learner makes; never the preset's). */
  | { hostnameIs: string }
  /** The init's effective capabilities (CapEff) hold / lack this one (docker's name, no CAP_). */
  | { capabilityHas: string }
  | { capabilityLacks: string }
  /** The init runs under a seccomp filter (Seccomp: 2) / under none (0). */
  | { seccompFiltered: boolean }
  /** Something is mounted at this path in the container's mount table (an action rule unless a preset volume targets it). */
  | { mountedAt: string }
  /** The container's upper layer holds this path (relative to /): the container wrote it. */
  | { upperHas: string }
  /** The upper layer holds a whiteout for this path: the container deleted a file of the image. */
  | { upperDeleted: string }
  /** The image (the overlay's lower layers) holds this path: what the container did left it unchanged. */
  | { imageHas: string }
  /** The image does not hold this path. */
  | { imageLacks: string }
  /** The share folder (HostInfo.shareDir) holds this file on the host: written through a volume. */
  | { shareHas: string }
  /** The container's network namespace has exactly these interfaces (e.g. ["lo", "eth0"]). */
  | { interfacesAre: string[] }
  /** The container's host end of its veth is on this bridge (rootful bridge: lk<id> on locker0), its peer in the container. */
  | { vethOnBridge: string }
  /** The container's network namespace received an ICMP echo reply (a ping it sent was answered): Icmp InEchoReps > 0. */
  | { pingAnswered: boolean }
  /** A TCP connection to a listener in the container's network namespace was accepted: Tcp PassiveOpens > 0. */
  | { connectionAccepted: boolean }
  /** A rule of the container's nftables table has counted a packet: its outbound masquerade, or a -p DNAT. */
  | { natUsed: 'masquerade' | 'dnat' };

type KeysOfUnion<T> = T extends unknown ? keyof T : never;

export const VERIFY_RULES = [
  'namespaceSeparate', 'namespaceShared', 'hostnameDiffers', 'pid1Is', 'procShowsHost', 'rootDiffers', 'uidMapOutsideNot', 'onlyLoopback', 'pidsLimit', 'pidsRejected', 'oomKilled', 'cpuThrottled', 'ran', 'hostnameIs',
  'capabilityHas', 'capabilityLacks', 'seccompFiltered', 'mountedAt', 'upperHas', 'upperDeleted', 'imageHas', 'imageLacks', 'shareHas',
  'interfacesAre', 'vethOnBridge', 'pingAnswered', 'connectionAccepted', 'natUsed',
] as const satisfies readonly KeysOfUnion<VerifyRule>[];
export type VerifyRuleName = (typeof VERIFY_RULES)[number];

export interface LessonCommand {
  /** Which terminal it is meant for; the learner may pick the other one. */
  pane: 'host' | 'container';
  /** Typed as is, then Enter. {pid} and {id} become the selected container's host PID and id; {veth} and {table} its host veth and nftables table. */
  run: string;
  note?: string;
}

export interface LessonPreset {
  command?: string;
  namespaces: Namespace[];
  hostname?: string;
  memory?: string;
  cpus?: string;
  pidsLimit?: number;
  /** Pause before each syscall of the launch (the syscall log's step-through). */
  stepThrough?: boolean;
  /** The launch form's cap-add / cap-drop fields (docker's names, or ALL). */
  capAdd?: string[];
  capDrop?: string[];
  /** false: the seccomp box unticked (no filter). Omitted: ticked, Docker's default profile. */
  seccomp?: boolean;
  /** -v lines whose host path starts with {share}/ (the app binds nothing else), e.g. "{share}/notes:/notes:ro". */
  volumes?: string[];
  /** The launch form's network mode: bridge (the default), none (needs "net") or host (without "net"). */
  network?: NetworkMode;
  /** The form's ports field: -p entries in the CLI's grammar, e.g. ["18080:8080"] (needs "net" and bridge). */
  ports?: string[];
}

export interface LessonStep {
  id: string;
  title: string;
  explain: string;
  preset: LessonPreset;
  commands: LessonCommand[];
  lookFor: string;
  verify: VerifyRule[];
}

export interface Lesson {
  id: string;
  title: string;
  summary?: string;
  /** File name it came from, for teachers. */
  file: string;
  steps: LessonStep[];
}

export interface LessonList {
  lessons: Lesson[];
  /** One line per file that failed validation: file, field, fix. */
  problems: string[];
  dir: string;
}

export interface RuleOutcome {
  rule: string;
  ok: boolean;
  /** What was actually read, e.g. "uts: host uts:[4026531838], container uts:[4026532201]". */
  detail: string;
  /** The outcome in a learner's words, e.g. "The container has its own PID namespace — the host's is different." */
  says: string;
}

export interface VerifyResult {
  ok: boolean;
  outcomes: RuleOutcome[];
  /** Set when the container was not started with this step's settings: one line saying what to do instead. */
  mismatch?: string;
}

/** One libc call of the runtime for a container (host side or the child's pre-exec steps). */
export interface SyscallRecord {
  /** Order of arrival for this container, from 1. */
  seq: number;
  where: 'host' | 'child';
  name: string;
  args: string;
  /** Decimal; a bigint result is sent as text. */
  result: string;
  errno?: string;
  /** ms since the epoch */
  t: number;
  /**
   * Not reported by the process but inferred by the runtime. 'eof': a successful execve reports
   * nothing; the close-on-exec report pipe reaching EOF with every earlier call reported says it happened.
   */
  inferred?: 'eof';
}

export interface SyscallBatch {
  containerId: string;
  entries: SyscallRecord[];
}

export interface PreflightCheck {
  id: string;
  title: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

export interface EquivalentCommands {
  unshare: string;
  /** runc config.json, pretty-printed */
  runcConfig: string;
  docker: string;
  notes: string[];
}

export interface HostLeak {
  kind: 'hostname' | 'mount' | 'cgroup' | 'veth' | 'container';
  name: string;
}

export interface HostCheckReport {
  /** When the baseline was taken (app start), ms since the epoch. */
  since: number;
  /** What the host has now that it lacked then (running containers' cgroups, veths and dirs included). */
  leaks: HostLeak[];
}

export interface HostCleanup {
  removed: HostLeak[];
  kept: (HostLeak & { why: string })[];
}

/** The container's root as overlay layers, read from the overlay mount in its mount table (the kernel picture). */
export interface RootfsLayers {
  /** Where the overlay is mounted as the container sees it: "/" once pivot_root has run. */
  mountPoint: string;
  /** Host paths, top lower layer first (the image). */
  lower: string[];
  upper: string;
  work: string;
  /** The upper layer's top entries: what the container changed (a deleted file is a 0:0 char device). */
  upperEntries: DirEntry[];
  /** More entries than UPPER_ENTRIES_SHOWN: only the first ones are listed. */
  truncated: boolean;
}

export const UPPER_ENTRIES_SHOWN = 24;

/** Request/response methods. Every method takes at most one plain object so validation is uniform. */
export interface LockerCalls {
  hostInfo(): Promise<HostInfo>;
  listContainers(): Promise<ContainerInfo[]>;
  run(req: RunRequest): Promise<RunResult>;
  stop(req: { id: string }): Promise<ContainerInfo>;
  remove(req: { id: string }): Promise<null>;
  /** One inspection, read now (the CLI and one-shot callers); a window watches instead. */
  inspect(req: { id: string }): Promise<Inspection>;
  /**
   * Watches the container: answers with the whole inspection ({id, seq, full}); then `inspection`
   * events bring only what changed, each one seq after the last, until `ended`. Watching again (after
   * a seq gap) answers with the whole inspection again; one watch per connection and container.
   */
  watchInspection(req: { id: string }): Promise<InspectionEvent>;
  /** Ends this connection's watch (nothing when it has none). */
  unwatchInspection(req: { id: string }): Promise<null>;
  listDir(req: { id: string; side: 'host' | 'container'; path: string }): Promise<DirListing>;
  /** The overlay layers of the container's root and the upper layer's top entries; null without an overlay (no mnt namespace, a copied rootfs, or before the mount). */
  rootfsLayers(req: { id: string }): Promise<RootfsLayers | null>;
  /** Terminals that belong to a container (its init's pty and exec sessions still open). */
  listTerminals(req: { id: string }): Promise<TerminalInfo[]>;
  openHostShell(req: { cols: number; rows: number }): Promise<TerminalInfo>;
  exec(req: { id: string; cols: number; rows: number }): Promise<TerminalInfo>;
  attachTerminal(req: { terminalId: string }): Promise<TerminalSnapshot>;
  writeTerminal(req: { terminalId: string; data: string }): Promise<null>;
  resizeTerminal(req: { terminalId: string; cols: number; rows: number }): Promise<null>;
  /** Fire-and-forget (NOTIFY_CALLS): no reply comes, the client resolves at once. */
  ackTerminal(req: { terminalId: string; bytes: number }): Promise<null>;
  /** This reader (a pane) stops reading the terminal: its data no longer comes here and its acks no longer hold the pty. */
  detachTerminal(req: { terminalId: string }): Promise<null>;
  closeTerminal(req: { terminalId: string }): Promise<null>;
  /** Lessons from lessons/*.json, plus one line per file that failed validation. */
  listLessons(): Promise<LessonList>;
  /** Checks one step's rules against the container's real state. */
  verifyStep(req: { lessonId: string; stepId: string; id: string; since?: number }): Promise<VerifyResult>;
  /** The container's syscall log so far (the last SYSCALL_BACKLOG); live entries follow as `syscalls` events. */
  syscallLog(req: { id: string }): Promise<SyscallRecord[]>;
  preflight(): Promise<PreflightCheck[]>;
  equivalent(req: LaunchSettings): Promise<EquivalentCommands>;
  /** Compares the host with its state when the app started. */
  hostCheck(): Promise<HostCheckReport>;
  /** Removes Locker's leftovers found by the host check; keeps what still runs and what Locker did not make. */
  cleanupHost(): Promise<HostCleanup>;
  /** Step-through launches not yet exec'd (or ended), for a window that opens late. */
  listStepping(): Promise<SteppingStatus[]>;
  /** Releases the paused setup process for exactly one call. */
  stepNext(req: { id: string }): Promise<SteppingStatus>;
  /** Releases every remaining call: the setup runs on to execve. */
  stepRunToEnd(req: { id: string }): Promise<SteppingStatus>;
  /** Closes the step pipe: the setup process exits before its next call and the launch is undone. */
  stepCancel(req: { id: string }): Promise<SteppingStatus>;
}

export interface LockerEvents {
  containers: ContainerInfo[];
  terminalData: TerminalData;
  terminalExit: TerminalExit;
  /** New syscall log entries, batched (at most every SYSCALL_BATCH_MS per container). */
  syscalls: SyscallBatch;
  /** A step-through launch paused, moved on or ended (sent at once, after flushing its syscalls). */
  stepping: SteppingStatus;
  /** A container's terminals changed (one opened or closed): its list as listTerminals gives it now. */
  terminals: ContainerTerminals;
  /** A watched container's changes (or its end), only to the connections that watch it (watchInspection). */
  inspection: InspectionEvent;
}

export interface ContainerTerminals {
  containerId: string;
  terminals: TerminalInfo[];
}

export const SYSCALL_BACKLOG = 5000;
export const SYSCALL_BATCH_MS = 100;
/** How often a watched container is inspected again (after the previous inspection ended). */
export const INSPECTION_REFRESH_MS = 500;

export type CallName = keyof LockerCalls;
export type EventName = keyof LockerEvents;
export type CallArg<M extends CallName> = Parameters<LockerCalls[M]> extends [infer A] ? A : undefined;
export type CallResult<M extends CallName> = Awaited<ReturnType<LockerCalls[M]>>;

export interface LockerApi extends LockerCalls {
  on<E extends EventName>(event: E, listener: (payload: LockerEvents[E]) => void): () => void;
  /**
   * One terminal's output, for the reader that attached it (attachTerminal): the transport sends a
   * connection only the terminals it attached, and this hands each chunk to that terminal's listeners alone.
   */
  onTerminalData(terminalId: string, listener: (data: TerminalData) => void): () => void;
}

/** Calls sent without a reply (a flood's acks would otherwise double the messages): the server acts, says nothing. */
export const NOTIFY_CALLS = ['ackTerminal'] as const satisfies readonly CallName[];
export const isNotifyCall = (name: string): boolean => (NOTIFY_CALLS as readonly string[]).includes(name);

/** Channel names, one per call and event (as electron/fiddle does). */
export const Channel = {
  hostInfo: 'locker:host-info',
  listContainers: 'locker:list-containers',
  run: 'locker:run',
  stop: 'locker:stop',
  remove: 'locker:remove',
  inspect: 'locker:inspect',
  watchInspection: 'locker:watch-inspection',
  unwatchInspection: 'locker:unwatch-inspection',
  listDir: 'locker:list-dir',
  rootfsLayers: 'locker:rootfs-layers',
  listTerminals: 'locker:list-terminals',
  openHostShell: 'locker:open-host-shell',
  exec: 'locker:exec',
  attachTerminal: 'locker:attach-terminal',
  writeTerminal: 'locker:write-terminal',
  resizeTerminal: 'locker:resize-terminal',
  ackTerminal: 'locker:ack-terminal',
  detachTerminal: 'locker:detach-terminal',
  closeTerminal: 'locker:close-terminal',
  listLessons: 'locker:list-lessons',
  verifyStep: 'locker:verify-step',
  syscallLog: 'locker:syscall-log',
  preflight: 'locker:preflight',
  equivalent: 'locker:equivalent',
  hostCheck: 'locker:host-check',
  cleanupHost: 'locker:cleanup-host',
  listStepping: 'locker:list-stepping',
  stepNext: 'locker:step-next',
  stepRunToEnd: 'locker:step-run-to-end',
  stepCancel: 'locker:step-cancel',
  stepping: 'locker:event:stepping',
  terminals: 'locker:event:terminals',
  inspection: 'locker:event:inspection',
  syscalls: 'locker:event:syscalls',
  containers: 'locker:event:containers',
  terminalData: 'locker:event:terminal-data',
  terminalExit: 'locker:event:terminal-exit',
} as const satisfies Record<CallName | EventName, string>;

export const CALL_NAMES = [
  'hostInfo', 'listContainers', 'run', 'stop', 'remove', 'inspect', 'watchInspection', 'unwatchInspection', 'listDir', 'rootfsLayers', 'listTerminals',
  'openHostShell', 'exec', 'attachTerminal', 'writeTerminal', 'resizeTerminal', 'ackTerminal', 'detachTerminal', 'closeTerminal',
  'listLessons', 'verifyStep', 'syscallLog', 'preflight', 'equivalent', 'hostCheck', 'cleanupHost',
  'listStepping', 'stepNext', 'stepRunToEnd', 'stepCancel',
] as const satisfies readonly CallName[];
export const EVENT_NAMES = ['containers', 'terminalData', 'terminalExit', 'syscalls', 'stepping', 'terminals', 'inspection'] as const satisfies readonly EventName[];

/** Errors cross the boundary as data: Electron's invoke() and JSON both mangle thrown Errors. */
export type Envelope<T> = { result: T } | { error: string };

export function unwrap<T>(envelope: Envelope<T>): T {
  if (envelope && typeof envelope === 'object' && 'error' in envelope) throw new Error(envelope.error);
  return (envelope as { result: T }).result;
}

export type Invoke = (channel: string, arg: unknown) => Promise<Envelope<unknown>>;
export type Subscribe = (channel: string, listener: (payload: unknown) => void) => () => void;
/** Sends a NOTIFY_CALLS call with no reply. */
export type Notify = (channel: string, arg: unknown) => void;

/** Builds the typed client from a transport's two primitives; used by the preload and the WebSocket client. */
export function createClient(invoke: Invoke, subscribe: Subscribe, notify?: Notify): LockerApi {
  const api: Record<string, unknown> = {};
  for (const name of CALL_NAMES) {
    api[name] = notify && isNotifyCall(name)
      ? async (arg?: unknown) => (notify(Channel[name], arg), null)
      : async (arg?: unknown) => unwrap(await invoke(Channel[name], arg));
  }
  // one subscription for every terminal's data, handed out by terminalId (no pane filters another's chunks)
  const byTerminal = new Map<string, Set<(d: TerminalData) => void>>();
  let offAll: (() => void) | undefined;
  api.onTerminalData = (terminalId: string, listener: (d: TerminalData) => void) => {
    offAll ??= subscribe(Channel.terminalData, (payload) => {
      const d = payload as TerminalData;
      byTerminal.get(d.terminalId)?.forEach((l) => l(d));
    });
    if (!byTerminal.has(terminalId)) byTerminal.set(terminalId, new Set());
    byTerminal.get(terminalId)!.add(listener);
    return () => {
      const set = byTerminal.get(terminalId);
      set?.delete(listener);
      if (set?.size === 0) byTerminal.delete(terminalId);
    };
  };
  api.on = (event: EventName, listener: (payload: never) => void) => {
    if (!(EVENT_NAMES as readonly string[]).includes(event)) throw new Error(`unknown event "${String(event)}"`);
    return subscribe(Channel[event], listener as (payload: unknown) => void);
  };
  return api as unknown as LockerApi;
}

// Limits and form rules shared by the launch form (inline errors) and the main side (validate.ts).
export const LIMITS = {
  /** Paths, argv entries, hostnames: anything a person types. */
  maxString: 4096,
  /** One terminal write (a paste). */
  maxWrite: 64 * 1024,
  maxArgs: 256,
  maxCols: 1000,
  maxRows: 500,
  hostnameBytes: HOSTNAME_BYTES,
} as const;

/** Used by the CLI, the API validation, the lesson loader and the launch form alike (the rule lives in grammar.ts). */
export function hostnameProblem(hostname: string): string | undefined {
  const r = parseHostname(hostname);
  return r.ok ? undefined : r.problem;
}

/** Splits a command line on whitespace, honouring '…' and "…" quotes (no shell expansion). */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let has = false;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      cur += ch;
      has = true;
    }
  }
  if (quote) throw new Error(`unclosed ${quote} in the command`);
  if (has) out.push(cur);
  return out;
}

/**
 * The launch form's checks, so a bad value shows inline and nothing starts. Returns one line or undefined.
 * `ncpu`: the CPUs of the machine that runs the container (HostInfo.capabilities.cpus).
 */
export function runRequestProblem(req: RunRequest, ncpu = Infinity): string | undefined {
  if (req.command.length === 0 || req.command[0] === '') return 'the command is empty; e.g. /bin/sh';
  if (req.command.some((a) => a.includes('\0'))) return 'the command contains a NUL byte';
  if (req.rootfs !== undefined && req.rootfs.includes('\0')) return 'the rootfs path contains a NUL byte';
  if (req.rootfs !== undefined && req.rootfs !== '' && !req.rootfs.startsWith('/')) return 'the rootfs must be an absolute path (or the embedded default)';
  const ns = checkNamespaces(req.namespaces);
  if (!ns.ok) return ns.problem;
  if (req.hostname !== undefined) {
    const p = hostnameProblem(req.hostname);
    if (p) return p;
    if (!req.namespaces.includes('uts')) return 'a hostname needs the UTS namespace (it would rename the host); tick uts';
  }
  const limit = (field: string, text: string | number | undefined, parse: (t: string | number) => Parsed<number>): string | undefined => {
    if (text === undefined) return undefined;
    const r = parse(text);
    return r.ok ? undefined : problemLine(field, text, r.problem);
  };
  return limit('memory', req.memory, parseMemory) ?? limit('cpus', req.cpus, (t) => parseCpus(t, ncpu)) ?? limit('pids', req.pidsLimit, parsePidsLimit);
}

// Web mode's wire format over the WebSocket (Electron IPC needs none: it has channels).
export type ClientMessage = { t: 'call'; id: number; ch: string; arg?: unknown } | { t: 'notify'; ch: string; arg?: unknown };
export type ServerMessage = { t: 'reply'; id: number; env: Envelope<unknown> } | { t: 'event'; ch: string; payload: unknown };

/** Channel → call name, for the receiving side. */
export function callForChannel(channel: unknown): CallName | undefined {
  return CALL_NAMES.find((name) => Channel[name] === channel);
}
