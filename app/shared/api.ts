// The one API between the UI and the main side. Both transports carry exactly this:
// Electron IPC (preload → ipcMain) and web mode (WebSocket). No Node or Electron imports:
// the renderer and the sandboxed preload bundle compile this file too.
import type { ContainerInfo, DirListing, Inspection, Namespace } from './types';

export interface HostInfo {
  hostname: string;
  /** The rootfs the launch form preselects ("embedded default"). */
  defaultRootfsLabel: string;
  uid: number;
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
  | { pidsRejected: boolean };

type KeysOfUnion<T> = T extends unknown ? keyof T : never;

export const VERIFY_RULES = [
  'namespaceSeparate', 'namespaceShared', 'hostnameDiffers', 'pid1Is', 'procShowsHost', 'rootDiffers', 'uidMapOutsideNot', 'onlyLoopback', 'pidsLimit', 'pidsRejected',
] as const satisfies readonly KeysOfUnion<VerifyRule>[];
export type VerifyRuleName = (typeof VERIFY_RULES)[number];

export interface LessonCommand {
  /** Which terminal it is meant for; the learner may pick the other one. */
  pane: 'host' | 'container';
  /** Typed as is, then Enter. {pid} and {id} become the selected container's host PID and id. */
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
}

export interface VerifyResult {
  ok: boolean;
  outcomes: RuleOutcome[];
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

/** Request/response methods. Every method takes at most one plain object so validation is uniform. */
export interface LockerCalls {
  hostInfo(): Promise<HostInfo>;
  listContainers(): Promise<ContainerInfo[]>;
  run(req: RunRequest): Promise<RunResult>;
  stop(req: { id: string }): Promise<ContainerInfo>;
  remove(req: { id: string }): Promise<null>;
  inspect(req: { id: string }): Promise<Inspection>;
  listDir(req: { id: string; side: 'host' | 'container'; path: string }): Promise<DirListing>;
  /** Terminals that belong to a container (its init's pty and exec sessions still open). */
  listTerminals(req: { id: string }): Promise<TerminalInfo[]>;
  openHostShell(req: { cols: number; rows: number }): Promise<TerminalInfo>;
  exec(req: { id: string; cols: number; rows: number }): Promise<TerminalInfo>;
  attachTerminal(req: { terminalId: string }): Promise<TerminalSnapshot>;
  writeTerminal(req: { terminalId: string; data: string }): Promise<null>;
  resizeTerminal(req: { terminalId: string; cols: number; rows: number }): Promise<null>;
  ackTerminal(req: { terminalId: string; bytes: number }): Promise<null>;
  closeTerminal(req: { terminalId: string }): Promise<null>;
  /** Lessons from lessons/*.json, plus one line per file that failed validation. */
  listLessons(): Promise<LessonList>;
  /** Checks one step's rules against the container's real state. */
  verifyStep(req: { lessonId: string; stepId: string; id: string }): Promise<VerifyResult>;
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
}

export const SYSCALL_BACKLOG = 5000;
export const SYSCALL_BATCH_MS = 100;

export type CallName = keyof LockerCalls;
export type EventName = keyof LockerEvents;
export type CallArg<M extends CallName> = Parameters<LockerCalls[M]> extends [infer A] ? A : undefined;
export type CallResult<M extends CallName> = Awaited<ReturnType<LockerCalls[M]>>;

export interface LockerApi extends LockerCalls {
  on<E extends EventName>(event: E, listener: (payload: LockerEvents[E]) => void): () => void;
}

/** Channel names, one per call and event (as electron/fiddle does). */
export const Channel = {
  hostInfo: 'locker:host-info',
  listContainers: 'locker:list-containers',
  run: 'locker:run',
  stop: 'locker:stop',
  remove: 'locker:remove',
  inspect: 'locker:inspect',
  listDir: 'locker:list-dir',
  listTerminals: 'locker:list-terminals',
  openHostShell: 'locker:open-host-shell',
  exec: 'locker:exec',
  attachTerminal: 'locker:attach-terminal',
  writeTerminal: 'locker:write-terminal',
  resizeTerminal: 'locker:resize-terminal',
  ackTerminal: 'locker:ack-terminal',
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
  syscalls: 'locker:event:syscalls',
  containers: 'locker:event:containers',
  terminalData: 'locker:event:terminal-data',
  terminalExit: 'locker:event:terminal-exit',
} as const satisfies Record<CallName | EventName, string>;

export const CALL_NAMES = [
  'hostInfo', 'listContainers', 'run', 'stop', 'remove', 'inspect', 'listDir', 'listTerminals',
  'openHostShell', 'exec', 'attachTerminal', 'writeTerminal', 'resizeTerminal', 'ackTerminal', 'closeTerminal',
  'listLessons', 'verifyStep', 'syscallLog', 'preflight', 'equivalent', 'hostCheck', 'cleanupHost',
  'listStepping', 'stepNext', 'stepRunToEnd', 'stepCancel',
] as const satisfies readonly CallName[];
export const EVENT_NAMES = ['containers', 'terminalData', 'terminalExit', 'syscalls', 'stepping'] as const satisfies readonly EventName[];

/** Errors cross the boundary as data: Electron's invoke() and JSON both mangle thrown Errors. */
export type Envelope<T> = { result: T } | { error: string };

export function unwrap<T>(envelope: Envelope<T>): T {
  if (envelope && typeof envelope === 'object' && 'error' in envelope) throw new Error(envelope.error);
  return (envelope as { result: T }).result;
}

export type Invoke = (channel: string, arg: unknown) => Promise<Envelope<unknown>>;
export type Subscribe = (channel: string, listener: (payload: unknown) => void) => () => void;

/** Builds the typed client from a transport's two primitives; used by the preload and the WebSocket client. */
export function createClient(invoke: Invoke, subscribe: Subscribe): LockerApi {
  const api: Record<string, unknown> = {};
  for (const name of CALL_NAMES) {
    api[name] = async (arg?: unknown) => unwrap(await invoke(Channel[name], arg));
  }
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
  hostnameBytes: 64,
} as const;

export const MEMORY = /^[0-9]+(\.[0-9]+)?[bkmgBKMG]?$/;
export const CPUS = /^[0-9]+(\.[0-9]+)?$/;

const LABEL = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** RFC 1123: dot-separated labels of letters, digits and inner hyphens; the kernel allows 64 bytes. */
/** Used by the CLI, the API validation, the lesson loader and the launch form alike. */
export function hostnameProblem(hostname: string): string | undefined {
  if (hostname.length === 0) return 'the hostname is empty';
  if (hostname.includes('\0')) return 'the hostname contains a NUL byte';
  const bytes = new TextEncoder().encode(hostname).length;
  if (bytes > LIMITS.hostnameBytes) return `hostname "${hostname.slice(0, 20)}…" is ${bytes} bytes; the kernel allows at most ${LIMITS.hostnameBytes}`;
  if (!hostname.split('.').every((l) => LABEL.test(l))) return `invalid hostname "${hostname.slice(0, 70)}": use letters, digits and inner '-' (dot-separated labels), e.g. demo-1`;
  return undefined;
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

/** The launch form's checks, so a bad value shows inline and nothing starts. Returns one line or undefined. */
export function runRequestProblem(req: RunRequest): string | undefined {
  if (req.command.length === 0 || req.command[0] === '') return 'the command is empty; e.g. /bin/sh';
  if (req.command.some((a) => a.includes('\0'))) return 'the command contains a NUL byte';
  if (req.rootfs !== undefined && req.rootfs.includes('\0')) return 'the rootfs path contains a NUL byte';
  if (req.rootfs !== undefined && req.rootfs !== '' && !req.rootfs.startsWith('/')) return 'the rootfs must be an absolute path (or the embedded default)';
  if (req.hostname !== undefined) {
    const p = hostnameProblem(req.hostname);
    if (p) return p;
    if (!req.namespaces.includes('uts')) return 'a hostname needs the UTS namespace (it would rename the host); tick uts';
  }
  if (req.memory !== undefined && !MEMORY.test(req.memory)) return `memory "${req.memory.slice(0, 20)}" is not a size; e.g. 64m, 512k or 1g`;
  if (req.cpus !== undefined && !(CPUS.test(req.cpus) && Number(req.cpus) > 0)) return `cpus "${req.cpus.slice(0, 20)}" is not a positive number; e.g. 0.5`;
  if (req.pidsLimit !== undefined && !(Number.isInteger(req.pidsLimit) && req.pidsLimit >= 1 && req.pidsLimit <= 4194304)) return 'the pids limit must be a whole number from 1; e.g. 20';
  return undefined;
}

// Web mode's wire format over the WebSocket (Electron IPC needs none: it has channels).
export type ClientMessage = { t: 'call'; id: number; ch: string; arg?: unknown };
export type ServerMessage = { t: 'reply'; id: number; env: Envelope<unknown> } | { t: 'event'; ch: string; payload: unknown };

/** Channel → call name, for the receiving side. */
export function callForChannel(channel: unknown): CallName | undefined {
  return CALL_NAMES.find((name) => Channel[name] === channel);
}
