// Who may talk to the web-mode server. Anything on this machine can reach a loopback port, and any
// web page the teacher opens can aim requests at it (CSRF, DNS rebinding). The page and its assets
// are public (they hold no secret); every request must name our exact Host. The WebSocket, which
// can do everything (start containers as root, open a host shell), must also come from our own
// origin (a missing Origin is a non-browser client, refused too) and offer the token explicitly as
// a subprotocol (app/shared/web-auth.ts). No cookie is ever set: browsers send cookies to every
// port of a host, so a listener on another 127.0.0.1 port would receive it.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { tokenFromProtocolHeader } from '../../shared/web-auth';

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

export interface Verdict {
  ok: boolean;
  status: number;
  reason: string;
  /** The host:port this request was addressed to (for the CSP and the Origin check), once accepted. */
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

const quoted = (v: unknown) => `"${String(v).slice(0, 80)}"`;

/** Any HTTP request (page, assets): our Host, and no foreign Origin. hostPort as in Host, e.g. "127.0.0.1:41234". */
export function checkRequest(req: IncomingMessage, hostPort: string, wildcardPort?: number): Verdict {
  const addressed = acceptedHost(req.headers.host, hostPort, wildcardPort);
  if (addressed === undefined) return { ok: false, status: 421, reason: `Host ${quoted(req.headers.host)} is not ${hostPort}`, hostPort };
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== `http://${addressed}`) return { ok: false, status: 403, reason: `foreign Origin ${quoted(origin)}`, hostPort: addressed };
  return { ok: true, status: 200, reason: '', hostPort: addressed };
}

/** The WebSocket upgrade: everything checkRequest checks, plus our Origin present and the token offered. */
export function checkUpgrade(req: IncomingMessage, token: string, hostPort: string, wildcardPort?: number): Verdict {
  const verdict = checkRequest(req, hostPort, wildcardPort);
  if (!verdict.ok) return verdict;
  const deny = (reason: string): Verdict => ({ ok: false, status: 403, reason, hostPort: verdict.hostPort });
  if (req.headers.origin === undefined) return deny('no Origin header; only the Locker page may open this socket');
  const offered = tokenFromProtocolHeader(req.headers['sec-websocket-protocol']);
  if (offered === undefined) return deny('missing token; open the URL Locker printed (it ends in #token=…)');
  if (!tokenMatches(token, offered)) return deny('wrong token; open the URL Locker printed this time (it ends in #token=…)');
  return verdict;
}
