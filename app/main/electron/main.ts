// The desktop app: one window, the runtime in this (main) process, the UI in a sandboxed renderer.
import { app, BrowserWindow, session } from 'electron';
import { join } from 'node:path';
import { hostForeignSource } from '../api/foreign-source';
import { LockerService } from '../api/service';
import { loadRuntime } from '../api/runtime-loader';
import { registerIpc } from './ipc';
import { hardenContents, hardenSession, pageUrl, webPreferences } from './security';

// Creating namespaces needs root, and Chromium refuses to start as root while its own (setuid /
// user-namespace) sandbox is enabled. So as root we turn off Chromium's OS-level sandbox only;
// the renderer stays context-isolated with sandbox: true (no Node, no require) and a strict CSP.
if (process.getuid?.() === 0) app.commandLine.appendSwitch('no-sandbox');

const indexHtml = join(__dirname, '..', '..', '..', 'renderer', 'index.html');
const preload = join(__dirname, '..', '..', 'preload', 'preload.bundle.js');
const allowedUrl = pageUrl(indexHtml);

let win: BrowserWindow | null = null;

app.on('web-contents-created', (_event, contents) => hardenContents(contents, allowedUrl));

app.whenReady().then(() => {
  hardenSession(session.defaultSession);
  const service = new LockerService(loadRuntime(), { foreign: hostForeignSource() });
  const unregister = registerIpc(service, () => win, allowedUrl);
  win = new BrowserWindow({
    width: 1600,
    height: 1000,
    title: 'Locker',
    backgroundColor: '#0d1117',
    webPreferences: webPreferences(preload),
  });
  win.on('closed', () => {
    win = null;
  });
  // `locker ui --projector`: the page reads ?projector=1
  void win.loadFile(indexHtml, process.env.LOCKER_PROJECTOR === '1' ? { query: { projector: '1' } } : undefined);
  app.on('window-all-closed', () => {
    unregister();
    // host shells die with the window; containers keep running and show up next time
    service.dispose();
    app.quit();
  });
});
