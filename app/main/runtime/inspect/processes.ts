// The host's process table from /proc, with the container's init and its descendants marked and
// given the PIDs they have inside the container (NSpid). One readdir of /proc per snapshot, one
// read of stat and cmdline per process; status only for container processes.
import { readdirSync } from 'node:fs';
import type { ProcessEntry } from '../../../shared/types';
import { readProcFile, readProcText } from './proc-read';

export interface StatLine {
  pid: number;
  name: string;
  state: string;
  ppid: number;
  /** Start time in clock ticks after boot (field 22): with pid, identifies a process across reuse. */
  startTime: number;
}

/**
 * Parses /proc/PID/stat. comm is in parentheses and may itself contain spaces, '(' and ')',
 * so it is taken up to the LAST ')'.
 */
export function parseStat(text: string): StatLine | null {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 2).split(' ');
  // rest[0] = state (field 3), rest[1] = ppid (field 4), rest[19] = starttime (field 22)
  const ppid = Number(rest[1]);
  if (!Number.isInteger(pid) || !Number.isInteger(ppid)) return null;
  return { pid, name: text.slice(open + 1, close), state: rest[0] ?? '?', ppid, startTime: Number(rest[19] ?? 0) };
}

/** /proc/PID/cmdline with NULs as spaces; empty (kernel threads, zombies) becomes `[name]`. */
export function formatCmdline(raw: Buffer | null, name: string): string {
  if (raw === null || raw.length === 0) return `[${name}]`;
  let end = raw.length;
  while (end > 0 && raw[end - 1] === 0) end--;
  const s = raw.toString('utf8', 0, end).replace(/\0/g, ' ');
  return s.length === 0 ? `[${name}]` : s;
}

/** The NSpid line of /proc/PID/status: the PID in each nested PID namespace, outermost first. */
export function parseNSpid(status: string): number[] | null {
  const m = /^NSpid:\s*(.*)$/m.exec(status);
  if (!m) return null;
  const ids = m[1].trim().split(/\s+/).map(Number);
  return ids.every((n) => Number.isInteger(n)) && ids.length > 0 ? ids : null;
}

function numericEntries(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const c = name.charCodeAt(0);
    if (c >= 48 && c <= 57) out.push(Number(name));
  }
  return out;
}

// cmdline only changes with execve, which also changes comm: keyed on (pid, start time, comm), a
// cached cmdline halves the reads of a refresh (it matters with thousands of host processes).
const cmdlines = new Map<string, string>();

/**
 * One process's entry (stat and cmdline), unmarked, and its key in the cmdline cache; null when it
 * is gone. The cache is used by whole-table reads only, which also drop the keys of ended processes.
 */
function readEntry(pid: number, cache?: Map<string, string>): { entry: ProcessEntry; key: string } | null {
  const stat = readProcText(`/proc/${pid}/stat`);
  if (stat === null) return null; // exited meanwhile
  const parsed = parseStat(stat);
  if (!parsed) return null;
  const key = `${pid}:${parsed.startTime}:${parsed.name}`;
  let cmdline = cache?.get(key);
  if (cmdline === undefined) {
    cmdline = formatCmdline(readProcFile(`/proc/${pid}/cmdline`), parsed.name);
    // Zombies and processes still exec'ing have no cmdline yet: read those again next time.
    if (!cmdline.startsWith('[')) cache?.set(key, cmdline);
  }
  return { entry: { pid, ppid: parsed.ppid, name: parsed.name, cmdline, inContainer: false }, key };
}

/** Entries by pid, and the pids of each one's children (by their ppid). */
function indexed(entries: ProcessEntry[]): { byPid: Map<number, ProcessEntry>; children: Map<number, number[]> } {
  const byPid = new Map<number, ProcessEntry>();
  const children = new Map<number, number[]>();
  for (const e of entries) {
    byPid.set(e.pid, e);
    const siblings = children.get(e.ppid);
    if (siblings) siblings.push(e.pid);
    else children.set(e.ppid, [e.pid]);
  }
  return { byPid, children };
}

