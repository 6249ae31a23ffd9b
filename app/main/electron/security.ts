// Defaults a teaching app can live with: the renderer gets no Node, no navigation, no popups,
// no permissions, and a CSP; the main process trusts only messages from its own page.
// The decisions themselves are pure (app/main/security/electron-policy.ts, tested without
// Electron); this file only hands them to Electron's objects.
import type { BrowserWindow, IpcMainInvokeEvent, Session, WebContents } from 'electron';
import {
  navigationAllowed, permissionAllowed, redirectAllowed, senderTrusted, webviewAllowed, windowOpenDecision, withCsp,
} from '../security/electron-policy';

export { RENDERER_CSP, WEB_PREFERENCES, pageUrl, webPreferences } from '../security/electron-policy';

export function hardenSession(ses: Session): void {
  // The meta tag covers file:// pages; the header covers anything else the session might load.
  ses.webRequest.onHeadersReceived((details, callback) => callback({ responseHeaders: withCsp(details.responseHeaders) }));
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(permissionAllowed()));
  ses.setPermissionCheckHandler(permissionAllowed);
}

export function hardenContents(contents: WebContents, allowedUrl: string): void {
  contents.on('will-navigate', (event, url) => {
    if (!navigationAllowed(url, allowedUrl)) event.preventDefault();
  });
  contents.on('will-redirect', (event) => {
    if (!redirectAllowed()) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => {
    if (!webviewAllowed()) event.preventDefault();
  });
  contents.setWindowOpenHandler(windowOpenDecision);
}

/** IPC is accepted only from our page's main frame, never from another frame or URL. */
export function trustedSender(event: Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>, win: BrowserWindow | null, allowedUrl: string): boolean {
  const alive = !!win && !win.isDestroyed();
  const frame = event.senderFrame;
  return senderTrusted({
    windowAlive: alive,
    fromOurWindow: alive && event.sender === win!.webContents,
    frame: frame ? { url: frame.url, isTopFrame: frame.parent === null } : null,
  }, allowedUrl);
}
