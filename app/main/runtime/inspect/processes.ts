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
 * Every host process, with `inContainer` set for containerInitPid and all its descendants, and for
 * extraRoots (processes that joined the container later, e.g. `locker exec`) and theirs.
 */
export function hostProcessTable(containerInitPid: number, extraRoots: number[] = []): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  const seen = new Set<string>();
  const byPid = new Map<number, ProcessEntry>();
  const children = new Map<number, number[]>();
  for (const pid of numericEntries()) {
    const stat = readProcText(`/proc/${pid}/stat`);
    if (stat === null) continue; // exited between readdir and read
    const parsed = parseStat(stat);
    if (!parsed) continue;
    const key = `${pid}:${parsed.startTime}:${parsed.name}`;
    seen.add(key);
    let cmdline = cmdlines.get(key);
    if (cmdline === undefined) {
      cmdline = formatCmdline(readProcFile(`/proc/${pid}/cmdline`), parsed.name);
      // Zombies and processes still exec'ing have no cmdline yet: read those again next time.
      if (!cmdline.startsWith('[')) cmdlines.set(key, cmdline);
    }
    const e: ProcessEntry = { pid, ppid: parsed.ppid, name: parsed.name, cmdline, inContainer: false };
    entries.push(e);
    byPid.set(pid, e);
    const siblings = children.get(parsed.ppid);
    if (siblings) siblings.push(pid);
    else children.set(parsed.ppid, [pid]);
  }
  for (const key of cmdlines.keys()) if (!seen.has(key)) cmdlines.delete(key);
  const init = byPid.get(containerInitPid);
  if (init) {
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
  return entries;
}

/** The container's processes only (the marked subset of a host table). */
export function containerProcessTable(containerInitPid: number, hostTable?: ProcessEntry[]): ProcessEntry[] {
  return (hostTable ?? hostProcessTable(containerInitPid)).filter((e) => e.inContainer);
}
