// One xterm bound to one main-side terminal. Output is acknowledged only after xterm has parsed it
// (write callback): that ack is what lets the main side resume a paused pty, so a flood like `yes`
// runs at the speed the renderer can draw instead of freezing the window.
import { useEffect, useRef } from 'react';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import type { LockerApi, TerminalData } from '../../../shared/api';
import { xtermTheme, type Theme } from '../lib/settings';
import { followTerminalLink } from '../lib/terminal-links';

interface Props {
  api: LockerApi;
  terminalId: string;
  fontSize: number;
  theme: Theme;
  active: boolean;
  testId: string;
  /** Take the keyboard as soon as it is drawn (a tab the learner just opened with "+"). */
  autoFocus?: boolean;
}

/** Esc, then Tab within this long, moves focus out of the terminal (a shell needs Tab itself). */
export const ESCAPE_TAB_MS = 1500;

/**
 * Keys the terminal leaves to the page: Ctrl +/-/0 (zoom) and Tab or Shift+Tab right after Esc
 * (leave the terminal; Ctrl+Shift+Tab too, where the browser lets a page have it). Returns true
 * when xterm must not handle the key.
 */
export function keyLeavesTerminal(e: Pick<KeyboardEvent, 'type' | 'key' | 'ctrlKey' | 'altKey' | 'shiftKey'>, lastEscapeAt: number, now: number): boolean {
  if (e.ctrlKey && !e.altKey && (e.key === '=' || e.key === '+' || e.key === '-' || e.key === '0')) return true;
  if (e.key === 'Tab' && ((e.ctrlKey && e.shiftKey) || now - lastEscapeAt <= ESCAPE_TAB_MS)) return true;
  return false;
}

const WRITE_SLICE = 16 * 1024;

export function TerminalPane({ api, terminalId, fontSize, theme, active, testId, autoFocus }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const refit = useRef<() => void>(() => {});

  useEffect(() => {
    const el = host.current!;
    const t = new Terminal({
      fontSize, theme: xtermTheme(theme), cursorBlink: true, scrollback: 5000, fontFamily: 'DejaVu Sans Mono, monospace',
      // OSC 8 hyperlinks: xterm's default would open them after a bare confirm(); ours shows the whole target and refuses our own port
      linkHandler: { activate: (_event, text) => void followTerminalLink(text) },
    });
    const fit = new FitAddon();
    t.loadAddon(fit);
    t.open(el);
    term.current = t;
    let escapeAt = -Infinity;
    t.attachCustomKeyEventHandler((e) => {
      if (e.type !== 'keydown') return !keyLeavesTerminal(e, escapeAt, performance.now());
      if (e.key === 'Escape') {
        escapeAt = performance.now();
        return true;
      }
      // false: xterm ignores the key and the browser does its default (focus moves on; the app zooms)
      const leaves = keyLeavesTerminal(e, escapeAt, performance.now());
      // only the key right after Esc (modifiers aside) leaves: a later Tab completes in the shell again
      if (!['Shift', 'Control', 'Alt', 'Meta'].includes(e.key)) escapeAt = -Infinity;
      return !leaves;
    });
    let disposed = false;
    let end = -1; // stream offset covered by the snapshot; -1 until it arrives
    const early: TerminalData[] = [];
    const ack = (bytes: number) => void api.ackTerminal({ terminalId, bytes }).catch(() => {});
    const show = (d: TerminalData) => t.write(d.data, () => ack(d.bytes));

    // this terminal's chunks only; the main side sends them once this pane has attached
    const offData = api.onTerminalData(terminalId, (d) => {
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
    let refusedShown = false;
    const input = t.onData((data) => {
      // the server is gone: say so in the terminal itself (once), instead of swallowing the keys
      if (document.body.dataset.connection === 'closed') {
        if (!refusedShown) t.write('\r\n\x1b[41;97m disconnected from Locker: typing goes nowhere; reload the page once it runs again \x1b[0m\r\n');
        refusedShown = true;
        return;
      }
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
    if (autoFocus) t.focus();

    return () => {
      disposed = true;
      observer.disconnect();
      offData();
      // this pane no longer reads it: its acks stop holding the terminal, its data stops coming
      void api.detachTerminal({ terminalId }).catch(() => {});
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
