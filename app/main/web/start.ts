// Web mode: the same UI in any browser, for machines without a display or the Electron binary.
// HTTP serves build/renderer (public: it holds no secret); a WebSocket on /ws carries LockerApi and
// needs our Origin and the token (guard.ts). Loopback only by default.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { LIMITS } from '../../shared/api';
import { WS_PROTOCOL, urlWithToken } from '../../shared/web-auth';
import { hostForeignSource } from '../api/foreign-source';
import { LockerService } from '../api/service';
import type { ContainerRuntime } from '../runtime/handles';
import { loadRuntime } from '../api/runtime-loader';
import { hostShellPolicy, networkWarning, type HostShellPolicy } from './exposure';
import { checkRequest, checkUpgrade, newToken } from './guard';
import { serveStatic } from './static';
import { serveSocket } from './socket';

export interface WebOptions {
  port?: number;
  host?: string;
  runtime?: ContainerRuntime;
  /** Defaults to build/renderer next to the compiled app. */
  staticDir?: string;
  /** Defaults to a fresh random token. */
  token?: string;
  /** Offer the host shell pane: true/false as asked (--host-shell/--no-host-shell); default: on loopback only. */
  hostShell?: boolean;
}

export interface WebServer {
  /** What to open: http://127.0.0.1:PORT/#token=… (the token in the fragment, which no server sees). */
  url: string;
  /** http://127.0.0.1:PORT, the Origin our page's requests carry. */
  origin: string;
  /** ws://127.0.0.1:PORT/ws; a client offers tokenProtocols(token) and sends Origin. */
  wsUrl: string;
  token: string;
  hostShell: HostShellPolicy;
  /** A line to print when the server is reachable from the network. */
  warning?: string;
  close(): Promise<void>;
}

export function contentSecurityPolicy(hostPort: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    // xterm.js and React set inline styles; no script may be inlined or eval'd.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ws://${hostPort}`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

export async function startWeb(opts: WebOptions = {}): Promise<WebServer> {
  const host = opts.host ?? '127.0.0.1';
  const token = opts.token ?? newToken();
  const staticDir = opts.staticDir ?? join(__dirname, '..', '..', '..', 'renderer');
  const runtime = opts.runtime ?? loadRuntime();
  const service = new LockerService(runtime, { foreign: hostForeignSource() });
  const hostShell = hostShellPolicy(host, opts.hostShell);
  const server = createServer();
  // A frame must hold the largest legal paste in its worst JSON form: a control character is
  // escaped as \u00XX, 6 bytes per UTF-16 unit. Anything bigger is refused by ws with close 1009.
  // The answer names our protocol only: the token the client offered beside it is never echoed.
  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.maxWrite * 6 + 4096, handleProtocols: () => WS_PROTOCOL });
  let hostPort = '';
  let wildcardPort: number | undefined;

  server.on('request', (req, res) => {
    const verdict = checkRequest(req, hostPort, wildcardPort);
    const headers: Record<string, string> = {
      'Content-Security-Policy': contentSecurityPolicy(verdict.hostPort),
      'X-Content-Type-Options': 'nosniff',
      // the page's URL may still hold the token's fragment for a moment: never send the URL onwards
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
      'X-Frame-Options': 'DENY',
    };
    if (!verdict.ok) {
      res.writeHead(verdict.status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end(`refused: ${verdict.reason}\n`);
      return;
    }
    serveStatic(staticDir, req, res, headers);
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const verdict = checkUpgrade(req, token, hostPort, wildcardPort);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (!verdict.ok || path !== '/ws') {
      const status = verdict.ok ? 404 : verdict.status;
      socket.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nrefused: ${verdict.reason || 'not found'}\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws, service, hostShell));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const wildcard = host === '0.0.0.0' || host === '::';
  if (wildcard) wildcardPort = port;
  // A wildcard bind is reached through some address of this machine (or a forwarded port): print loopback.
  hostPort = wildcard ? `127.0.0.1:${port}` : host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;

  return {
    url: urlWithToken(`http://${hostPort}`, token),
    origin: `http://${hostPort}`,
    wsUrl: `ws://${hostPort}/ws`,
    token,
    hostShell,
    warning: networkWarning(host, hostShell),
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      service.dispose();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
