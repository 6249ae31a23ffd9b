// Another server on this machine's loopback, on a port of its own: what a container sharing the
// host network, or any local process, could run. It records every request exactly as it arrived,
// so a spec can check that nothing secret came with it.
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The raw header lines, names as sent. */
  raw: string;
}

export interface Listener {
  origin: string;
  port: number;
  seen: Seen[];
  close(): Promise<void>;
}

export async function startListener(): Promise<Listener> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw: req.rawHeaders.join('\n') });
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end('<!doctype html><title>another port</title><p>another port</p>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
