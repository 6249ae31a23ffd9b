import { useCallback, useEffect, useMemo, useState } from 'react';
import type { HostInfo, LaunchSettings, LessonPreset, LockerApi, RunResult, SteppingStatus, TerminalInfo } from '../../shared/api';
import type { ContainerInfo } from '../../shared/types';
import { ContainerList } from './components/ContainerList';
import { LaunchPanel } from './components/LaunchPanel';
import { LessonPanel } from './components/LessonPanel';
import { ToolsPanel } from './components/ToolsPanel';
import { SideBySide } from './components/SideBySide';
import { settingUpContainer } from './lib/setting-up';
import { DEFAULT_FONT_SIZE, effectiveFontSize, projectorFromUrl, useStored, type Theme } from './lib/settings';

export function App({ api }: { api: LockerApi }) {
  const [hostInfo, setHostInfo] = useState<HostInfo | null>(null);
  const [containers, setContainers] = useState<ContainerInfo[]>([]);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [hostTerminal, setHostTerminal] = useState<TerminalInfo | null>(null);
  const [hostShellProblem, setHostShellProblem] = useState('');
  const [error, setError] = useState('');
  const [preset, setPreset] = useState<{ nonce: number; preset: LessonPreset } | null>(null);
  const [settings, setSettings] = useState<LaunchSettings | string>('');
  const [containerTerminal, setContainerTerminal] = useState<string | null>(null);
  const [theme, setTheme] = useStored<Theme>('theme', 'dark');
  const [fontSize, setFontSize] = useStored<number>('fontSize', DEFAULT_FONT_SIZE);
  // projector mode: no sidebar, bigger text, terminals side by side and the trees fitted to the screen
  const [projector, setProjector] = useStored<boolean>('projector', projectorFromUrl() ?? false);
  const [sidebarShown, setSidebarShown] = useState(false);
  const shownFontSize = effectiveFontSize(fontSize, projector);
  // the transport marks <body data-connection="closed"> when the server goes away
  const [disconnected, setDisconnected] = useState(() => document.body.dataset.connection === 'closed');
  useEffect(() => {
    const seen = () => setDisconnected(document.body.dataset.connection === 'closed');
    const observer = new MutationObserver(seen);
    observer.observe(document.body, { attributes: true, attributeFilter: ['data-connection'] });
    seen();
    return () => observer.disconnect();
  }, []);
  // step-through launches by container id (they are not containers until they exec)
  const [stepping, setStepping] = useState<Record<string, SteppingStatus>>({});

  useEffect(() => {
    const seen = (s: SteppingStatus) => {
      setStepping((cur) => {
        // a new launch waiting for its first release: follow it in the syscall log
        if (!cur[s.containerId] && (s.state === 'paused' || s.state === 'running')) setSelectedId(s.containerId);
        return { ...cur, [s.containerId]: s };
      });
    };
    const off = api.on('stepping', seen);
    api.listStepping().then((list) => list.forEach(seen), () => {});
    return off;
  }, [api]);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    document.documentElement.style.setProperty('--font-size', `${shownFontSize}px`);
    document.documentElement.dataset.projector = String(projector);
  }, [theme, shownFontSize, projector]);

  useEffect(() => {
    // ?projector=1 / ?projector=0 (what `locker ui --projector` opens) wins over the stored switch
    const fromUrl = projectorFromUrl();
    if (fromUrl !== undefined) setProjector(fromUrl);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const off = api.on('containers', setContainers);
    api.hostInfo().then(setHostInfo, (e: Error) => setError(e.message));
    api.listContainers().then(setContainers, (e: Error) => setError(e.message));
    let opened: string | null = null;
    let live = true;
    api.openHostShell({ cols: 80, rows: 24 }).then(
      (t) => {
        opened = t.terminalId;
        if (live) setHostTerminal(t);
        else void api.closeTerminal({ terminalId: t.terminalId });
      },
      (e: Error) => setHostShellProblem(e.message),
    );
    return () => {
      live = false;
      off();
      if (opened) void api.closeTerminal({ terminalId: opened }).catch(() => {});
    };
  }, [api]);

  const selected = useMemo(() => containers.find((c) => c.id === selectedId) ?? null, [containers, selectedId]);
  const selectedStepping = selectedId ? stepping[selectedId] ?? null : null;
  // a step-through launch is shown from clone on, before it is a container
  const shown = useMemo(() => selected ?? settingUpContainer(selectedStepping), [selected, selectedStepping]);

  const onStarted = useCallback((r: RunResult) => {
    // the list event may arrive after the reply: show the new container at once
    setContainers((cur) => (cur.some((c) => c.id === r.container.id) ? cur : [...cur, r.container]));
    setSelectedId(r.container.id);
  }, []);

  const applyPreset = useCallback((p: LessonPreset) => setPreset((cur) => ({ nonce: (cur?.nonce ?? 0) + 1, preset: p })), []);

  const act = (p: Promise<unknown>) => p.then(() => setError(''), (e: Error) => setError(e.message));

  const zoom = (d: number) => setFontSize(Math.min(32, Math.max(9, shownFontSize + d)));

  // Run from the toolbar: the launch form's own button (its checks and errors), kept mounted while the sidebar is hidden
  const runFromToolbar = () => {
    const run = document.querySelector<HTMLButtonElement>('[data-testid="launch-run"]');
    if (!run || run.disabled) setSidebarShown(true);
    run?.click();
  };

  return (
    <div
      className={`app${projector ? ' projector' : ''}${sidebarShown ? ' sidebar-shown' : ''}${disconnected ? ' disconnected' : ''}`}
      onKeyDown={(e) => {
        // zoom: Ctrl +/-/0 (terminals pass these keys on, see TerminalPane), and Ctrl+Alt +/- as before
        const plus = e.key === '=' || e.key === '+';
        if (e.ctrlKey && !e.shiftKey && (plus || e.key === '-' || e.key === '0')) {
          e.preventDefault();
          if (e.key === '0') setFontSize(DEFAULT_FONT_SIZE);
          else zoom(plus ? 1 : -1);
        }
      }}
    >
      <header className="toolbar">
        <h1>Locker <span className="muted">a container is just a Linux process with isolation</span></h1>
        <div className="controls">
          <button type="button" className="primary toolbar-run" onClick={runFromToolbar} title="run a container with the launch form's settings" data-testid="toolbar-run">▶ Run</button>
          {projector && (
            <button type="button" onClick={() => setSidebarShown(!sidebarShown)} aria-pressed={sidebarShown} data-testid="sidebar-toggle">
              {sidebarShown ? 'Hide lesson & form' : 'Lesson & form'}
            </button>
          )}
          <label className="switch" title="hide the sidebar, enlarge text, fit terminals, trees and namespaces on one screen">
            <input type="checkbox" checked={projector} onChange={(e) => { setProjector(e.target.checked); setSidebarShown(false); }} data-testid="projector-toggle" /> Projector
          </label>
          <button type="button" onClick={() => zoom(-1)} aria-label="smaller text" data-testid="font-smaller">A−</button>
          <span data-testid="font-size">{shownFontSize}px</span>
          <button type="button" onClick={() => zoom(1)} aria-label="larger text" data-testid="font-larger">A+</button>
          <button type="button" onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')} data-testid="theme-toggle">
            {theme === 'dark' ? 'Light theme' : 'Dark theme'}
          </button>
        </div>
      </header>
      {disconnected && (
        <p className="disconnected-banner" role="alert" data-testid="disconnected">
          Disconnected: Locker is not answering (the server stopped?). Nothing shown below is live, and the terminals take no input. Start Locker again and reload this page.
        </p>
      )}
      {error && <p className="error banner" role="alert" data-testid="app-error">{error}</p>}
      <div className="layout">
        <aside>
          <LessonPanel
            api={api} container={selected} containers={containers} onPreset={applyPreset} shareDir={hostInfo?.shareDir}
            terminals={{ host: hostTerminal?.terminalId ?? null, container: selected?.state === 'running' ? containerTerminal : null }}
          />
          <LaunchPanel api={api} hostInfo={hostInfo} onStarted={onStarted} preset={preset} onSettings={setSettings} />
          <ContainerList
            containers={containers} selectedId={selectedId} onOpen={setSelectedId}
            onStop={(id) => act(api.stop({ id }))}
            onRemove={(id) => {
              if (id === selectedId) setSelectedId(null);
              void act(api.remove({ id }));
            }}
          />
        </aside>
        <main>
          <SideBySide
            api={api} hostInfo={hostInfo} hostTerminal={hostTerminal} hostShellProblem={hostShellProblem} container={shown} stepping={selectedStepping} fontSize={shownFontSize} theme={theme}
            onActiveTerminal={setContainerTerminal}
          />
          <ToolsPanel api={api} containerId={selected?.id ?? (selectedStepping ? selectedId : null)} settings={settings} stepping={selectedStepping} />
        </main>
      </div>
    </div>
  );
}
