import type { ContainerInfo } from '../../../shared/types';

export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

export function uptime(c: ContainerInfo, now: number): string {
  return duration((c.finishedAt ?? now) - c.createdAt);
}

export function exitStatus(c: ContainerInfo): string {
  if (c.state === 'running') return '';
  if (c.exitCode === undefined) return 'exited';
  return c.signal ? `${c.exitCode} (${c.signal})` : String(c.exitCode);
}

export function size(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** "1 process", "3 processes". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** How a container ended, in words: "exited 137 — OOM killed", "exited 143 (SIGTERM)", "exited 0". */
export function exitSummary(c: ContainerInfo): string {
  if (c.state === 'running') return 'running';
  const code = exitStatus(c);
  const base = code === 'exited' ? 'exited' : `exited ${code}`;
  return c.oomKilled ? `${base} — OOM killed: the kernel's OOM killer ended it at its memory limit` : base;
}
