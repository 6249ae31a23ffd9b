// Web mode: the same UI in any browser, for machines without a display or the Electron binary.
// HTTP serves build/renderer; a WebSocket on /ws carries LockerApi. Loopback only by default.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { LIMITS } from '../../shared/api';
import { LockerService } from '../api/service';
import type { ContainerRuntime } from '../runtime/handles';
import { loadRuntime } from '../api/runtime-loader';
import { checkRequest, newToken, tokenCookie } from './guard';
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
}

export interface WebServer {
  url: string;
  token: string;
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
  const service = new LockerService(runtime);
  const server = createServer();
  // A frame must hold the largest legal paste in its worst JSON form: a control character is
  // escaped as \u00XX, 6 bytes per UTF-16 unit. Anything bigger is refused by ws with close 1009.
  const wss = new WebSocketServer({ noServer: true, maxPayload: LIMITS.maxWrite * 6 + 4096 });
  let hostPort = '';
  let wildcardPort: number | undefined;

  server.on('request', (req, res) => {
    const verdict = checkRequest(req, token, hostPort, wildcardPort);
    const headers: Record<string, string> = {
      'Content-Security-Policy': contentSecurityPolicy(verdict.hostPort),
      'X-Content-Type-Options': 'nosniff',
      // the token is in the URL: never send it onwards
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
      'X-Frame-Options': 'DENY',
    };
    if (!verdict.ok) {
      res.writeHead(verdict.status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' }).end(`refused: ${verdict.reason}\n`);
      return;
    }
    if (verdict.viaQuery) headers['Set-Cookie'] = tokenCookie(token);
    serveStatic(staticDir, req, res, headers);
  });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const verdict = checkRequest(req, token, hostPort, wildcardPort);
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (!verdict.ok || path !== '/ws') {
      const status = verdict.ok ? 404 : verdict.status;
      socket.end(`HTTP/1.1 ${status} Refused\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\nrefused: ${verdict.reason || 'not found'}\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws, service));
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
    url: `http://${hostPort}/?token=${token}`,
    token,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      service.dispose();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
