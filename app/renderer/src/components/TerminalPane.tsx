// One xterm bound to one main-side terminal. Output is acknowledged only after xterm has parsed it
// (write callback): that ack is what lets the main side resume a paused pty, so a flood like `yes`
// runs at the speed the renderer can draw instead of freezing the window.
import { useEffect, useRef } from 'react';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import type { LockerApi, TerminalData } from '../../../shared/api';
import { xtermTheme, type Theme } from '../lib/settings';

interface Props {
  api: LockerApi;
  terminalId: string;
  fontSize: number;
  theme: Theme;
  active: boolean;
  testId: string;
}

const WRITE_SLICE = 16 * 1024;

export function TerminalPane({ api, terminalId, fontSize, theme, active, testId }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const refit = useRef<() => void>(() => {});

  useEffect(() => {
    const el = host.current!;
    const t = new Terminal({ fontSize, theme: xtermTheme(theme), cursorBlink: true, scrollback: 5000, fontFamily: 'DejaVu Sans Mono, monospace' });
    const fit = new FitAddon();
    t.loadAddon(fit);
    t.open(el);
    term.current = t;
    let disposed = false;
    let end = -1; // stream offset covered by the snapshot; -1 until it arrives
    const early: TerminalData[] = [];
    const ack = (bytes: number) => void api.ackTerminal({ terminalId, bytes }).catch(() => {});
    const show = (d: TerminalData) => t.write(d.data, () => ack(d.bytes));

    const offData = api.on('terminalData', (d) => {
      if (d.terminalId !== terminalId) return;
      if (end < 0) early.push(d);
      else if (d.offset >= end) show(d);
    });
    const offExit = api.on('terminalExit', (e) => {
      if (e.terminalId === terminalId) t.write(`\r\n\x1b[2m[exited with status ${e.exitCode}]\x1b[0m\r\n`);
    });
    api.attachTerminal({ terminalId }).then(
      (snap) => {
        if (disposed) return;
        t.write(snap.data);
        end = snap.end;
        for (const d of early.splice(0)) if (d.offset >= end) show(d);
        if (snap.exited) t.write(`\r\n\x1b[2m[exited with status ${snap.exitCode}]\x1b[0m\r\n`);
      },
      (e: Error) => t.write(`\x1b[31m${e.message}\x1b[0m\r\n`),
    );
    const input = t.onData((data) => {
      // big pastes go in slices the main side accepts
      for (let i = 0; i < data.length; i += WRITE_SLICE) void api.writeTerminal({ terminalId, data: data.slice(i, i + WRITE_SLICE) }).catch(() => {});
    });

    let lastSize = '';
    refit.current = () => {
      if (disposed || el.clientWidth === 0 || el.clientHeight === 0) return; // hidden tab
      try {
        fit.fit();
      } catch {
        return;
      }
      const size = `${t.cols}x${t.rows}`;
      if (size !== lastSize) {
        lastSize = size;
        void api.resizeTerminal({ terminalId, cols: t.cols, rows: t.rows }).catch(() => {});
      }
    };
    const observer = new ResizeObserver(() => refit.current());
    observer.observe(el);
    refit.current();

    return () => {
      disposed = true;
      observer.disconnect();
      offData();
      offExit();
      input.dispose();
      t.dispose();
      term.current = null;
    };
    // fontSize/theme are applied live below; recreating the terminal would lose its screen
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, terminalId]);

  useEffect(() => {
    const t = term.current;
    if (!t) return;
    t.options.fontSize = fontSize;
    t.options.theme = xtermTheme(theme);
    refit.current();
  }, [fontSize, theme]);

  const wasActive = useRef(active);
  useEffect(() => {
    // focus follows a tab switch, not the first render (two panes would fight over focus)
    if (active && !wasActive.current) {
      refit.current();
      term.current?.focus();
    }
    wasActive.current = active;
  }, [active]);

  return <div ref={host} className="terminal" data-testid={testId} data-terminal-id={terminalId} hidden={!active} />;
}
