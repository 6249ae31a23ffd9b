// Defaults a teaching app can live with: the renderer gets no Node, no navigation, no popups,
// no permissions, and a CSP; the main process trusts only messages from its own page.
import type { BrowserWindow, IpcMainInvokeEvent, Session, WebContents } from 'electron';
import { pathToFileURL } from 'node:url';

export const RENDERER_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export const webPreferences = (preload: string) => ({
  preload,
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  webviewTag: false,
  spellcheck: false,
});

/** The renderer's one legitimate URL, without query or hash. */
export function pageUrl(indexHtml: string): string {
  return pathToFileURL(indexHtml).href;
}

function stripped(url: string): string {
  try {
    const u = new URL(url);
    u.search = '';
    u.hash = '';
    return u.href;
  } catch {
    return '';
  }
}

export function hardenSession(ses: Session): void {
  // The meta tag covers file:// pages; the header covers anything else the session might load.
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [RENDERER_CSP] } });
  });
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
}

export function hardenContents(contents: WebContents, allowedUrl: string): void {
  contents.on('will-navigate', (event, url) => {
    if (stripped(url) !== allowedUrl) event.preventDefault();
  });
  contents.on('will-redirect', (event) => event.preventDefault());
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

/** IPC is accepted only from our page's main frame, never from another frame or URL. */
export function trustedSender(event: IpcMainInvokeEvent, win: BrowserWindow | null, allowedUrl: string): boolean {
  const frame = event.senderFrame;
  if (!frame || !win || win.isDestroyed()) return false;
  // our window's top frame only: an iframe (parent set) never gets the API, whatever its URL
  if (event.sender !== win.webContents || frame.parent !== null) return false;
  return stripped(frame.url) === allowedUrl;
}
