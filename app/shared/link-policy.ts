// Whether a link printed in a terminal may be opened. Terminal output is written by whatever runs
// in the container, so a link in it is the container's choice of target: it is opened only after
// the person saw the whole target and said yes, only over http(s), and never to Locker's own
// web-mode port (where the page holding the token lives; a link there is a container steering the
// teacher's browser back at the controls of this machine).

export type LinkDecision =
  | { kind: 'ask'; href: string; host: string }
  | { kind: 'refuse'; shown: string; reason: string };

/** The page showing the terminal; port '' where the URL has none (Electron's file:// page). */
export interface PageLocation {
  protocol: string;
  port: string;
}

const DEFAULT_PORT: Record<string, string> = { 'http:': '80', 'https:': '443' };

export function effectivePort(url: { protocol: string; port: string }): string {
  return url.port || DEFAULT_PORT[url.protocol] || '';
}

export function linkDecision(target: string, page: PageLocation): LinkDecision {
  const shown = target.slice(0, 2048);
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    return { kind: 'refuse', shown, reason: 'this is not a valid URL' };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return { kind: 'refuse', shown: url.href, reason: `only http and https links are opened, not ${url.protocol.replace(/:$/, '')}:` };
  }
  const ours = effectivePort(page);
  // Any host: 127.0.0.1, localhost, [::1], 0.0.0.0, this machine's other addresses and names all reach it.
  if ((page.protocol === 'http:' || page.protocol === 'https:') && ours !== '' && effectivePort(url) === ours) {
    return { kind: 'refuse', shown: url.href, reason: `port ${ours} is Locker's own web-mode port; a link from a terminal is never opened there` };
  }
  return { kind: 'ask', href: url.href, host: url.host };
}
