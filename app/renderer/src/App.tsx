import { useCallback, useEffect, useMemo, useState } from 'react';
import type { HostInfo, LaunchSettings, LessonPreset, LockerApi, RunResult, SteppingStatus, TerminalInfo } from '../../shared/api';
import type { ContainerInfo } from '../../shared/types';
import { ContainerList } from './components/ContainerList';
import { LaunchPanel } from './components/LaunchPanel';
import { LessonPanel } from './components/LessonPanel';
import { ToolsPanel } from './components/ToolsPanel';
import { SideBySide } from './components/SideBySide';
import { useStored, type Theme } from './lib/settings';

export function App({ api }: { api: LockerApi }) {
  const [hostInfo, setHostInfo] = useState<HostInfo | null>(null);
  const [containers, setContainers] = useState<ContainerInfo[]>([]);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [hostTerminal, setHostTerminal] = useState<TerminalInfo | null>(null);
  const [error, setError] = useState('');
  const [preset, setPreset] = useState<{ nonce: number; preset: LessonPreset } | null>(null);
  const [settings, setSettings] = useState<LaunchSettings | string>('');
  const [containerTerminal, setContainerTerminal] = useState<string | null>(null);
  const [theme, setTheme] = useStored<Theme>('theme', 'dark');
  const [fontSize, setFontSize] = useStored<number>('fontSize', 15);
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
    document.documentElement.style.setProperty('--font-size', `${fontSize}px`);
  }, [theme, fontSize]);

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
      (e: Error) => setError(`host shell: ${e.message}`),
    );
    return () => {
      live = false;
      off();
      if (opened) void api.closeTerminal({ terminalId: opened }).catch(() => {});
    };
  }, [api]);

  const selected = useMemo(() => containers.find((c) => c.id === selectedId) ?? null, [containers, selectedId]);
  const selectedStepping = selectedId ? stepping[selectedId] ?? null : null;

  const onStarted = useCallback((r: RunResult) => {
    // the list event may arrive after the reply: show the new container at once
    setContainers((cur) => (cur.some((c) => c.id === r.container.id) ? cur : [...cur, r.container]));
    setSelectedId(r.container.id);
  }, []);

  const applyPreset = useCallback((p: LessonPreset) => setPreset((cur) => ({ nonce: (cur?.nonce ?? 0) + 1, preset: p })), []);

  const act = (p: Promise<unknown>) => p.then(() => setError(''), (e: Error) => setError(e.message));

  const zoom = (d: number) => setFontSize(Math.min(32, Math.max(9, fontSize + d)));

  return (
    <div
      className="app"
      onKeyDown={(e) => {
        // projector shortcuts that a shell never needs
        if (e.ctrlKey && e.altKey && (e.key === '=' || e.key === '+')) zoom(1);
        if (e.ctrlKey && e.altKey && e.key === '-') zoom(-1);
      }}
    >
      <header className="toolbar">
        <h1>Locker <span className="muted">a container is just a Linux process with isolation</span></h1>
        <div className="controls">
          <button type="button" onClick={() => zoom(-1)} aria-label="smaller text" data-testid="font-smaller">A−</button>
          <span data-testid="font-size">{fontSize}px</span>
          <button type="button" onClick={() => zoom(1)} aria-label="larger text" data-testid="font-larger">A+</button>
          <button type="button" onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')} data-testid="theme-toggle">
            {theme === 'dark' ? 'Light theme' : 'Dark theme'}
          </button>
        </div>
      </header>
      {error && <p className="error banner" role="alert" data-testid="app-error">{error}</p>}
      <div className="layout">
        <aside>
          <LessonPanel
            api={api} container={selected} onPreset={applyPreset}
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
            api={api} hostInfo={hostInfo} hostTerminal={hostTerminal} container={selected} fontSize={fontSize} theme={theme}
            onActiveTerminal={setContainerTerminal}
          />
          <ToolsPanel api={api} containerId={selected?.id ?? (selectedStepping ? selectedId : null)} settings={settings} stepping={selectedStepping} />
        </main>
      </div>
    </div>
  );
}
