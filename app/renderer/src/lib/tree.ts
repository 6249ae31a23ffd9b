// Turns a flat process table into display rows in tree order.
import type { ProcessEntry } from '../../../shared/types';

export interface TreeRow {
  entry: ProcessEntry;
  depth: number;
  /** The PID shown in this column (container PID on the container side). */
  shownPid: number;
}

export function treeRows(entries: ProcessEntry[], side: 'host' | 'container'): TreeRow[] {
  const pidOf = (e: ProcessEntry) => (side === 'container' ? e.containerPid ?? e.pid : e.pid);
  const ppidOf = (e: ProcessEntry) => (side === 'container' ? e.containerPpid ?? e.ppid : e.ppid);
  const byPid = new Map(entries.map((e) => [pidOf(e), e]));
  const children = new Map<number, ProcessEntry[]>();
  const roots: ProcessEntry[] = [];
  for (const e of entries) {
    const parent = ppidOf(e);
    if (parent !== pidOf(e) && byPid.has(parent)) {
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent)!.push(e);
    } else roots.push(e);
  }
  const rows: TreeRow[] = [];
  const seen = new Set<number>();
  const walk = (e: ProcessEntry, depth: number) => {
    const pid = pidOf(e);
    if (seen.has(pid)) return;
    seen.add(pid);
    rows.push({ entry: e, depth, shownPid: pid });
    for (const c of (children.get(pid) ?? []).sort((a, b) => pidOf(a) - pidOf(b))) walk(c, depth + 1);
  };
  for (const r of roots.sort((a, b) => pidOf(a) - pidOf(b))) walk(r, 0);
  return rows;
}
