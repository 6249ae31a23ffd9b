// The point of the app: the same things seen from the host (left) and from inside the container
// (right). Process trees, hostnames and namespaces refresh about twice a second.
import { useCallback, useEffect, useState } from 'react';
import type { HostInfo, LockerApi, TerminalInfo } from '../../../shared/api';
import type { ContainerInfo, Inspection } from '../../../shared/types';
import { exitStatus } from '../lib/format';
import type { Theme } from '../lib/settings';
import { FileBrowser } from './FileBrowser';
import { Gauges } from './Gauges';
import { NamespaceTable } from './NamespaceTable';
import { ProcessTree } from './ProcessTree';
import { TerminalPane } from './TerminalPane';

interface Props {
  api: LockerApi;
  hostInfo: HostInfo | null;
  hostTerminal: TerminalInfo | null;
  container: ContainerInfo | null;
  fontSize: number;
  theme: Theme;
  /** The container terminal shown (the active tab), for lesson commands. */
  onActiveTerminal?(terminalId: string | null): void;
}

const REFRESH_MS = 500;

export function SideBySide({ api, hostInfo, hostTerminal, container, fontSize, theme, onActiveTerminal }: Props) {
  const [inspection, setInspection] = useState<Inspection | null>(null);
  const [inspectError, setInspectError] = useState('');
  const [selectedPid, setSelectedPid] = useState<number | null>(null);
  const [tabs, setTabs] = useState<TerminalInfo[]>([]);
  const [activeTab, setActiveTab] = useState<string | null>(null);
  const [tabError, setTabError] = useState('');
  const id = container?.id ?? null;
  const running = container?.state === 'running';

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
  }, [api, id]);

  useEffect(() => {
    onActiveTerminal?.(activeTab);
  }, [activeTab, onActiveTerminal]);

  useEffect(() => {
    if (!id || !running) return;
    let live = true;
    let inFlight = false;
    const tick = () => {
      // never queue inspections behind a slow one (a fork bomb makes /proc big)
      if (inFlight) return;
      inFlight = true;
      void api.inspect({ id }).then(
        (i) => {
          if (!live) return;
          setInspection(i);
          setInspectError('');
          // start with the container's init picked, so both trees show where the container is
          setSelectedPid((cur) => cur ?? i.pid);
        },
        (e: Error) => {
          if (live) setInspectError(e.message);
        },
      ).finally(() => {
        inFlight = false;
      });
    };
    tick();
    const timer = setInterval(tick, REFRESH_MS);
    return () => {
      live = false;
      clearInterval(timer);
    };
  }, [api, id, running]);

  const addExec = useCallback(async () => {
    if (!id) return;
    try {
      const t = await api.exec({ id, cols: 80, rows: 24 });
      setTabs((cur) => [...cur, t]);
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
          <div className="term-area">
            {hostTerminal ? (
              <TerminalPane api={api} terminalId={hostTerminal.terminalId} fontSize={fontSize} theme={theme} active testId="terminal-host" />
            ) : (
              <p className="muted">starting a host shell…</p>
            )}
          </div>
          {id && (
            <div className="details">
              <div>
                <h3>Processes (host PIDs{inspection ? `, ${inspection.hostProcesses.length}` : ''})</h3>
                <ProcessTree side="host" processes={inspection?.hostProcesses ?? []} selectedHostPid={selectedPid} onSelect={setSelectedPid} />
              </div>
              <div>
                <h3>Filesystem</h3>
                <FileBrowser api={api} containerId={id} side="host" />
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
              <span className="exited" data-testid="container-exit-banner">exited: {exitStatus(container)}</span>
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
                <button type="button" className="add" onClick={addExec} disabled={!running} title="open another shell in this container (exec)" data-testid="term-add">+</button>
                {tabError && <span className="error">{tabError}</span>}
              </div>
              <div className="term-area">
                {tabs.map((t) => (
                  <TerminalPane
                    key={t.terminalId} api={api} terminalId={t.terminalId} fontSize={fontSize} theme={theme}
                    active={t.terminalId === activeTab} testId={t.terminalId === activeTab ? 'terminal-container' : 'terminal-container-hidden'}
                  />
                ))}
                {tabs.length === 0 && <p className="muted">no terminal: this container runs without a tty</p>}
              </div>
              <div className="details">
                <div>
                  <h3>Processes (container PIDs)</h3>
                  <ProcessTree side="container" processes={inspection?.containerProcesses ?? []} selectedHostPid={selectedPid} onSelect={setSelectedPid} />
                </div>
                <div>
                  <h3>Filesystem</h3>
                  <FileBrowser api={api} containerId={container.id} side="container" />
                </div>
              </div>
            </>
          )}
        </div>
      </div>
      {inspectError && running && <p className="error">{inspectError}</p>}
      {inspection?.resources && running && <Gauges resources={inspection.resources} />}
      {inspection && <NamespaceTable namespaces={inspection.namespaces} />}
    </section>
  );
}
