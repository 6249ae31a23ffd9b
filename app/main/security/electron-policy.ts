// The Electron security checklist as plain data and pure decisions, so it can be tested without
// Electron: app/main/electron/security.ts only wires these to BrowserWindow, Session and IPC events.
// No Electron import here (the CLI and the tests compile this file without Electron).
import { pathToFileURL } from 'node:url';

/** The renderer's policy, sent as a header by the session (index.html carries the same as a meta tag). */
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

/** Every BrowserWindow's webPreferences except the preload path: no Node, isolated, sandboxed. */
export const WEB_PREFERENCES = Object.freeze({
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  webviewTag: false,
  spellcheck: false,
} as const);

export const webPreferences = (preload: string) => ({ preload, ...WEB_PREFERENCES });

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

/** will-navigate: only (a reload of) our own page; anything else is prevented. */
export function navigationAllowed(url: unknown, allowedUrl: string): boolean {
  return typeof url === 'string' && allowedUrl !== '' && stripped(url) === allowedUrl;
}

/** will-redirect and will-attach-webview: never. */
export const redirectAllowed = (): boolean => false;
export const webviewAllowed = (): boolean => false;

/** setWindowOpenHandler: every window.open / target=_blank is denied. */
export function windowOpenDecision(): { action: 'deny' } {
  return { action: 'deny' };
}

/** Permission requests and checks (camera, notifications, clipboard, …): all refused. */
export const permissionAllowed = (): boolean => false;

/** onHeadersReceived: the response headers with our CSP in place of any the response brought. */
export function withCsp(headers: Record<string, string | string[]> | undefined): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (k.toLowerCase() !== 'content-security-policy') out[k] = Array.isArray(v) ? v : [v];
  }
  out['Content-Security-Policy'] = [RENDERER_CSP];
  return out;
}

/** What the IPC handler knows about the sender of a message, taken from the event. */
export interface SenderFacts {
  /** Our window exists and is not destroyed. */
  windowAlive: boolean;
  /** event.sender is our window's webContents. */
  fromOurWindow: boolean;
  /** event.senderFrame, or null when the frame has navigated away or is gone. */
  frame: { url: string; isTopFrame: boolean } | null;
}

/** IPC is accepted only from our page's main frame, never from another frame or URL. */
export function senderTrusted(facts: SenderFacts, allowedUrl: string): boolean {
  if (!facts.windowAlive || !facts.fromOurWindow || !facts.frame) return false;
  // our window's top frame only: an iframe never gets the API, whatever its URL
  if (!facts.frame.isTopFrame) return false;
  return navigationAllowed(facts.frame.url, allowedUrl);
}

/** A CSP split into directive → sources. */
export function parseCsp(csp: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of csp.split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name && !out.has(name.toLowerCase())) out.set(name.toLowerCase(), sources);
  }
  return out;
}

/** Why a CSP would let a script in that was not bundled by us; [] when it is strict. */
export function scriptPolicyProblems(csp: string): string[] {
  const d = parseCsp(csp);
  const scripts = d.get('script-src') ?? d.get('default-src');
  if (!scripts) return ['no script-src or default-src: any script may load'];
  const problems: string[] = [];
  for (const bad of ["'unsafe-eval'", "'unsafe-inline'", "'wasm-unsafe-eval'", "'unsafe-hashes'", '*', 'data:', 'blob:', 'http:', 'https:']) {
    if (scripts.includes(bad)) problems.push(`scripts allow ${bad}`);
  }
  if (d.get('object-src')?.join(' ') !== "'none'" && !(d.get('default-src')?.join(' ') === "'none'")) problems.push("object-src is not 'none'");
  if (d.get('base-uri')?.join(' ') !== "'none'") problems.push("base-uri is not 'none'");
  return problems;
}
