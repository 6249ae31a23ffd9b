// The point of the app: the same things seen from the host (left) and from inside the container
// (right). Process trees, hostnames and namespaces refresh about twice a second (the service pushes the changes).
import { useCallback, useEffect, useState } from 'react';
import type { HostInfo, LockerApi, SteppingStatus, TerminalInfo } from '../../../shared/api';
import type { ContainerInfo, Inspection } from '../../../shared/types';
import { followInspection } from '../../../shared/inspection-follow';
import { exitSummary, plural } from '../lib/format';
import type { Theme } from '../lib/settings';
import { FileBrowser } from './FileBrowser';
import { KernelPicture } from './KernelPicture';
import { Gauges } from './Gauges';
import { NamespaceTable } from './NamespaceTable';
import { ProcessTree } from './ProcessTree';
import { TerminalPane } from './TerminalPane';

interface Props {
  api: LockerApi;
  hostInfo: HostInfo | null;
  hostTerminal: TerminalInfo | null;
  /** Why there is no host shell (e.g. web mode on the network without --host-shell). */
  hostShellProblem?: string;
  container: ContainerInfo | null;
  fontSize: number;
  theme: Theme;
  /** The container terminal shown (the active tab), for lesson commands. */
  onActiveTerminal?(terminalId: string | null): void;
  /** A step-through launch of this container, not exec'd yet: everything refreshes after each call. */
  stepping?: SteppingStatus | null;
}

