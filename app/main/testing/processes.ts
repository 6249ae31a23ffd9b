// The processes a before/after comparison must see: everything this test process started (across
// all its threads, at any depth), and orphaned processes in namespaces of their own (a container
// whose CLI is gone is reparented to PID 1 and is no child of ours, yet it is exactly the leak to
// catch). An orphan must have started after this test process, so older machine state is no noise.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const NS = ['pid', 'uts', 'mnt', 'ipc', 'net', 'user'] as const;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process ended meanwhile
  }
}

function childrenOf(pid: string): string[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tasks.flatMap((t) => (read(`/proc/${pid}/task/${t}/children`) ?? '').trim().split(/\s+/).filter(Boolean));
}

/** Descendants of `root`, at any depth (a container under a CLI under us counts). */
export function descendants(root = String(process.pid)): string[] {
  const out: string[] = [];
  const queue = [root];
  while (queue.length > 0 && out.length < 100_000) {
    for (const c of childrenOf(queue.shift()!)) {
      out.push(c);
      queue.push(c);
    }
  }
  return out;
}

/** Field 22 of /proc/PID/stat (start time in clock ticks) and field 4 (parent). */
function stat(pid: string): { ppid: number; start: number; state: string } | undefined {
  const text = read(`/proc/${pid}/stat`);
  if (!text) return undefined;
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: f[0], ppid: Number(f[1]), start: Number(f[19]) };
}

function namespaces(pid: string): string | undefined {
  try {
    return NS.map((n) => readlinkSync(`/proc/${pid}/ns/${n}`)).join(' ');
  } catch {
    return undefined;
  }
}

/** Orphans (parent 1) started after us, running in at least one namespace that is not ours. */
export function orphanedContainers(): string[] {
  const me = stat(String(process.pid));
  const mine = namespaces('self');
  if (!me || !mine) return [];
  const ours = mine.split(' ');
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((pid) => {
    const s = stat(pid);
    if (!s || s.ppid !== 1 || s.start < me.start || s.state === 'Z') return false;
    const theirs = namespaces(pid)?.split(' ');
    return theirs !== undefined && theirs.some((n, i) => n !== ours[i]);
  });
}

/** What hostState reports as our processes: every descendant, and every orphaned container. */
export function ourProcesses(): string[] {
  return [...new Set([...descendants(), ...orphanedContainers()])].sort((a, b) => Number(a) - Number(b));
}
