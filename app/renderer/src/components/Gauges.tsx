// cgroup gauges for a container with limits, from inspect().resources (refreshed with the rest of
// the inspection). CPU use is the rate of cpu usage between two readings.
import { useRef } from 'react';
import { plural } from '../lib/format';
import type { Inspection } from '../../../shared/types';

function bytes(n: number | null): string {
  if (n === null) return '?';
  if (n >= 1 << 30) return `${(n / (1 << 30)).toFixed(1)} GiB`;
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
  return `${(n / 1024).toFixed(0)} KiB`;
}

function Gauge({ label, value, max, text, testId }: { label: string; value: number | null; max: number | null; text: string; testId: string }) {
  const pct = value !== null && max ? Math.min(100, (value / max) * 100) : 0;
  return (
    <div className="gauge" data-testid={testId} data-value={value ?? ''} data-max={max ?? ''}>
      <div className="label">{label}</div>
      <div className="bar"><div className={`fill${pct >= 95 ? ' full' : ''}`} style={{ width: `${pct}%` }} /></div>
      <div className="text mono">{text}</div>
    </div>
  );
}

/** ended: the container has exited; the gauges keep the last values read (greyed), the CPU rate is over. */
export function Gauges({ resources, ended = false }: { resources: NonNullable<Inspection['resources']>; ended?: boolean }) {
  const { stats, limits } = resources;
  const prev = useRef<{ usec: number; at: number } | null>(null);
  let cpuPct: number | null = null;
  if (stats.cpuUsageUsec !== null && !ended) {
    const now = performance.now();
    const p = prev.current;
    if (p && now > p.at) cpuPct = ((stats.cpuUsageUsec - p.usec) / 1000 / (now - p.at)) * 100;
    if (!p || p.usec !== stats.cpuUsageUsec || now - p.at > 2000) prev.current = { usec: stats.cpuUsageUsec, at: now };
  }
  const cpuMax = limits.cpus ? limits.cpus * 100 : null;
  return (
    <section className={`panel gauges${ended ? ' ended' : ''}`} data-testid="cgroup-gauges" data-ended={ended}>
      <h3>cgroup limits and use{ended ? ' (last values read before it ended)' : ''}</h3>
      <Gauge
        label="pids" value={stats.pidsCurrent} max={stats.pidsMax} testId="gauge-pids"
        text={`${stats.pidsCurrent ?? '?'} / ${stats.pidsMax ?? 'no limit'}${stats.pidsRejected ? ` · ${plural(stats.pidsRejected, 'fork', 'forks')} refused` : ''}`}
      />
      <Gauge
        label="memory" value={stats.memoryCurrent} max={stats.memoryMax} testId="gauge-memory"
        text={`${bytes(stats.memoryCurrent)} / ${stats.memoryMax === null ? 'no limit' : bytes(stats.memoryMax)}${stats.memoryEvents.oomKill ? ` · ${plural(stats.memoryEvents.oomKill, 'OOM kill')}` : stats.memoryEvents.oom ? ` · ${plural(stats.memoryEvents.oom, 'OOM event')}` : ''}`}
      />
      <Gauge
        label="cpu" value={cpuPct === null ? null : Math.max(0, cpuPct)} max={cpuMax ?? 100} testId="gauge-cpu"
        text={`${cpuPct === null ? '…' : `${Math.max(0, cpuPct).toFixed(0)}%`} of ${cpuMax === null ? 'no limit' : `${cpuMax.toFixed(0)}%`} · used ${((stats.cpuUsageUsec ?? 0) / 1e6).toFixed(2)} s${stats.nrThrottled ? ` · throttled ${stats.nrThrottled}× (${((stats.throttledUsec ?? 0) / 1e6).toFixed(2)} s)` : ''}`}
      />
    </section>
  );
}
