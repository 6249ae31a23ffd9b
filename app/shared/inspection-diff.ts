// What changed between two inspections of one container, and how a client rebuilds the newer one
// from the older. The service watches a container and sends the whole Inspection once, then only
// these diffs: processes keyed by host PID (added, removed, changed fields), every other part only
// when it differs. Pure and transport-free: the renderer compiles this file too.
//
// "Exactly the server's object" means as JSON carries it: a field whose value is undefined is a
// field that is absent (the WebSocket drops it; the diff never sends it).
import type { Inspection, ProcessEntry } from './types';

/** Everything of an Inspection but its two process tables, each compared and sent whole. */
export type InspectionParts = Omit<Inspection, 'hostProcesses' | 'containerProcesses'>;
type PartName = keyof InspectionParts;

export interface ProcessChange {
  pid: number;
  /** Fields whose value differs (or that appeared). */
  set?: Partial<ProcessEntry>;
  /** Fields the process no longer has (e.g. containerPid once it left the container). */
  unset?: (keyof ProcessEntry)[];
}

export interface ProcessTableDiff {
  added?: ProcessEntry[];
  /** Where each added entry is in the new table (ascending), so the rest keep their places around it. */
  addedAt?: number[];
  /** Host PIDs gone since the previous table. */
  removed?: number[];
  changed?: ProcessChange[];
  /**
   * Every host PID in the new table's order; only when the processes that stayed are in another
   * order than before (then addedAt is left out).
   */
  order?: number[];
}

export interface InspectionDiff {
  processes?: ProcessTableDiff;
  /** The container's processes as host PIDs, in order; only when that list changed. */
  containerPids?: number[];
  /** The container's table whole: only when its entries are not the host table's entries of those PIDs. */
  containerProcesses?: ProcessEntry[];
  /** Parts that changed (or appeared), each whole. */
  set?: Partial<InspectionParts>;
  /** Optional parts that are gone (e.g. network once the container's namespace is unreadable). */
  unset?: PartName[];
}

/**
 * One message of a watch (watchInspection): the whole inspection (the watch's reply, and after a
 * resync), then the changes, each one seq after the last; `ended` when the container is gone (the
 * watch is over); `error` when one refresh failed while the container still runs (state unchanged).
 */
export type InspectionEvent =
  | { id: string; seq: number; full: Inspection }
  | { id: string; seq: number; changes: InspectionDiff }
  | { id: string; seq: number; ended: string }
  | { id: string; seq: number; error: string };

/** Structural equality of JSON-like values; an undefined field equals a missing one. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameValue(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  let definedInA = 0;
  for (const k in ra) {
    if (ra[k] === undefined) continue;
    definedInA++;
    if (!sameValue(ra[k], rb[k])) return false;
  }
  let definedInB = 0;
  for (const k in rb) if (rb[k] !== undefined) definedInB++;
  return definedInA === definedInB;
}

function processChange(prev: ProcessEntry, next: ProcessEntry): ProcessChange | undefined {
  let set: Record<string, unknown> | undefined;
  let unset: (keyof ProcessEntry)[] | undefined;
  const p = prev as unknown as Record<string, unknown>;
  const n = next as unknown as Record<string, unknown>;
  for (const k in n) {
    const v = n[k];
    if (v !== undefined && !sameValue(v, p[k])) (set ??= {})[k] = v;
  }
  for (const k in p) if (p[k] !== undefined && n[k] === undefined) (unset ??= []).push(k as keyof ProcessEntry);
  if (!set && !unset) return undefined;
  const c: ProcessChange = { pid: next.pid };
  if (set) c.set = set as Partial<ProcessEntry>;
  if (unset) c.unset = unset;
  return c;
}

/** The host table's diff; undefined when nothing changed. */
export function diffProcesses(prev: readonly ProcessEntry[], next: readonly ProcessEntry[]): ProcessTableDiff | undefined {
  // Most refreshes nobody started or ended: the same PIDs in the same places, compared pairwise
  // (unchanged entries are the same objects on the service) without indexing thousands of them.
  if (samePids(prev, next)) {
    const changed: ProcessChange[] = [];
    for (let i = 0; i < next.length; i++) {
      const c = prev[i] === next[i] ? undefined : processChange(prev[i], next[i]);
      if (c) changed.push(c);
    }
    return changed.length ? { changed } : undefined;
  }
  const before = new Map<number, ProcessEntry>();
  for (const p of prev) before.set(p.pid, p);
  const added: ProcessEntry[] = [];
  const addedAt: number[] = [];
  const changed: ProcessChange[] = [];
  let kept = 0;
  for (let i = 0; i < next.length; i++) {
    const n = next[i];
    const p = before.get(n.pid);
    if (!p) {
      added.push(n);
      addedAt.push(i);
      continue;
    }
    kept++;
    if (p === n) continue;
    const c = processChange(p, n);
    if (c) changed.push(c);
  }
  const removed: number[] = [];
  if (kept < before.size) {
    const now = new Set<number>();
    for (const n of next) now.add(n.pid);
    for (const pid of before.keys()) if (!now.has(pid)) removed.push(pid);
  }
  const d: ProcessTableDiff = {};
  if (added.length) d.added = added;
  if (removed.length) d.removed = removed;
  if (changed.length) d.changed = changed;
  // The processes that stayed keep their order (the table comes from one readdir of /proc, in
  // the same order each time): the added ones go in between at their places. Any other order is spelled out.
  if (stayedInOrder(prev, next, removed, addedAt)) {
    if (added.length) d.addedAt = addedAt;
  } else d.order = next.map((n) => n.pid);
  return d.added || d.removed || d.changed || d.order ? d : undefined;
}

