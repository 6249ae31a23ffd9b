// Below the side-by-side view: the syscall log, the same launch as other tools would say it,
// the machine's preflight checks and the host check.
import { useEffect, useState } from 'react';
import type { EquivalentCommands, HostCheckReport, HostCleanup, LaunchSettings, LockerApi, PreflightCheck, SteppingStatus } from '../../../shared/api';
import { SyscallPane } from './SyscallPane';

type Tab = 'syscalls' | 'equivalent' | 'preflight' | 'hostcheck';
const TABS: [Tab, string][] = [['syscalls', 'Syscall log'], ['equivalent', 'Equivalent commands'], ['preflight', 'Preflight'], ['hostcheck', 'Host check']];

export function ToolsPanel({ api, containerId, settings, stepping }: { api: LockerApi; containerId: string | null; settings: LaunchSettings | string; stepping?: SteppingStatus | null }) {
  const [tab, setTab] = useState<Tab>('syscalls');
  // a step-through launch is driven from the syscall log: show it when one starts
  const steppingId = stepping?.containerId ?? null;
  useEffect(() => {
    if (steppingId) setTab('syscalls');
  }, [steppingId]);
  return (
    <section className="panel tools" data-testid="tools-panel">
      <div className="tabs" role="tablist">
        {TABS.map(([t, label]) => (
          <span key={t} className={`tab${t === tab ? ' active' : ''}`}>
            <button type="button" role="tab" aria-selected={t === tab} onClick={() => setTab(t)} data-testid={`tools-tab-${t}`}>{label}</button>
          </span>
        ))}
      </div>
      {tab === 'syscalls' && <SyscallPane api={api} containerId={containerId} stepping={stepping} />}
      {tab === 'equivalent' && <Equivalent api={api} settings={settings} />}
      {tab === 'preflight' && <Preflight api={api} />}
      {tab === 'hostcheck' && <HostCheck api={api} />}
    </section>
  );
}

function Copyable({ title, text, testId }: { title: string; text: string; testId: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <div className="copyable">
      <h3>
        {title}{' '}
        <button
          type="button" data-testid={`${testId}-copy`}
          onClick={() => navigator.clipboard?.writeText(text).then(() => { setCopied(true); setTimeout(() => setCopied(false), 1200); }, () => {})}
        >{copied ? 'copied' : 'Copy'}</button>
      </h3>
      <pre className="mono" data-testid={testId}>{text}</pre>
    </div>
  );
}

function Equivalent({ api, settings }: { api: LockerApi; settings: LaunchSettings | string }) {
  const [eq, setEq] = useState<EquivalentCommands | null>(null);
  const [error, setError] = useState('');
  const key = JSON.stringify(settings);
  useEffect(() => {
    if (typeof settings === 'string') {
      setEq(null);
      setError(settings ? `the launch form: ${settings}` : '');
      return;
    }
    let live = true;
    const t = setTimeout(() => {
      api.equivalent(settings).then((e) => { if (live) { setEq(e); setError(''); } }, (e: Error) => { if (live) { setEq(null); setError(e.message); } });
    }, 200);
    return () => {
      live = false;
      clearTimeout(t);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, key]);
  return (
    <div className="equivalent" data-testid="equivalent-panel">
      <p className="muted">The launch form's current settings, said three other ways.</p>
      {error && <p className="error" data-testid="equivalent-error">{error}</p>}
      {eq && (
        <>
          <Copyable title="unshare (util-linux)" text={eq.unshare} testId="equivalent-unshare" />
          <Copyable title="runc config.json" text={eq.runcConfig} testId="equivalent-runc" />
          <Copyable title="docker run (closest)" text={eq.docker} testId="equivalent-docker" />
          {eq.notes.length > 0 && <ul className="notes">{eq.notes.map((n) => <li key={n}>{n}</li>)}</ul>}
        </>
      )}
    </div>
  );
}

function Preflight({ api }: { api: LockerApi }) {
  const [checks, setChecks] = useState<PreflightCheck[] | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const load = () => {
    setBusy(true);
    api.preflight().then((c) => { setChecks(c); setError(''); }, (e: Error) => setError(e.message)).finally(() => setBusy(false));
  };
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(load, [api]);
  return (
    <div className="preflight" data-testid="preflight-panel">
      <button type="button" onClick={load} disabled={busy}>{busy ? 'Checking…' : 'Run the checks again'}</button>
      {error && <p className="error">{error}</p>}
      <table>
        <tbody>
          {checks?.map((c) => (
            <tr key={c.id} className={c.status} data-testid={`preflight-${c.id}`} data-status={c.status}>
              <td className="status">{c.status === 'ok' ? '✔ ok' : c.status === 'warn' ? '! warn' : '✘ fail'}</td>
              <td><b>{c.title}</b><div className="muted">{c.detail}</div>{c.fix && <div className="fix">fix: <span className="mono">{c.fix}</span></div>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function HostCheck({ api }: { api: LockerApi }) {
  const [report, setReport] = useState<HostCheckReport | null>(null);
  const [cleanup, setCleanup] = useState<HostCleanup | null>(null);
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const run = (p: Promise<unknown>) => {
    setBusy(true);
    p.then(() => setError(''), (e: Error) => setError(e.message)).finally(() => setBusy(false));
  };
  const check = () => run(api.hostCheck().then(setReport));
  // eslint-disable-next-line react-hooks/exhaustive-deps
  useEffect(check, [api]);
  return (
    <div className="hostcheck" data-testid="hostcheck-panel">
      <p className="muted">
        What the host has now that it did not have when Locker started{report ? ` (${new Date(report.since).toLocaleTimeString()})` : ''}:
        mounts, locker cgroups, container veths, container directories, a changed hostname. Running containers show up here too; Clean up keeps them.
      </p>
      <button type="button" onClick={check} disabled={busy} data-testid="hostcheck-run">Check again</button>{' '}
      <button type="button" onClick={() => run(api.cleanupHost().then((c) => { setCleanup(c); return api.hostCheck().then(setReport); }))} disabled={busy} data-testid="hostcheck-cleanup">Clean up</button>
      {error && <p className="error">{error}</p>}
      {report && report.leaks.length === 0 && <p className="ok" data-testid="hostcheck-clean">✔ nothing left behind</p>}
      {report && report.leaks.length > 0 && (
        <ul data-testid="hostcheck-leaks">{report.leaks.map((l) => <li key={`${l.kind}:${l.name}`} className="mono">{l.kind}: {l.name}</li>)}</ul>
      )}
      {cleanup && (
        <p data-testid="hostcheck-result">
          removed {cleanup.removed.length}; kept {cleanup.kept.length}
          {cleanup.kept.map((k) => <span key={`${k.kind}:${k.name}`} className="muted"><br />{k.kind} {k.name}: {k.why}</span>)}
        </p>
      )}
    </div>
  );
}
