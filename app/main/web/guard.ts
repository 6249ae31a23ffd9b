// Who may talk to the web-mode server. Anything on this machine can reach a loopback port, and any
// web page the teacher opens can aim requests at it (CSRF, DNS rebinding), so every HTTP request and
// WebSocket must carry the random token and come with the exact Host and, when sent, our Origin.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const COOKIE = 'locker_token';

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Constant-time comparison; hashing first makes both sides the same length. */
export function tokenMatches(expected: string, given: string | undefined): boolean {
  if (typeof given !== 'string' || given.length === 0 || given.length > 256) return false;
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}

function cookieToken(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === COOKIE) return v.join('=');
  }
  return undefined;
}

export interface Verdict {
  ok: boolean;
  status: number;
  reason: string;
  /** The token arrived in the query string: the page should get the cookie for its own asset requests. */
  viaQuery: boolean;
  /** The host:port this request was addressed to (for the CSP), once accepted. */
  hostPort: string;
}

const IP_LITERAL_HOST = /^(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/;

/**
 * The Host header this server answers to. Bound to one address: exactly that address and port.
 * Bound to a wildcard (0.0.0.0, ::; a VM forwarding a port): any IP literal with our port, never a
 * name — DNS rebinding needs a name that resolves to us, and an IP literal cannot be one.
 */
export function acceptedHost(given: string | undefined, hostPort: string, wildcardPort?: number): string | undefined {
  if (given === hostPort) return given;
  if (wildcardPort === undefined || given === undefined) return undefined;
  const m = IP_LITERAL_HOST.exec(given);
  return m && Number(m[1]) === wildcardPort ? given : undefined;
}

/** hostPort as the browser writes it in Host, e.g. "127.0.0.1:41234" or "[::1]:41234". */
export function checkRequest(req: IncomingMessage, token: string, hostPort: string, wildcardPort?: number): Verdict {
  const deny = (status: number, reason: string): Verdict => ({ ok: false, status, reason, viaQuery: false, hostPort });
  const addressed = acceptedHost(req.headers.host, hostPort, wildcardPort);
  if (addressed === undefined) return deny(421, `Host "${String(req.headers.host).slice(0, 80)}" is not ${hostPort}`);
  hostPort = addressed;
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${hostPort}`) return deny(403, `foreign Origin "${String(origin).slice(0, 80)}"`);
  let url: URL;
  try {
    url = new URL(req.url ?? '/', `http://${hostPort}`);
  } catch {
    return deny(400, 'malformed URL');
  }
  const queryToken = url.searchParams.get('token') ?? undefined;
  if (tokenMatches(token, queryToken)) return { ok: true, status: 200, reason: '', viaQuery: true, hostPort };
  if (tokenMatches(token, cookieToken(req.headers.cookie))) return { ok: true, status: 200, reason: '', viaQuery: false, hostPort };
  return deny(403, queryToken || req.headers.cookie ? 'wrong token' : 'missing token');
}

export function tokenCookie(token: string): string {
  // HttpOnly: page scripts never need it; SameSite=Strict: other sites' pages cannot ride on it.
  return `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}
