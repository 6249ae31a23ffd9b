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
