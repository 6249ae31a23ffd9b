// How a web-mode page proves it holds the token. Nothing a browser sends on its own may carry it:
// cookies go to every port of a host, so a process listening on another 127.0.0.1 port would
// receive them. The token arrives once in the URL fragment (#token=…, never sent to any server),
// the page keeps it in storage scoped to its exact origin (scheme, host and port), and hands it
// over explicitly, as a WebSocket subprotocol, each time it opens the socket.

/** The subprotocol the server answers with; the token entry is never echoed back. */
export const WS_PROTOCOL = 'locker.v1';
const TOKEN_PROTOCOL_PREFIX = 'locker.token.';

/** The fragment parameter of the printed URL: http://127.0.0.1:PORT/#token=… */
export const TOKEN_FRAGMENT_KEY = 'token';

/** A subprotocol must be an HTTP token; the token is base64url, which is one. */
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{1,256}$/;

export function tokenProtocols(token: string): string[] {
  if (!TOKEN_SHAPE.test(token)) throw new Error('a web-mode token is base64url (A-Z a-z 0-9 - _); open the URL Locker printed');
  return [WS_PROTOCOL, TOKEN_PROTOCOL_PREFIX + token];
}

/** The token a client offered in Sec-WebSocket-Protocol (comma-separated), if it offered our protocol too. */
export function tokenFromProtocolHeader(header: string | undefined): string | undefined {
  const offered = (header ?? '').split(',').map((p) => p.trim());
  if (!offered.includes(WS_PROTOCOL)) return undefined;
  const entry = offered.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX));
  return entry?.slice(TOKEN_PROTOCOL_PREFIX.length);
}

/** The URL to print: the token in the fragment, so no server (ours or another) ever receives it. */
export function urlWithToken(origin: string, token: string): string {
  return `${origin}/#${TOKEN_FRAGMENT_KEY}=${token}`;
}