export function SideBySide({ api, hostInfo, hostTerminal, hostShellProblem, container, fontSize, theme, onActiveTerminal, stepping }: Props) {
  const [inspection, setInspection] = useState<Inspection | null>(null);
  const [inspectError, setInspectError] = useState('');
  const [selectedPid, setSelectedPid] = useState<number | null>(null);
  const [tabs, setTabs] = useState<TerminalInfo[]>([]);
  const [activeTab, setActiveTab] = useState<string | null>(null);
  const [tabError, setTabError] = useState('');
  // the exec tab opened with "+": it takes the keyboard when it appears
  const [focusTab, setFocusTab] = useState<string | null>(null);
  const id = container?.id ?? null;
  const running = container?.state === 'running';
  // paused before exec (step-through): PID 1 exists, its program does not run yet
  const settingUp = !!stepping && stepping.containerId === id && ['starting', 'paused', 'running'].includes(stepping.state);
  // each released call: inspect and list again at once, so its effect shows as it happens
  const stepKey = settingUp ? `${stepping!.done}/${stepping!.state}` : '';

  useEffect(() => {
    setInspection(null);
    setSelectedPid(null);
    setTabs([]);
    setActiveTab(null);
    setTabError('');
    if (!id) return;
    api.listTerminals({ id }).then((list) => {
      setTabs(list);
      setActiveTab(list[0]?.terminalId ?? null);
    }, (e: Error) => setTabError(e.message));
    // createdAt: a step-through launch becomes the real container (with its terminal) after exec
  }, [api, id, container?.createdAt]);

  // A terminal opened or closed elsewhere (or added after the list above was read: a step-through
  // launch's terminal comes after its container does) shows up without a reselect.
  useEffect(() => {
    if (!id) return;
    return api.on('terminals', (ev) => {
      if (ev.containerId !== id) return;
      setTabs(ev.terminals);
      setActiveTab((cur) => (cur && ev.terminals.some((t) => t.terminalId === cur) ? cur : ev.terminals[0]?.terminalId ?? null));
    });
  }, [api, id]);

  useEffect(() => {
    onActiveTerminal?.(activeTab);
  }, [activeTab, onActiveTerminal]);

  // The service pushes what changed (one watch, diffs applied here), so a refresh costs what changed,
  // not the whole host table; during step-through it refreshes after each released call by itself.
  useEffect(() => {
    if (!id || !running) return;
    return followInspection(api, id, {
      inspection: (i) => {
        setInspection(i);
        setInspectError('');
        // start with the container's init picked, so both trees show where the container is
        setSelectedPid((cur) => cur ?? i.pid);
      },
      error: setInspectError,
      // the container list says it ended; the last inspection stays as the picture before it did
      ended: () => setInspectError(''),
    });
    // createdAt: a step-through launch becomes the real container after exec (the effect above cleared the picture)
  }, [api, id, running, container?.createdAt]);

  const addExec = useCallback(async () => {
    if (!id) return;
    try {
      const t = await api.exec({ id, cols: 80, rows: 24 });
      setTabs((cur) => (cur.some((x) => x.terminalId === t.terminalId) ? cur : [...cur, t]));
      setFocusTab(t.terminalId);
      setActiveTab(t.terminalId);
      setTabError('');
    } catch (e) {
      setTabError((e as Error).message);
    }
  }, [api, id]);

  const closeTab = (terminalId: string) => {
    void api.closeTerminal({ terminalId }).catch(() => {});
    setTabs((cur) => cur.filter((t) => t.terminalId !== terminalId));
    setActiveTab((cur) => (cur === terminalId ? tabs.find((t) => t.terminalId !== terminalId)?.terminalId ?? null : cur));
  };

  return (
    <section className="side-by-side">
      <div className="columns">
        <div className="column host" data-testid="column-host">
          <header>
            <h2>Host</h2>
            <span className="hostname">hostname: <b data-testid="hostname-host">{inspection?.hostname.host ?? hostInfo?.hostname ?? '…'}</b></span>
          </header>
          <div className="tabs" aria-hidden>
            <span className="tab active"><button type="button" tabIndex={-1} disabled>shell</button></span>
          </div>
          <div className="term-area">
            {hostTerminal ? (
              <TerminalPane api={api} terminalId={hostTerminal.terminalId} fontSize={fontSize} theme={theme} active testId="terminal-host" />
            ) : hostShellProblem ? (
              <p className="muted" data-testid="host-shell-unavailable">No host shell: {hostShellProblem}</p>
            ) : (
              <p className="muted">starting a host shell…</p>
            )}
          </div>
          {id && (
            <div className={`details${running ? '' : ' ended'}`}>
              <div>
                <h3>Processes (host PIDs{inspection ? `: ${plural(inspection.hostProcesses.length, 'process', 'processes')}` : ''}{running ? '' : ', before it ended'})</h3>
                <ProcessTree side="host" processes={inspection?.hostProcesses ?? []} selectedHostPid={selectedPid} onSelect={setSelectedPid} />
              </div>
              <div>
                <h3>Filesystem</h3>
                <FileBrowser api={api} containerId={id} side="host" refreshKey={stepKey} />
              </div>
            </div>
          )}
        </div>

        <div className="column container" data-testid="column-container">
          <header>
            <h2>
              Container {container && <span className="mono" data-testid="selected-container">{container.name === container.id ? container.id.slice(0, 12) : container.name}</span>}
            </h2>
            {container && (
              <span className="hostname">
                hostname: <b data-testid="hostname-container">{inspection?.hostname.container ?? container.hostname}</b>
              </span>
            )}
            {container && container.state !== 'running' && (
              <span className={`exited${container.oomKilled ? ' oom' : ''}`} data-testid="container-exit-banner">{exitSummary(container)}</span>
            )}
          </header>
          {!container && <p className="muted placeholder">Run a container (or open one from the list) to see it here beside the host.</p>}
          {container && (
            <>
              <div className="tabs" role="tablist">
                {tabs.map((t, i) => (
                  <span key={t.terminalId} className={`tab${t.terminalId === activeTab ? ' active' : ''}`}>
                    <button type="button" role="tab" aria-selected={t.terminalId === activeTab} title={t.title} onClick={() => setActiveTab(t.terminalId)} data-testid={`term-tab-${i}`}>
                      {t.kind === 'container' ? 'init' : `exec ${i}`}
                    </button>
                    {t.kind === 'exec' && (
                      <button type="button" className="close" aria-label="close terminal" onClick={() => closeTab(t.terminalId)}>×</button>
                    )}
                  </span>
                ))}
                <button type="button" className="add" onClick={addExec} disabled={!running || settingUp} title="open another shell in this container (exec)" data-testid="term-add">+</button>
                {tabError && <span className="error">{tabError}</span>}
              </div>
              <div className="term-area">
                {tabs.map((t) => (
                  <TerminalPane
                    key={t.terminalId} api={api} terminalId={t.terminalId} fontSize={fontSize} theme={theme}
                    active={t.terminalId === activeTab} testId={t.terminalId === activeTab ? 'terminal-container' : 'terminal-container-hidden'} autoFocus={t.terminalId === focusTab}
                  />
                ))}
                {tabs.length === 0 && (settingUp
                  ? <p className="muted" data-testid="setting-up-note">paused before exec: PID {stepping?.pid ?? '?'} on the host is PID 1 here; its program (and terminal) start after execve. Each Next shows its effect in the trees, the listing and the picture below.</p>
                  : <p className="muted">no terminal: this container runs without a tty</p>)}
              </div>
              <div className={`details${running ? '' : ' ended'}`} data-testid="container-details" data-ended={!running}>
                <div>
                  <h3>Processes (container PIDs{inspection ? `: ${plural(inspection.containerProcesses.length, 'process', 'processes')}` : ''}{running ? '' : ', before it ended'})</h3>
                  <ProcessTree side="container" processes={inspection?.containerProcesses ?? []} selectedHostPid={selectedPid} onSelect={setSelectedPid} />
                </div>
                <div>
                  <h3>Filesystem</h3>
                  <FileBrowser api={api} containerId={container.id} side="container" refreshKey={stepKey} />
                </div>
              </div>
            </>
          )}
        </div>
      </div>
      {inspectError && running && <p className="error">{inspectError}</p>}
      {container?.oomKilled && (
        <p className="oom-banner" role="alert" data-testid="oom-banner">
          OOM killed: the container's memory reached its limit ({container.limits?.memory ?? 'memory.max'}) and the kernel's OOM killer ended its init ({exitSummary(container).replace(/ — .*/, '')}). The gauges show the last values read.
        </p>
      )}
      {inspection?.resources && <Gauges resources={inspection.resources} ended={!running} />}
      {inspection && (
        <div className={running ? '' : 'ended'} data-testid="ns-wrap" data-ended={!running}>
          {!running && container && <p className="ended-note" data-testid="ended-note">{exitSummary(container)}: these namespaces are gone; this is the last picture taken while it ran.</p>}
          <NamespaceTable namespaces={inspection.namespaces} confinement={inspection.confinement} />
        </div>
      )}
      {container && (
        <KernelPicture
          api={api} containerId={container.id} inspection={inspection} theme={theme} hostUid={hostInfo?.uid} hostHostname={hostInfo?.hostname}
          name={container.name === container.id ? container.id.slice(0, 12) : container.name}
        />
      )}
    </section>
  );
}
