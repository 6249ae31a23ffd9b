// Every libc call the runtime made for the selected container, in order: the host side (clone,
// writing the id maps, cgroup files) and the child's steps before exec (sethostname, mount,
// pivot_root…). Live: a backlog on open, then batches. Only the last MAX_ROWS are kept, and only the
// rows in view are drawn, so a long log never slows the window.
// Step-through: while a launch started with "Step through" waits before a call, that call is the
// last row (highlighted, not yet made), with Next / Run to exec / Cancel above the log.
import { useEffect, useRef, useState } from 'react';
import type { LockerApi, SteppingStatus, SyscallRecord } from '../../../shared/api';
import { explainSyscall } from '../../../shared/syscall-sentence';
import { useSyscallRecords } from '../lib/syscall-records';

export const MAX_ROWS = 2000;
/** Row height from the text size (rows are 0.8em): fixed pixels cut the underscores of PR_SET_… at large fonts. */
function rowHeight(): number {
  const px = parseFloat(getComputedStyle(document.documentElement).getPropertyValue('--font-size')) || 15;
  return Math.max(20, Math.ceil(px * 0.8 * 1.6));
}

export function formatSyscall(r: SyscallRecord): string {
  const time = new Date(r.t).toISOString().slice(11, 23);
  return `${String(r.seq).padStart(5)} ${time} ${r.where.padEnd(5)} ${r.name}(${r.args}) = ${r.result}${r.errno ? ` ${r.errno}` : ''}${r.inferred ? ' (inferred from EOF)' : ''}`;
}

export function SyscallPane({ api, containerId, stepping }: { api: LockerApi; containerId: string | null; stepping?: SteppingStatus | null }) {
  const { rows, error } = useSyscallRecords(api, containerId, MAX_ROWS);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(300);
  const [follow, setFollow] = useState(true);
  const box = useRef<HTMLDivElement>(null);
  const ROW_PX = rowHeight();


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

  const step = stepping && stepping.containerId === containerId ? stepping : null;
  const live = step && (step.state === 'paused' || step.state === 'running' || step.state === 'starting');
  const pending = step?.state === 'paused' ? step.pending : undefined;
  const [stepBusy, setStepBusy] = useState(false);
  const [stepError, setStepError] = useState('');
  const stepAct = (f: () => Promise<unknown>) => {
    setStepBusy(true);
    f().then(() => setStepError(''), (e: Error) => setStepError(e.message)).finally(() => setStepBusy(false));
  };
  const total = rows.length + (pending ? 1 : 0);
  // the call just made, in plain English (the gates' reads are the runtime's, not the plan's)
  const lastMade = step ? rows.filter((r) => r.where === 'child' || r.name === 'clone').at(-1) : undefined;

  useEffect(() => {
    if (follow && box.current) box.current.scrollTop = box.current.scrollHeight;
  }, [pending, follow]);

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
      {step && containerId && (
        <div className={`step-bar ${step.state}`} data-testid="step-bar" data-state={step.state}>
          {live ? (
            <>
              <span className="muted" data-testid="step-progress">
                step-through: {step.done} of {step.total} calls made{step.pid ? `; setup process ${step.pid} ` : ' '}
                {pending ? 'waits in read() before:' : step.toEnd ? 'runs on to execve…' : 'runs the call…'}
              </span>
              {pending && <code className="mono" data-testid="step-pending-call"><b>{pending.name}</b>({pending.args})</code>}
              <button type="button" className="primary" disabled={!pending || stepBusy} onClick={() => stepAct(() => api.stepNext({ id: containerId }))} data-testid="step-next">Next</button>
              <button type="button" disabled={step.toEnd || stepBusy} onClick={() => stepAct(() => api.stepRunToEnd({ id: containerId }))} data-testid="step-run">Run to exec</button>
              <button type="button" disabled={step.toEnd || stepBusy} onClick={() => stepAct(() => api.stepCancel({ id: containerId }))} data-testid="step-cancel">Cancel</button>
            </>
          ) : (
            <span className={step.state === 'done' ? 'muted' : 'error'} data-testid="step-ended">
              {step.state === 'done' ? 'step-through finished: the command was exec\'d' : `step-through ${step.state}: ${step.error ?? ''}`}
            </span>
          )}
          {stepError && <span className="error" data-testid="step-error">{stepError}</span>}
          {lastMade && (
            <p className="step-explain" data-testid="step-explain" data-name={lastMade.name} style={{ flexBasis: '100%', margin: '0.3em 0 0' }}>
              <code className="mono">{lastMade.name}</code>: {explainSyscall(lastMade)}
            </p>
          )}
        </div>
      )}
      <div
        className="syscall-rows mono" ref={box} data-testid="syscall-rows" style={{ ['--syscall-row' as string]: `${ROW_PX}px` }}
        onScroll={(e) => {
          const el = e.currentTarget;
          setScrollTop(el.scrollTop);
          setFollow(el.scrollTop + el.clientHeight >= el.scrollHeight - ROW_PX);
        }}
      >
        <div style={{ height: total * ROW_PX, position: 'relative' }}>
          {visible.map((r, i) => (
            <div
              key={r.seq} className={`sc ${r.where}${r.errno ? ' failed' : ''}${r.inferred ? ' inferred' : ''}`} style={{ top: (first + i) * ROW_PX, height: ROW_PX }}
              data-testid="syscall-row" data-name={r.name} data-inferred={r.inferred} title={explainSyscall(r)}
            >
              <span className="seq">{r.seq}</span>
              <span className="t">{new Date(r.t).toISOString().slice(11, 23)}</span>
              <span className="where">{r.where}</span>
              <span className="call"><b>{r.name}</b>({r.args})</span>
              <span className="res">= {r.result}{r.errno ? ` ${r.errno}` : ''}{r.inferred && <i className="muted" title="execve reports nothing when it succeeds: the report pipe (close-on-exec) reached EOF after every earlier call reported"> (the program now runs; inferred from EOF)</i>}</span>
            </div>
          ))}
          {pending && (
            <div className="sc child pending" style={{ top: rows.length * ROW_PX, height: ROW_PX }} data-testid="syscall-pending" data-name={pending.name}>
              <span className="seq">next</span>
              <span className="t">{`${pending.index + 1}/${pending.total}`}</span>
              <span className="where">child</span>
              <span className="call"><b>{pending.name}</b>({pending.args})</span>
              <span className="res">waiting</span>
            </div>
          )}
        </div>
      </div>
    </div>
  );
}