/** Whether prev without `removed` lists the same PIDs in the same order as next without the entries at `addedAt`. */
function stayedInOrder(prev: readonly ProcessEntry[], next: readonly ProcessEntry[], removed: number[], addedAt: number[]): boolean {
  const gone = removed.length ? new Set(removed) : undefined;
  let i = 0;
  let k = 0;
  for (const p of prev) {
    if (gone?.has(p.pid)) continue;
    while (k < addedAt.length && addedAt[k] === i) {
      i++;
      k++;
    }
    if (i >= next.length || next[i].pid !== p.pid) return false;
    i++;
  }
  return true;
}

function samePids(a: readonly { pid: number }[], b: readonly { pid: number }[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i].pid !== b[i].pid) return false;
  return true;
}

/** Whether every container process is the host table's entry of its PID (so the client can rebuild it from PIDs). */
function containerTableDerived(i: Inspection): boolean {
  if (i.containerProcesses.length === 0) return true;
  const marked = new Map<number, ProcessEntry>();
  for (const p of i.hostProcesses) if (p.inContainer) marked.set(p.pid, p);
  return i.containerProcesses.every((c) => {
    const h = marked.get(c.pid);
    return h !== undefined && (h === c || sameValue(h, c));
  });
}

/** What turns `prev` into `next`; empty ({}) when nothing changed (isEmptyDiff). */
export function diffInspection(prev: Inspection, next: Inspection): InspectionDiff {
  const d: InspectionDiff = {};
  const processes = diffProcesses(prev.hostProcesses, next.hostProcesses);
  if (processes) d.processes = processes;
  // The container table is the host table's marked entries (the same objects, on the service):
  // its PIDs are enough, unless a source builds it otherwise (then it goes whole).
  if (!containerTableDerived(next)) d.containerProcesses = next.containerProcesses;
  else if (!samePids(prev.containerProcesses, next.containerProcesses) || !containerTableDerived(prev)) d.containerPids = next.containerProcesses.map((c) => c.pid);
  const p = prev as unknown as Record<string, unknown>;
  const n = next as unknown as Record<string, unknown>;
  for (const k in n) {
    if (k === 'hostProcesses' || k === 'containerProcesses' || n[k] === undefined) continue;
    if (!sameValue(p[k], n[k])) (d.set ??= {} as Record<string, unknown>)[k as PartName] = n[k] as never;
  }
  for (const k in p) {
    if (k === 'hostProcesses' || k === 'containerProcesses') continue;
    if (p[k] !== undefined && n[k] === undefined) (d.unset ??= []).push(k as PartName);
  }
  return d;
}

