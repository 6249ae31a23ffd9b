// /proc/<pid>/cgroup: which cgroup a process is in, per hierarchy.

export interface ProcCgroup {
  /** Path in the cgroup2 hierarchy ("0::/path"). */
  v2?: string;
  /** Path per v1 controller (and "name=systemd"-style named hierarchies). */
  v1: Record<string, string>;
}

export function parseProcCgroup(text: string): ProcCgroup {
  const out: ProcCgroup = { v1: {} };
  for (const line of text.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === '0' && m[2] === '') out.v2 = m[3];
    else for (const c of m[2].split(',')) out.v1[c] = m[3];
  }
  return out;
}
