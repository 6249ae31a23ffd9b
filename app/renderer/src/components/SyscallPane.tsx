// Every libc call the runtime made for the selected container, in order: the host side (clone,
// writing the id maps, cgroup files) and the child's steps before exec (sethostname, mount,
// pivot_root…). Live: a backlog on open, then batches. Only the last MAX_ROWS are kept, and only the
// rows in view are drawn, so a long log never slows the window.
import { useEffect, useRef, useState } from 'react';
import type { LockerApi, SyscallRecord } from '../../../shared/api';

export const MAX_ROWS = 2000;
const ROW_PX = 20;

export function formatSyscall(r: SyscallRecord): string {
  const time = new Date(r.t).toISOString().slice(11, 23);
  return `${String(r.seq).padStart(5)} ${time} ${r.where.padEnd(5)} ${r.name}(${r.args}) = ${r.result}${r.errno ? ` ${r.errno}` : ''}`;
}

export function SyscallPane({ api, containerId }: { api: LockerApi; containerId: string | null }) {
  const [rows, setRows] = useState<SyscallRecord[]>([]);
  const [error, setError] = useState('');
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(300);
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    setRows([]);
    setError('');
    if (!containerId) return;
    let last = 0;
    let live = true;
    const early: SyscallRecord[] = [];
    let loaded = false;
    const add = (entries: SyscallRecord[]) => {
      const fresh = entries.filter((e) => e.seq > last);
      if (fresh.length === 0) return;
      last = fresh[fresh.length - 1].seq;
      setRows((cur) => {
        const next = cur.concat(fresh);
        return next.length > MAX_ROWS ? next.slice(next.length - MAX_ROWS) : next;
      });
    };
    const off = api.on('syscalls', (b) => {
      if (b.containerId !== containerId) return;
      if (loaded) add(b.entries);
      else early.push(...b.entries);
    });
    api.syscallLog({ id: containerId }).then(
      (backlog) => {
        if (!live) return;
        loaded = true;
        add(backlog.slice(-MAX_ROWS));
        add(early.splice(0));
      },
      (e: Error) => live && setError(e.message),
    );
    return () => {
      live = false;
      off();
    };
  }, [api, containerId]);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [rows, follow]);

  const first = Math.max(0, Math.floor(scrollTop / ROW_PX) - 10);
  const count = Math.ceil(height / ROW_PX) + 20;
  const visible = rows.slice(first, first + count);

  const exportText = () => {
    const text = rows.map(formatSyscall).join('\n') + '\n';
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    a.download = `locker-syscalls-${containerId}.txt`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  };

  return (
    <div className="syscalls" data-testid="syscall-pane">
      <div className="bar">
        <span className="muted" data-testid="syscall-count">{containerId ? `${rows.length} calls${rows.length >= MAX_ROWS ? ` (the last ${MAX_ROWS})` : ''}` : 'select a container'}</span>
        <label><input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} /> follow</label>
        <button type="button" onClick={exportText} disabled={rows.length === 0} data-testid="syscall-export">Export as text</button>
        <button type="button" onClick={() => void navigator.clipboard?.writeText(rows.map(formatSyscall).join('\n'))} disabled={rows.length === 0}>Copy</button>
      </div>
      {error && <p className="error">{error}</p>}
      <div
        className="syscall-rows mono" ref={box} data-testid="syscall-rows"
        onScroll={(e) => {
          const el = e.currentTarget;
          setScrollTop(el.scrollTop);
          setFollow(el.scrollTop + el.clientHeight >= el.scrollHeight - ROW_PX);
        }}
      >
        <div style={{ height: rows.length * ROW_PX, position: 'relative' }}>
          {visible.map((r, i) => (
            <div key={r.seq} className={`sc ${r.where}${r.errno ? ' failed' : ''}`} style={{ top: (first + i) * ROW_PX, height: ROW_PX }} data-testid="syscall-row" data-name={r.name}>
              <span className="seq">{r.seq}</span>
              <span className="t">{new Date(r.t).toISOString().slice(11, 23)}</span>
              <span className="where">{r.where}</span>
              <span className="call"><b>{r.name}</b>({r.args})</span>
              <span className="res">= {r.result}{r.errno ? ` ${r.errno}` : ''}</span>
            </div>
          ))}
        </div>
      </div>
    </div>
  );
}