export function isEmptyDiff(d: InspectionDiff): boolean {
  return !d.processes && !d.containerPids && !d.containerProcesses && !d.set && !d.unset;
}

function applyProcesses(prev: readonly ProcessEntry[], d: ProcessTableDiff): ProcessEntry[] {
  const removed = d.removed?.length ? new Set(d.removed) : undefined;
  const changed = d.changed?.length ? new Map(d.changed.map((c) => [c.pid, c])) : undefined;
  const out: ProcessEntry[] = [];
  for (const p of prev) {
    if (removed?.has(p.pid)) continue;
    const c = changed?.get(p.pid);
    if (!c) {
      out.push(p);
      continue;
    }
    const e = { ...p, ...c.set } as Record<string, unknown>;
    for (const k of c.unset ?? []) delete e[k];
    out.push(e as unknown as ProcessEntry);
  }
  if (d.order) {
    const byPid = new Map(out.map((p) => [p.pid, p]));
    for (const p of d.added ?? []) byPid.set(p.pid, p);
    return d.order.map((pid) => {
      const p = byPid.get(pid);
      if (!p) throw new Error(`inspection diff: order names PID ${pid}, which the table does not have`);
      return p;
    });
  }
  if (!d.added) return out;
  const at = d.addedAt ?? [];
  if (at.length !== d.added.length) throw new Error('inspection diff: added entries without their places (addedAt)');
  const merged: ProcessEntry[] = [];
  let s = 0;
  d.added.forEach((p, k) => {
    while (merged.length < at[k] && s < out.length) merged.push(out[s++]);
    merged.push(p);
  });
  while (s < out.length) merged.push(out[s++]);
  return merged;
}

/**
 * `prev` with `diff` applied, as a new object: unchanged processes and parts keep their identity
 * (React skips them), nothing of `prev` is modified.
 */
export function applyInspectionDiff(prev: Inspection, diff: InspectionDiff): Inspection {
  const out = { ...prev, ...diff.set } as Inspection;
  for (const k of diff.unset ?? []) delete (out as unknown as Record<string, unknown>)[k];
  if (diff.processes) out.hostProcesses = applyProcesses(prev.hostProcesses, diff.processes);
  if (diff.containerProcesses) out.containerProcesses = diff.containerProcesses;
  else if (diff.processes || diff.containerPids) {
    // the container's processes are the host table's marked entries (diffInspection sends them whole otherwise)
    const byPid = new Map<number, ProcessEntry>();
    for (const p of out.hostProcesses) if (p.inContainer) byPid.set(p.pid, p);
    const pids = diff.containerPids ?? prev.containerProcesses.map((p) => p.pid);
    out.containerProcesses = pids.map((pid) => {
      const p = byPid.get(pid);
      if (!p) throw new Error(`inspection diff: the container's PID ${pid} is not in the host table`);
      return p;
    });
  }
  return out;
}

/**
 * The client's copy of one watched inspection: takes the watch's messages in any order they come,
 * applies each diff that follows the one before, and says when a full one is needed (a seq gap: a
 * message was lost or the watch restarted).
 */
export class InspectionMirror {
  private current: Inspection | null = null;
  private seq = -1;

  get inspection(): Inspection | null {
    return this.current;
  }

  /**
   * 'changed': `inspection` is new; 'same': nothing to show (an old or duplicate message);
   * 'resync': a message is missing, ask for a full one; 'ended': the watch is over; 'error': see the event.
   */
  accept(ev: InspectionEvent): 'changed' | 'same' | 'resync' | 'ended' | 'error' {
    if ('ended' in ev) return 'ended';
    if ('error' in ev) return 'error';
    if ('full' in ev) {
      if (ev.seq < this.seq) return 'same';
      this.current = ev.full;
      this.seq = ev.seq;
      return 'changed';
    }
    // before the first full one (the watch's reply is on its way) and for old ones there is nothing to do
    if (this.current === null || ev.seq <= this.seq) return 'same';
    if (ev.seq !== this.seq + 1) return 'resync';
    try {
      this.current = applyInspectionDiff(this.current, ev.changes);
    } catch {
      return 'resync'; // a diff that does not fit this copy: start again from a full one
    }
    this.seq = ev.seq;
    return 'changed';
  }
}
