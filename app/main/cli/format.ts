import type { ContainerInfo } from '../../shared/types';

export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}

export function statusText(c: ContainerInfo, now = Date.now()): string {
  if (c.state === 'running') return `running ${duration(now - c.createdAt)}`;
  if (c.exitCode === undefined) return 'exited (owner gone)';
  return `exited ${c.exitCode}${c.signal ? ` (${c.signal})` : ''}`;
}

export function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('  ')).join('\n') + '\n';
}

export function psTable(list: ContainerInfo[]): string {
  const rows = [['ID', 'NAME', 'STATUS', 'PID', 'NAMESPACES', 'COMMAND']];
  for (const c of list) rows.push([c.id, c.name, statusText(c), String(c.pid), c.namespaces.join(','), c.command.join(' ')]);
  return table(rows);
}
