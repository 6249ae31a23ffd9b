import { useEffect, useState } from 'react';
import type { ContainerInfo } from '../../../shared/types';
import { exitStatus, uptime } from '../lib/format';

interface Props {
  containers: ContainerInfo[];
  selectedId: string | null;
  onOpen(id: string): void;
  onStop(id: string): void;
  onRemove(id: string): void;
}

export function ContainerList({ containers, selectedId, onOpen, onStop, onRemove }: Props) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);

  return (
    <section className="panel containers" data-testid="container-list">
      <h2>Containers</h2>
      {containers.length === 0 && <p className="muted">None yet. Press Run.</p>}
      <ul className="container-cards">
        {/* Locker's own first, newest on top; then other engines' (runc, podman…) found on this machine. */}
        {[...containers].sort((a, b) => Number(!!a.engine) - Number(!!b.engine) || b.createdAt - a.createdAt).map((c) => (
          <li key={c.id} data-testid={c.engine ? 'foreign-container-row' : 'container-row'} data-container-id={c.id} data-state={c.state} className={c.id === selectedId ? 'selected' : ''}>
            <div className="line">
              <b title={c.id} className="mono">{c.name === c.id ? c.id.slice(0, 12) : c.name}</b>
              {c.engine && <span className="engine" data-testid="container-engine" title={`made by ${c.engine}, not Locker (${c.engineSource ?? 'discovery'}): Locker only shows it and can exec into it`}>{c.engine}</span>}
              <span data-testid="container-state" className={`state ${c.state}`}>{c.state}</span>
              <span className="muted" title="uptime">{uptime(c, now)}</span>
              {c.state !== 'running' && <span>exit <b data-testid="container-exit">{exitStatus(c)}</b></span>}
            </div>
            <div className="line">
              <span className="mono cmd" title={c.command.join(' ')}>{c.command.join(' ')}</span>
              <span className="actions">
                <button type="button" onClick={() => onOpen(c.id)} data-testid="container-open">open</button>
                {!c.engine && <button type="button" onClick={() => onStop(c.id)} disabled={c.state !== 'running'} data-testid="container-stop">stop</button>}
                {!c.engine && <button type="button" onClick={() => onRemove(c.id)} data-testid="container-remove">remove</button>}
              </span>
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
