// One column's process tree. Clicking a process selects its host PID; the other column
// highlights the same process under its own PID (host PID ↔ container PID).
import { useEffect, useMemo, useRef } from 'react';
import type { ProcessEntry } from '../../../shared/types';
import { treeRows } from '../lib/tree';

interface Props {
  side: 'host' | 'container';
  processes: ProcessEntry[];
  selectedHostPid: number | null;
  onSelect(hostPid: number): void;
}

export function ProcessTree({ side, processes, selectedHostPid, onSelect }: Props) {
  const rows = useMemo(() => treeRows(processes, side), [processes, side]);
  const list = useRef<HTMLDivElement>(null);
  useEffect(() => {
    list.current?.querySelector('[data-selected="true"]')?.scrollIntoView({ block: 'nearest' });
  }, [selectedHostPid]);

  return (
    <div className="proctree" ref={list} data-testid={`proctree-${side}`}>
      {rows.length === 0 && <p className="muted">no processes</p>}
      {rows.map(({ entry, depth, shownPid }) => {
        const selected = entry.pid === selectedHostPid;
        const other = side === 'container' ? `host ${entry.pid}` : entry.inContainer && entry.containerPid !== undefined ? `ctr ${entry.containerPid}` : '';
        return (
          <button
            type="button" key={entry.pid} title={entry.cmdline}
            className={`proc${entry.inContainer ? ' in-container' : ''}${selected ? ' selected' : ''}`}
            style={{ paddingLeft: `${0.4 + depth * 0.9}em` }}
            data-testid={`proc-${side}-${shownPid}`} data-host-pid={entry.pid} data-selected={selected}
            onClick={() => onSelect(entry.pid)}
          >
            <span className="pid">{shownPid}</span>
            {other && <span className="pair">↔ {other}</span>}
            <span className="pname">{entry.name}</span>
          </button>
        );
      })}
    </div>
  );
}