/**
 * Marks containerInitPid, the extraRoots and all their descendants in byPid (`inContainer`), and
 * gives each its PID and parent's PID inside the container (from NSpid). Nothing when the init is gone.
 */
function markContainer(containerInitPid: number, extraRoots: number[], { byPid, children }: ReturnType<typeof indexed>): void {
  if (!byPid.has(containerInitPid)) return;
  const queue = [containerInitPid, ...extraRoots.filter((p) => byPid.has(p))];
  for (let i = 0; i < queue.length; i++) {
    const e = byPid.get(queue[i]);
    if (!e || e.inContainer) continue;
    e.inContainer = true;
    for (const c of children.get(e.pid) ?? []) queue.push(c);
  }
  for (const pid of queue) {
    const e = byPid.get(pid);
    if (!e) continue;
    const status = readProcText(`/proc/${pid}/status`);
    const ns = status === null ? null : parseNSpid(status);
    e.containerPid = ns ? ns[ns.length - 1] : undefined;
  }
  for (const pid of queue) {
    const e = byPid.get(pid);
    if (!e) continue;
    const parent = byPid.get(e.ppid);
    // The init's parent is outside the container: inside, its ppid reads as 0.
    e.containerPpid = pid === containerInitPid || !parent?.inContainer ? 0 : parent.containerPid;
  }
}

/**
 * Every host process, with `inContainer` set for containerInitPid and all its descendants, and for
 * extraRoots (processes that joined the container later, e.g. `locker exec`) and theirs.
 */
export function hostProcessTable(containerInitPid: number, extraRoots: number[] = []): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  const seen = new Set<string>();
  for (const pid of numericEntries()) {
    const read = readEntry(pid, cmdlines);
    if (!read) continue;
    seen.add(read.key);
    entries.push(read.entry);
  }
  for (const key of cmdlines.keys()) if (!seen.has(key)) cmdlines.delete(key);
  markContainer(containerInitPid, extraRoots, indexed(entries));
  return entries;
}

/** The children of pid: those of each of its threads (a child belongs to the thread that forked it). */
function childPids(pid: number): number[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return []; // gone
  }
  const out: number[] = [];
  for (const tid of tids) {
    const text = readProcText(`/proc/${pid}/task/${tid}/children`)?.trim();
    if (text) for (const c of text.split(' ')) out.push(Number(c));
  }
  return out;
}

/** Whether this kernel lists children (CONFIG_PROC_CHILDREN): without it, only the host table finds them. */
const listsChildren = ((): (() => boolean) => {
  let known: boolean | undefined;
  return () => (known ??= readProcText(`/proc/self/task/${process.pid}/children`) !== null);
})();

/**
 * The container's processes alone, as containerProcessTable marks them in the host table (same
 * entries, in pid order), found from the init and the extraRoots down through the children files:
 * the reads follow the container's processes, not the host's (one of a thousand processes costs
 * ~1 % of the host table).
 */
export function containerProcessesOnly(containerInitPid: number, extraRoots: number[] = []): ProcessEntry[] {
  if (!listsChildren()) return containerProcessTable(containerInitPid, hostProcessTable(containerInitPid, extraRoots));
  const entries: ProcessEntry[] = [];
  const queue = [containerInitPid, ...extraRoots];
  const queued = new Set(queue);
  for (let i = 0; i < queue.length; i++) {
    const read = readEntry(queue[i]);
    if (!read) continue;
    entries.push(read.entry);
    for (const c of childPids(queue[i])) {
      if (queued.has(c)) continue;
      queued.add(c);
      queue.push(c);
    }
  }
  entries.sort((a, b) => a.pid - b.pid);
  markContainer(containerInitPid, extraRoots, indexed(entries));
  return entries.filter((e) => e.inContainer);
}

/** The container's processes only (the marked subset of a host table). */
export function containerProcessTable(containerInitPid: number, hostTable?: ProcessEntry[]): ProcessEntry[] {
  return (hostTable ?? hostProcessTable(containerInitPid)).filter((e) => e.inContainer);
}
