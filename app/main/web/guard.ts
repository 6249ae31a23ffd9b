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
}

/** hostPort as the browser writes it in Host, e.g. "127.0.0.1:41234" or "[::1]:41234". */
export function checkRequest(req: IncomingMessage, token: string, hostPort: string): Verdict {
  const deny = (status: number, reason: string): Verdict => ({ ok: false, status, reason, viaQuery: false });
  if (req.headers.host !== hostPort) return deny(421, `Host "${String(req.headers.host).slice(0, 80)}" is not ${hostPort}`);
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${hostPort}`) return deny(403, `foreign Origin "${String(origin).slice(0, 80)}"`);
  let url: URL;
  try {
    url = new URL(req.url ?? '/', `http://${hostPort}`);
  } catch {
    return deny(400, 'malformed URL');
  }
  const queryToken = url.searchParams.get('token') ?? undefined;
  if (tokenMatches(token, queryToken)) return { ok: true, status: 200, reason: '', viaQuery: true };
  if (tokenMatches(token, cookieToken(req.headers.cookie))) return { ok: true, status: 200, reason: '', viaQuery: false };
  return deny(403, queryToken || req.headers.cookie ? 'wrong token' : 'missing token');
}

export function tokenCookie(token: string): string {
  // HttpOnly: page scripts never need it; SameSite=Strict: other sites' pages cannot ride on it.
  return `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`;
}
